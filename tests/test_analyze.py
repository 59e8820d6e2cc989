"""`python -m rflr.analyze` on hostile input: every good file analysed, one line per bad one,
exit 1 at the end, no traceback for any file or flag."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rflr.cli.analyze import main
from tests import hostile


def test_bad_files_do_not_stop_the_good_ones(tmp_path, capsys):
    good = hostile.write_valid(tmp_path / "good.safetensors")
    bad = [
        hostile.write_header_case(tmp_path, n)
        for n in ("config-list", "depth-1e7", "history-hello", "step-1e30", "config-deep")
    ]
    (tmp_path / "dir.safetensors").mkdir()
    paths = [*bad, tmp_path / "dir.safetensors", tmp_path / "missing.safetensors", good]
    assert main([str(p) for p in paths]) == 1
    out, err = capsys.readouterr()
    assert f"== {good}" in out  # the good file, last on the line, was analysed
    lines = err.strip().splitlines()
    assert len(lines) == len(paths) - 1 and all(line.startswith("error: ") for line in lines)
    assert "Traceback" not in err


def test_analysis_failure_of_a_valid_file_is_one_line(tmp_path, capsys, monkeypatch):
    good = hostile.write_valid(tmp_path / "good.safetensors")
    monkeypatch.setattr("rflr.cli.analyze.checkpoint_metrics", lambda *a: 1 / 0)
    assert main([str(good)]) == 1
    assert (
        capsys.readouterr().err.strip()
        == f"error: {good}: analysis failed (ZeroDivisionError: division by zero)"
    )


@pytest.mark.parametrize(
    "flag",
    [
        ["--grid-points", "0"],
        ["--grid-points", "10000000"],
        ["--threshold", "nan"],
        ["--tau", "-1"],
        ["--tau", "x"],
    ],
)
def test_bad_flags_are_refused_by_argparse(flag, capsys):
    with pytest.raises(SystemExit) as e:
        main(["x.safetensors", *flag])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument" in err and "Traceback" not in err


def test_module_entry_point_exits_nonzero_without_traceback(tmp_path):
    bad = hostile.write_header_case(tmp_path, "metrics-list")
    r = subprocess.run(
        [sys.executable, "-m", "rflr.analyze", str(bad)], capture_output=True, text=True
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip() == f"error: {bad}: bad rflr.metrics: expected a JSON object, got list"
