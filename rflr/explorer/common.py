"""What every tab shares: the chosen checkpoints (A and B), their column headers, exports."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from rflr.core.config import KIND_LABELS
from rflr.explorer.cache import loaded
from rflr.files.checkpoint import Checkpoint
from rflr.sweep.summary import format_number
from rflr.views import catalog, export, sources

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!<>:$~|&=^@\"'])")  # inline markup, links, HTML
_MD_BLOCK = re.compile(r"^(\d*)([-.)])")  # a list or rule marker at the start
_AUTOLINK = re.compile(r"(?i)(https?:/|www\.|@)")  # GFM autolink starts, up to their last char
_JOINER = "\u2060"
_MAX_SHOWN = 300  # characters of one file-provided value shown in a sentence


def md(value: object) -> str:
    """File- or user-provided text made inert for Streamlit's markdown (st.markdown, captions,
    alerts, labels, help): the characters of links, images, HTML, entities, emphasis, code,
    directives (:red[...]), emoji codes and math are backslash-escaped (CommonMark allows it
    for any punctuation), and a list marker at the start too. GFM turns bare URLs, www. names
    and e-mail addresses into links *after* escapes are read, so those get an invisible word
    joiner (U+2060) that breaks the pattern. Line breaks become spaces; long values are cut."""
    text = " ".join(str(value).split())
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN] + "…"
    text = _AUTOLINK.sub(lambda m: m.group(0)[:-1] + _JOINER + m.group(0)[-1], text)
    return _MD_BLOCK.sub(r"\1\\\2", _MD_SPECIAL.sub(r"\\\1", text))


@dataclass(frozen=True)
class Pick:
    """A chosen checkpoint: its catalog row, cache key, and the loaded file (or the error)."""

    root: Path
    rel: str  # path relative to root, as in the catalog
    key: tuple  # (path, mtime, size): the cache key of everything derived from it
    row: dict
    ckpt: Checkpoint | None  # None when it could not be read or evaluated
    error: str | None
    label: str  # plain text: kind · run · step (for charts and select boxes, not markdown)
    title: str  # markdown with a kind badge (the run name escaped)


def pick(root: Path, cat: catalog.Catalog, rel: str) -> Pick:
    """A chosen checkpoint: its table row, cache key, and the loaded objects (or the error)."""
    path = sources.inside(root, rel)
    try:
        key = sources.file_key(path)
        ckpt, _, error = loaded(*key)
    except OSError as e:  # removed since the listing
        key, ckpt, error = (str(path), 0, 0), None, f"cannot read it ({e})"
    row = cat.rows[rel]
    label = f"{KIND_LABELS.get(row['kind'], row['kind'])} · {row['run']} · step {int(row['step'])}"
    badge = ":orange-badge[RF-LR]" if row["kind"] == "rflr" else ":blue-badge[dense]"
    return Pick(
        root=root,
        rel=rel,
        key=key,
        row=row,
        ckpt=ckpt,
        error=error,
        label=label,
        title=f"{badge} **{md(row['run'])}** · step {int(row['step'])}",
    )


def columns_for(picks: list[Pick]):
    # medium: 32 px, what rflr.views.layer_charts.COLUMN_GAP lays the panels out for
    return st.columns(len(picks), gap="medium") if len(picks) > 1 else [st.container()]


def pick_header(c: Pick) -> bool:
    """Title of a checkpoint's column; False (with the reason shown) if it cannot be used."""
    row = c.row
    st.markdown(c.title)
    st.caption(
        f"width {row['width']}"
        + (f" · rank {row['rank']}" if row["kind"] == "rflr" else "")
        + f" · depth {row['depth']} · seed {row['seed']} · target {md(row['target'])} · "
        f"test MSE {fmt(row['test_mse'])} · headline D {fmt(row['headline_defect'])} · "
        f"output D {fmt(row['output_defect'])} · status {md(row['status'])}"
    )
    if c.error:
        st.error(f"{md(c.rel)}: {md(c.error)}")
        return False
    return True


def fmt(v: float | None) -> str:
    return format_number(v, missing="–")


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
