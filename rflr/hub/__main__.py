"""`python -m rflr.hub ...`: push, pull and deploy-space (rflr.hub.sync)."""

import sys

from rflr.hub.sync import main

sys.exit(main())
