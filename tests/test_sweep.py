"""rflr.sweep, the sweep view and scripts/make_reproduction.py.

A tiny sweep (width 16, a few hundred steps, two models) is trained once per module into
tmp_path; everything else reads it. The real poster-quick preset runs under `-m slow`.
"""

from __future__ import annotations

import importlib.util
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from rflr import summary, sweep
from rflr.checkpoint import load, read_header
from rflr.cli import jobs_from_args, main
from rflr.config import DenseConfig, RFLRConfig, RunConfig, TrainConfig
from rflr.metrics import SYMMETRIC_DEFECT
from rflr.trainer import Job, TrainOptions

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "checkpoints" / "poster" / "summary.csv"


def _jobs(out: Path) -> list[Job]:
    train = TrainConfig(steps=300, lr=0.02)
    opts = TrainOptions(out=out, snapshots="log", snapshot_seeds=1, progress=False)
    return [
        Job(RunConfig(RFLRConfig(width=16, rank=1, depth=3), train=train), [0, 1, 2], opts),
        Job(RunConfig(DenseConfig(width=16, depth=3), train=train), [0, 1], opts),
    ]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, pd.DataFrame, list[dict]]:
    out = tmp_path_factory.mktemp("sweep")
    df, timings = sweep.run_sweep(_jobs(out), out, threads=1, progress=False)
    df.to_csv(out / summary.SUMMARY_NAME, index=False)
    (out / summary.SWEEP_NAME).write_text(json.dumps({"command": "test", "jobs": timings}))
    return out, df, timings


# --- the summary ---------------------------------------------------------------------------------


def test_summary_has_one_row_per_run_read_from_its_final_file(tiny):
    out, df, timings = tiny
    assert (
        len(df) == 5 and list(df.columns[: len(summary.SUMMARY_COLUMNS)]) == summary.SUMMARY_COLUMNS
    )
    assert df["model"].tolist() == ["rflr"] * 3 + ["dense"] * 2
    assert [t["seeds"] for t in timings] == [3, 2]
    for _, row in df.iterrows():
        ckpt = load(out / row["checkpoint"])  # relative to the summary's folder
        assert ckpt.config.run_id == row["run_id"] and ckpt.step == 300
        m = ckpt.metrics
        assert row["test_mse"] == pytest.approx(m["test_mse"], rel=1e-12)
        assert row["headline_defect"] == pytest.approx(m["headline_defect"], rel=1e-12)
        layers = m["layers"]
        assert row["headline_layer"] == layers[-1]["name"]
        assert [row[f"layer{k}_name"] for k in (1, 2)] == [x["name"] for x in layers]
        assert row["layer2_defect"] == pytest.approx(layers[-1]["defect_mean"], rel=1e-12)
        head = layers[-1]
        assert (row["headline_even"], row["headline_odd"], row["headline_mixed"]) == (
            head["even"],
            head["odd"],
            head["mixed"],
        )
        assert row["atom_pairing_defect"] == pytest.approx(m["atom_pairing_defect"], rel=1e-12)
        assert row["symmetric"] == (row["headline_defect"] < SYMMETRIC_DEFECT)
    assert pd.isna(df.loc[df["model"] == "dense", "rank"]).all()


def test_summary_round_trips_through_csv(tiny):
    out, df, _ = tiny
    back = summary.read_summary(out / summary.SUMMARY_NAME)
    assert back["symmetric"].dtype == bool
    assert back["rank"].tolist()[:3] == [1, 1, 1]
    pd.testing.assert_frame_equal(back, df, check_dtype=False)


def test_snapshots_only_for_the_first_seed_of_each_job(tiny):
    out, _, _ = tiny
    assert len(list((out / "rflr-w16-r1-L3-even-s0").glob("*.safetensors"))) > 1
    assert len(list((out / "rflr-w16-r1-L3-even-s1").glob("*.safetensors"))) == 1


