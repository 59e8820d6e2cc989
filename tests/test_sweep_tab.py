"""rflr.explorer.tabs.sweep: the Sweep tab headless, on the tiny sweep and on the shipped one."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rflr.files.checkpoint import read_header
from rflr.sweep import summary
from rflr.views import sources
from tests.conftest import APP, layer_columns, open_tab, panel_titles, texts

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "checkpoints" / "poster" / "summary.csv"

logging.getLogger("streamlit").setLevel(logging.ERROR)  # AppTest's bare-mode chatter


def _view_script(summary: Path, root: Path | None = None) -> str:
    root = root or summary.parent
    rel = summary.relative_to(root).as_posix()
    return f"""
from pathlib import Path
import streamlit as st
from rflr.explorer.tabs.sweep import sweep_view
picked = sweep_view(Path({str(root)!r}), {rel!r})
st.text("picked=" + ("" if picked is None else picked.run_id + "|" + str(picked.path)))
"""


def _picked(at: AppTest) -> str:
    return next(t.value for t in at.text if t.value.startswith("picked="))


def test_sweep_view_on_a_tiny_sweep(tiny_sweep):
    out, df, _ = tiny_sweep
    at = AppTest.from_string(_view_script(out / summary.SUMMARY_NAME), default_timeout=60).run()
    assert not at.exception
    assert len(at.metric) == 2 and len(at.selectbox) == 1
    options = at.selectbox[0].options  # labels: "run id · MSE · defect · status"
    assert sorted(o.split(" · ")[0] for o in options) == sorted(df["run_id"])
    run_id = df["run_id"].iloc[4]
    at.selectbox[0].select(run_id).run()
    assert not at.exception
    assert _picked(at) == f"picked={run_id}|{(out / df['checkpoint'].iloc[4]).resolve()}"


def test_sweep_view_without_a_summary(tmp_path):
    at = AppTest.from_string(_view_script(tmp_path / "none.csv"), default_timeout=30).run()
    assert not at.exception and at.warning and _picked(at) == "picked="


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped poster sweep")
def test_sweep_view_on_the_shipped_summary():
    df = summary.read_summary(SHIPPED)
    assert len(df) == 149
    at = AppTest.from_string(_view_script(SHIPPED, SHIPPED.parents[1]), default_timeout=60).run()
    assert not at.exception
    # RF-LR first, as on every other view (issue 21, item 5)
    assert [m.label for m in at.metric] == ["RF-LR: symmetric reruns", "dense: symmetric reruns"]
    picked = _picked(at)  # the default pick is a run whose file is shipped
    run_id, path = picked.removeprefix("picked=").split("|")
    assert Path(path).is_file() and read_header(path).config.run_id == run_id
    # the picker lists exactly the runs whose file is shipped (not all 149)
    shipped = {
        r
        for r, c in zip(df["run_id"], df["checkpoint"], strict=True)
        if (SHIPPED.parent / c).exists()
    }
    assert {o.split(" · ")[0] for o in at.selectbox[0].options} == shipped and len(shipped) < 149


def test_sweep_tab_on_the_shipped_summary_opens_a_run(monkeypatch):
    """The Sweep tab reads checkpoints/poster/summary.csv; a picked run opens in the layer view."""
    shipped = Path(APP).parent / "checkpoints"
    assert (shipped / "poster" / "summary.csv").is_file()
    monkeypatch.setenv(sources.ENV_VAR, str(shipped))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["tab"] = "Sweep"
    at.run()
    assert not at.exception
    at.selectbox(key="w_sweep").set_value("poster/summary.csv").run()  # studies ship too
    assert not at.exception
    assert "149 reruns" in texts(at)
    run = at.selectbox(key="sweep_run").value
    at.button(key="open").click().run()
    assert not at.exception
    assert at.session_state["tab"] == "Layer view"
    assert at.session_state["w_run_a"] == f"poster/{run}"
    assert any("D =" in t for t in panel_titles(layer_columns(at)[0]))  # its channels are drawn


def test_sweep_tab_without_a_summary(app):
    at = open_tab(app, "Sweep")
    assert not at.exception
    assert "No sweep summary" in texts(at)


class _State(dict):
    """st.session_state's dict-and-attribute access, for calling a callback directly."""

    __getattr__ = dict.__getitem__
    __setattr__ = dict.__setitem__


