"""The layer view's chart: one small panel per channel, z(x) beside its mirror z(-x).

Two forms of the same drawing. For a file (exports, REPRODUCTION figures): layer_panels,
one faceted chart. For the app: one small chart per panel (panel_charts), so that the page
can flow them 3-4 to a row at any window width, which a facet cannot (its panels have a
fixed width); each drawn on a canvas from one cached Vega-Lite spec that depends only on
what the view draws (the series, the layer's letter, the kind, shared axes), never on the
step or the checkpoint: the title, D and shared y range are rows of panel_frame's long
table, so the browser keeps its charts and swaps their data. Pure functions of the
DataFrames of rflr.app.data, checked without Streamlit.
"""

from __future__ import annotations

import functools
import json

import altair as alt
import numpy as np
import pandas as pd

from rflr.app import style

SERIES = ["z(x)", "z(-x)", "o(x)"]
TARGET = "f*(x)"  # curve_frame adds it on the output layer
PANEL_WIDTH, PANEL_HEIGHT = 150, 110  # a facet panel's plot area (px)
TITLE_INDENT = 30  # px: a one-panel chart's title starts this far left of its plot
TIP_STRIDE = 2  # every 2nd plotted point carries the hover tooltip (65 per panel)


def channel_title(row: pd.Series | dict) -> str:
    d = row["D"]
    dtext = "undefined" if not np.isfinite(d) else f"{d:.1e}"
    title = f"ch {int(row['channel'])} · D = {dtext} · {row['parity']}"
    return title if row.get("active", True) else title + " · inactive now"


def y_extent(curves: pd.DataFrame, show_odd: bool) -> list[float]:
    """One y domain covering every curve drawn (for shared axes), padded by 5%."""
    cols = [c for c in (*(SERIES if show_odd else SERIES[:2]), TARGET) if c in curves]
    if curves.empty:
        return [-1.0, 1.0]
    lo, hi = float(curves[cols].min().min()), float(curves[cols].max().max())
    pad = 0.05 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.05
    return [lo - pad, hi + pad]


def series_names(symbol: str) -> dict[str, str]:
    """Legend names of a layer's curves, by the letter its values are called by (z, u, h, y:
    rflr.app.style.symbol)."""
    s = symbol
    return {
        "z(x)": f"{s}(x)",
        "z(-x)": f"{s}(−x), mirror",
        "o(x)": "odd part",
        TARGET: "target f*(x)",
    }


def layer_panels(
    curves: pd.DataFrame,
    channels: pd.DataFrame,
    show_odd: bool = False,
    y_domain: list[float] | None = None,
    columns: int = 3,
    layer: str = "bottleneck.1.z",
    kind: str = "rflr",
    width: int = PANEL_WIDTH,
) -> alt.FacetChart:
    """Small multiples, one per channel of `channels` (in its order): the channel in its
    model's colour, its mirror dark and dashed on top (they coincide where the channel is
    even), the target on the output layer; D and parity in each title; hover any point for
    x, the value, the mirror value and D. `y_domain` shares the y axis (e.g. across two
    checkpoints); without it each panel scales to its own curves.

    One faceted spec over one table, drawn on a canvas: a tenth of the work of a concat of
    many charts to build and serialize, and far less for the browser than SVG paths.
    """
    keys, symbol = curve_keys(curves, show_odd), style.symbol(layer)
    df = panel_frame(curves, channels, keys, y_domain, symbol)
    return _panels(keys, symbol, kind, columns, width, y_domain is not None, df)


def panel_charts(
    curves: pd.DataFrame,
    channels: pd.DataFrame,
    show_odd: bool = False,
    y_domain: list[float] | None = None,
    layer: str = "bottleneck.1.z",
    kind: str = "rflr",
) -> tuple[dict, list[pd.DataFrame]]:
    """What the app draws (layer_panels' arguments, less the layout): one Vega-Lite spec,
    cached and without data, for every panel, and each panel's table (panel_frame's rows of
    one channel, in `channels`' order), for one st.vega_lite_chart per panel. The panel's
    title is drawn from its rows, its legend is the page's (legend_entries)."""
    keys, symbol = curve_keys(curves, show_odd), style.symbol(layer)
    spec = panel_spec(keys, symbol, kind, y_domain is not None)
    frame = panel_frame(curves, channels, keys, y_domain, symbol)
    if frame.empty:
        return json.loads(spec), []
    return json.loads(spec), [f for _, f in frame.groupby("panel", sort=True)]


def legend_entries(
    curves: pd.DataFrame, show_odd: bool = False, layer: str = "bottleneck.1.z", kind: str = "rflr"
) -> list[tuple[str, str, list[float]]]:
    """The legend of panel_charts (same arguments), drawn once by the page: (name, colour,
    dash) of each curve drawn."""
    names, look = series_names(style.symbol(layer)), _look(kind)
    return [(names[k], *look[k]) for k in curve_keys(curves, show_odd)]


