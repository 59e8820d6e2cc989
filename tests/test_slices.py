"""rflr.views.slices and rflr.views.plane_charts: a d >= 2 network drawn along x₁ on the slice
through the origin, and for d = 2 over the plane, checked against the network evaluated
directly."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from rflr.core.config import DenseConfig, RFLRConfig, RunConfig, TargetConfig
from rflr.core.model import as_float64, build
from rflr.files import checkpoint
from rflr.views import budget, data, layer_charts, plane_charts, slices
from tests.conftest import write_checkpoint

TARGET = TargetConfig(transverse=[[1.0, 1.0, 0.5]])


@pytest.fixture(scope="module")
def d2(tmp_path_factory) -> checkpoint.Checkpoint:
    path = tmp_path_factory.mktemp("d2") / "step-00000007.safetensors"
    cfg = RunConfig(RFLRConfig(width=8, rank=2, depth=2, input_dim=2), target=TARGET)
    return checkpoint.load(write_checkpoint(path, cfg, grid_points=257))


def _direct(ckpt: checkpoint.Checkpoint, name: str, x: np.ndarray) -> np.ndarray:
    """The layer's channels at points x [G, d], straight from the model: [C, G]."""
    model = build(ckpt.config.model, as_float64(ckpt.params))
    with torch.no_grad():
        _, cache = model.run_with_cache(torch.from_numpy(np.array(x, dtype=float)))
    return cache[name].reshape(len(x), -1).T.numpy()


def test_slice_grid_is_x1_through_the_origin_closed_under_the_mirror():
    grid = slices.slice_grid(np.pi, 3, 9)
    assert grid.x.shape == (9, 3) and not grid.x[:, 1:].any()  # x₂ = x₃ = 0
    assert np.array_equal(grid.x[grid.mirror, 0], -grid.x[:, 0])  # exactly
    assert np.all(np.diff(grid.x0) > 0) and grid.x0[0] == -np.pi


def test_slice_frame_is_the_network_on_x2_equal_0(d2):
    name = "bottleneck.1.z"
    frame = slices.slice_frame(d2, name, [1, 0])
    assert list(frame.columns) == ["channel", "x", "z(x)", "z(-x)", "o(x)"]
    assert len(frame) == 2 * slices.SLICE_POINTS
    x1 = frame.loc[frame["channel"] == 1, "x"].to_numpy()
    assert np.all(np.diff(x1) > 0)  # ordered along x₁: one readable curve
    points = np.stack([x1, np.zeros_like(x1)], axis=1)
    z = _direct(d2, name, points)
    zm = _direct(d2, name, points * [-1, 1])
    for ch in (1, 0):
        part = frame[frame["channel"] == ch]
        np.testing.assert_allclose(part["z(x)"], z[ch], rtol=0, atol=1e-12)
        np.testing.assert_allclose(part["z(-x)"], zm[ch], rtol=0, atol=1e-12)
        np.testing.assert_allclose(part["o(x)"], (z[ch] - zm[ch]) / 2, rtol=0, atol=1e-12)
    out = slices.slice_frame(d2, "readout.y", [0])
    assert "f*(x)" in out  # the output layer draws its target


def test_slice_keeps_to_the_budget(d2, monkeypatch):
    monkeypatch.setenv("RFLR_GRID_POINTS_MAX", "33")
    assert len(slices.slice_frame(d2, "readout.y", [0])) == 33
    monkeypatch.setattr(budget, "limits", lambda: budget.Limits(compute_g=1, grid_points=33))
    monkeypatch.setattr(budget, "GIGA", 1)  # 1 multiply-add allowed: refused, nothing run
    with pytest.raises(budget.BudgetError, match="multiply-adds"):
        slices.slice_frame(d2, "readout.y", [0])
    with pytest.raises(budget.BudgetError):
        slices.plane_frame(d2, "readout.y", [0])


