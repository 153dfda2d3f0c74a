"""The seat tablet: discovery, connection, document cache, rendering and the Qt views.

The connection, discovery and clock come from room_client; the document transfer and the
rules of the live session (``session``) and of attendance and voting (``polls``) are
Qt-free; Qt lives in ``views``, the controllers and ``app``. May import room_protocol and
room_client, never room_server, kiosk or pyudev. Importing it does no work.
"""
