"""Room display (projector view) and the kiosk launchers for tablets and the display.

A client of the room server like the tablets are: may import room_protocol and
tablet_client's Qt-free core, never room_server or provisioning. The room display
arrives with the live-session work; the seat-tablet launcher is ``systemd/``.
"""
