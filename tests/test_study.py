"""rflr.sweep.study: a study preset trains every part through the grid engine and post-processes
every final checkpoint into one summary.csv (checked against direct calls and hand-built
networks, not against stored numbers)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
import torch

from rflr.core.config import RFLRConfig, RunConfig, TrainConfig
from rflr.core.targets import symmetric_grid
from rflr.files.checkpoint import load
from rflr.measure import basin
from rflr.measure.evaluate import partials_on_grid
from rflr.measure.weight_symmetry import weight_symmetry_of
from rflr.sweep import study
from rflr.sweep.presets import PRESETS
from rflr.sweep.stats import swept_keys
from rflr.sweep.summary import read_summary
from tests.conftest import mirror_paired_params, write_checkpoint

REQUIRED = [
    "model", "rank", "width", "depth", "input_dim", "lr", "batch_size", "optimizer",
    "weight_decay", "seed", "status", "test_mse", "headline_defect", "atom_pairing_defect",
    "outgoing_mismatch", "flat_radius", "hessian_top",
]  # fmt: skip


def _expected_runs(args: tuple[str, ...]) -> int:
    """Configs x seeds of one part, from its own arguments."""
    grids = [a.split("=", 2)[2].split(",") for a in args if a.startswith("--grid=")]
    seeds = next(a.split("=", 1)[1] for a in args if a.startswith("--seeds="))
    lo, hi = (int(s) for s in seeds.split("-"))
    return len(list(itertools.product(*grids))) * (hi - lo + 1)


def test_quick_study_has_one_sane_row_per_run(quick_study):
    out, ship = quick_study
    df = read_summary(out / "summary.csv")
    parts = PRESETS["beyond-quick"].study
    assert list(dict.fromkeys(df["part"])) == [p.name for p in parts]
    for p in parts:
        assert (df["part"] == p.name).sum() == _expected_runs(p.args) == p.planned_runs, p.name
    assert set(REQUIRED) <= set(df.columns)
    assert any(c.startswith("wsym2_pairing") for c in df.columns)
    assert df["run_id"].is_unique
    assert set(df["status"]) <= {"ok", "diverged"}
    for ckpt in df["checkpoint"]:
        assert (out / ckpt).is_file()
    ok = df[df["status"] == "ok"]
    assert ok["headline_defect"].between(0, 1).all()
    assert (ok["atom_pairing_defect"] >= 0).all() and (ok["atom_pairing_init"] > 0).all()
    assert (ok["flat_radius"] > 0).all() and ok["hessian_top"].map(math.isfinite).all()
    # each part's swept flag is the config the run was trained with
    by = {p: g for p, g in df.groupby("part")}
    assert (by["adam"]["optimizer"] == "adam").all()
    assert (by["weight-decay"]["weight_decay"] == 1e-3).all()
    assert (by["mean-field"]["parameterization"] == "mf").all()
    assert (by["input-dim"]["input_dim"] == 2).all()
    for ckpt in by["input-dim"]["checkpoint"]:  # a target of every coordinate, even under R
        assert load(out / ckpt).config.target.transverse == [[1, 1, 0.5]]
    assert set(by["phase"]["batch_size"]) == {1, 4}
    assert (by["base"]["optimizer"] == "sgd").all() and (by["base"]["weight_decay"] == 0).all()
    record = json.loads((out / study.STUDY_NAME).read_text())
    assert all(p["trained"] for p in record["parts"])
    assert record["post_processing"]["directions"] == study.POST.directions
    assert (ship / "summary.csv").read_bytes() == (out / "summary.csv").read_bytes()


def test_mini_study_rows_are_its_runs(mini_study):
    out, ship = mini_study
    df = read_summary(out / "summary.csv")
    assert list(dict.fromkeys(df["part"])) == ["base", "weight-decay"]
    assert len(df) == 4 + 4 and set(REQUIRED) <= set(df.columns) and df["run_id"].is_unique
    assert set(df.loc[df["part"] == "weight-decay", "weight_decay"]) == {1e-3}
    assert (ship / "summary.csv").read_bytes() == (out / "summary.csv").read_bytes()


def test_summarizing_again_reads_the_cache(mini_study, tmp_path, monkeypatch):
    out, _ = mini_study
    before = (out / "summary.csv").read_text()

    def boom(*a, **k):
        raise AssertionError("measured again")

    monkeypatch.setattr(study, "post_columns", boom)
    monkeypatch.setitem(PRESETS, "mini", _mini_preset(out))
    assert study.main(["mini", "--out", str(out), "--ship", str(tmp_path)]) == 0
    assert (out / "summary.csv").read_text() == before
    # a changed file (another size or mtime) is measured again
    ckpt = out / read_summary(out / "summary.csv")["checkpoint"].iloc[0]
    ckpt.touch()
    with pytest.raises(AssertionError, match="measured again"):
        study.main(["mini", "--out", str(out), "--ship", "none"])


def _mini_preset(out: Path):
    """The mini study's preset again, from the parts its study.json recorded."""
    from rflr.sweep.presets import Preset, StudyPart

    record = json.loads((out / study.STUDY_NAME).read_text())
    parts = tuple(StudyPart(p["name"], p["question"], tuple(p["args"])) for p in record["parts"])
    return Preset("test study", [], study=parts, out=str(out))


