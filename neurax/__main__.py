"""``python -m neurax``: the command line (as the ``neurax`` command)."""

import sys

from neurax.cli import main

sys.exit(main())
