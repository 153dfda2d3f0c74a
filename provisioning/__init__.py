"""Room provisioning: sample meeting packages, export-stick markers, and the USB stick
watcher (``provisioning.usb``, the one module that uses pyudev). May import room_protocol
only; it drives the room through the ``room-server`` command, never its code.
"""
