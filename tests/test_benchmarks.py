"""The benchmark scripts still run and print their ratio lines (slow: they time real work)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_train_throughput_prints_speedup():
    out = subprocess.run(
        [
            sys.executable,
            "benchmarks/train_throughput.py",
            "--quick",
            "--seeds",
            "16",
            "--repeats",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    last = out.strip().splitlines()[-1]
    assert re.fullmatch(r"speedup: \d+(\.\d+)?x", last), last
    assert float(last.split()[1][:-1]) > 1  # batching 16 seeds must beat one seed at a time
