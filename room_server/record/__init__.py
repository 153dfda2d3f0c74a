"""The sealed meeting record of a closed meeting: see docs/records.md."""
