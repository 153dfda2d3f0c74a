import sys

from room_server.cli import main

sys.exit(main())
