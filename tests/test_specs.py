"""rflr.explorer.specs: a cached chart sends what st.altair_chart sends, and is rebuilt exactly when
its builder, data key or other arguments change."""

from __future__ import annotations

import json
import logging

import altair as alt
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from rflr.explorer import specs

logging.getLogger("streamlit").setLevel(logging.ERROR)

BUILT: list[tuple] = []  # every call of the builders below


def bars(df: pd.DataFrame, title: str) -> alt.LayerChart:
    BUILT.append((len(df), title))
    base = alt.Chart(df).encode(x="x:Q", y="y:Q")
    return alt.layer(base.mark_bar(), base.mark_rule()).properties(title=title)


def two_bars(df: pd.DataFrame) -> list[alt.Chart]:
    return [alt.Chart(df).mark_bar().encode(x="x:Q"), alt.Chart(df).mark_point().encode(x="y:Q")]


def _frame(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"x": range(n), "y": [0.5 * i for i in range(n)]})


def test_a_cached_chart_sends_what_st_altair_chart_sends():
    def page():
        import altair as alt  # AppTest runs this function's source as a script
        import pandas as pd
        import streamlit as st

        from rflr.explorer.specs import chart_ui
        from tests.test_specs import bars

        df = pd.DataFrame({"x": range(3), "y": [0.0, 0.5, 1.0]})
        st.altair_chart(bars(df, "t"), width="stretch")
        chart_ui(bars, ("file", 1, 2), df, "t", width="stretch")
        assert isinstance(bars(df, "t"), alt.LayerChart)

    at = AppTest.from_function(page, default_timeout=60).run()
    assert not at.exception
    plain, cached = at.get("vega_lite_chart")
    assert json.loads(plain.proto.spec) == json.loads(cached.proto.spec)
    assert plain.proto.spec == cached.proto.spec  # byte for byte: the browser keeps its view
    assert [(d.name, d.data.data) for d in plain.proto.datasets] == [
        (d.name, d.data.data) for d in cached.proto.datasets
    ]
    assert plain.proto.datasets and plain.proto.datasets[0].data.data  # the data travelled


def test_built_once_per_key_and_rebuilt_when_the_key_or_an_argument_changes():
    specs._spec.clear()
    BUILT.clear()
    df = _frame()
    first = specs.spec(bars, ("f", 1, 10), df, "t")
    again = specs.spec(bars, ("f", 1, 10), df, "t")
    assert BUILT == [(3, "t")]  # the second call was served from the cache
    assert first == again == specs.altair_spec(bars(df, "t"))  # equals a fresh build
    BUILT.clear()
    first["datasets"].clear()  # st.vega_lite_chart moves the data out: copies, not shared
    assert specs.spec(bars, ("f", 1, 10), df, "t")["datasets"]
    specs.spec(bars, ("f", 2, 10), _frame(5), "t")  # the file changed (new mtime)
    specs.spec(bars, ("f", 1, 10), df, "other title")  # a non-frame argument changed
    assert BUILT == [(5, "t"), (3, "other title")]


def test_the_data_key_stands_for_the_frames_and_lists_of_charts_are_converted_each():
    specs._spec.clear()
    BUILT.clear()
    specs.spec(bars, ("f", 1, 10), _frame(3), "t")
    # frames are not hashed: the data key says when they changed (what a caller must keep)
    assert specs.spec(bars, ("f", 1, 10), _frame(4), "t") == specs.altair_spec(bars(_frame(3), "t"))
    both = specs.spec(two_bars, ("g",), _frame())
    assert both == [specs.altair_spec(c) for c in two_bars(_frame())]


def test_a_lambda_is_refused_its_captured_values_would_not_be_in_the_key():
    df = _frame()
    with pytest.raises(Exception, match="module-level function"):
        specs.spec(lambda: bars(df, "t"), ("f",))
