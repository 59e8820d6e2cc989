"""scripts/make_beyond.py: the Beyond-the-poster section and its figures from a study."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location(
        "make_beyond", ROOT / "scripts" / "make_beyond.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_section_is_generated_from_the_study_and_spliced(mini_study, tmp_path):
    out, _ = mini_study
    gen = _generator()
    doc, figs = tmp_path / "R.md", tmp_path / "figs"
    doc.write_text("# Reproducing the poster\n\nbefore\n")
    argv = ["--summary", str(out / "summary.csv"), "--doc", str(doc), "--figures", str(figs)]
    assert gen.main(argv) == 0
    text = doc.read_text()
    assert text.startswith("# Reproducing the poster\n\nbefore\n")
    assert text.count(gen.BEGIN) == 1 and text.rstrip().endswith(gen.END)
    assert "## Beyond the poster" in text and "### The claims" in text
    assert "**Not run (yet):** rank" not in text  # the mini study has exactly its parts
    assert "| weight-decay | 4 | weight symmetry with decoupled weight decay |" in text
    png = figs / "beyond-weights.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "](figs/beyond-weights.png)" in text
    first = text
    doc.write_text(text + "\nafter\n")
    assert gen.main(argv) == 0
    assert doc.read_text() == first + "\nafter\n"  # replaced in place, the rest kept


def test_splice_appends_then_replaces():
    gen = _generator()
    section = f"{gen.BEGIN}\nnew\n{gen.END}"
    assert gen.splice("a\n", section) == f"a\n\n{section}\n"
    old = f"a\n{gen.BEGIN}\nold\n{gen.END}\nb\n"
    assert gen.splice(old, section) == f"a\n{section}\nb\n"


def test_shipped_section_is_what_the_generator_writes(tmp_path):
    import pytest

    summary = ROOT / "checkpoints" / "beyond" / "summary.csv"
    doc = ROOT / "REPRODUCTION.md"
    gen = _generator()
    if not (summary.is_file() and doc.is_file() and gen.BEGIN in doc.read_text()):
        pytest.skip("no shipped study")
    out, figs = tmp_path / "REPRODUCTION.md", tmp_path / "docs" / "figures"
    assert gen.main(["--summary", str(summary), "--doc", str(out), "--figures", str(figs)]) == 0
    section = lambda t: t[t.index(gen.BEGIN) : t.index(gen.END)]  # noqa: E731
    assert section(out.read_text()) == section(doc.read_text())


def test_make_reproduction_keeps_the_section(tmp_path, mini_study):
    out, _ = mini_study
    gen = _generator()
    doc, figs = tmp_path / "R.md", tmp_path / "figs"
    argv = ["--summary", str(out / "summary.csv"), "--doc", str(doc), "--figures", str(figs)]
    doc.write_text("# old page\n")
    assert gen.main(argv) == 0
    section = doc.read_text().split("# old page\n", 1)[1]
    spec = importlib.util.spec_from_file_location(
        "make_reproduction", ROOT / "scripts" / "make_reproduction.py"
    )
    rep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rep)
    kept = rep._beyond_section(doc.read_text())
    assert kept and kept in section
