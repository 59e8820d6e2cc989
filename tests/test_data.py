"""rflr.app.data: the tables the explorer draws, from rflr.metrics."""

from __future__ import annotations

import math

import numpy as np

from rflr import checkpoint
from rflr.app import data


def test_layer_tables_come_from_rflr_metrics(folder):
    ckpt = checkpoint.load(next(folder.rglob("rflr-*/step-00000100.safetensors")))
    p = data.compute_partials(ckpt)
    table = data.channel_frame(p, "bottleneck.2.z")
    stored = ckpt.metrics["layers"][-1]
    active = table[table["active"]]
    assert len(active) == stored["active"]
    assert math.isclose(active["D"].mean(), stored["defect_mean"], rel_tol=1e-9)
    cv = data.curve_frame(p, "bottleneck.2.z", [0])
    assert len(cv) == data.PLOT_POINTS
    np.testing.assert_allclose(cv["z(-x)"].to_numpy(), cv["z(x)"].to_numpy()[::-1])
    np.testing.assert_allclose(cv["o(x)"], (cv["z(x)"] - cv["z(-x)"]) / 2)
    prof = data.depth_profile(p, equivariance=True)
    assert list(prof.loc[prof["part"] == "partial", "layer"]) == [
        "bottleneck.1.z",
        "bottleneck.2.z",
    ]
    assert (prof.loc[prof["part"] == "h", "equivariance"] >= 0).all()
    assert math.isclose(data.output_defect(p), ckpt.metrics["output_defect"], rel_tol=1e-9)
