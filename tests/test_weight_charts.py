"""rflr.views.weight_charts: valid Vega-Lite specs in the one visual language (rflr.views.style)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from rflr.files import checkpoint
from rflr.views import data, style, weight_charts


def test_weight_charts(folder):
    ckpt = checkpoint.load(next(folder.rglob("dense-*/step-00000100.safetensors")))
    p = data.compute_partials(ckpt)
    frames = data.atom_frames(ckpt, p)
    spec = weight_charts.atoms_chart(frames.atoms, frames.links, "dense").to_dict()
    assert style.KIND_COLORS["dense"] in json.dumps(spec)
    weight_charts.outgoing_chart(frames.outgoing, "dense").to_dict()


def test_weight_symmetry_chart_leaves_out_trivial_layers(folder):
    frames = []
    for kind, pattern in (("rflr", "rflr-*"), ("dense", "dense-*")):
        ckpt = checkpoint.load(next(folder.rglob(f"{pattern}/step-00000100.safetensors")))
        frame = data.weight_symmetry_frame(ckpt, data.compute_partials(ckpt))
        frames.append(frame.assign(checkpoint=kind, kind=kind))
    frame = pd.concat(frames, ignore_index=True)
    frame.loc[0, "trivial"] = True  # RF-LR's atoms.h
    spec = weight_charts.weight_symmetry_chart(frame).to_dict()
    rows = next(iter(spec["datasets"].values()))
    drawn = {(r["checkpoint"], r["layer"], r["measure"], r["when"]) for r in rows}
    assert ("rflr", "atoms.h", "pairing defect", "trained") not in drawn
    assert ("dense", "atoms.h", "pairing defect", "random init") in drawn
    want = {
        (r["checkpoint"], r["layer"], name, when)
        for r in frame[~frame["trivial"]].to_dict("records")
        for col, name in (
            ("pairing_defect", "pairing defect"),
            ("outgoing_mismatch", "outgoing mismatch"),
        )
        for when, v in (("trained", r[col]), ("random init", r[f"init_{col}"]))
        if v is not None and np.isfinite(v)
    }
    assert drawn == want and len(want) >= 4


def test_invariant_symmetry_chart_draws_movement_on_every_layer(folder):
    ckpt = checkpoint.load(next(folder.rglob("dense-*/step-00000100.safetensors")))
    frame = data.weight_symmetry_frame(ckpt, data.compute_partials(ckpt))
    frame = frame.assign(checkpoint="dense", kind="dense")
    frame.loc[0, "trivial"] = True
    spec = weight_charts.invariant_symmetry_chart(frame).to_dict()
    rows = next(iter(spec["datasets"].values()))
    drawn = {(r["layer"], r["measure"], r["when"]) for r in rows}
    assert ("atoms.h", "direction pairing", "trained") not in drawn  # trivial: left out
    assert ("atoms.h", "movement from init", "trained") in drawn  # movement: every layer
    assert not any(m == "movement from init" and w != "trained" for _, m, w in drawn)
    later = frame["layer"].iloc[1]
    assert {
        (later, "direction pairing", "random init"),
        (later, "outgoing match", "trained"),
    } <= drawn


def test_the_symmetry_facets_share_the_row_they_are_given():
    """Three facets (pairing, outgoing match, movement) fit the column the page measured."""
    frame = pd.DataFrame(
        {
            "checkpoint": ["a"] * 2,
            "kind": ["rflr"] * 2,
            "layer": ["atoms.h", "bottleneck.1.h"],
            "k": [0, 1],
            "trivial": [False, False],
            **{c: [0.1, 0.2] for c in weight_charts.INVARIANT_MEASURES},
            **{f"init_{c}": [0.3, 0.3] for c in weight_charts.INVARIANT_MEASURES},
        }
    )
    for row in (358, 620, 980, 1400):
        spec = weight_charts.invariant_symmetry_chart(frame, row).to_dict()
        per_row = spec["columns"]
        assert 80 + per_row * (spec["spec"]["width"] + 25) <= max(row, 80 + 125)
    assert weight_charts.invariant_symmetry_chart(frame, 1400).to_dict()["columns"] == 3
    assert weight_charts.invariant_symmetry_chart(frame, 358).to_dict()["columns"] == 1


def test_atoms_axis_names_x1_as_the_rest_of_the_app_does(folder):
    ckpt = checkpoint.load(next(folder.rglob("dense-*/step-00000100.safetensors")))
    frames = data.atom_frames(ckpt, data.compute_partials(ckpt))
    for d, title in ((1, "input weight w"), (2, "input weight w₁ (on x₁)")):
        spec = weight_charts.atoms_chart(frames.atoms, frames.links, "dense", d).to_dict()
        assert spec["layer"][1]["encoding"]["x"]["title"] == title
        assert "coordinate 0" not in json.dumps(spec)


def test_weight_symmetry_log_axis_uses_the_shared_tick_format(folder):
    ckpt = checkpoint.load(next(folder.rglob("rflr-*/step-00000100.safetensors")))
    frame = data.weight_symmetry_frame(ckpt, data.compute_partials(ckpt))
    spec = weight_charts.invariant_symmetry_chart(frame.assign(checkpoint="A", kind="rflr"))
    y = spec.to_dict()["spec"]["layer"][0]["encoding"]["y"]
    assert y["scale"]["type"] == "log" and y["axis"]["format"] == style.LOG_AXIS_FORMAT