def test_clicking_a_sweep_point_or_a_checkpoint_row_opens_it(monkeypatch):
    """Linked views: the on_select callbacks route a click to the layer view, through the
    same checked path as a shared URL's a= (url_files); a point without a file opens nothing."""
    import streamlit as st

    from rflr.explorer.tabs import checkpoints, sweep

    ss = _State(sweep_files={"r1": "poster/r1/step-00000100.safetensors"})
    monkeypatch.setattr(st, "session_state", ss)
    ss["sweep_scatter"] = {"selection": {"pick": [{"run_id": "r2"}]}}  # no file here
    sweep._open_clicked()
    assert "url_files" not in ss
    ss["sweep_scatter"] = {"selection": {"pick": [{"run_id": "r1"}]}}
    sweep._open_clicked()
    assert ss["url_files"] == ("poster/r1/step-00000100.safetensors", None)
    assert ss["tab"] == "Layer view" and ss["sweep_run"] == "r1"
    ss.clear()
    ss.update(ckpt_files=["a/step-1.safetensors", "b/step-2.safetensors"])
    ss["ckpt_table"] = {"selection": {"rows": [1]}}
    checkpoints._open_row()
    assert ss["url_files"] == ("b/step-2.safetensors", None) and ss["tab"] == "Layer view"
    ss.pop("url_files")
    ss["ckpt_table"] = {"selection": {"rows": [7]}}  # a stale index: nothing
    checkpoints._open_row()
    assert "url_files" not in ss


def test_sweep_view_shows_a_studys_parts_and_grid_charts(mini_study):
    out, _ = mini_study
    at = AppTest.from_string(_view_script(out / summary.SUMMARY_NAME), default_timeout=60).run()
    assert not at.exception
    part = next(s for s in at.selectbox if s.label == "study part")
    assert part.options == ["base", "weight-decay"]
    assert any("Grid sweep" in m.value for m in at.markdown)


def test_the_charts_follow_a_rewritten_summary(tiny_sweep, tmp_path):
    """The Sweep tab's charts are cached on the summary's (path, mtime, size): a summary
    rewritten with fewer runs is drawn anew, not from the cache."""
    import os

    from tests.conftest import chart_frames

    out, df, _ = tiny_sweep
    path = tmp_path / summary.SUMMARY_NAME
    df.to_csv(path, index=False)
    at = AppTest.from_string(_view_script(path), default_timeout=60).run()
    assert not at.exception

    def runs_drawn() -> list[set]:
        return [set(f["run_id"]) for f in chart_frames(at) if "run_id" in f.columns]

    assert runs_drawn() and all(r == set(df["run_id"]) for r in runs_drawn())
    df.iloc[:3].to_csv(path, index=False)
    os.utime(path, ns=(1, 1))  # a new mtime even on a coarse clock (and a new size anyway)
    at.run()
    assert not at.exception
    assert runs_drawn() and all(r == set(df["run_id"].iloc[:3]) for r in runs_drawn())


def test_a_click_on_a_point_without_a_file_says_why_in_one_line(monkeypatch):
    """Issue 21, item 5: the callback notes the run; the tab says in one line why it did not
    open and how to get the file (the command in sweep.json)."""
    import streamlit as st

    from rflr.explorer.tabs import sweep

    ss = _State(sweep_files={"r1": "poster/r1/step-00000100.safetensors"})
    monkeypatch.setattr(st, "session_state", ss)
    ss["sweep_scatter"] = {"selection": {"pick": [{"run_id": "r2"}]}}
    sweep._open_clicked()
    assert ss["sweep_missing"] == "r2" and "url_files" not in ss
    ss["sweep_scatter"] = {"selection": {"pick": [{"run_id": "r1"}]}}
    sweep._open_clicked()
    assert ss["sweep_missing"] is None and ss["url_files"][0].startswith("poster/r1/")


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped poster sweep")
def test_the_sweep_tab_says_why_a_point_did_not_open():
    df = summary.read_summary(SHIPPED)
    missing = next(
        r
        for r, c in zip(df["run_id"], df["checkpoint"], strict=True)
        if not (SHIPPED.parent / c).exists()
    )
    at = AppTest.from_string(_view_script(SHIPPED, SHIPPED.parents[1]), default_timeout=60)
    at.run()
    assert any("Click a filled point" in c.value for c in at.caption)
    at.session_state["sweep_missing"] = missing  # what a click on its hollow point leaves
    at.run()
    assert not at.exception
    lines = [w.value for w in at.warning]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert lines[0].startswith(missing)
    assert (
        "checkpoint is not in the folder: rerun with `python train.py --preset poster`"
        in (lines[0])
    )


BEYOND = ROOT / "checkpoints" / "beyond" / "summary.csv"


@pytest.mark.skipif(not BEYOND.is_file(), reason="no shipped study")
def test_a_study_is_shown_per_part_and_config():
    """The shipped study (864 runs of different configs, no checkpoint shipped): a row per
    part, config and model, no pooled figure, and no "click a point" promise."""
    at = AppTest.from_string(_view_script(BEYOND, BEYOND.parents[1]), default_timeout=120).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert {"part", "config", "model", "symmetric"} <= set(table.columns)
    assert table["runs"].sum() == len(summary.read_summary(BEYOND))
    assert list(table["model"].iloc[:2]) == ["RF-LR", "dense"]
    assert "base" in at.selectbox(key="sweep_part").value
    assert not any("click" in c.value.lower() for c in at.caption)
    assert "None of these runs has its checkpoint" in texts(at)
