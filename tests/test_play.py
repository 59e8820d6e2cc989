"""rflr.explorer.play in the app (AppTest): the Play button steps through the snapshots."""

from __future__ import annotations

import logging

logging.getLogger("streamlit").setLevel(logging.ERROR)


def test_play_button_starts_and_stops(app):
    at = app.run()
    assert at.button(key="play").label.startswith("▶")
    at.button(key="play").click().run()
    assert not at.exception and at.session_state["playing"]
    assert at.select_slider(key="w_step").value == 0  # from the end, play starts again at 0
    at.button(key="play").click().run()  # now the Stop button
    assert not at.session_state["playing"]
