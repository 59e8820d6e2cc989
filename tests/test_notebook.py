"""rflr.notebook (the notebook API: rflr.open, rflr.open_sweep, rflr.runs) and the walk-through
in docs/notebook.md, whose code blocks run here in order."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import rflr
from rflr.core.config import RFLRConfig, RunConfig
from rflr.core.targets import symmetric_grid
from rflr.files import checkpoint, paths
from rflr.hub import locate
from rflr.measure.evaluate import partials_on_grid
from rflr.measure.weight_symmetry import unit_layers, weight_symmetry_of
from tests.conftest import make_folder, mirror_paired_params, write_checkpoint

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "notebook.md"


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.S | re.M)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, RunConfig, RunConfig]:
    root = tmp_path_factory.mktemp("runs")
    a, b = make_folder(root)
    return root, a, b


# --- opening ----------------------------------------------------------------------------------


def test_a_file_a_run_folder_and_a_named_run_open_the_same_snapshots(two_runs):
    root, a, _ = two_runs
    final = checkpoint.snapshot_path(root, a, 100)
    by_file = rflr.open(final)
    by_folder = rflr.open(root / a.run_id)
    by_name = rflr.open(root, run=a.run_id)
    for run in (by_file, by_folder, by_name):
        assert run.path == final and run.step == 100 and run.steps == [0, 10, 100]
        assert run.config == a and run.kind == "rflr"
    first = by_name.at(0)
    assert first.path == checkpoint.snapshot_path(root, a, 0) and first.step == 0
    assert rflr.open(root, run=a.run_id, step=10).step == 10
    with pytest.raises(rflr.PathError, match="no snapshot at step 5"):
        by_file.at(5)


def test_the_header_fields_are_the_files(two_runs):
    root, a, _ = two_runs
    run = rflr.open(root / a.run_id)
    header = checkpoint.read_header(run.path)
    assert run.metrics == header.metrics and run.status == "ok"
    h = header.history
    assert run.history["step"].tolist() == h["step"] and run.history["step"].dtype == "int64"
    assert np.allclose(run.history["test_mse"], h["test_mse"])
    assert np.allclose(run.history["train_loss"], h["train_loss"])
    assert "RF-LR" in repr(run) and a.run_id in run.label
    shape = run.plateaus()  # conftest.fake_history: a plateau, a sharp drop at 20, a plateau
    assert set(shape["kind"]) == {"plateau", "drop"}
    ((start, end),) = shape.query("kind == 'drop'")[["start", "end"]].to_numpy()
    assert start <= 20 <= end


def test_several_runs_need_a_name(two_runs):
    root, a, b = two_runs
    with pytest.raises(rflr.PathError, match="several runs; name one with run=") as err:
        rflr.open(root)
    assert a.run_id in str(err.value) and b.run_id in str(err.value)
    with pytest.raises(rflr.PathError, match="has no run 'nope'"):
        rflr.open(root, run="nope")


def test_bad_sources_raise_clear_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(rflr.PathError, match="no readable rflr checkpoints"):
        rflr.open(tmp_path / "empty")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x80\x04not a checkpoint")
    with pytest.raises(rflr.CheckpointError, match="pickle"):
        rflr.open(junk)
    with pytest.raises(rflr.PathError, match="no such file or folder"):
        rflr.open(tmp_path / "missing.safetensors")


def test_a_hub_repo_opens_through_rflr_hub_pull(two_runs, monkeypatch, tmp_path):
    root, a, _ = two_runs
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(locate, "pull", lambda repo, rev=None: root)
    assert rflr.open(f"user/sweep/{a.run_id}").path == checkpoint.snapshot_path(root, a, 100)
    assert rflr.open("hf://user/sweep", run=a.run_id, step=0).step == 0


def test_runs_lists_every_checkpoint_from_headers(two_runs):
    root, a, b = two_runs
    table = rflr.runs(root)
    assert len(table) == 6 and set(table["run"]) == {a.run_id, b.run_id}
    assert set(table["kind"]) == {"rflr", "dense"}


# --- measurements against references ----------------------------------------------------------


def test_partials_are_the_network_on_the_metrics_grid(two_runs):
    root, a, _ = two_runs
    run = rflr.open(root / a.run_id)
    ckpt = checkpoint.load(run.path)
    grid = symmetric_grid(a.target.domain, run.metrics.grid_points, 1)
    ref = partials_on_grid(a, ckpt.params, grid)
    for k, name in [(0, "atoms.h"), (1, "bottleneck.1.z"), (2, "bottleneck.2.h"), (3, "readout.y")]:
        frame = run.partials(k, "h" if name.endswith(".h") and k else "partial")
        assert frame.columns.name == name
        assert np.array_equal(frame.to_numpy().T, ref[name])
        assert np.array_equal(frame.index.to_numpy(), grid.x[:, 0])
    assert np.array_equal(run.partials("bottleneck.2.u").to_numpy().T, ref["bottleneck.2.u"])


def test_defects_match_a_plain_loop_over_the_channels(two_runs):
    root, _, b = two_runs
    run = rflr.open(root / b.run_id)
    z = run.partials(2)  # hidden.2.u, N channels
    table = run.defects(2).set_index("channel")
    for c in z.columns:
        v = z[c].to_numpy()
        odd = [(v[i] - v[len(v) - 1 - i]) / 2 for i in range(len(v))]  # the grid is antisymmetric
        energy = sum((x - v.mean()) ** 2 for x in v)
        assert table.loc[c, "D"] == pytest.approx(sum(o * o for o in odd) / energy, rel=1e-9)


def test_a_mirror_paired_network_is_even_inside(tmp_path):
    cfg = RunConfig(RFLRConfig(width=16, rank=2, depth=3), seed=3)
    params = {k: v.to(torch.float32) for k, v in mirror_paired_params(cfg.model).items()}
    path = write_checkpoint(tmp_path / "even.safetensors", cfg, params)
    run = rflr.open(path)
    for k in (1, 2):
        assert (run.defects(k)["D"] < 1e-10).all() and (run.defects(k)["parity"] == "even").all()
    profile = run.depth_profile().set_index("layer")["defect_mean"]
    assert profile["atoms.h"] > 0.1  # single atoms are not even: they come in mirror pairs
    assert (profile.drop("atoms.h") < 1e-10).all() and run.output_defect < 1e-10


def test_weight_symmetry_is_rflr_weight_symmetry(two_runs):
    root, a, b = two_runs
    for cfg in (a, b):
        run = rflr.open(root / cfg.run_id)
        ckpt = checkpoint.load(run.path)
        grid = symmetric_grid(cfg.target.domain, run.metrics.grid_points, 1)
        ref = weight_symmetry_of(cfg, ckpt.params, partials_on_grid(cfg, ckpt.params, grid), grid)
        table = run.weight_symmetry()
        assert (
            list(table.index) == [u.name for u in unit_layers(cfg.model)] == [r.name for r in ref]
        )
        for r in ref:
            assert table.loc[r.name].to_dict() == pytest.approx(
                {k: v for k, v in r.record().items() if k != "name"}, nan_ok=True
            )
        # the atoms' record is the stored SPEC atom pairing defect
        assert run.weight_symmetry(0).pairing_defect == pytest.approx(
            run.metrics.atom_pairing_defect, rel=1e-12
        )
        assert np.array_equal(run.weight_symmetry(1).perm, ref[1].perm)
        with pytest.raises(ValueError, match="not a layer of units"):
            run.weight_symmetry(cfg.model.depth)  # the output has no units


def test_mirror_paired_atoms_have_no_pairing_defect(tmp_path):
    cfg = RunConfig(RFLRConfig(width=16, rank=2, depth=3), seed=1)
    params = {k: v.to(torch.float32) for k, v in mirror_paired_params(cfg.model).items()}
    run = rflr.open(write_checkpoint(tmp_path / "pairs.safetensors", cfg, params))
    atoms = run.weight_symmetry("atoms.h")
    assert atoms.pairing_defect < 1e-12 < atoms.init_pairing_defect
    assert atoms.outgoing_mismatch_matched < 1e-12
    assert atoms.direction_pairing < 1e-12 < atoms.init_direction_pairing
    assert atoms.outgoing_match < 1e-12 < atoms.init_outgoing_match
    assert run.weight_symmetry()["movement"].notna().all()


def test_layers_are_checked(two_runs):
    root, a, _ = two_runs
    run = rflr.open(root / a.run_id)
    with pytest.raises(ValueError, match="not a layer of this depth-3 network"):
        run.defects(7)
    with pytest.raises(ValueError, match="not a layer"):
        run.partials("hidden.1.u")  # a dense name on an RF-LR network
    with pytest.raises(ValueError, match="part must be one of"):
        run.defects(1, part="zz")
    with pytest.raises(TypeError, match="a depth index k or a name"):
        run.partials(1.0)
    assert run.layer(np.int64(1)) == run.layer("bottleneck.1.z") == "bottleneck.1.z"
    assert run.layers == list(run.evaluated.z) and run.layers[-1] == "readout.y"


# --- sweeps -----------------------------------------------------------------------------------


def test_open_sweep_reads_the_shipped_poster_summary(tmp_path):
    shipped = ROOT / "checkpoints" / "poster" / "summary.csv"
    sweep = rflr.open_sweep(shipped)
    assert len(sweep) == len(pd.read_csv(shipped)) and sweep["symmetric"].dtype == bool
    (tmp_path / "a" / "b").mkdir(parents=True)
    shutil.copy(shipped, tmp_path / "a" / "b" / "summary.csv")
    pd.testing.assert_frame_equal(rflr.open_sweep(tmp_path / "a"), sweep)  # found below


def test_open_sweep_refuses_what_is_not_one_sweep(tmp_path):
    for sub in ("one", "two"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "summary.csv").write_text("run_id,model\nx,rflr\n")
    with pytest.raises(rflr.PathError, match="several sweeps; open one of: one/summary.csv"):
        rflr.open_sweep(tmp_path)
    with pytest.raises(rflr.PathError, match="not a sweep summary: no column status"):
        rflr.open_sweep(tmp_path / "one")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x01" * 10)
    with pytest.raises(rflr.PathError, match="bin.csv"):
        rflr.open_sweep(tmp_path / "bin.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(rflr.PathError, match="no summary.csv"):
        rflr.open_sweep(tmp_path / "empty")


# --- the walk-through ---------------------------------------------------------------------------


def test_import_rflr_is_light_and_names_resolve():
    assert set(rflr.__all__) == {"__version__", *rflr._LAZY}
    for name in rflr.__all__:
        assert getattr(rflr, name) is not None
    with pytest.raises(AttributeError):
        rflr.nope  # noqa: B018


def test_docs_notebook_walkthrough_runs(tmp_path, monkeypatch):
    """Every ```python block of docs/notebook.md, in order, in one namespace, from a directory
    outside the checkout (the checkpoints are found through RFLR_CHECKPOINTS)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(paths.ENV_VAR, str(ROOT / "checkpoints"))
    blocks = python_blocks(DOC.read_text())
    assert len(blocks) >= 6
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    rf, dense = namespace["rf"], namespace["dense"]
    # What the page says: both fit the target, only RF-LR's last partial layer is even.
    assert rf.metrics.test_mse < 1e-3 and dense.metrics.test_mse < 1e-3
    assert (rf.defects(3).query("active")["parity"] == "even").all()
    assert dense.defects(3).query("active")["D"].median() > 0.1
    namespace["chart"].to_dict()  # a valid Vega-Lite spec


def test_readme_use_from_python_runs(monkeypatch):
    """The README's "Use from Python" lines, from the checkout as the README assumes."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Use from Python", 1)[1]
    (block,) = python_blocks(section)[:1]
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["rf"].kind == "rflr" and len(namespace["sweep"]) > 0
