"""The benchmark scripts still run and print their ratio lines (slow: they time real work)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _benchmark(script: str, *args: str) -> str:
    """What benchmarks/`script` prints, run from the repository root (10 min at most)."""
    cmd = [sys.executable, f"benchmarks/{script}", *args]
    return subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=True
    ).stdout


@pytest.mark.slow
def test_train_throughput_prints_speedup():
    out = _benchmark("train_throughput.py", "--quick", "--seeds", "16", "--repeats", "1")
    last = out.strip().splitlines()[-1]
    assert re.fullmatch(r"speedup: \d+(\.\d+)?x", last), last
    assert float(last.split()[1][:-1]) > 1  # batching 16 seeds must beat one seed at a time


def test_weight_symmetry_table_of_shipped_runs(tmp_path):
    """One CSV row per (run, layer), with the layer-0 pairing the stored atom pairing."""
    import csv

    from rflr.files.checkpoint import read_header

    out = tmp_path / "ws.csv"
    cmd = [sys.executable, "benchmarks/weight_symmetry.py", "checkpoints/poster", "--csv", out]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    assert "pairing_defect (init)" in done.stdout
    rows = list(csv.DictReader(out.open()))
    runs = {r["run"] for r in rows}
    assert len(runs) == 12 and len(rows) == 12 * 4  # depth 4: atoms + 3 layers of units
    for r in rows:
        if r["name"] != "atoms.h":
            continue
        snapshot = max((ROOT / r["run"]).glob("step-*.safetensors"))
        stored = read_header(snapshot).metrics.atom_pairing_defect
        assert float(r["pairing_defect"]) == pytest.approx(stored, rel=1e-6)


@pytest.mark.slow
@pytest.mark.browser
def test_browser_ab_times_two_checkouts_side_by_side():
    """One round of the A/B harness on this checkout twice: a median per version."""
    out = _benchmark("browser_ab.py", "--first-only", "--rounds", "1", ".", ".")
    rows = [line for line in out.splitlines() if line.startswith("first chart")]
    assert len(rows) == 2 and all(re.search(r"median +\d+ ms", r) for r in rows), out


@pytest.mark.slow
@pytest.mark.browser
def test_served_load_prints_its_table():
    """One visitor, two changes on a served explorer: a row of numbers under the header."""
    out = _benchmark("served_load.py", "--visitors", "1", "--changes", "2", "--settle", "0")
    lines = out.strip().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("served load"))
    assert lines[header + 1].split()[:3] == ["V", "changes", "stuck"], out
    row = lines[header + 2].split()
    assert row[:3] == ["1", "2", "0"] and all(re.fullmatch(r"\d+(\.\d+)?|-", c) for c in row), out


def test_protocol_client_times_one_change_on_a_served_explorer(tmp_path, monkeypatch):
    """The load benchmark's browserless visitor: it opens a served page over the websocket,
    finds the Layer selectbox among the widgets the server drew, and times one change from
    send to script_finished, with the bytes the server sent for it."""
    import asyncio

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from conftest import free_port, start_app, stop, wait_healthy
    from protocol_client import Session, next_change

    monkeypatch.setenv("RFLR_SERVE", "1")
    monkeypatch.delenv("RFLR_CHECKPOINTS", raising=False)
    url = f"http://127.0.0.1:{free_port()}"
    seen = {}

    async def visit() -> None:
        session = Session(url)
        seen["first_s"] = await session.open(timeout_s=120)
        seen["first"] = session.take()
        widget, seen["value"] = next_change(session, 0, 0)  # change 0: the layer
        seen["label"] = widget.label
        seen["change_s"] = await session.change(widget, seen["value"], timeout_s=60)
        seen["change"] = session.take()
        for k in (1, 2):  # the step, then A: every kind of change a visitor makes is found
            widget, value = next_change(session, 0, k)
            seen.setdefault("others", []).append(widget.label)
            await session.change(widget, value, timeout_s=60)
        seen["runs"] = session.runs
        await session.close()

    with (tmp_path / "server.log").open("w+") as log:
        proc = start_app(int(url.rsplit(":", 1)[1]), log)
        try:
            assert wait_healthy(url, proc), "streamlit did not start"
            asyncio.run(visit())
        finally:
            stop(proc)
    assert seen["label"] == "Layer" and seen["value"].startswith("layer")
    assert seen["others"] == ["Step of A", "Checkpoint A: run"]
    assert 0 < seen["first_s"] < 120 and 0 < seen["change_s"] < 60 and seen["runs"] == 4
    assert seen["first"].by_kind["vega_lite_chart"] > 10_000  # the first page has its charts
    change = seen["change"]
    assert change.msgs > 1 and change.bytes > 0 and change.by_kind["script_finished"] > 0


@pytest.mark.slow
def test_train_tab_prints_the_default_jobs_wall_time():
    out = _benchmark("train_tab.py", "--steps", "200")
    assert "state: done" in out and "cpu: " in out
    assert re.fullmatch(r"wall: \d+(\.\d+)? s", out.strip().splitlines()[-1])
