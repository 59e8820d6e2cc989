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
        sweep_charts.scatter_chart(df, pick=True),
        sweep_charts.symmetric_chart(df),
        sweep_charts.depth_chart(df),
    ]
    for chart in charts:
        spec = chart.to_dict(validate=True)  # raises on a spec the schema refuses
        assert spec["datasets"] and len(next(iter(spec["datasets"].values()))) > 0
    pick = charts[2].to_dict()["params"]
    assert [p["name"] for p in pick] == ["pick"]  # what the tab's on_select reads
