"""`python -m rflr.analyze FILE...`: the command line lives in rflr.cli.analyze."""

import sys

from rflr.cli.analyze import entry

if __name__ == "__main__":
    sys.exit(entry())
