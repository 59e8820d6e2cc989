"""`python -m rflr ...`: the same as the `rflr` command (rflr.cli.commands)."""

import sys

from rflr.cli.commands import main

sys.exit(main())
