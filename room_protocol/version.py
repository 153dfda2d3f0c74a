"""Protocol version: bump it whenever the wire changes, and say how in CHANGELOG.md."""

PROTOCOL_VERSION = 9
