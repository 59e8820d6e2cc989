"""rflr.explorer.tabs.train headless: the form, the command line beside it, one-line
refusals, and a tiny run trained from the page that opens as A beside its control."""

from __future__ import annotations

import logging
import re
import time

from rflr.explorer.sidebar import AUTO
from rflr.explorer.tabs import train as train_tab
from tests.conftest import open_tab, texts

logging.getLogger("streamlit").setLevel(logging.ERROR)  # AppTest's bare-mode chatter


def _number(at, key: str, value) -> None:
    next(n for n in at.number_input if n.key == key).set_value(value)


def _train_button(at):
    return next(b for b in at.button if b.key == "tr_go")


def test_the_form_and_its_command_line(app):
    at = open_tab(app.run(), train_tab.NAME)
    assert not at.exception
    code = at.code[0].value
    assert code.splitlines()[0].startswith("python train.py --model rflr --width 64 --rank 1")
    assert code.splitlines()[1].startswith("python train.py --model dense --width 64 --depth 4")
    assert "--steps 20000 --seeds 0-7" in code and "--out runs" in code
    assert _train_button(at).label == "Train" and not _train_button(at).disabled
    _number(at, "tr_width", 32)
    at.run()
    assert "--width 32" in at.code[0].value  # the command follows the form


def test_a_bad_choice_is_refused_in_one_line(app):
    at = open_tab(app.run(), train_tab.NAME)
    next(s for s in at.selectbox if s.key == "tr_target").select(train_tab.tf.CUSTOM).run()
    next(t for t in at.text_input if t.key == "tr_cosines").input("1:1.0,2").run()
    assert not at.exception
    errors = [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]  # md() escapes
    assert len(errors) == 1 and "\n" not in errors[0] and "freq:amp pairs" in errors[0]
    assert _train_button(at).disabled


def test_a_job_over_the_cap_is_refused_in_one_line(app, monkeypatch):
    monkeypatch.setenv("RFLR_SERVE", "1")
    at = open_tab(app.run(), train_tab.NAME)
    _number(at, "tr_width", 128)
    at.run()
    _train_button(at).click().run()
    assert not at.exception
    errors = [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]  # md() escapes
    assert len(errors) == 1 and "\n" not in errors[0]
    assert "5,243 M" in errors[0] and "cap of 2,000 M" in errors[0]


def test_a_tiny_run_trains_and_opens_as_a(app):
    at = open_tab(app.run(), train_tab.NAME)
    for key, value in (("tr_width", 8), ("tr_depth", 2), ("tr_steps", 30), ("tr_seeds", 1)):
        _number(at, key, value)
    at.run()
    _train_button(at).click().run()
    assert not at.exception
    deadline = time.monotonic() + 240
    while at.session_state["w_src"] != train_tab.TRAINED:
        assert time.monotonic() < deadline, texts(at)
        time.sleep(1)
        at.run()
    assert not at.exception
    assert at.session_state["w_run_a"] == "job-1/rflr-w8-r1-L2-even-s0"
    assert at.sidebar.selectbox(key="w_run_a").value == "job-1/rflr-w8-r1-L2-even-s0"
    b = at.sidebar.selectbox(key="w_run_b")
    assert b.value == AUTO and b.options[0] == "A's control"
    assert any("B shows job-1/dense-w8-L2-even-s0" in c.value for c in at.sidebar.caption)
    at = open_tab(at, train_tab.NAME)
    assert any(b.label == "Download run (zip)" for b in at.get("download_button"))
