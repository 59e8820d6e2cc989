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
    out for MAIN_WIDTH (3 per row beside B, fewer in a column of fewer channels) and says
    so in the charts' alt text."""
    at = app.run()
    assert not at.exception
    specs = chart_specs(at)
    alts = [e.proto.alt for e in at.get("vega_lite_chart")]
    for spec, text in zip(specs, alts, strict=True):
        panels = int(text.split(" panels")[0])
        per_row, width = layer_charts.panel_layout(None, 2, panels)
        assert spec["columns"] == per_row and f"{per_row} per row" in text, text
        assert json.dumps(spec).count(f'"width": {width}') >= 1
    assert layer_charts.panel_layout(None, 2, int(alts[1].split(" panels")[0]))[0] == 3
