"""rflr.sweep.runner: running, resuming, the summary it writes, shipping, the CLI dispatch.

The tiny sweep (conftest.tiny_sweep) is trained once per session; the real poster-quick
preset runs under `-m slow`.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from rflr.cli.flags import jobs_from_args
from rflr.cli.train import main
from rflr.core.config import DenseConfig, RFLRConfig, RunConfig, TrainConfig
from rflr.files.checkpoint import load, read_header
from rflr.measure.metrics import SYMMETRIC_DEFECT
from rflr.sweep import runner, summary
from tests.conftest import tiny_sweep_jobs

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "checkpoints" / "poster" / "summary.csv"


# --- the summary ---------------------------------------------------------------------------------


def test_summary_has_one_row_per_run_read_from_its_final_file(tiny_sweep):
    out, df, timings = tiny_sweep
    assert (
        len(df) == 5 and list(df.columns[: len(summary.SUMMARY_COLUMNS)]) == summary.SUMMARY_COLUMNS
    )
    assert df["model"].tolist() == ["rflr"] * 3 + ["dense"] * 2
    assert [t["seeds"] for t in timings] == [3, 2]
    for _, row in df.iterrows():
        ckpt = load(out / row["checkpoint"])  # relative to the summary's folder
        assert ckpt.config.run_id == row["run_id"] and ckpt.step == 300
        m = ckpt.metrics
        assert row["test_mse"] == pytest.approx(m.test_mse, rel=1e-12)
        assert row["headline_defect"] == pytest.approx(m.headline_defect, rel=1e-12)
        layers = m.layers
        assert row["headline_layer"] == layers[-1].name
        assert [row[f"layer{k}_name"] for k in (1, 2)] == [x.name for x in layers]
        assert row["layer2_defect"] == pytest.approx(layers[-1].defect_mean, rel=1e-12)
        head = layers[-1]
        assert (row["headline_even"], row["headline_odd"], row["headline_mixed"]) == (
            head.even,
            head.odd,
            head.mixed,
        )
        assert row["atom_pairing_defect"] == pytest.approx(m.atom_pairing_defect, rel=1e-12)
        assert row["symmetric"] == (row["headline_defect"] < SYMMETRIC_DEFECT)
    assert pd.isna(df.loc[df["model"] == "dense", "rank"]).all()


def test_summary_round_trips_through_csv(tiny_sweep):
    out, df, _ = tiny_sweep
    back = summary.read_summary(out / summary.SUMMARY_NAME)
    assert back["symmetric"].dtype == bool
    assert back["rank"].tolist()[:3] == [1, 1, 1]
    pd.testing.assert_frame_equal(back, df, check_dtype=False)


def test_a_failed_row_leaves_the_count_columns_integer(tiny_sweep, tmp_path):
    """A failed run has no step, plateaus or drops: the columns stay integers (20000, not
    20000.0), with that row's cells empty."""
    out, df, _ = tiny_sweep
    header = read_header(out / df["checkpoint"].iloc[0])
    table = runner.summarize(
        [runner.summary_row(header, out), runner.failed_row(header.config, out, out)]
    )
    path = tmp_path / summary.SUMMARY_NAME
    table.to_csv(path, index=False)
    for back in (table, summary.read_summary(path)):
        for c in ("step", "plateaus", "drops"):
            assert back[c].dtype == "Int64" and pd.isna(back[c][1]), c
    text = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert text["step"].tolist() == ["300", ""] and text["plateaus"][0].isdigit()


def test_snapshots_only_for_the_first_seed_of_each_job(tiny_sweep):
    out, _, _ = tiny_sweep
    assert len(list((out / "rflr-w16-r1-L3-even-s0").glob("*.safetensors"))) > 1
    assert len(list((out / "rflr-w16-r1-L3-even-s1").glob("*.safetensors"))) == 1


def test_snapshot_seeds_are_the_jobs_first_seeds_whatever_the_tasks(tmp_path):
    """The job's first seed keeps snapshots; the first seed of a later task, or a seed
    retrained alone after its final file was lost, does not."""
    out = tmp_path / "sweep"
    jobs = tiny_sweep_jobs(out)[:1]  # RF-LR seeds 0-2, snapshots for the first seed
    runner.run_sweep(jobs, out, threads=1, progress=False, seeds_per_task=1)
    counts = {s: len(list(out.glob(f"rflr-*-s{s}/*.safetensors"))) for s in (0, 1, 2)}
    assert counts[0] > 1 and counts[1] == counts[2] == 1
    next(out.glob("rflr-*-s1/*.safetensors")).unlink()
    runner.run_sweep(jobs, out, threads=1, resume=True, progress=False)
    assert len(list(out.glob("rflr-*-s1/*.safetensors"))) == 1


