"""The SQL of each meeting word, one module per word, over a :class:`~room_server.store.Store`.

The words call these with the writer's transaction (``tx.store``) to change things and
with the loop's read-only store to read. Nothing here decides anything: the rules are in
``room_server.rules``. May import ``room_server.store``, ``room_server.audit`` and
``room_protocol``.
"""
