"""The Qt-free client core of tablet, display and benches: connection, discovery, room
clock, and the clients' text catalogues (``locale/``).

May import room_protocol, websockets, zeroconf and the standard library; never PySide6,
room_server, tablet_client, kiosk, pyudev, sqlite_utils or pymupdf. Importing does no work.
"""