def curve_keys(curves: pd.DataFrame, show_odd: bool) -> tuple[str, ...]:
    """The curve_frame columns a layer chart draws: z(x), z(-x), o(x) with `show_odd`, and
    the target where curve_frame added it (the output layer)."""
    return (*(SERIES if show_odd else SERIES[:2]), *([TARGET] if TARGET in curves else []))


@functools.lru_cache(maxsize=64)
def panel_spec(keys: tuple[str, ...], symbol: str, kind: str, shared: bool) -> str:
    """One panel's Vega-Lite spec without its data, as JSON, for st.vega_lite_chart with one
    panel's rows of panel_frame. It depends only on what the view draws (the series, the
    layer's letter, the kind, shared axes), never on the step, the channel or the
    checkpoint: built and validated by Altair once, then reused by every panel, and the
    browser keeps its charts and swaps the data when only the step, the channels or the
    file change. Its width is the page's (Streamlit stretches a single view to its cell)."""
    head = (  # the title, from the panel's head row; it starts over the y axis labels and
        # is ellipsized (not cut) where a narrow panel lacks room: the tooltip has it whole
        alt.Chart()
        .transform_filter("datum.head")
        .mark_text(
            align="left",
            baseline="bottom",
            dx=-TITLE_INDENT,
            dy=-5,
            fontSize=11,
            fontWeight="bold",
            limit=alt.ExprRef(f"width + {TITLE_INDENT}"),
        )
        .encode(x=alt.value(0), y=alt.value(0), text="title:N")
    )
    layers = [*_layers(keys, symbol, kind, shared, legend=False), head]
    chart = (
        alt.layer(*layers, data=_EMPTY)
        .properties(
            height=PANEL_HEIGHT,
            usermeta=style.CANVAS,
            # an object, not a number: Streamlit's front end sets padding.bottom on it
            padding={"left": 2, "right": 4, "top": 4, "bottom": 2},
        )
        # a narrow cell is mostly axis: slimmer ticks, labels and paddings leave the curves
        # about 15 px more of its width
        .configure_axis(
            labelFontSize=10, titleFontSize=10, labelPadding=2, titlePadding=3, tickSize=3
        )
    )
    spec = chart.to_dict()
    spec.pop("datasets", None)
    spec.pop("data", None)
    # the cell's width is the plot's with its axes and title; the height grows with them
    spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    return json.dumps(spec)


_FLOATS = ("panel", "channel", "x", "value", "mirror", "D", "bound_y")
_EMPTY = pd.DataFrame({c: pd.Series(dtype=float) for c in _FLOATS}).assign(
    title=pd.Series(dtype=str),
    series=pd.Series(dtype=str),
    tip=pd.Series(dtype=bool),
    bound=pd.Series(dtype=bool),
    head=pd.Series(dtype=bool),
)  # panel_frame's columns, no rows: what a spec without data is built from


def _look(kind: str) -> dict[str, tuple[str, list[float]]]:
    """Colour and dash of each curve: the channel in its kind's colour, the mirror dark and
    dashed, the odd part grey and dotted, the target green."""
    return {
        "z(x)": (style.kind_color(kind), style.SOLID),
        "z(-x)": (style.MIRROR_COLOR, style.MIRROR_DASH),
        "o(x)": (style.ODD_COLOR, style.ODD_DASH),
        TARGET: (style.TARGET_COLOR, style.TARGET_DASH),
    }


def _layers(
    keys: tuple[str, ...], symbol: str, kind: str, shared: bool, legend: bool
) -> list[alt.Chart]:
    """A panel's layers, the same in the facet and in the app's one-panel charts: the
    curves, invisible hover points carrying the mirror value and D, and with `shared` the
    invisible bound rows that set the shared y range."""
    names, look = series_names(symbol), _look(kind)
    series = [names[k] for k in keys]
    # zero=False, nice=False: the domain is the data's, and with shared axes the two bound
    # rows of panel_frame make it y_domain in every panel and in both columns
    y_scale = alt.Scale(zero=False, nice=False)
    y_title = names["z(x)"]
    lines = (
        alt.Chart()
        .mark_line(strokeWidth=1.6, clip=True)
        .encode(
            x=alt.X("x:Q", title="x"),
            y=alt.Y("value:Q", title=y_title, scale=y_scale),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=series, range=[look[k][0] for k in keys]),
                legend=alt.Legend(title=None, orient="top", symbolStrokeWidth=2)
                if legend
                else None,
            ),
            strokeDash=alt.StrokeDash(
                "series:N",
                scale=alt.Scale(domain=series, range=[look[k][1] for k in keys]),
                legend=alt.Undefined if legend else None,
            ),
        )
    )  # the bound rows have no value: Vega-Lite drops them from the lines
    tips = (
        alt.Chart()
        .transform_filter("datum.tip")
        .mark_circle(size=70, opacity=0.01, clip=True)
        .encode(
            x=alt.X("x:Q"),
            y=alt.Y("value:Q", title=y_title, scale=y_scale),
            tooltip=[
                alt.Tooltip("title:N", title="channel"),
                alt.Tooltip("x:Q", format=".3f"),
                alt.Tooltip("value:Q", title=y_title, format=".4g"),
                alt.Tooltip("mirror:Q", title=f"{symbol}(−x)", format=".4g"),
                alt.Tooltip("D:Q", title="D (odd fraction)", format=".2e"),
            ],
        )
    )
    layers = [lines, tips]
    if shared:
        bounds = (
            alt.Chart()
            .transform_filter("datum.bound")
            .mark_point(opacity=0)
            .encode(x=alt.X("x:Q"), y=alt.Y("bound_y:Q", title=y_title, scale=y_scale))
        )
        layers.append(bounds)
    return layers