def test_d_equal_2_panels_name_x1_and_keep_the_sample_D(d2):
    """The panels draw the slice; their titles carry the D of the mirror-closed sample."""
    p = data.compute_partials(d2)
    table = data.channel_frame(p, "bottleneck.1.z")
    cv = slices.slice_frame(d2, "bottleneck.1.z", list(table["channel"]))
    chart = layer_charts.layer_panels(cv, table, layer="bottleneck.1.z", x_name=slices.axis_name(2))
    spec = chart.to_dict()
    assert spec["spec"]["layer"][0]["encoding"]["x"]["axis"]["title"] == "x₁"
    (hover,) = [layer for layer in spec["spec"]["layer"] if layer.get("name") == "tips"]
    tips = [t.get("title") for t in hover["encoding"]["tooltip"]]
    assert tips[:4] == ["channel", "x₁", "z(x₁)", "z(−x₁)"]
    titles = chart.data.groupby("panel")["title"].first()
    assert [f"{d:.1e}" in t for d, t in zip(table["D"], titles, strict=True)] == [True] * len(table)
    assert slices.axis_name(1) == "x"
    assert "x₂ = 0" in slices.slice_caption(2)
    assert "x₂ = … = x₄ = 0" in slices.slice_caption(4)


def test_plane_is_a_41_by_41_grid_beside_its_mirror(d2):
    name = "bottleneck.1.z"
    cells = slices.plane_frame(d2, name, [0, 1])
    side = slices.PLANE_SIDE
    assert side == 41 and len(cells) == 2 * side * side
    one = cells[cells["channel"] == 1]
    assert one["x1"].nunique() == side and one["x2"].nunique() == side
    z = _direct(d2, name, one[["x1", "x2"]].to_numpy())[1]
    zm = _direct(d2, name, one[["x1", "x2"]].to_numpy() * [-1, 1])[1]
    np.testing.assert_allclose(one["z"], z, rtol=0, atol=1e-12)
    np.testing.assert_allclose(one["mirror"], zm, rtol=0, atol=1e-12)
    cfg = RunConfig(DenseConfig(width=8, depth=2, input_dim=3), target=TARGET)
    with pytest.raises(ValueError, match="d = 2"):
        slices.plane_frame(replace(d2, config=cfg), name, [0])


def test_plane_panels_pair_each_channel_with_its_mirror(d2):
    p = data.compute_partials(d2)
    table = data.channel_frame(p, "bottleneck.1.z").head(2)
    cells = slices.plane_frame(d2, "bottleneck.1.z", list(table["channel"]))
    df = plane_charts.plane_table(cells, table)
    titles = list(df.groupby("panel", observed=True)["title"].first())
    assert len(titles) == 4  # no empty cell: two panels per channel, nothing else
    assert titles[0] == layer_charts.channel_title(table.iloc[0])
    assert titles[1].endswith("z(−x₁, x₂)")
    assert df.groupby("panel").size().tolist() == [41 * 41] * 4
    assert df["scaled"].abs().max() <= 1.0
    spec = json.loads(plane_charts.plane_panels_spec(3, 140))
    assert spec["columns"] == 2  # a channel and its mirror side by side
    assert spec["resolve"]["scale"] == {"x": "independent", "y": "independent"}
    assert "data" not in spec and "datasets" not in spec  # the table travels as Arrow
    export = plane_charts.plane_panels(cells, table, 3, 140).to_dict()  # validates
    assert len(export["data"]["values"]) == len(df)
    assert json.loads(json.dumps({**export, "data": None})) == {**spec, "data": None}


def test_plane_layout_puts_a_channel_beside_its_mirror():
    """An even number of heatmaps to a row (a channel, then its mirror), wider when 3 would
    have fitted, each fitting the column as the curves' panels do."""
    lc = layer_charts
    for main in range(300, 2500, 53):
        for n, channels in ((1, 1), (2, 1), (2, 8)):
            per_row, width = plane_charts.plane_layout(main, n, channels)
            assert per_row in (2, 4) and lc.MIN_PLOT // 2 <= width <= lc.MAX_PLOT
            curves = lc.panel_layout(main, n, 2 * channels)
            assert width >= curves[1]
    assert plane_charts.plane_layout(980, 2, 8) == (2, lc.plot_width(980, 2, 2))
