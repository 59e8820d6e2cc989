"""rflr.views.catalog: runs, their snapshots and their controls."""

from __future__ import annotations

import dataclasses

import pandas as pd

from rflr.core.config import DenseConfig, RFLRConfig, RunConfig, TargetConfig
from rflr.files import checkpoint
from rflr.views import catalog
from tests.conftest import make_folder, write_run

STEPS = (0, 10, 100)


def test_catalog_pairs_rflr_with_its_dense_control(tmp_path):
    make_folder(tmp_path)
    write_run(tmp_path, DenseConfig(width=16, depth=3), seed=1)  # other seed: not a partner
    (tmp_path / "broken.safetensors").write_bytes(b"nope")
    cat = catalog.build(checkpoint.list_checkpoints(tmp_path), tmp_path)
    assert cat.default == ("rflr-w16-r2-L3-even-s0", "dense-w16-L3-even-s0")
    assert cat.partners["dense-w16-L3-even-s1"] is None
    assert cat.steps["rflr-w16-r2-L3-even-s0"] == list(STEPS)
    assert cat.file_at("rflr-w16-r2-L3-even-s0", 50).endswith("step-00000010.safetensors")
    assert cat.file_at("rflr-w16-r2-L3-even-s0", -1).endswith("step-00000000.safetensors")
    assert list(cat.errors["file"]) == ["broken.safetensors"]
    t = cat.table
    assert len(catalog.filter_table(t, kinds=["dense"])) == 6
    assert len(catalog.filter_table(t, text="S1", final_only=True)) == 1
    assert pd.isna(t.loc[t["kind"] == "dense", "rank"]).all()


def test_catalog_keeps_two_files_of_the_same_run_and_step_reachable(tmp_path):
    write_run(tmp_path, RFLRConfig(width=16, depth=3, rank=2), steps=(0, 10))
    run = tmp_path / "rflr-w16-r2-L3-even-s0"
    (run / "copy.safetensors").write_bytes((run / "step-00000010.safetensors").read_bytes())
    cat = catalog.build(checkpoint.list_checkpoints(tmp_path), tmp_path)
    files = sorted(f for steps in cat.files.values() for f in steps.values())
    assert files == [
        "rflr-w16-r2-L3-even-s0/copy.safetensors",
        "rflr-w16-r2-L3-even-s0/step-00000000.safetensors",
        "rflr-w16-r2-L3-even-s0/step-00000010.safetensors",
    ]
    assert len(cat.rows) == 3 and len(cat.table) == 3


def test_nearest_snapshot_and_unusable_headers_become_error_rows(tmp_path):
    make_folder(tmp_path, width=8, depth=2)
    listings = checkpoint.list_checkpoints(tmp_path)
    good = next(i for i in listings if i.header is not None)
    big = dataclasses.replace(good.header, step=10**30)  # a JavaScript number cannot hold it
    odd = dataclasses.replace(good.header, metrics=[1, 2])  # not a JSON object
    extra = [
        checkpoint.Listing(tmp_path / "big.safetensors", header=big),
        checkpoint.Listing(tmp_path / "odd.safetensors", header=odd),
    ]
    cat = catalog.build([*listings, *extra], tmp_path, stopped="more than 5 s")
    assert len(cat.table) == 6 and cat.stopped == "more than 5 s"
    errors = dict(zip(cat.errors["file"], cat.errors["error"], strict=True))
    assert "outside 0.." in errors["big.safetensors"] and "JSON object" in errors["odd.safetensors"]
    run = "rflr-w8-r2-L2-even-s0"
    assert [cat.nearest(run, s) for s in (-5, 4, 5, 6, 54, 56, 10**9)] == [
        0,
        0,
        0,
        10,
        10,
        100,
        100,
    ]
    assert cat.nearest("no-such-run", 3) is None


def test_transverse_targets_are_labelled_and_pair_only_with_the_same_target(tmp_path):
    transverse = TargetConfig(cosines=[[1, 1.0]], transverse=[[1, 2, 0.5]])
    d3 = RFLRConfig(width=16, depth=3, rank=2, input_dim=3)
    assert (
        catalog.target_label(RunConfig(d3, transverse)) == "1·cos(1x₁) + 0.5·cos(1x₁)·sin(2(x₂+x₃))"
    )
    d2 = dataclasses.replace(d3, input_dim=2)
    assert catalog.target_label(RunConfig(d2, transverse)).endswith("0.5·cos(1x₁)·sin(2x₂)")
    d5 = dataclasses.replace(d3, input_dim=5)
    assert catalog.target_label(RunConfig(d5, transverse)).endswith("sin(2(x₂+…+x₅))")
    assert catalog.target_label(RunConfig()) == "1·cos(1x) + 0.5·cos(2x) + 0.25·cos(3x)"

    write_run(tmp_path / "a", d2, target=transverse)
    write_run(tmp_path / "a", DenseConfig(width=16, depth=3, input_dim=2))  # plain target
    cat = catalog.build(checkpoint.list_checkpoints(tmp_path / "a"), tmp_path / "a")
    assert cat.partners["rflr-w16-r2-L3-even-s0"] is None  # another target: not its control
    write_run(tmp_path / "b", d2, target=transverse)
    write_run(tmp_path / "b", DenseConfig(width=16, depth=3, input_dim=2), target=transverse)
    cat = catalog.build(checkpoint.list_checkpoints(tmp_path / "b"), tmp_path / "b")
    assert cat.partners["rflr-w16-r2-L3-even-s0"] == "dense-w16-L3-even-s0"
    labels = set(cat.table["target"])
    assert labels == {"1·cos(1x₁) + 0.5·cos(1x₁)·sin(2x₂)"}
