"""The Streamlit explorer (streamlit_app.py over rflr.ui), headless with AppTest.

Every test builds its own checkpoints in tmp_path and points the app at them with
RFLR_CHECKPOINTS; none depends on the shipped checkpoints/ folder (except the Sweep tab's).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from streamlit.testing.v1 import AppTest

from rflr import checkpoint
from rflr.app import sources
from rflr.config import DenseConfig, RFLRConfig, RunConfig
from rflr.model import init_params
from tests.conftest import make_folder, write_run

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
logging.getLogger("streamlit").setLevel(logging.ERROR)  # AppTest's bare-mode chatter


@pytest.fixture
def app(folder, monkeypatch):
    monkeypatch.setenv(sources.ENV_VAR, str(folder))
    return AppTest.from_file(APP, default_timeout=60)


def texts(at: AppTest) -> str:
    """Every piece of visible text of the page, joined: markdown, captions, alerts, titles."""
    parts = []
    for kind in ("markdown", "caption", "warning", "error", "info", "subheader", "title"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [str(e.value) for e in at.sidebar.error] + [str(e.value) for e in at.sidebar.caption]
    return "\n".join(parts)


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.get("vega_lite_chart")]


def open_tab(at: AppTest, label: str) -> AppTest:
    at.session_state["tab"] = label
    return at.run()


def test_default_view_is_rflr_beside_its_dense_control(app):
    at = app.run()
    assert not at.exception
    page = texts(at)
    assert "rflr-w16-r2-L3-even-s0" in page and "dense-w16-L3-even-s0" in page
    assert "**bottleneck.2.z**" in page and "**hidden.2.u**" in page  # deepest partial layer
    assert at.select_slider(key="w_step").value == 100  # the final step
    specs = chart_specs(at)
    assert len(specs) == 2 and all("D = " in s["facet"]["header"]["labelExpr"] for s in specs)
    assert at.query_params["a"] == "rflr-w16-r2-L3-even-s0/step-00000100.safetensors"


def test_layer_part_and_toggles(app):
    at = app.run()
    at.selectbox(key="w_layer").select(0).run()
    assert not at.exception and texts(at).count("**atoms.h**") == 2
    at.selectbox(key="w_layer").select(1).run()
    at.radio(key="w_part").set_value("h").run()
    assert "**bottleneck.1.h**" in texts(at) and "**hidden.1.h**" in texts(at)
    at.toggle(key="w_odd").set_value(True).run()
    assert all("o(x)" in json.dumps(s) for s in chart_specs(at))
    at.toggle(key="w_shared").set_value(False).run()
    at.number_input(key="w_thr").set_value(0.5).run()
    assert not at.exception and "inactive channel" in texts(at)
    at.selectbox(key="w_layer").select(3).run()  # the output: one channel each
    assert not at.exception and texts(at).count("**readout.y**") == 2
    assert at.query_params["odd"] == "1" and at.query_params["layer"] == "3"


def test_show_more_channels(tmp_path, monkeypatch):
    write_run(tmp_path, DenseConfig(width=40, depth=2), steps=(5,))
    monkeypatch.setenv(sources.ENV_VAR, str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert "16 shown" in texts(at)
    at.button[0].click().run()
    assert "32 shown" in texts(at) and at.query_params["shown"] == "32"


def test_step_slider_moves_both_checkpoints(app):
    at = app.run()
    at.select_slider(key="w_step").set_value(0).run()
    assert not at.exception
    assert texts(at).count("· step 0") == 2


def test_choose_runs(app):
    at = app.run()
    at.selectbox(key="w_run_b").set_value(at.selectbox(key="w_run_b").options[1]).run()  # none
    assert not at.exception and len(chart_specs(at)) == 1
    assert at.query_params["b"] == "none"
    at.selectbox(key="w_run_a").set_value("dense-w16-L3-even-s0").run()
    assert not at.exception and "**hidden.2.u**" in texts(at)


@pytest.mark.parametrize(
    ("tab", "expect"),
    [
        ("Depth profile", "output is not enough"),
        ("Training", "plateaus"),
        ("Weights", "pairing defect"),
        ("Architecture", "parameters"),
        ("Inspector", "rflr.config"),
        ("Checkpoints", "read from headers only"),
    ],
)
def test_tabs(app, tab, expect):
    at = open_tab(app.run(), tab)
    assert not at.exception
    page = texts(at) + " ".join(str(m.label) for m in at.metric)
    assert expect in page
    if tab in ("Depth profile", "Training", "Weights"):
        assert chart_specs(at)
    if tab == "Depth profile":
        at.toggle(key="w_equiv").set_value(True).run()
        assert not at.exception and "equivariance" in at.dataframe[0].value.columns
    if tab == "Checkpoints":
        at.multiselect(key="f_kind").set_value(["dense"]).run()
        assert "3 of 6 checkpoints" in texts(at)


def test_bad_files_are_listed_and_the_rest_browsable(tmp_path, monkeypatch):
    cfg, _ = make_folder(tmp_path)
    good = next(tmp_path.rglob("rflr-*/step-00000010.safetensors"))
    (tmp_path / "truncated.safetensors").write_bytes(good.read_bytes()[:200])
    (tmp_path / "corrupt.safetensors").write_bytes(b"\xff" * 300)
    (tmp_path / "pickled.safetensors").write_bytes(b"\x80\x04\x95 junk")
    meta = {"rflr.format_version": "99", "rflr.config": cfg.to_json(), "rflr.step": "1"}
    save_file({"x": torch.zeros(1)}, str(tmp_path / "future.safetensors"), metadata=meta)
    # a header that reads fine, tensors that do not: NaN weights, and a wrong shape
    params = init_params(cfg.model, torch.Generator().manual_seed(0))
    nan_cfg = RunConfig(model=cfg.model, seed=7, run_id="nan-run")
    params["atoms.weight"][0, 0] = float("nan")
    checkpoint.save(tmp_path / "nan-run/step-00000001.safetensors", nan_cfg, params, 1, {}, {})
    monkeypatch.setenv(sources.ENV_VAR, str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "4 file(s)" in texts(at) and "**bottleneck.2.z**" in texts(at)
    at = open_tab(at, "Checkpoints")
    errors = at.dataframe[-1].value
    assert sorted(errors["file"]) == sorted(
        [
            "corrupt.safetensors",
            "future.safetensors",
            "pickled.safetensors",
            "truncated.safetensors",
        ]
    )
    reasons = " ".join(errors["error"])
    assert "unknown format version '99'" in reasons and "pickle" in reasons
    open_tab(at, "Layer view")
    at.selectbox(key="w_run_a").set_value("nan-run")
    at.selectbox(key="w_run_b").set_value("dense-w16-L3-even-s0").run()
    assert not at.exception
    assert "non-finite values" in " ".join(str(e.value) for e in at.error)
    assert "**hidden.2.u**" in texts(at)  # B still works beside the broken A


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
    assert "**hidden.1.h**" in texts(at) and len(chart_specs(at)) == 1


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


def test_url_garbage_is_ignored_with_a_note(app):
    app.query_params.update(a="nothing-here.safetensors", layer="banana", root="/no/such/dir")
    at = app.run()
    assert not at.exception
    notes = " ".join(w.value for w in at.warning)
    assert "not in this folder" in notes and "layer='banana'" in notes
    assert "root: /no/such/dir is not an existing folder" in notes
    assert "**bottleneck.2.z**" in texts(at)  # the default folder and view
    at.run()
    assert not at.warning  # notes are shown once, on the page the URL opened


def test_sidebar_folder_must_exist(app, folder):
    at = app.run()
    at.text_input(key="w_root").set_value(str(folder / "nope")).run()
    assert not at.exception
    assert any("not an existing folder" in e.value for e in at.sidebar.error)
    at.text_input(key="w_root").set_value(str(folder)).run()
    assert "**bottleneck.2.z**" in texts(at) and at.query_params["root"] == str(folder)


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

    from rflr import hub

    monkeypatch.setattr(hub, "pull", fake_pull)
    monkeypatch.setattr(hub, "hub_status", lambda: (True, "Hub reachable (test)"))
    at = app.run()
    at.radio(key="w_src").set_value("hub").run()
    at.text_input(key="w_repo").set_value("someone/ckpts").run()
    assert not at.exception and calls == [] and "Choose a checkpoint source" in texts(at)
    at.sidebar.button[0].click().run()
    assert calls == [("someone/ckpts", None)] and "**bottleneck.2.z**" in texts(at)
    at.run()
    assert len(calls) == 1  # kept, not fetched again
    assert at.query_params["src"] == "hub" and at.query_params["repo"] == "someone/ckpts"


def test_depth_one_networks(tmp_path, monkeypatch):
    """No bottleneck: the atoms are the only partial functions, and the output."""
    write_run(tmp_path, RFLRConfig(width=8, depth=1, rank=2), steps=(0, 3))
    write_run(tmp_path, DenseConfig(width=8, depth=1), steps=(0, 3))
    monkeypatch.setenv(sources.ENV_VAR, str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and texts(at).count("**atoms.h**") == 2
    assert at.selectbox(key="w_layer").options == ["atoms (h₁)", "output y"]
    for tab in ("Depth profile", "Weights", "Architecture"):
        assert not open_tab(at, tab).exception


def test_sweep_tab_on_the_shipped_summary_opens_a_run(monkeypatch):
    """The Sweep tab reads checkpoints/poster/summary.csv; a picked run opens in the layer view."""
    shipped = Path(APP).parent / "checkpoints"
    assert (shipped / "poster" / "summary.csv").is_file()
    monkeypatch.setenv(sources.ENV_VAR, str(shipped))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["tab"] = "Sweep"
    at.run()
    assert not at.exception
    assert "149 reruns" in texts(at)
    run = at.selectbox(key="sweep_run").value
    at.button(key="open").click().run()
    assert not at.exception
    assert at.session_state["tab"] == "Layer view"
    assert at.session_state["w_run_a"] == f"poster/{run}"
    assert "D =" in json.dumps(chart_specs(at))  # its channels are drawn


def test_sweep_tab_without_a_summary(app):
    at = open_tab(app, "Sweep")
    assert not at.exception
    assert "No sweep summary" in texts(at)
