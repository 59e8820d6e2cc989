"""rflr.explorer.tabs.architecture in the app (AppTest): the diagram's boxes open a layer."""

from __future__ import annotations

import logging

import pandas as pd

logging.getLogger("streamlit").setLevel(logging.ERROR)


class _State(dict):
    """st.session_state's dict-and-attribute access, for calling a callback directly."""

    __getattr__ = dict.__getitem__
    __setattr__ = dict.__setitem__


def test_the_architecture_tab_draws_one_clickable_diagram_per_checkpoint(app):
    app.query_params["tab"] = "Architecture"
    at = app.run()
    assert not at.exception
    assert not at.get("button_group")  # no row of buttons: the boxes are the buttons
    charts = [c for c in at.get("vega_lite_chart") if '"name": "node"' in c.proto.spec]
    assert len(charts) == 2  # one diagram under each of A and B


def test_an_architecture_box_opens_that_layer_in_the_layer_view(monkeypatch):
    """A click on a box (the chart's selection "node") routes through layer.open_layer, the
    one path that sets the layer and part (and so the URL's layer= and part=)."""
    import streamlit as st

    from rflr.core.config import DenseConfig, RFLRConfig
    from rflr.explorer.tabs import architecture as tab
    from rflr.views import architecture

    ss = _State()
    monkeypatch.setattr(st, "session_state", ss)
    nodes = architecture.diagram_nodes(RFLRConfig(width=16, depth=3, rank=2))
    for node, want in [("h2", (1, "h")), ("z2", (2, "partial")), ("h1", (0, "partial"))]:
        ss["arch_a"] = {"selection": {"node": [{"node": node}]}}
        tab._open_node("arch_a", nodes)
        assert (ss["w_layer"], ss["w_part"], ss["tab"]) == (*want, "Layer view")
    ss.clear()
    ss["arch_a"] = {"selection": {"node": [{"node": "x"}]}}  # the input: no layer of its own
    tab._open_node("arch_a", nodes)
    assert "tab" not in ss
    dense = architecture.diagram_nodes(DenseConfig(width=16, depth=3))
    ss["arch_b"] = {"selection": {"node": [{"node": "u1"}]}}
    tab._open_node("arch_b", dense)
    assert (ss["w_layer"], ss["w_part"]) == (1, "partial")
    assert isinstance(dense, pd.DataFrame)
