"""Heavy Dev's database helper (pave, migrate, check): the entry point the CLI and the Pave DB
and Create and Test Migrations profiles start. The work is in heavydev/db.py."""

import sys

from heavydev.db import main

if __name__ == "__main__":
    sys.exit(main())
