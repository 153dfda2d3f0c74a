"""The seat tablet: discovery, connection, document cache, rendering and the Qt views.

The asyncio core (discovery, connection, documents) and the rules of the live session
(``session``) and of attendance and voting (``polls``) are Qt-free; Qt lives in
``views``, the controllers and ``app``. May import room_protocol, never room_server or
pyudev. Importing it does no work.
"""
