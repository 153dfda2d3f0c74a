"""The sealed meeting record: built from the database, signed, and sent out of the room
(the outbox uploads it to the archive). May import room_protocol and room_server's store
and config; nothing here imports the live server."""