def test_resume_reuses_finished_jobs(tiny):
    out, df, _ = tiny
    t0 = time.perf_counter()
    again, timings = sweep.run_sweep(_jobs(out), out, threads=1, resume=True, progress=False)
    assert all(t["reused"] for t in timings) and time.perf_counter() - t0 < 5
    pd.testing.assert_frame_equal(again, df)


def test_depth_profile_is_long_per_layer(tiny):
    _, df, _ = tiny
    long = summary.depth_profile(df)
    assert set(long["k"]) == {1, 2} and len(long) <= 2 * len(df)
    rflr = long[long["model"] == "rflr"]
    assert set(rflr["layer"]) == {"bottleneck.1.z", "bottleneck.2.z"}


# --- shipping ------------------------------------------------------------------------------------


def test_ship_copies_summary_and_a_handful_at_the_same_paths(tiny, tmp_path):
    out, df, _ = tiny
    dest = tmp_path / "poster"
    first = ["rflr-w16-r1-L3-even-s0"]
    copied = sweep.ship(df, out, dest, snapshot_runs=first)
    assert (dest / summary.SUMMARY_NAME).read_text() == (out / summary.SUMMARY_NAME).read_text()
    picked = summary.pick_shipped(df)
    assert 2 <= len(picked) <= 10 and len(set(picked)) == len(picked)
    for run_id in picked:
        assert (dest / df.set_index("run_id").loc[run_id, "checkpoint"]).is_file()
    snaps = sorted((dest / first[0]).glob("*.safetensors"))
    assert len(snaps) == len(list((out / first[0]).glob("*.safetensors")))
    assert all(p.is_file() for p in copied)
    # shipping again replaces the folder; a folder that is not a shipped sweep is refused
    sweep.ship(df, out, dest, snapshot_runs=[])
    assert not (dest / first[0] / "step-00000000.safetensors").exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "precious.txt").write_text("x")
    with pytest.raises(FileExistsError):
        sweep.ship(df, out, tmp_path / "other", snapshot_runs=[])


def test_cli_dispatches_sweep_presets(tmp_path, capsys):
    out, ship = tmp_path / "runs", tmp_path / "ship"
    argv = ["--preset", "poster-quick", "--steps", "40", "--width", "8", "--seeds", "0-1"]
    argv += ["--out", str(out), "--ship", str(ship), "--no-progress"]
    assert main(argv) == 0
    df = summary.read_summary(out / summary.SUMMARY_NAME)
    assert len(df) == 4 and set(df["model"]) == {"rflr", "dense"}
    record = json.loads((out / summary.SWEEP_NAME).read_text())
    assert record["preset"] == "poster-quick" and record["reruns"] == 4
    assert record["command"].startswith("python train.py --preset poster-quick")
    assert record["machine"]["cpu_count"] >= 1 and record["machine"]["torch"]
    assert record["definitions"]["symmetric_defect"] == SYMMETRIC_DEFECT
    assert (ship / summary.SUMMARY_NAME).is_file() and (ship / summary.SWEEP_NAME).is_file()
    assert "reruns in" in capsys.readouterr().out
    # --resume with every job finished rebuilds the summary and keeps the training record
    assert main([*argv, "--resume"]) == 0
    again = json.loads((out / summary.SWEEP_NAME).read_text())
    assert again["wall_time_s"] == record["wall_time_s"] and "summary_rebuilt_utc" in again
    pd.testing.assert_frame_equal(summary.read_summary(out / summary.SUMMARY_NAME), df)


def test_poster_preset_is_149_identically_trained_reruns():
    _, jobs = jobs_from_args(["--preset", "poster"])
    assert sum(len(j.seeds) for j in jobs) == 149
    (a, oa), (b, ob) = ((j.config, j.options) for j in jobs)
    assert {a.model.kind, b.model.kind} == {"rflr", "dense"}
    assert a.train == b.train and a.target == b.target
    assert oa.out == ob.out and not str(oa.out).startswith("checkpoints")
    assert (a.model.width, a.model.depth) == (b.model.width, b.model.depth)


