"""rflr.explorer.sidebar in the app (AppTest): checkpoint sources, runs A and B, the URL's files."""

from __future__ import annotations

import logging

import pytest
from streamlit.testing.v1 import AppTest

from rflr.core.config import RFLRConfig
from rflr.views import sources
from tests.conftest import APP, layer_columns, make_folder, texts, write_run

logging.getLogger("streamlit").setLevel(logging.ERROR)  # AppTest's bare-mode chatter


def test_choose_runs(app):
    at = app.run()
    at.selectbox(key="w_run_b").set_value(at.selectbox(key="w_run_b").options[1]).run()  # none
    assert not at.exception and len(layer_columns(at)) == 1
    assert at.query_params["b"] == "none"
    at.selectbox(key="w_run_a").set_value("dense-w16-L3-even-s0").run()
    assert not at.exception and "**hidden.2.u**" in texts(at)


@pytest.mark.parametrize(
    "bad", ["../../../../etc/passwd", "/etc/passwd", "rflr-w16-r2-L3-even-s0/../../x.safetensors"]
)
def test_url_paths_outside_the_folder_are_refused(app, bad):
    app.query_params["a"] = bad
    at = app.run()
    assert not at.exception
    assert any("refused" in w.value for w in at.warning)
    assert "**bottleneck.2.z**" in texts(at)  # the default view instead
    assert at.query_params["a"] == "rflr-w16-r2-L3-even-s0/step-00000100.safetensors"


def test_a_url_step_the_run_lacks_opens_the_nearest_snapshot(app):
    app.query_params["a"] = "dense-w16-L3-even-s0/step-00000070.safetensors"
    at = app.run()
    assert not at.exception
    assert at.selectbox(key="w_run_a").value == "dense-w16-L3-even-s0"
    assert at.select_slider(key="w_step").value == 100  # 70 is nearer 100 than 10
    assert "opened the nearest snapshot of its run, step 100" in texts(at)


def test_sidebar_folder_must_exist(app, folder):
    at = app.run()
    at.text_input(key="w_root").set_value(str(folder / "nope")).run()
    assert not at.exception
    assert any("not an existing folder" in e.value for e in at.sidebar.error)
    at.text_input(key="w_root").set_value(str(folder)).run()
    assert "**bottleneck.2.z**" in texts(at) and at.query_params["root"] == str(folder)


def test_folder_input_refuses_long_names_and_nul(app):
    at = app.run()
    at.sidebar.text_input(key="w_root").set_value("/tmp/\x00x").run()
    assert not at.exception and "NUL" in texts(at)
    at.sidebar.text_input(key="w_root").set_value("/" + "a" * 400).run()  # cut at max_chars
    assert not at.exception and "Folder:" in texts(at)
    assert at.sidebar.text_input(key="w_root").proto.max_chars == sources.MAX_ROOT_CHARS


def test_served_mode_ignores_the_folder_input_and_root_parameter(folder, tmp_path, monkeypatch):
    other = tmp_path / "other"
    make_folder(other, width=8, depth=2)
    monkeypatch.setenv(sources.ENV_VAR, str(folder))
    monkeypatch.setenv(sources.SERVE_VAR, "1")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["root"] = str(other)
    at.run()
    assert not at.exception
    assert at.sidebar.text_input(key="w_root").disabled
    assert "only shows its own checkpoints" in texts(at)
    assert "rflr-w16-r2-L3-even-s0" in at.selectbox(key="w_run_a").options  # the served folder
    at.session_state["w_root"] = str(other)  # a forged widget value changes nothing either
    at.run()
    assert "rflr-w8-r2-L2-even-s0" not in at.selectbox(key="w_run_a").options
    assert "root" not in at.query_params


def test_upload(app, folder):
    at = app.run()
    at.radio(key="w_src").set_value("upload").run()
    at.file_uploader(key="w_upload").upload("bad.safetensors", b"\x00" * 100).run()
    assert not at.exception
    assert any("Upload refused" in e.value for e in at.sidebar.error)
    good = next(folder.rglob("dense-*/step-00000010.safetensors")).read_bytes()
    at.file_uploader(key="w_upload").set_value(
        ("mine.safetensors", good, "application/octet-stream")
    )
    at.run()
    assert not at.exception and "**hidden.2.u**" in texts(at)
    assert "a" not in at.query_params  # an upload cannot be shared by URL


def test_hub_source_never_touches_the_network_by_itself(app, monkeypatch, tmp_path, folder):
    calls = []

    def fake_pull(repo_id, revision=None, cache_dir=None):
        calls.append((repo_id, revision))
        return folder

    from rflr.hub import sync

    monkeypatch.setattr(sync, "pull", fake_pull)
    monkeypatch.setattr(sync, "hub_status", lambda: (True, "Hub reachable (test)"))
    monkeypatch.setattr(sources, "hub_reachable", lambda: True)
    at = app.run()
    at.radio(key="w_src").set_value("hub").run()
    at.text_input(key="w_repo").set_value("someone/ckpts").run()
    assert not at.exception and calls == [] and "Choose a checkpoint source" in texts(at)
    at.sidebar.button[0].click().run()
    assert calls == [("someone/ckpts", None)] and "**bottleneck.2.z**" in texts(at)
    at.run()
    assert len(calls) == 1  # kept, not fetched again
    assert at.query_params["src"] == "hub" and at.query_params["repo"] == "someone/ckpts"


# --- state defects (issue #10): no interaction changes a setting the user did not touch -------


def test_b_follows_a_in_the_same_rerun(app):
    """Defect 2: B's label lagged one rerun behind A."""
    at = app.run()
    at.selectbox(key="w_run_a").set_value("dense-w16-L3-even-s0").run()
    assert "B shows rflr-w16-r2-L3-even-s0, A's control." in texts(at)  # under B's box
    assert "**bottleneck.2.z**" in texts(at)  # B's column already shows the control
    # the same through the sweep route: tabs.layer.open_checkpoint sets A before the sidebar draws
    at.session_state["url_files"] = ("rflr-w16-r2-L3-even-s0/step-00000010.safetensors", None)
    at.run()
    assert at.selectbox(key="w_run_a").value == "rflr-w16-r2-L3-even-s0"
    assert "B shows dense-w16-L3-even-s0, A's control." in texts(at)
    assert at.select_slider(key="w_step").value == 10


def test_a_run_without_a_control_says_so_and_offers_a_pick(tmp_path, monkeypatch):
    """Defect 2: only one column showed, with no word that the folder has no control.
    Issue 21: the sidebar's B box still named the old A's control while the page showed a
    second B box; now the sidebar's one box says what B shows."""
    make_folder(tmp_path, width=8, depth=2)
    write_run(tmp_path, RFLRConfig(width=8, depth=2, rank=2), seed=5, steps=(0, 10))
    monkeypatch.setenv(sources.ENV_VAR, str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.selectbox(key="w_run_a").set_value("rflr-w8-r2-L2-even-s5").run()
    assert not at.exception and "No control for A" in texts(at)
    assert len(layer_columns(at)) == 1
    assert "B shows nothing: no control of A in this folder" in texts(at)  # under B's box
    assert not [b for b in at.main.selectbox if "Checkpoint B" in b.label]  # no second box
    at.selectbox(key="w_run_b").set_value("dense-w8-L2-even-s0").run()  # the one B box
    assert not at.exception and at.selectbox(key="w_run_b").value == "dense-w8-L2-even-s0"
    assert len(layer_columns(at)) == 2 and "No control for A" not in texts(at)
    assert "B shows" not in texts(at)  # a run picked by name needs no line
