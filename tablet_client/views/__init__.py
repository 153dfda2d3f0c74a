"""Qt widgets that lay out the tablet's screens; no logic, no I/O."""
