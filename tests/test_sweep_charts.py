"""rflr.views.sweep_charts: every chart of the Sweep tab conforms to the Vega-Lite schema (the
app converts cached charts without the check: rflr.explorer.specs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rflr.views import sweep_charts, sweep_table

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "poster" / "summary.csv"


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped poster sweep")
def test_every_sweep_chart_is_valid_vega_lite():
    df = sweep_table.read_checked(SHIPPED)
    charts = [
        sweep_charts.distribution_chart(df, "test_mse", "test MSE"),
        sweep_charts.distribution_chart(df, "headline_defect", "headline defect"),
        sweep_charts.scatter_chart(df, pick=True, files=()),
        sweep_charts.symmetric_chart(df),
        sweep_charts.depth_chart(df),
    ]
    for chart in charts:
        spec = chart.to_dict(validate=True)  # raises on a spec the schema refuses
        assert spec["datasets"] and len(next(iter(spec["datasets"].values()))) > 0
    pick = charts[2].to_dict()["params"]
    assert [p["name"] for p in pick] == ["pick"]  # what the tab's on_select reads


def _tooltips(spec: object) -> list[dict]:
    """Every tooltip entry of a Vega-Lite spec, at any depth."""
    if isinstance(spec, dict):
        tips = spec.get("tooltip") if isinstance(spec.get("tooltip"), list) else []
        return tips + [t for v in spec.values() for t in _tooltips(v)]
    if isinstance(spec, list):
        return [t for v in spec for t in _tooltips(v)]
    return []


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped poster sweep")
def test_sweep_tooltips_have_readable_names_only():
    """Issue 21, item 5: no raw field name ("headline_layer") in a tooltip."""
    df = sweep_table.read_checked(SHIPPED)
    charts = [
        sweep_charts.distribution_chart(df, "test_mse", "test MSE"),
        sweep_charts.scatter_chart(df, pick=True, files=()),
        sweep_charts.symmetric_chart(df),
        sweep_charts.depth_chart(df),
    ]
    for chart in charts:
        tips = _tooltips(chart.to_dict())
        assert tips
        for tip in tips:
            assert "title" in tip and "_" not in tip["title"], tip
    rows = next(iter(charts[1].to_dict()["datasets"].values()))
    assert {r["layer"] for r in rows} <= {"layer 3 · z₃", "layer 3 · u₃"}  # not bottleneck.3.z


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped poster sweep")
def test_the_scatter_fills_the_points_whose_checkpoint_is_here():
    df = sweep_table.read_checked(SHIPPED)
    with_file = tuple(df["run_id"].iloc[:3])
    spec = sweep_charts.scatter_chart(df, pick=True, files=with_file).to_dict()
    shape = spec["layer"][0]["encoding"]["shape"]
    assert shape["scale"]["domain"] == [sweep_charts.HAS_FILE, sweep_charts.NO_FILE]
    assert shape["scale"]["range"][0] == "circle"  # filled; the other a ring
    assert sweep_charts.HAS_FILE == "has a checkpoint: click to open"  # the legend's words
    rows = next(iter(spec["datasets"].values()))
    marked = {r["run_id"] for r in rows if r["file"] == sweep_charts.HAS_FILE}
    ok = set(df.loc[df["status"] == "ok", "run_id"])
    assert marked == set(with_file) & ok
    assert {r["file"] for r in rows if r["run_id"] not in marked} == {sweep_charts.NO_FILE}


def test_models_are_listed_rflr_first():
    assert sweep_charts.model_order(["dense", "other", "rflr"]) == ["rflr", "dense", "other"]
    assert list(sweep_charts.COLORS) == ["RF-LR", "dense"]  # the charts' x order (sort=)


BEYOND = Path(__file__).resolve().parents[1] / "checkpoints" / "beyond" / "summary.csv"


@pytest.mark.skipif(not BEYOND.is_file(), reason="no shipped study")
def test_a_study_parts_grid_charts_have_readable_tooltips():
    from rflr.sweep.stats import swept_keys
    from rflr.views import grid_charts

    df = sweep_table.read_checked(BEYOND)
    for part in ("weight-decay", "phase"):  # curves over one key; heatmaps over two
        g = df[df["part"] == part]
        for chart in grid_charts.sweep_charts(g, swept_keys(g)):
            for tip in _tooltips(chart.to_dict()):
                assert "title" in tip and "_" not in tip["title"], tip


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped poster sweep")
def test_no_click_to_open_entry_when_no_run_has_its_file():
    df = sweep_table.read_checked(SHIPPED)
    spec = sweep_charts.scatter_chart(df, pick=True, files=()).to_dict()
    assert spec["layer"][0]["encoding"]["shape"]["legend"]["values"] == [sweep_charts.NO_FILE]
