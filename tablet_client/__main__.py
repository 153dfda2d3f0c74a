import sys

from tablet_client.app import main

sys.exit(main())
