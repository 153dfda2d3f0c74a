"""Fault drills: the room server killed, a tablet's network cut, the protocol fuzzed.

Every drill is marked ``drill`` (``pytest -m drill`` runs only them, ``-m "not drill"``
leaves them out) and runs in a short form by default, bounded in count and time, so
``make test`` keeps them. ``HEMICYCLE_DRILLS=long`` selects the long form (more tablets,
more kills, a 30 s network cut, tens of thousands of fuzzed messages): docs/performance.md.
"""
