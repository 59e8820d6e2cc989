"""The Export menu: PNG, SVG and CSV downloads of a view's charts (bytes by rflr.views.export)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import altair as alt
import pandas as pd
import streamlit as st

from rflr.explorer.escape import md
from rflr.views import export


@dataclass(frozen=True)
class Export:
    """One chart to offer for download: the chart (or a function that builds it, so that it
    is only built on a click), its data, its title (in the image and the file name), and a
    key unique on the page."""

    chart: alt.TopLevelMixin | Callable[[], alt.TopLevelMixin]
    frame: pd.DataFrame
    title: str
    key: str


def export_ui(
    chart: alt.TopLevelMixin | Callable[[], alt.TopLevelMixin],
    frame: pd.DataFrame,
    title: str,
    key: str,
) -> None:
    """PNG, SVG and CSV downloads of one chart (see exports_ui)."""
    exports_ui([Export(chart, frame, title, key)])


def exports_ui(items: list[Export]) -> None:
    """One Export menu for the charts of a view: PNG, SVG and CSV of each. The bytes are
    rendered only when a button is clicked, and the buttons exist only while the menu is
    open (opening it reruns the view). One menu, not one per chart, and empty while closed:
    every element is redrawn by the browser at each rerun."""
    if not items:
        return
    menu = st.popover(
        "Export", icon=":material/download:", key=export_key(items), on_change="rerun"
    )
    if not menu.open:
        return
    with menu:
        for item in items:
            if len(items) > 1:
                st.caption(md(item.title))
            _download_buttons(item)


def export_key(items: list[Export]) -> str:
    """The Export menu's widget key: a digest of its first chart's key (a file path: its
    characters never reach the page's markup)."""
    return "export_" + hashlib.sha256(items[0].key.encode()).hexdigest()[:16]


def _download_buttons(item: Export) -> None:
    name = export.file_stem(item.title)

    def titled() -> alt.TopLevelMixin:
        chart = item.chart if isinstance(item.chart, alt.TopLevelMixin) else item.chart()
        return chart.properties(title=item.title)

    formats = [
        ("PNG", lambda: export.png(titled()), "png", "image/png"),
        ("SVG", lambda: export.svg(titled()), "svg", "image/svg+xml"),
        ("CSV (data)", lambda: export.csv(item.frame), "csv", "text/csv"),
    ]
    for label, render, ext, mime in formats:
        st.download_button(
            label, render, f"{name}.{ext}", mime, key=f"{ext}-{item.key}", on_click="ignore"
        )