def test_resume_reuses_finished_jobs(tiny_sweep):
    out, df, _ = tiny_sweep
    t0 = time.perf_counter()
    again, timings = runner.run_sweep(
        tiny_sweep_jobs(out), out, threads=1, resume=True, progress=False
    )
    assert all(t["reused"] for t in timings) and time.perf_counter() - t0 < 5
    pd.testing.assert_frame_equal(again, df)


def test_depth_profile_is_long_per_layer(tiny_sweep):
    _, df, _ = tiny_sweep
    long = summary.depth_profile(df)
    assert set(long["k"]) == {1, 2} and len(long) <= 2 * len(df)
    rflr = long[long["model"] == "rflr"]
    assert set(rflr["layer"]) == {"bottleneck.1.z", "bottleneck.2.z"}


# --- shipping ------------------------------------------------------------------------------------


def test_ship_copies_summary_and_a_handful_at_the_same_paths(tiny_sweep, tmp_path):
    out, df, _ = tiny_sweep
    dest = tmp_path / "poster"
    first = ["rflr-w16-r1-L3-even-s0"]
    copied = runner.ship(df, out, dest, snapshot_runs=first)
    assert (dest / summary.SUMMARY_NAME).read_text() == (out / summary.SUMMARY_NAME).read_text()
    picked = summary.pick_shipped(df)
    assert 2 <= len(picked) <= 10 and len(set(picked)) == len(picked)
    for run_id in picked:
        assert (dest / df.set_index("run_id").loc[run_id, "checkpoint"]).is_file()
    snaps = sorted((dest / first[0]).glob("*.safetensors"))
    assert len(snaps) == len(list((out / first[0]).glob("*.safetensors")))
    assert all(p.is_file() for p in copied)
    # shipping again replaces the folder; a folder that is not a shipped sweep is refused
    runner.ship(df, out, dest, snapshot_runs=[])
    assert not (dest / first[0] / "step-00000000.safetensors").exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "precious.txt").write_text("x")
    with pytest.raises(FileExistsError):
        runner.ship(df, out, tmp_path / "other", snapshot_runs=[])
    # staging happens in a fresh folder: a DEST.staging of someone else's is never touched,
    # and nothing but DEST is left beside it
    (tmp_path / "poster.staging").mkdir()
    (tmp_path / "poster.staging" / "keep.txt").write_text("mine")
    runner.ship(df, out, dest, snapshot_runs=[])
    assert (tmp_path / "poster.staging" / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other", "poster", "poster.staging"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        runner.ship(df, out, tmp_path / "file", snapshot_runs=[])
    assert (tmp_path / "file").read_text() == "x"


def test_ship_to_a_file_is_one_line(tmp_path, capsys):
    out, ship = tmp_path / "runs", tmp_path / "ship"
    ship.write_text("not a folder")
    argv = ["--preset", "poster-quick", "--steps", "20", "--width", "8", "--seeds", "0"]
    assert main([*argv, "--out", str(out), "--ship", str(ship), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("train.py: error: ") and "is a file" in err[0]
    assert ship.read_text() == "not a folder"


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


# --- grid sweeps: resume at run granularity, swept columns ----------------------------------


def _grid_argv(out: Path) -> list[str]:
    return [
        "--grid",
        "batch-size=1,2",
        "--grid",
        "model=rflr,dense",
        "--width",
        "8",
        "--depth",
        "2",
        "--rank",
        "1",
        "--steps",
        "60",
        "--seeds",
        "0-2",
        "--seeds-per-task",
        "2",
        "--snapshots",
        "final",
        "--out",
        str(out),
        "--no-progress",
    ]


def test_grid_sweep_writes_one_folder_per_config_and_a_column_per_swept_flag(tmp_path):
    from rflr.sweep import executors

    out = tmp_path / "grid"
    assert main(_grid_argv(out)) == 0
    df = summary.read_summary(out / summary.SUMMARY_NAME)
    assert len(df) == 12 and (df["status"] == "ok").all()
    assert list(df.columns[: len(summary.SUMMARY_COLUMNS)]) == summary.SUMMARY_COLUMNS
    assert df.columns[len(summary.SUMMARY_COLUMNS)] == "batch_size"  # swept, not a fixed column
    assert sorted({p.name for p in out.iterdir() if p.is_dir()}) == [
        "batch_size=1_model=dense",
        "batch_size=1_model=rflr",
        "batch_size=2_model=dense",
        "batch_size=2_model=rflr",
    ]
    for _, row in df.iterrows():
        header = read_header(out / row["checkpoint"])
        assert header.config.train.batch_size == row["batch_size"]
        assert header.config.model.kind == row["model"] and row["run_id"].startswith(
            f"batch_size={row['batch_size']}_model={row['model']}/"
        )
    record = json.loads((out / summary.SWEEP_NAME).read_text())
    assert record["spec"]["grid"] == {"batch_size": ["1", "2"], "model": ["rflr", "dense"]}
    assert record["executor"] == "local" and record["failed"] == 0
    assert len(record["jobs"]) == 8  # 4 configs x seed blocks [0, 1], [2]
    assert "protocol" not in record  # the configs differ in their training protocol

    # rerunning trains nothing: every run is finished with the same config
    def no_training(job, threads):
        raise AssertionError(f"retrained {job.config.run_id} {job.seeds}")

    mp = pytest.MonkeyPatch()
    mp.setattr(executors, "run_task", no_training)
    try:
        assert main(_grid_argv(out)) == 0
        pd.testing.assert_frame_equal(summary.read_summary(out / summary.SUMMARY_NAME), df)
    finally:
        mp.undo()

    # a run removed (or replaced by another config's) is retrained alone, to the same weights
    victim = out / df["checkpoint"].iloc[1]
    before = load(victim).params
    victim.unlink()
    other = out / df["checkpoint"].iloc[2]
    ckpt = load(other)
    from rflr.files.checkpoint import save

    save(other, replace_lr(ckpt.config), ckpt.params, ckpt.step, ckpt.metrics, ckpt.history)
    trained = []
    real = executors.run_task

    def spy(job, threads):
        trained.append((job.options.out.name, job.seeds))
        return real(job, threads)

    mp.setattr(executors, "run_task", spy)
    try:  # another run under the same id is refused, then replaced with --overwrite
        assert main(_grid_argv(out)) == 1 and trained == []
        assert main([*_grid_argv(out), "--overwrite"]) == 0
    finally:
        mp.undo()
    assert trained == [("batch_size=1_model=rflr", [1]), ("batch_size=1_model=rflr", [2])]
    after = load(victim).params
    assert all(torch.equal(before[k], after[k]) for k in before)


def _contents(path: Path) -> tuple[dict[str, str], dict[str, bytes]]:
    """A checkpoint's metadata texts and tensor bytes (safetensors writes the metadata
    keys in a per-process order, so two equal files need not be equal bytes)."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return f.metadata(), {k: f.get_tensor(k).numpy().tobytes() for k in f.keys()}


def test_a_rerun_retrains_damaged_runs_to_the_same_files(tmp_path):
    """Issue 22 #4 and #14: a final file deleted, one truncated, one emptied and a resume
    state garbled, then the same command again: exactly those runs are retrained (each
    alone or in a smaller block than before), to identical files (weights, metrics,
    history), and the summary is the first run's."""
    from rflr.cli.grid_jobs import grid_from_args
    from rflr.sweep import executors
    from rflr.train.trainer import resume_states

    out = tmp_path / "grid"
    argv = ["--grid", "model=rflr,dense", "--width", "8", "--depth", "2", "--rank", "1"]
    argv += ["--steps", "60", "--seeds", "0-2", "--snapshots", "final", "--out", str(out)]
    argv += ["--no-progress"]
    assert main(argv) == 0
    df = summary.read_summary(out / summary.SUMMARY_NAME)
    files = {p: _contents(p) for p in out.rglob("step-*.safetensors")}
    ckpt = {(r["model"], r["seed"]): out / r["checkpoint"] for _, r in df.iterrows()}
    ckpt["rflr", 1].unlink()
    ckpt["dense", 0].write_bytes(ckpt["dense", 0].read_bytes()[:100])
    ckpt["dense", 2].write_bytes(b"")
    job = next(j for j in grid_from_args(argv, "train.py")[2] if j.config.model.kind == "rflr")
    (state,) = resume_states(job.config, [1], job.options)  # the retrained block's resume file
    state.parent.mkdir()
    state.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{garbled")

    trained = []
    real = executors.run_task

    def spy(job, threads):
        trained.append((job.config.model.kind, job.seeds))
        return real(job, threads)

    mp = pytest.MonkeyPatch()
    mp.setattr(executors, "run_task", spy)
    try:
        assert main(argv) == 0
    finally:
        mp.undo()
    assert sorted(trained) == [("dense", [0, 2]), ("rflr", [1])]
    assert {p: _contents(p) for p in out.rglob("step-*.safetensors")} == files
    again = summary.read_summary(out / summary.SUMMARY_NAME)
    pd.testing.assert_frame_equal(again, df)
    assert again["step"].dtype == "Int64"


def replace_lr(cfg: RunConfig) -> RunConfig:
    from dataclasses import replace

    return replace(cfg, train=replace(cfg.train, lr=cfg.train.lr * 2))


def test_the_eta_weights_dense_seeds_above_rflr_seeds():
    train = TrainConfig(steps=1000)
    rflr = RunConfig(RFLRConfig(width=128, rank=1, depth=4), train=train)
    dense = RunConfig(DenseConfig(width=128, depth=4), train=train)
    # the poster sweep's measured ratio: dense 49 seeds 167 s, RF-LR 100 seeds 67 s
    ratio = runner.estimated_seconds(dense, 49, 21) / runner.estimated_seconds(rflr, 100, 100)
    assert 1.5 < ratio < 4
    assert runner.estimated_seconds(rflr, 10, 10) < runner.estimated_seconds(rflr, 20, 20)
