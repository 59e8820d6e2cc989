"""rflr.views.data: the tables the explorer draws, from rflr.measure.metrics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from rflr.core.targets import target_values
from rflr.files import checkpoint
from rflr.measure.record import LayerMetrics, Metrics
from rflr.views import data


def test_layer_tables_come_from_rflr_metrics(folder):
    ckpt = checkpoint.load(next(folder.rglob("rflr-*/step-00000100.safetensors")))
    p = data.compute_partials(ckpt)
    table = data.channel_frame(p, "bottleneck.2.z")
    stored = ckpt.metrics.layers[-1]
    active = table[table["active"]]
    assert len(active) == stored.active
    assert math.isclose(active["D"].mean(), stored.defect_mean, rel_tol=1e-9)
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
    assert math.isclose(data.output_defect(p), ckpt.metrics.output_defect, rel_tol=1e-9)


def test_defect_history_is_the_headers_layer_records(folder):
    files = sorted(folder.rglob("rflr-*/step-*.safetensors"))
    snaps = [(h.step, h.metrics) for h in map(checkpoint.read_header, files)]
    got = data.defect_history(snaps)
    want = [
        (step, rec.name, rec.defect_mean)
        for step, m in snaps
        for rec in m.layers
        if isinstance(rec.defect_mean, float)
    ]
    assert len(got) == len(want) > 0
    for step, name, d in want:
        row = got[(got["step"] == step) & (got["layer"] == name)]
        assert len(row) == 1 and row["defect_mean"].iloc[0] == d
        assert row["k"].iloc[0] == int(name.split(".")[1])


def test_defect_history_skips_what_it_cannot_read():
    # a header of the wrong types never gets this far (rflr.files.header refuses it); what a
    # valid record can still hold: an undefined defect, a name that is not a layer's, no layers
    snaps = [
        (1, Metrics(layers=[LayerMetrics("bottleneck.1.z", defect_mean=0.5, active=2)])),
        (2, Metrics(layers=[LayerMetrics("bottleneck.1.z"), LayerMetrics("junk", 0.5)])),
        (3, Metrics(layers=[LayerMetrics("", defect_mean=0.5)])),
        (4, Metrics()),
    ]
    got = data.defect_history(snaps)
    assert list(got["step"]) == [1] and got["defect_mean"].iloc[0] == 0.5


def test_plateau_bounds_are_whole_steps():
    steps = list(range(1, 3000, 7))
    loss = [1.0 if s < 300 else 1e-3 for s in steps]
    frame = data.plateau_frame({"step": steps, "train_loss": loss, "test_mse": loss})
    assert len(frame) and frame["start"].dtype == "int64" and frame["end"].dtype == "int64"


def test_smoothing_is_a_rolling_geometric_mean():
    hist = data.history_frame(
        {"step": [1, 2, 3, 4, 5], "train_loss": [1, 100, 1, 100, 1], "test_mse": [9] * 5}
    )
    out = data.smooth_series(hist, "train loss", 3)
    train = out[out["series"] == "train loss"].sort_values("step")["value"].to_numpy()
    v = np.log10([1, 100, 1, 100, 1])
    want = [10 ** np.mean(v[max(0, i - 1) : i + 2]) for i in range(5)]  # centred, edges shorter
    np.testing.assert_allclose(train, want)
    assert (out[out["series"] == "test MSE"]["value"] == 9).all()  # the rest is untouched
    assert data.smooth_series(hist, "train loss", 1) is hist


def test_channels_keep_their_place_across_steps():
    def table(activity, active):
        return pd.DataFrame(
            {"channel": range(len(activity)), "activity": activity, "active": active}
        )

    final = table([0.1, 5.0, 3.0, 0.0], [False, True, True, False])
    now = table([9.0, 0.0, 2.0, 4.0], [True, False, True, True])
    ordered = data.stable_order(now, final)
    # final's active channels first in final order (1, 2), then active now by activity (0, 3)
    assert list(ordered["channel"]) == [1, 2, 0, 3]
    drawn = data.drawn_channels(ordered, final, 3)
    assert list(drawn["channel"]) == [1, 2, 0]  # 1 is inactive now but keeps its place
    assert list(data.stable_order(now, None)["channel"]) == [0, 1, 2, 3]


def test_output_curves_carry_the_target(folder):
    ckpt = checkpoint.load(next(folder.rglob("rflr-*/step-00000100.safetensors")))
    p = data.compute_partials(ckpt)
    cv = data.curve_frame(p, "readout.y", [0])
    x = torch.from_numpy(cv["x"].to_numpy()[:, None].copy())
    want = target_values(ckpt.config.target, x).numpy()
    np.testing.assert_allclose(cv["f*(x)"], want)
    assert "f*(x)" not in data.curve_frame(p, "bottleneck.2.z", [0])


def test_weight_symmetry_frame_is_rflr_weight_symmetry(folder, tiny_rflr, tmp_path):
    from rflr.core.targets import symmetric_grid
    from rflr.measure import weight_symmetry
    from tests.conftest import mirror_paired_params, write_checkpoint

    ckpt = checkpoint.load(next(folder.rglob("rflr-*/step-00000100.safetensors")))
    p = data.compute_partials(ckpt)
    frame = data.weight_symmetry_frame(ckpt, p)
    grid = symmetric_grid(ckpt.config.target.domain, len(p.x0), 1)
    want = weight_symmetry.weight_symmetry_of(ckpt.config, ckpt.params, p.z, grid)
    assert list(frame["layer"]) == [r.name for r in want]
    assert list(frame["layer"]) == ["atoms.h", "bottleneck.1.h", "bottleneck.2.h"]
    np.testing.assert_allclose(frame["pairing_defect"], [r.pairing_defect for r in want])
    np.testing.assert_allclose(
        frame["init_outgoing_mismatch"], [r.init_outgoing_mismatch for r in want]
    )
    for col in ("direction_pairing", "init_outgoing_match", "movement"):
        np.testing.assert_allclose(frame[col], [getattr(r, col) for r in want])
    # a network built in exact mirror pairs: its atoms pair with zero defect, unlike at init
    params = {k: v.float() for k, v in mirror_paired_params(tiny_rflr.model).items()}
    path = write_checkpoint(tmp_path / "sym.safetensors", tiny_rflr, params)
    sym = checkpoint.load(path)
    atoms = data.weight_symmetry_frame(sym, data.compute_partials(sym)).iloc[0]
    assert atoms["layer"] == "atoms.h" and atoms["pairing_defect"] < 1e-12
    assert atoms["init_pairing_defect"] > 1e-3
