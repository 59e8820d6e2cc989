"""`python -m rflr ...`: the same as the `rflr` command (rflr.commands)."""

import sys

from rflr.commands import main

sys.exit(main())
