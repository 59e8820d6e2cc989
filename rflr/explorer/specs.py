"""Charts built once per content: the Vega-Lite spec st.altair_chart would send, cached.

Building an Altair chart (its layers deep-copy each other) and converting it (schema
validation) cost 50-150 ms a chart: a tab of five charts blew the 300 ms budget on every
rerun although its data had not changed. Here the spec is built and converted once per
(builder, content of its arguments), with Streamlit's own conversion, and handed to
st.vega_lite_chart: the browser receives byte for byte what st.altair_chart would send.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

try:
    # Streamlit's own conversion (data as Arrow datasets named by their hash), a private
    # function: tests/test_specs.py checks that its output is what st.altair_chart sends.
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec as _to_spec
except ImportError:  # another Streamlit: Altair's plain dict (its data inline) draws the same

    def _to_spec(chart) -> dict:
        return chart.to_dict()


SPECS_KEPT = 128  # cached specs (a few KB each; a 5,000-point scatter ~100 KB)


def altair_spec(chart: alt.TopLevelMixin) -> dict:
    """The spec st.altair_chart(chart) sends: its data moved to Arrow datasets. Not checked
    against the Vega-Lite schema (half the cost of a conversion): the chart modules' tests
    convert every chart with the check."""
    return _to_spec(_Unchecked(chart))


class _Unchecked:
    """A chart whose to_dict skips the schema check (all Streamlit's conversion calls)."""

    def __init__(self, chart: alt.TopLevelMixin):
        self.chart = chart

    def to_dict(self) -> dict:
        return self.chart.to_dict(validate=False)


def _function_name(build: types.FunctionType) -> str:
    """A builder's cache key: its module and name. A lambda or nested function is refused:
    the values it captures would not be part of the key."""
    if "<" in build.__qualname__:
        raise ValueError(f"{build.__qualname__}: pass a module-level function and its arguments")
    return f"{build.__module__}.{build.__qualname__}"


def spec(build: Callable[..., Any], data_key: tuple, *args: Any) -> dict | list[dict]:
    """altair_spec(build(*args)) (a list of specs if it returns a list of charts), computed
    once per builder and content of its arguments. DataFrames are not hashed (a 150-row
    summary costs ~5 ms): data_key names their content (e.g. the file they were read from:
    its (path, mtime, size), and what was derived from it); every other argument is part of
    the key itself. Every call returns a fresh copy (st.vega_lite_chart moves data out)."""
    shown = tuple(None if isinstance(a, pd.DataFrame) else a for a in args)
    return _spec(build, data_key, shown, args)


@st.cache_data(
    max_entries=SPECS_KEPT,
    show_spinner=False,
    hash_funcs={types.FunctionType: _function_name},
)
def _spec(build: Callable[..., Any], data_key: tuple, shown: tuple, _args: tuple):
    charts = build(*_args)
    if isinstance(charts, list):
        return [altair_spec(c) for c in charts]
    return altair_spec(charts)


def chart_ui(
    build: Callable[..., alt.TopLevelMixin],
    data_key: tuple,
    *args: Any,
    where: Any = None,
    **st_kw: Any,
):
    """where.altair_chart(build(*args), **st_kw) (where: st or a container), with the chart
    built and converted only for a new builder, data_key or other argument (see spec)."""
    return (st if where is None else where).vega_lite_chart(spec(build, data_key, *args), **st_kw)
