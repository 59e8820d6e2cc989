"""rflr.explorer.viewport: the main area's width as the browser reports it, validated."""

from __future__ import annotations

import json
import math

from rflr.explorer import viewport
from rflr.views import layer_charts
from tests.conftest import chart_specs


def test_only_a_plausible_number_of_px_is_a_width():
    assert viewport.valid_width(980) == 980 and viewport.valid_width(1459.6) == 1459
    for bad in (None, True, "980", [980], {"w": 1}, 0, 99, 20_001, -5, math.nan, math.inf):
        assert viewport.valid_width(bad) is None, bad


def test_without_a_report_the_layer_view_assumes_a_1440_px_window(app):
    """AppTest runs no JavaScript: the component reports nothing, the page lays the panels
    out for MAIN_WIDTH (3 per row beside B) and says so in the charts' alt text."""
    at = app.run()
    assert not at.exception
    per_row, width = layer_charts.panel_layout(None, 2, True)
    specs = chart_specs(at)
    assert [s["columns"] for s in specs] == [per_row, per_row]
    assert json.dumps(specs[1]).count(f'"width": {width}') >= 1
    alts = [e.proto.alt for e in at.get("vega_lite_chart")]
    assert all(f"{per_row} per row" in a for a in alts), alts
