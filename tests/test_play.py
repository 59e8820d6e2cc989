"""rflr.explorer.play in the app (AppTest): the step controls, Play and its speed."""

from __future__ import annotations

import logging

from streamlit.testing.v1 import AppTest

from rflr.core.config import DenseConfig, RFLRConfig
from rflr.views import sources
from tests.conftest import APP, layer_columns, texts, write_run

logging.getLogger("streamlit").setLevel(logging.ERROR)


def test_play_button_starts_and_stops(app):
    at = app.run()
    assert at.button(key="play").label.startswith("▶")
    at.button(key="play").click().run()
    assert not at.exception and at.session_state["playing"]
    assert at.select_slider(key="w_step").value == 0  # from the end, play starts again at 0
    at.button(key="play").click().run()  # now the Stop button
    assert not at.session_state["playing"]


def test_back_and_on_move_one_snapshot_and_stop_at_the_ends(app):
    at = app.run()
    assert at.select_slider(key="w_step").value == 100 and at.button(key="step_on").disabled
    at.button(key="step_back").click().run()
    assert not at.exception and at.select_slider(key="w_step").value == 10
    assert at.query_params["a"].endswith("step-00000010.safetensors")  # the view's URL too
    at.button(key="step_back").click().run()
    assert at.select_slider(key="w_step").value == 0 and at.button(key="step_back").disabled
    at.button(key="step_on").click().run()
    assert at.select_slider(key="w_step").value == 10
    assert "step 10" in texts(at)  # the columns follow


def test_the_speed_is_kept_and_offered_in_steps(app):
    at = app.run()
    assert at.selectbox(key="w_speed").value == 1.0
    at.selectbox(key="w_speed").set_value(2.0).run()
    at.button(key="play").click().run()
    assert not at.exception and at.session_state["playing"]
    assert at.selectbox(key="w_speed").value == 2.0


def test_a_run_of_one_snapshot_shows_its_step_not_a_slider(tmp_path, monkeypatch):
    write_run(tmp_path, RFLRConfig(width=8, depth=2, rank=2), steps=(500,))
    write_run(tmp_path, DenseConfig(width=8, depth=2), steps=(500,))
    monkeypatch.setenv(sources.ENV_VAR, str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert not at.select_slider and not [b for b in at.button if b.key == "play"]
    assert "one snapshot: step 500" in texts(at)
    assert len(layer_columns(at)) == 2
