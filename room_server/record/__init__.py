"""The sealed meeting record: one folder per closed meeting (docs/records.md).

Builders read the room database through a read-only connection and write plain files
(JSON, CSV, PDF); they may import ``room_protocol`` and ``room_server.store``. The seal
(``seal.py``) signs the manifest last; ``verify.py`` checks a record offline.
"""
