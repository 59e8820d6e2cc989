"""Train RF-LR networks and dense controls, many seeds at once: `python train.py --help`."""

import sys

from rflr.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
