"""rflr.explorer.tabs.training in the app (AppTest): A and B on one chart, the smoothing in the URL."""

from __future__ import annotations

import json
import logging

from tests.conftest import chart_specs

logging.getLogger("streamlit").setLevel(logging.ERROR)


def test_training_overlays_a_and_b_and_smooths(app):
    at = app.run()
    at.session_state["tab"] = "Training"
    at.run()
    assert not at.exception and len(chart_specs(at)) == 1  # A and B on one chart
    text = json.dumps(chart_specs(at)[0])
    assert "rflr-w16-r2-L3-even-s0" in text and "dense-w16-L3-even-s0" in text
    at.select_slider(key="w_smooth").set_value(3).run()
    assert not at.exception and len(chart_specs(at)) == 1
    assert at.query_params["smooth"] == "3"  # the smoothing is part of the shared view


def test_smoothing_comes_back_from_the_url(app):
    app.query_params["tab"] = "Training"
    app.query_params["smooth"] = "9"
    at = app.run()
    assert not at.exception and at.select_slider(key="w_smooth").value == 9