# --- the sweep view ------------------------------------------------------------------------------


def _view_script(summary: Path) -> str:
    return f"""
import streamlit as st
from rflr.ui.sweep_tab import sweep_view
picked = sweep_view({str(summary)!r})
st.text("picked=" + ("" if picked is None else picked.run_id + "|" + str(picked.path)))
"""


def _picked(at: AppTest) -> str:
    return next(t.value for t in at.text if t.value.startswith("picked="))


def test_sweep_view_on_a_tiny_sweep(tiny):
    out, df, _ = tiny
    at = AppTest.from_string(_view_script(out / summary.SUMMARY_NAME), default_timeout=60).run()
    assert not at.exception
    assert len(at.metric) == 2 and len(at.selectbox) == 1
    options = at.selectbox[0].options  # labels: "run id · MSE · defect · status"
    assert sorted(o.split(" · ")[0] for o in options) == sorted(df["run_id"])
    run_id = df["run_id"].iloc[4]
    at.selectbox[0].select(run_id).run()
    assert not at.exception
    assert _picked(at) == f"picked={run_id}|{out / df['checkpoint'].iloc[4]}"


def test_sweep_view_without_a_summary(tmp_path):
    at = AppTest.from_string(_view_script(tmp_path / "none.csv"), default_timeout=30).run()
    assert not at.exception and at.warning and _picked(at) == "picked="


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped poster sweep")
def test_sweep_view_on_the_shipped_summary():
    df = summary.read_summary(SHIPPED)
    assert len(df) == 149
    at = AppTest.from_string(_view_script(SHIPPED), default_timeout=60).run()
    assert not at.exception
    assert [m.label for m in at.metric] == ["dense: symmetric reruns", "RF-LR: symmetric reruns"]
    picked = _picked(at)  # the default pick is a run whose file is shipped
    run_id, path = picked.removeprefix("picked=").split("|")
    assert Path(path).is_file() and read_header(path).config.run_id == run_id
    missing = next(
        r
        for r, c in zip(df["run_id"], df["checkpoint"], strict=True)
        if not (SHIPPED.parent / c).exists()
    )
    at.selectbox[0].select(missing).run()
    assert not at.exception and _picked(at) == f"picked={missing}|None"


# --- REPRODUCTION.md -----------------------------------------------------------------------------


def _generator():
    spec = importlib.util.spec_from_file_location(
        "make_reproduction", ROOT / "scripts" / "make_reproduction.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reproduction_is_generated_from_the_summary(tiny, tmp_path):
    out, df, _ = tiny
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
    assert out.read_text() == doc.read_text()  # regenerated from checkpoints/poster alone
    for png in figs.iterdir():  # pixels depend on the renderer's version: compare sizes
        assert _png_size(png) == _png_size(ROOT / "docs" / "figures" / png.name)


def _png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, after checking its magic bytes."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


# --- the real thing, small -----------------------------------------------------------------------


@pytest.mark.slow
def test_poster_quick_preset_runs_in_three_minutes(tmp_path):
    t0 = time.perf_counter()
    assert main(["--preset", "poster-quick", "--out", str(tmp_path), "--no-progress"]) == 0
    assert time.perf_counter() - t0 < 180
    df = summary.read_summary(tmp_path / summary.SUMMARY_NAME)
    assert len(df) == 12 and (df["status"] == "ok").all()
    st = summary.model_stats(df)
    # the phenomenon, already at 30k steps: RF-LR symmetric inside, dense not
    assert st.loc["rflr", "headline_median"] < SYMMETRIC_DEFECT
    assert st.loc["dense", "headline_median"] > 1e-2
    assert math.isfinite(st.loc["rflr", "test_mse_best"]) and np.all(df["checkpoint"].notna())
