"""Names from outside in the notebook API and the CLI (issue 22, case 13): a name too long is a
PathError, only regular files are read (a FIFO would block forever), and file names are
printed with their control characters escaped (rflr.files.names.printable)."""

from __future__ import annotations

import os
import threading

import pytest

import rflr
from rflr.cli.analyze import main as analyze
from rflr.files import checkpoint
from rflr.files.names import printable
from tests import hostile

ESC = "\x1b[2J"  # a terminal's clear-screen sequence


def test_printable_escapes_what_a_terminal_would_act_on():
    assert printable("plain name-1.safetensors") == "plain name-1.safetensors"
    assert printable("é ü 中") == "é ü 中"  # printable letters stay as they are
    assert printable(f"a{ESC}\n\r\t\x00\x7f") == "a\\x1b[2J\\n\\r\\t\\x00\\x7f"
    assert printable("rtl\u202eexe.txt") == "rtl\\u202eexe.txt"
    assert printable(os.fsdecode(b"bad\xff")) == "bad\\udcff"
    assert printable("x" * 5000) == "x" * 300 + "…"


def call_within(seconds: float, fn, *args):
    """fn(*args), or a test failure if it has not returned after `seconds` (a blocked read)."""
    out: dict = {}

    def run():
        try:
            out["value"] = fn(*args)
        except Exception as e:  # handed to the test
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        pytest.fail(f"{fn.__name__} blocked for {seconds} s")
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_a_name_too_long_is_a_path_error():
    for call in (rflr.open, rflr.open_sweep, rflr.runs):
        with pytest.raises(rflr.PathError, match="cannot be opened") as e:
            call("x" * 5000)
        assert len(str(e.value)) < 400
    with pytest.raises(rflr.PathError, match=r"nul\\x00byte: no such file"):
        rflr.open("nul\x00byte")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_only_regular_files_are_read(tmp_path):
    os.mkfifo(tmp_path / "summary.csv")
    with pytest.raises(rflr.PathError, match="no summary.csv"):
        call_within(10, rflr.open_sweep, tmp_path)  # the only summary.csv is a FIFO
    with pytest.raises(rflr.PathError, match="not a regular file"):
        call_within(10, rflr.open_sweep, tmp_path / "summary.csv")
    os.mkfifo(tmp_path / "x.safetensors")
    with pytest.raises(rflr.PathError, match="not a regular file"):
        call_within(10, rflr.open, tmp_path / "x.safetensors")


def test_errors_show_names_printable(tmp_path):
    with pytest.raises(rflr.PathError) as e:
        rflr.open(tmp_path / f"evil{ESC}.safetensors")
    assert "\x1b" not in str(e.value) and "evil\\x1b[2J" in str(e.value)
    bad = tmp_path / f"bad{ESC}.safetensors"
    bad.write_bytes(b"\x80\x04junk")
    with pytest.raises(rflr.CheckpointError) as e:
        rflr.open(bad)
    assert "\x1b" not in str(e.value) and e.value.path == bad  # the path itself is kept


def test_analyze_prints_file_names_printable(tmp_path, capsys):
    good = hostile.write_valid(tmp_path / f"good{ESC}.safetensors")
    bad = tmp_path / f"bad\n{ESC}.safetensors"
    bad.write_bytes(b"\x80\x04junk")
    assert analyze([str(good), str(bad), "y" * 5000]) == 1
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err
    assert f"== {tmp_path}/good\\x1b[2J.safetensors" in out
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "bad\\n\\x1b[2J.safetensors" in lines[0]
    assert "File name too long" in lines[1] and len(lines[1]) < 1000
    assert checkpoint.load(good).step == 20  # escaping changes what is printed, not the file
