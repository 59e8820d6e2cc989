"""rflr.explorer.url in the app (AppTest): the view restored from the URL and written back,
Back and Forward, and settings kept while their widgets are not drawn."""

from __future__ import annotations

import logging

from streamlit.testing.v1 import AppTest

from rflr.views import sources
from tests.conftest import APP, layer_columns, open_tab, texts

logging.getLogger("streamlit").setLevel(logging.ERROR)  # AppTest's bare-mode chatter


def test_url_restores_the_view(app):
    app.query_params.update(
        a="dense-w16-L3-even-s0/step-00000010.safetensors",
        b="none",
        layer="1",
        part="h",
        odd="1",
        thr="0.01",
        tab="Layer view",
    )
    at = app.run()
    assert not at.exception
    assert at.selectbox(key="w_run_a").value == "dense-w16-L3-even-s0"
    assert at.select_slider(key="w_step").value == 10
    assert at.selectbox(key="w_layer").value == 1 and at.radio(key="w_part").value == "h"
    assert at.toggle(key="w_odd").value and at.number_input(key="w_thr").value == 0.01
    assert "**hidden.1.h**" in texts(at) and len(layer_columns(at)) == 1


def test_url_garbage_is_ignored_with_a_note(app):
    app.query_params.update(a="nothing-here.safetensors", layer="banana", root="/no/such/dir")
    at = app.run()
    assert not at.exception
    notes = texts(at)
    assert "not in this folder" in notes and "layer='banana'" in notes
    assert "root: '/no/such/dir' is not an existing folder" in notes
    assert "**bottleneck.2.z**" in texts(at)  # the default folder and view
    at.run()
    assert not at.warning  # notes are shown once, on the page the URL opened


# --- state defects (issue #10): no interaction changes a setting the user did not touch -------


def test_switching_the_source_keeps_every_measurement_setting(app, monkeypatch):
    """Defect 1: Folder -> Hub -> Folder (and -> Upload -> Folder) set the activity threshold
    to 0 and turned shared axes off, and reset A and the layer."""
    monkeypatch.setattr(sources, "hub_reachable", lambda: True)
    at = app.run()
    at.number_input(key="w_thr").set_value(0.02).run()
    at.toggle(key="w_shared").set_value(False).run()
    at.selectbox(key="w_run_a").set_value("dense-w16-L3-even-s0").run()
    at.selectbox(key="w_layer").select(1).run()
    at.radio(key="w_part").set_value("h").run()
    for other in ("hub", "upload"):
        at.radio(key="w_src").set_value(other).run()
        assert not at.exception and "Choose a checkpoint source" in texts(at)
        at.radio(key="w_src").set_value("folder").run()
        assert not at.exception
        assert at.number_input(key="w_thr").value == 0.02
        assert at.toggle(key="w_shared").value is False
        assert at.selectbox(key="w_run_a").value == "dense-w16-L3-even-s0"
        assert at.selectbox(key="w_layer").value == 1 and at.radio(key="w_part").value == "h"
        assert at.query_params["thr"] == "0.02" and at.query_params["shared"] == "0"


def test_back_and_forward_restore_the_view(app):
    """Defect 6: Back added entries that restored nothing. The browser's Back reruns the page
    with the earlier URL; the app must show that view (and write nothing new)."""
    at = app.run()
    at.selectbox(key="w_layer").select(1).run()
    earlier = dict(at.query_params)
    at.number_input(key="w_thr").set_value(0.3).run()
    at.toggle(key="w_odd").set_value(True).run()
    later = dict(at.query_params)
    assert later["thr"] == "0.3" and later["odd"] == "1"
    for want in (earlier, later):  # Back, then Forward
        for key in list(at.query_params):
            if key not in want:
                del at.query_params[key]
        at.query_params.update(want)
        at.run()
        assert not at.exception
        assert dict(at.query_params) == want  # nothing rewritten: no new history entry
        assert at.number_input(key="w_thr").value == float(want.get("thr", 1e-3))
        assert at.toggle(key="w_odd").value is ("odd" in want)
        assert at.selectbox(key="w_layer").value == 1


def test_the_checkpoints_filter_travels_in_the_url(app):
    """Issue 21: the Checkpoints tab's "Run contains" filter was not in the URL."""
    at = open_tab(app.run(), "Checkpoints")
    at.text_input(key="f_text").set_value("dense").run()
    assert not at.exception and at.query_params["contains"] == "dense"
    assert "3 of 6 checkpoints" in texts(at)
    fresh = AppTest.from_file(APP, default_timeout=60)
    fresh.query_params.update(contains="dense", tab="Checkpoints")
    fresh = open_tab(fresh.run(), "Checkpoints")
    assert not fresh.exception and fresh.text_input(key="f_text").value == "dense"
    assert "3 of 6 checkpoints" in texts(fresh)
    fresh.text_input(key="f_text").set_value("").run()
    assert "contains" not in fresh.query_params  # the default is not written
