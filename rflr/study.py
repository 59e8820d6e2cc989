"""`python -m rflr.study NAME`: summarize a study so far; it lives in rflr.sweep.study."""

import sys

from rflr.sweep.study import main

if __name__ == "__main__":
    sys.exit(main())