def _exactly(x: float):
    return pytest.approx(x, rel=0, abs=0, nan_ok=True)


def test_post_columns_are_the_direct_measurements(mini_study):
    out, _ = mini_study
    df = read_summary(out / "summary.csv")
    row = df[(df["part"] == "base") & (df["model"] == "rflr")].iloc[0]
    path = out / row["checkpoint"]
    got = study.post_columns(path)
    ck = load(path)
    grid = symmetric_grid(ck.config.target.domain, study.POST.grid_points, 1)
    ws = weight_symmetry_of(
        ck.config, ck.params, partials_on_grid(ck.config, ck.params, grid), grid
    )
    assert got["wsym1_pairing"] == ws[0].pairing_defect == pytest.approx(row["atom_pairing_defect"])
    assert got["outgoing_mismatch"] == _exactly(ws[0].outgoing_mismatch)
    assert got[f"wsym{len(ws)}_pairing_init"] == ws[-1].init_pairing_defect
    # the rescale-invariant columns are the layer records' numbers, the atoms' by name too
    assert got["atom_direction_pairing"] == got["wsym1_direction"] == ws[0].direction_pairing
    assert got["atom_direction_pairing_init"] == ws[0].init_direction_pairing
    assert got["outgoing_match"] == _exactly(ws[0].outgoing_match)
    assert got["outgoing_match_init"] == _exactly(ws[0].init_outgoing_match)
    assert got["atom_movement"] == ws[0].movement > 0
    assert got[f"wsym{len(ws)}_movement"] == ws[-1].movement
    assert "atom_movement" not in swept_keys(df)  # a result, never an axis
    x, y = basin.training_set(ck.config)
    s = study.POST
    prof = basin.basin_profile(ck.config.model, ck.params, x, y, s.radii, s.directions)
    assert got["flat_radius"] == prof.flat_radius
    top = basin.top_hessian_eigenvalue(
        ck.config.model, ck.params, x, y, tol=s.hessian_tol, max_iter=s.hessian_iterations
    )
    assert got["hessian_top"] == top.eigenvalue
    # the cheap power iteration agrees with the full Hessian's top eigenvalue
    h = basin.full_hessian(ck.config.model, ck.params, x, y)
    assert got["hessian_top"] == pytest.approx(float(torch.linalg.eigvalsh(h)[-1]), rel=1e-2)


