"""rflr.views.grid_charts: curves over one swept key, heatmaps over two, from a summary."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rflr.views import grid_charts, style


def _grid() -> pd.DataFrame:
    rows = []
    for lr in (0.01, 0.1):
        for batch in (1, 4, 16):
            for seed in range(4):
                sym = lr == 0.1 and seed < batch // 4 + 1
                rows.append(
                    dict(
                        model="rflr", lr=lr, batch_size=batch, seed=seed, status="ok",
                        symmetric=sym, headline_defect=1e-5 if sym else 0.3, test_mse=1e-4,
                    )
                )  # fmt: skip
    return pd.DataFrame(rows)


def _data(chart) -> list[dict]:
    spec = chart.to_dict()
    return next(iter(spec["datasets"].values()))


def test_heatmap_has_one_cell_per_pair_of_values_with_its_fraction():
    chart = grid_charts.heatmap_chart(_grid(), "lr", "batch_size")
    cells = _data(chart)
    assert len(cells) == 6
    got = {(c["lr"], c["batch_size"]): c["symmetric_fraction"] for c in cells}
    assert got[(0.01, 1)] == 0 and got[(0.1, 16)] == 1.0 and got[(0.1, 1)] == 0.25
    assert {c["text"] for c in cells} >= {"0%", "100%", "25%"}


def test_curve_has_one_point_per_value_and_interval_columns():
    chart = grid_charts.curve_chart(_grid(), "batch_size", "headline_defect")
    pts = _data(chart)
    assert sorted(p["batch_size"] for p in pts) == [1, 4, 16]
    assert all(p["headline_defect_lo"] <= p["headline_defect_median"] for p in pts)


def test_inf_is_clipped_to_the_largest_finite_value():
    df = _grid().assign(flat_radius=np.where(_grid()["lr"] == 0.1, np.inf, 0.5))
    pts = {p["lr"]: p for p in _data(grid_charts.curve_chart(df, "lr", "flat_radius", None))}
    assert pts[0.1]["flat_radius_median"] == 0.5 == pts[0.01]["flat_radius_median"]


def test_sweep_charts_pick_curves_or_heatmaps_by_the_number_of_axes():
    df = _grid()
    assert len(grid_charts.sweep_charts(df, ["lr", "batch_size"])) == 2  # one model, 2 heatmaps
    assert len(grid_charts.sweep_charts(df, ["lr"])) == 2  # two curves
    assert grid_charts.sweep_charts(df, ["model"]) == []  # the poster sweep: nothing new


def test_the_symmetric_cutoff_reads_as_published():
    """The title names rflr.measure.metrics.SYMMETRIC_DEFECT as docs/figures/beyond-*.png do."""
    assert grid_charts.VALUES["symmetric_fraction"][0] == "fraction symmetric (headline < 1e-3)"


def test_log_axes_use_the_shared_tick_format():
    """Every log axis and log legend of the grid charts writes its ticks as "1e-3"."""
    fmt = style.LOG_AXIS_FORMAT
    curve = grid_charts.curve_chart(_grid(), "batch_size", "headline_defect").to_dict()
    enc = curve["layer"][0]["encoding"]
    assert enc["x"]["axis"]["format"] == fmt and enc["y"]["axis"]["format"] == fmt
    heat = grid_charts.heatmap_chart(_grid(), "lr", "batch_size", "headline_defect").to_dict()
    assert heat["layer"][0]["encoding"]["color"]["legend"]["format"] == fmt
    linear = grid_charts.curve_chart(_grid(), "batch_size", "symmetric_fraction").to_dict()
    assert "axis" not in linear["layer"][0]["encoding"]["y"]  # a linear axis keeps Vega's