def _panels(
    keys: tuple[str, ...],
    symbol: str,
    kind: str,
    columns: int,
    width: int,
    shared: bool,
    df: pd.DataFrame,
) -> alt.FacetChart:
    layers = _layers(keys, symbol, kind, shared, legend=True)
    chart = (
        alt.layer(*layers, data=df)
        .properties(width=width, height=PANEL_HEIGHT)
        .facet(
            facet=alt.Facet(
                "title:N",
                sort=alt.EncodingSortField("panel", op="min", order="ascending"),
                title=None,
                header=alt.Header(labelFontSize=11, labelFontWeight="bold", labelLimit=0),
            ),
            columns=columns,
        )
        .properties(usermeta=style.CANVAS)
    )
    return chart if shared else chart.resolve_scale(y="independent")


def panel_frame(
    curves: pd.DataFrame,
    channels: pd.DataFrame,
    keys: tuple[str, ...],
    y_domain: list[float] | None = None,
    symbol: str = "z",
) -> pd.DataFrame:
    """The one long table a layer chart draws: a row per point of each curve (`series`
    named for the layer's letter `symbol`, e.g. "u(x)", "u(−x), mirror"), with its panel's
    place and title (D and parity) and D. Every TIP_STRIDE-th point of the first curve is a
    hover target carrying the mirror value too; each panel's first row is its `head` (the
    one-panel chart draws the title from it).

    Everything that changes with the step, the layer or the checkpoint is data here, not
    spec: the browser then swaps the data of the chart it has instead of compiling and
    laying out a new one (Streamlit keeps a Vega view whose spec is unchanged). The curves
    come folded (long), so the browser runs no fold or lookup per point. With `y_domain`,
    two `bound` rows per panel (drawn invisible) carry the shared y range.
    """
    names = series_names(symbol)
    ids = channels["channel"].to_numpy(dtype=np.int64)
    titles = [channel_title(r) for r in channels.to_dict("records")]
    defects = channels["D"].to_numpy(dtype=float)
    df = curves.loc[curves["channel"].isin(ids)]
    channel = df["channel"].to_numpy(dtype=np.int64)
    by_id = np.argsort(ids, kind="stable")
    panel = by_id[np.searchsorted(ids[by_id], channel)]  # the channel's place in `channels`
    nth = _rank_within(channel)  # the point's index along its channel's curve
    n, k = len(df), len(keys)
    first = np.zeros(n * k, dtype=bool)
    first[:n] = True  # the first curve carries the hover points and the head
    cols = {
        "panel": np.tile(panel, k),
        "channel": np.tile(channel, k),
        "title": np.tile(panel, k),  # codes into `titles`, made categorical below
        "x": np.tile(df["x"].to_numpy(dtype=float), k),
        "series": np.repeat(np.arange(k), n),  # codes into the series names
        "value": np.concatenate([df[key].to_numpy(dtype=float) for key in keys]),
        "tip": first & np.tile(nth % TIP_STRIDE == 0, k),
        "mirror": np.where(first, np.tile(df["z(-x)"].to_numpy(dtype=float), k), np.nan),
        "D": np.tile(defects[panel], k),
        "bound": np.zeros(n * k, dtype=bool),
        "bound_y": np.full(n * k, np.nan),
        "head": first & np.tile(nth == 0, k),
    }
    if y_domain and n:
        # two rows per panel, copies of its head row with no value, at the range's ends
        heads = np.flatnonzero(cols["head"])
        extra = {c: np.tile(v[heads], len(y_domain)) for c, v in cols.items()}
        extra.update(
            value=np.nan,
            tip=False,
            mirror=np.nan,
            bound=True,
            head=False,
            bound_y=np.repeat(np.asarray(y_domain, dtype=float), len(heads)),
        )
        cols = {
            c: np.concatenate([v, np.broadcast_to(extra[c], len(heads) * len(y_domain))])
            for c, v in cols.items()
        }
    # Arrow sends each distinct string once
    cols["title"] = (
        pd.Categorical.from_codes(cols["title"], categories=titles)
        if titles
        else cols["title"].astype(str)
    )
    cols["series"] = pd.Categorical.from_codes(
        cols["series"], categories=[names[key] for key in keys]
    )
    return pd.DataFrame(cols)


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """For each element, how many elements of its group come before it (pandas' cumcount)."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    sizes = np.diff(np.r_[starts, len(groups)])
    rank = np.empty(len(groups), dtype=np.int64)
    rank[order] = np.arange(len(groups)) - np.repeat(starts, sizes)
    return rank
