"""rflr.explorer.tabs.layer in the app (AppTest): layer controls, channels shown and their order."""

from __future__ import annotations

import json
import logging
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rflr.core.config import DenseConfig, RFLRConfig, TargetConfig
from rflr.views import layer_charts, slices, sources
from rflr.views import state as view_state
from tests.conftest import (
    APP,
    chart_frames,
    chart_specs,
    layer_columns,
    panel_titles,
    texts,
    write_run,
)

logging.getLogger("streamlit").setLevel(logging.ERROR)


def panel_channels(frame) -> list[int]:
    return [int(re.match(r"ch (\d+) ", t).group(1)) for t in panel_titles(frame)]


def test_layer_part_and_toggles(app):
    at = app.run()
    at.selectbox(key="w_layer").select(0).run()
    assert not at.exception and texts(at).count("**atoms.h**") == 2
    at.selectbox(key="w_layer").select(1).run()
    at.radio(key="w_part").set_value("h").run()
    assert "**bottleneck.1.h**" in texts(at) and "**hidden.1.h**" in texts(at)
    at.toggle(key="w_odd").set_value(True).run()
    assert all("odd part" in json.dumps(s) for s in chart_specs(at))
    at.toggle(key="w_shared").set_value(False).run()
    at.number_input(key="w_thr").set_value(0.5).run()
    assert not at.exception and "inactive channel" in texts(at)
    at.selectbox(key="w_layer").select(3).run()  # the output: one channel each
    assert not at.exception and texts(at).count("**readout.y**") == 2
    assert at.query_params["odd"] == "1" and at.query_params["layer"] == "3"


def test_a_layer_drawn_before_is_sent_again_not_rebuilt(app, monkeypatch):
    """Coming back to a layer already drawn (Play, stepping back and forth, another visitor)
    sends the same tables without building them again (rflr.explorer.cache.frozen); a new
    threshold builds them anew, since its titles say which channels are inactive now."""
    at = app.run()
    shown, first = at.selectbox(key="w_layer").index, layer_columns(at)
    built = []
    real = layer_charts.panel_frame
    monkeypatch.setattr(
        layer_charts, "panel_frame", lambda *a, **kw: built.append(a[3]) or real(*a, **kw)
    )
    at.selectbox(key="w_layer").select(0).run()
    before = len(built)
    at.selectbox(key="w_layer").select(shown).run()
    assert len(built) == before and not at.exception
    for again, then in zip(layer_columns(at), first, strict=True):
        assert again.equals(then)
    at.number_input(key="w_thr").set_value(0.37).run()
    assert len(built) == before + 2 and not at.exception  # A's and B's columns


def test_show_more_channels(tmp_path, monkeypatch):
    write_run(tmp_path, DenseConfig(width=40, depth=2), steps=(5,))
    monkeypatch.setenv(sources.ENV_VAR, str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    step = view_state.SHOWN_STEP
    assert f"{step} shown" in texts(at)
    at.button(key="more").click().run()
    assert f"{2 * step} shown" in texts(at) and at.query_params["shown"] == str(2 * step)


def test_channels_keep_their_place_across_steps(app):
    at = app.run()
    at.selectbox(key="w_run_a").set_value("dense-w16-L3-even-s0").run()
    at.selectbox(key="w_run_b").set_value(at.selectbox(key="w_run_b").options[1]).run()  # none
    final = panel_channels(layer_columns(at)[0])
    at.select_slider(key="w_step").set_value(0).run()  # another init: other activities
    assert not at.exception
    early = panel_channels(layer_columns(at)[0])
    assert early[: len(final)] == final[: len(early)]  # the final order, kept
    assert len(set(early)) == len(early)


def test_a_d_equal_2_run_is_drawn_along_x1_on_a_slice(tmp_path, monkeypatch):
    """d = 2: the panels draw the slice x₂ = 0 (ordered along x₁, an axis named x₁), the
    caption says which slice, and the titles keep the D of the mirror-closed sample."""
    target = TargetConfig(transverse=[[1.0, 1.0, 0.5]])
    write_run(
        tmp_path, RFLRConfig(width=8, rank=2, depth=2, input_dim=2), steps=(5,), target=target
    )
    monkeypatch.setenv(sources.ENV_VAR, str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "on the line through the origin (x₂ = 0)" in texts(at)
    spec = chart_specs(at)[0]
    assert spec["spec"]["layer"][0]["encoding"]["x"]["axis"]["title"] == "x₁"
    frame = layer_columns(at)[0]
    curve = frame[(frame["panel"] == 0) & (frame["series"] == "z(x)") & ~frame["bound"]]
    # the slice's grid along x₁, ends kept, simplified between them
    assert len(curve) <= slices.SLICE_POINTS and curve["x"].is_monotonic_increasing
    assert curve["x"].iloc[0] == pytest.approx(-np.pi) and curve["x"].iloc[-1] == pytest.approx(
        np.pi
    )
    assert all(re.search(r"\nD = \d\.\de[-+]\d\d", t) for t in panel_titles(frame))
    at.toggle(key="w_plane").set_value(True).run()  # the plane: a channel beside its mirror
    assert not at.exception
    alts = [e.proto.alt for e in at.get("vega_lite_chart")]
    assert re.search(r"41×41 heatmaps, [24] per row", alts[0]), alts
    heat = chart_frames(at)[0]
    assert heat.groupby("panel").size().tolist() == [41 * 41] * (2 * len(panel_titles(frame)))
