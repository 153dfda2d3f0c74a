"""The room server: store, meeting logic, TLS WebSocket server, mDNS advertiser.

asyncio throughout; SQLite through one Store; PyMuPDF only in package validation.
May import room_protocol and third-party libraries, never tablet_client, kiosk or
provisioning. Importing it does no work: nothing runs until a command is called.
"""