def test_a_mirror_paired_network_has_zero_atom_defects_and_a_positive_init_level(tmp_path):
    cfg = RunConfig(RFLRConfig(width=16, rank=2, depth=3), train=TrainConfig(dtype="float64"))
    path = write_checkpoint(tmp_path / "sym.safetensors", cfg, mirror_paired_params(cfg.model))
    got = study.post_columns(path)
    assert got["wsym1_pairing"] < 1e-12 and got["outgoing_mismatch"] < 1e-12
    assert got["atom_direction_pairing"] < 1e-12 and got["outgoing_match"] < 1e-12
    assert got["atom_direction_pairing_init"] > 0.01 and got["outgoing_match_init"] > 0.05
    assert got["atom_pairing_init"] > 0.05 and got["outgoing_mismatch_init"] > 0.05
    assert got["input_dim"] == 1 and got["optimizer"] == "sgd" and got["weight_decay"] == 0


def test_a_study_without_parts_trained_writes_an_empty_summary(tmp_path):
    part = PRESETS["beyond-quick"].study[:1]
    df = study.write_study("beyond-quick", part, tmp_path, None, {}, "cmd")
    assert df.empty and json.loads((tmp_path / study.STUDY_NAME).read_text())["runs"] == 0
    assert (tmp_path / "summary.csv").is_file()


def test_study_presets_refuse_a_grid(capsys):
    from rflr.cli.train import main

    with pytest.raises(SystemExit):
        main(["--preset", "beyond-quick", "--grid", "lr=0.1,0.2"])
    assert "sets its own --grid" in capsys.readouterr().err


def test_the_cli_summarizer_refuses_a_missing_folder(tmp_path, capsys):
    with pytest.raises(SystemExit):
        study.main(["beyond-quick", "--out", str(tmp_path / "nope")])
    assert "is not a folder" in capsys.readouterr().err


def test_a_part_cut_short_is_summarized_from_its_finished_runs(mini_study, tmp_path):
    import shutil

    out, _ = mini_study
    part = tmp_path / "weight-decay"
    shutil.copytree(out / "weight-decay", part)
    full = read_summary(part / "summary.csv").sort_values("run_id").reset_index(drop=True)
    (part / "summary.csv").unlink()
    got = study.finished_runs(part).sort_values("run_id").reset_index(drop=True)
    assert list(got["run_id"]) == list(full["run_id"])
    assert list(got["headline_defect"]) == list(full["headline_defect"])
    # a run whose final file is not there yet is left out
    next(part.glob("*/*/step-*.safetensors")).unlink()
    assert len(study.finished_runs(part)) == len(full) - 1


def test_part_trains_only_the_parts_named_and_summarizes_every_part(
    mini_study, tmp_path, monkeypatch, capsys
):
    import shutil

    from rflr.cli.train import main
    from tests.conftest import mini_preset

    out = tmp_path / "runs"
    shutil.copytree(mini_study[0], out)
    shutil.rmtree(out / "weight-decay")
    base = {p: p.stat().st_mtime_ns for p in (out / "base").rglob("*.safetensors")}
    monkeypatch.setitem(PRESETS, "mini", mini_preset())
    argv = ["--preset", "mini", "--part", "weight-decay", "--out", str(out), "--ship", "none"]
    assert main([*argv, "--no-progress"]) == 0
    assert {p: p.stat().st_mtime_ns for p in (out / "base").rglob("*.safetensors")} == base
    df = read_summary(out / "summary.csv")
    assert list(dict.fromkeys(df["part"])) == ["base", "weight-decay"] and len(df) == 8
    assert set(df.loc[df["part"] == "weight-decay", "weight_decay"]) == {1e-3}
    record = json.loads((out / study.STUDY_NAME).read_text())
    assert "--part weight-decay" in record["command"]
    assert all(p["complete"] for p in record["parts"])
    for bad, fragment in (
        (["--preset", "mini", "--part", "nope"], "has the parts base, weight-decay"),
        (["--preset", "smoke", "--part", "base"], "--part NAME picks parts of a study preset"),
    ):
        capsys.readouterr()
        with pytest.raises(SystemExit):
            main(bad)
        assert fragment in capsys.readouterr().err
