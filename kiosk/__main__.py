"""``python -m kiosk``: the room display (see :mod:`kiosk.display_app`)."""

from __future__ import annotations

import sys

from kiosk.display_app import main

sys.exit(main())
