"""scripts/make_reproduction.py: REPRODUCTION.md and its figures from a summary alone."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from rflr.sweep import summary

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "checkpoints" / "poster" / "summary.csv"
BEYOND = "<!-- beyond:begin -->"  # scripts/make_beyond.py's section starts here


def _generator():
    spec = importlib.util.spec_from_file_location(
        "make_reproduction", ROOT / "scripts" / "make_reproduction.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reproduction_is_generated_from_the_summary(tiny_sweep, tmp_path):
    out, df, _ = tiny_sweep
    record = {
        "command": "python train.py --preset poster",
        "started_utc": "2026-01-01T00:00:00+00:00",
        "wall_time_s": 600.0,
        "reruns": len(df),
        "machine": {"platform": "TestOS", "cpu_count": 2, "torch": "9.9"},
        "jobs": [],
    }
    (out / summary.SWEEP_NAME).write_text(json.dumps(record))
    gen = _generator()
    doc, figs = tmp_path / "R.md", tmp_path / "figs"
    argv = ["--summary", str(out / summary.SUMMARY_NAME), "--out", str(doc), "--figures", str(figs)]
    assert gen.main(argv) == 0
    text = doc.read_text()
    first = text
    for needle in (
        "2026-01-01",
        "TestOS",
        "torch 9.9",
        "10.0 min",
        "python train.py --preset poster",
    ):
        assert needle in text
    best = df.loc[df["model"] == "rflr", "test_mse"].min()
    assert f"{best:.2e}" in text  # numbers come from the summary
    for name in ("depth", "scatter", "distributions", "loss"):
        png = figs / f"poster-{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"](figs/poster-{name}.png)" in text
    assert gen.main(argv) == 0 and doc.read_text() == first  # same inputs, same document


def test_shipped_reproduction_is_what_the_generator_writes(tmp_path):
    doc = ROOT / "REPRODUCTION.md"
    if not (SHIPPED.is_file() and doc.is_file()):
        pytest.skip("no shipped poster sweep")
    out, figs = tmp_path / "REPRODUCTION.md", tmp_path / "docs" / "figures"
    assert _generator().main(["--out", str(out), "--figures", str(figs)]) == 0
    # regenerated from checkpoints/poster alone (the Beyond section is make_beyond.py's)
    assert out.read_text().rstrip("\n") == doc.read_text().split(BEYOND)[0].rstrip("\n")
    for png in figs.iterdir():  # pixels depend on the renderer's version: compare sizes
        assert _png_size(png) == _png_size(ROOT / "docs" / "figures" / png.name)


def _png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, after checking its magic bytes."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
