"""Room display (projector view) and the kiosk launchers for tablets and the display.

``hemicycle-display`` (``python -m kiosk``) joins the room as an observer and shows the
meeting, the current item with its timer, the speaker, the queue, announcements,
attendance and the quorum, votes in progress and published results, and the page the
chair shows with the chair's presenter ink (never a confidential document's).
A client of the room server like the tablets are: may import room_protocol and
room_client (connection, discovery, clock, documents), never tablet_client, room_server or
provisioning. The seat-tablet launcher is ``systemd/``.
"""
