"""The layer view's chart: one small panel per channel, z(x) beside its mirror z(-x).

Built for the browser's sake: one faceted spec per checkpoint, drawn on a canvas, whose
Vega-Lite spec depends only on what the view draws (the series, the layer's letter, the
kind, the layout, shared axes), never on the step or the checkpoint; the step-dependent
titles, D and shared y range are rows of panel_frame's long table. Pure functions of the
DataFrames of rflr.views.data, checked without Streamlit.
"""

from __future__ import annotations

import functools
import json

import altair as alt
import numpy as np
import pandas as pd

from rflr.views import data, style
from rflr.views.simplify import simplified

SERIES = ["z(x)", "z(-x)", "o(x)"]
TARGET = "f*(x)"  # curve_frame adds it on the output layer
PANEL_WIDTH, PANEL_HEIGHT = 150, 110  # a panel's plot area (px)
# The facet's room around the plot areas (px): Vega-Lite's spacing between panels, each
# panel's y axis with its labels (no title: the legend names the curves), the chart's
# padding; the gap Streamlit leaves between columns (gap="medium" in
# rflr.explorer.picks.columns_for).
SPACING, AXIS, PADDING, COLUMN_GAP = 10, 35, 10, 32
# A plot is at least MIN_PLOT px wide, so that a title's longest line ("ch 127 · mixed",
# ~90 px in bold 11 px DejaVu Sans) fits above it; at most MAX_PLOT, so that a column of one
# or two channels shows them large without a curve stretched flat across the page.
MIN_PLOT, MAX_PLOT, MAX_PER_ROW = 100, 420, 4
MAIN_WIDTH = 980  # the main area of a 1440 px window beside the sidebar: the first guess
STACKED_BELOW = 600  # a main area narrower than this: Streamlit stacks the columns
TIP_STRIDE = 4  # every 4th grid point of a curve answers a hover (33 of 129 per curve)
# A curve is sent as the fewest of its points whose polyline stays within SIMPLIFY of its
# panel's y range of every point (simplified): a fifth of a pixel on the tallest panel, so
# the drawing is the same, with about a quarter of the points (ReLU curves are straight
# between kinks); the browser's work per change grows with the points it gets.
SIMPLIFY = 1e-3


def channel_title(row: pd.Series | dict) -> str:
    """A panel's title, in lines: the channel and its parity, then D (then "inactive now"
    for a channel drawn because it is active at the run's end). Each line fits a MIN_PLOT
    panel, so neither D nor the parity is ever cut, in the app or in an export."""
    d = row["D"]
    dtext = "undefined" if not np.isfinite(d) else f"{d:.1e}"
    title = f"ch {int(row['channel'])} · {row['parity']}\nD = {dtext}"
    return title if row.get("active", True) else title + "\ninactive now"


def y_extent(curves: pd.DataFrame, show_odd: bool) -> list[float]:
    """One y domain covering every curve drawn (for shared axes), padded by 5%."""
    return padded_extent([y_range(curves, show_odd)])


def y_range(curves: pd.DataFrame, show_odd: bool) -> tuple[float, float] | None:
    """The lowest and the highest value of the curves drawn; None when none is."""
    cols = [c for c in (*(SERIES if show_odd else SERIES[:2]), TARGET) if c in curves]
    if curves.empty:
        return None
    return float(curves[cols].min().min()), float(curves[cols].max().max())


def padded_extent(ranges: list[tuple[float, float] | None]) -> list[float]:
    """One y domain covering every range of y_range (several columns' curves), padded by 5%."""
    found = [r for r in ranges if r is not None]
    if not found:
        return [-1.0, 1.0]
    lo, hi = (
        float(np.fmin.reduce([r[0] for r in found])),
        float(np.fmax.reduce([r[1] for r in found])),
    )
    pad = 0.05 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.05
    return [lo - pad, hi + pad]


def series_names(symbol: str) -> dict[str, str]:
    """Legend names of a layer's curves, by the letter its values are called by (z, u, h, y:
    rflr.views.style.symbol)."""
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
    x_name: str = "x",
    tag: str = "",
) -> alt.FacetChart:
    """Small multiples, one per channel of `channels` (in its order): the channel in its
    model's colour, its mirror dark and dashed on top (they coincide where the channel is
    even), the target on the output layer; D and parity in each title; hover either curve
    for the channel, x, the value, the mirror value and D, and every panel marks that x;
    Ctrl + wheel zooms x and a drag pans it, in every panel. `y_domain` shares the y axis
    (e.g. across two checkpoints); without it each panel scales to its own curves. `x_name`
    names the horizontal axis (x₁ for d >= 2: rflr.views.slices.axis_name).

    One faceted spec over one table, drawn on a canvas: a tenth of the work of a concat of
    many charts to build and serialize, and far less for the browser than SVG paths.
    `tag` ends the names of its views and params: charts concatenated side by side need
    names of their own (Vega refuses two views of one name).
    """
    keys, symbol = curve_keys(curves, show_odd), style.symbol(layer)
    df = panel_frame(curves, channels, keys, y_domain, symbol)
    return _panels(keys, symbol, kind, columns, width, y_domain is not None, x_name, df, tag)


def layer_panels_for_app(
    curves: pd.DataFrame,
    channels: pd.DataFrame,
    show_odd: bool = False,
    y_domain: list[float] | None = None,
    columns: int = 3,
    layer: str = "bottleneck.1.z",
    kind: str = "rflr",
    width: int = PANEL_WIDTH,
    x_name: str = "x",
) -> tuple[dict, pd.DataFrame]:
    """layer_panels (same arguments) as the app sends it: the cached spec without data, and
    its table, for st.vega_lite_chart."""
    keys, symbol = curve_keys(curves, show_odd), style.symbol(layer)
    spec = layer_panels_spec(keys, symbol, kind, columns, width, y_domain is not None, x_name)
    return json.loads(spec), panel_frame(curves, channels, keys, y_domain, symbol)


def panel_layout(
    main_width: int | None, checkpoints: int, channels: int | None = None
) -> tuple[int, int]:
    """Panels per row and plot width that fill a checkpoint's column of a main area
    `main_width` px wide (None: not measured yet, MAIN_WIDTH) split among `checkpoints`
    columns: as many to a row as leave each plot MIN_PLOT px, at most MAX_PER_ROW and at most
    the column's `channels` (None: as many as fit), each panel with its own y axis. A column
    of few channels gets fewer, wider panels (to MAX_PLOT) instead of an empty row."""

    def plot(k: int) -> int:
        return plot_width(main_width, checkpoints, k)

    per_row = max([k for k in range(1, MAX_PER_ROW + 1) if plot(k) >= MIN_PLOT], default=1)
    if channels is not None:
        per_row = max(1, min(per_row, channels))
    return per_row, min(max(plot(per_row), MIN_PLOT // 2), MAX_PLOT)


def plot_width(main_width: int | None, checkpoints: int, per_row: int) -> int:
    """The plot width of `per_row` panels (each with its y axis) in a checkpoint's column of
    a main area `main_width` px wide (None: MAIN_WIDTH), to 5 px: nearby widths share one
    spec. Columns stack below STACKED_BELOW px (Streamlit's own rule)."""
    main = MAIN_WIDTH if main_width is None else main_width
    n = 1 if main < STACKED_BELOW else max(checkpoints, 1)
    column = (main - (n - 1) * COLUMN_GAP) / n
    room = column - PADDING - AXIS * per_row - (per_row - 1) * SPACING
    return int(room / per_row) // 5 * 5


def panel_height(width: int) -> int:
    """A panel's plot height for its width: 110 px, taller for wide panels (to 180 px), so
    that a wide window does not flatten the curves."""
    return min(max(int(0.6 * width) // 5 * 5, PANEL_HEIGHT), 180)


def tip_size(width: int) -> int:
    """The area (px²) of a panel's invisible hover circles: at least 70, and wide enough
    that circles TIP_STRIDE grid points apart touch on a `width` px plot, so a hover anywhere
    along a curve answers."""
    gap = width * TIP_STRIDE / (data.PLOT_POINTS - 1)
    return max(70, round(0.8 * gap**2))


def curve_keys(curves: pd.DataFrame, show_odd: bool) -> tuple[str, ...]:
    """The curve_frame columns a layer chart draws: z(x), z(-x), o(x) with `show_odd`, and
    the target where curve_frame added it (the output layer)."""
    return (*(SERIES if show_odd else SERIES[:2]), *([TARGET] if TARGET in curves else []))


@functools.lru_cache(maxsize=64)
def layer_panels_spec(
    keys: tuple[str, ...],
    symbol: str,
    kind: str,
    columns: int,
    width: int,
    shared: bool,
    x_name: str = "x",
) -> str:
    """layer_panels' Vega-Lite spec without its data, as JSON, for st.vega_lite_chart with
    panel_frame's table. It depends only on what the view draws (the series, the layer's
    letter, the kind, the layout, shared axes, the x axis's name), never on the step or the
    checkpoint: built and validated by Altair once, then reused, and the browser keeps its
    chart and swaps the data when only the step, the channels or the file change."""
    floats = ("panel", "channel", "x", "value", "at", "mirror", "D", "bound_y")
    empty = pd.DataFrame({c: pd.Series(dtype=float) for c in floats}).assign(
        title=pd.Series(dtype=str),
        series=pd.Series(dtype=str),
        tip=pd.Series(dtype=bool),
        bound=pd.Series(dtype=bool),
    )
    spec = _panels(keys, symbol, kind, columns, width, shared, x_name, empty).to_dict()
    spec.pop("datasets", None)
    spec.pop("data", None)
    return json.dumps(spec)


def _panels(
    keys: tuple[str, ...],
    symbol: str,
    kind: str,
    columns: int,
    width: int,
    shared: bool,
    x_name: str,
    df: pd.DataFrame,
    tag: str = "",
) -> alt.FacetChart:
    names = series_names(symbol)
    series = [names[k] for k in keys]
    look = {
        "z(x)": (style.kind_color(kind), style.SOLID),
        "z(-x)": (style.MIRROR_COLOR, style.MIRROR_DASH),
        "o(x)": (style.ODD_COLOR, style.ODD_DASH),
        TARGET: (style.TARGET_COLOR, style.TARGET_DASH),
    }
    # zero=False, nice=False: the domain is the data's, and with shared axes the two bound
    # rows panel_frame puts in every panel make it y_domain in every panel and both columns
    y_scale = alt.Scale(zero=False, nice=False)
    # each panel's own axes, untitled on y (the legend names the curves): a panel with no
    # channel then draws nothing, and no scale spans the whole table, so the chart Streamlit
    # first draws without its data computes no empty extent (Vega's "Infinite extent" warning)
    ticks = max(3, min(7, width // 35))  # a narrow panel's x labels must not touch
    x_axis = alt.Axis(title=x_name, tickCount=ticks)
    y_axis = alt.Axis(title=None, format=".2~g")
    colors = alt.Scale(domain=series, range=[look[k][0] for k in keys])
    color = alt.Color(
        "series:N",
        scale=colors,
        legend=alt.Legend(title=None, orient="top", symbolStrokeWidth=2),
    )
    lines = (
        alt.Chart(name="curves" + tag)
        .mark_line(strokeWidth=1.6, clip=True, tooltip=False)
        .encode(
            x=alt.X("x:Q", axis=x_axis),
            y=alt.Y("value:Q", axis=y_axis, scale=y_scale),
            color=color,
            strokeDash=alt.StrokeDash(
                "series:N", scale=alt.Scale(domain=series, range=[look[k][1] for k in keys])
            ),
        )
    )  # the bound rows have no value: Vega-Lite drops them from the lines
    tips = (
        alt.Chart(name="tips" + tag)
        .transform_filter("datum.tip")
        .mark_circle(size=tip_size(width), opacity=0, clip=True)
        .encode(
            x=alt.X("x:Q", axis=x_axis),
            y=alt.Y("value:Q", axis=y_axis, scale=y_scale),
            tooltip=[
                alt.Tooltip("channel:Q", title="channel"),
                alt.Tooltip("x:Q", title=x_name, format=".3~g"),
                alt.Tooltip("at:Q", title=f"{symbol}({x_name})", format=".4g"),
                alt.Tooltip("mirror:Q", title=f"{symbol}(−{x_name})", format=".4g"),
                alt.Tooltip("D:Q", title="D (odd fraction)", format=".2e"),
            ],
        )
    )
    # Hover: the x under the pointer, the same in every panel (a facet's panels share its
    # params), marked by a rule and both curves' values. Shown by opacity, not filtered: a
    # layer filtered to no rows would join the panels' scale domains empty (Vega's
    # "Infinite extent" warning, 41 per view).
    hover = alt.selection_point(
        name="hover" + tag, fields=["x"], on="pointerover", clear="pointerout", empty=False
    )
    shown = alt.condition(hover, alt.value(1), alt.value(0))
    cross = (
        alt.Chart()
        .transform_filter(f"datum.tip && datum.series == {json.dumps(series[0])}")
        .mark_rule(color=style.INK_GREY, strokeWidth=1, tooltip=False)
        .encode(x=alt.X("x:Q", axis=x_axis), opacity=shown)
    )
    dots = (
        alt.Chart()
        .transform_filter("datum.tip")
        .transform_calculate(dot="datum.series")
        .mark_circle(size=28, clip=True, tooltip=False)
        .encode(
            x=alt.X("x:Q", axis=x_axis),
            y=alt.Y("value:Q", axis=y_axis, scale=y_scale),
            # fill of a field of its own: no legend, and none merged into the curves' (dashes)
            fill=alt.Fill("dot:N", scale=colors, legend=None),
            opacity=shown,
        )
    )
    # Zoom and pan along x (Ctrl + wheel or a trackpad's pinch, drag; a double-click
    # resets), every panel at once: x is one grid for all, y stays each panel's own. A bare
    # wheel scrolls the page: the panels fill most of it, and would trap the scroll.
    zoom = alt.selection_interval(
        name="zoom" + tag, bind="scales", encodings=["x"], zoom=style.ZOOM_WHEEL
    )
    layers = [lines.add_params(zoom), cross, dots, tips.add_params(hover)]
    if shared:
        bounds = (
            alt.Chart()
            .transform_filter("datum.bound")
            .mark_point(opacity=0, tooltip=False)
            .encode(x=alt.X("x:Q", axis=x_axis), y=alt.Y("bound_y:Q", scale=y_scale))
        )
        layers.append(bounds)
    chart = (
        alt.layer(*layers, data=df)
        .properties(width=width, height=panel_height(width))
        .facet(
            facet=alt.Facet(
                "title:N",
                sort=alt.EncodingSortField("panel", op="min", order="ascending"),
                title=None,
                # one line per "\n" of channel_title, never cut: each line fits a panel
                header=alt.Header(
                    labelFontSize=11,
                    labelFontWeight="bold",
                    labelLimit=0,
                    labelExpr="split(datum.value, '\\n')",
                ),
            ),
            columns=columns,
            spacing=SPACING,
        )
        .properties(usermeta=style.CANVAS)
    )
    return chart.resolve_scale(x="independent", y="independent").resolve_axis(
        x="independent", y="independent"
    )


def panel_frame(
    curves: pd.DataFrame,
    channels: pd.DataFrame,
    keys: tuple[str, ...],
    y_domain: list[float] | None = None,
    symbol: str = "z",
) -> pd.DataFrame:
    """The one long table a layer chart draws: a row per drawn point of each curve
    (`series` named for the layer's letter `symbol`, e.g. "u(x)", "u(−x), mirror"), with its
    panel's place and title (D and parity) and D. A curve's drawn points are those its line
    needs (simplified, within SIMPLIFY of the panel's range) and, on the channel and its
    mirror, every TIP_STRIDE-th grid point: a hover target carrying both values at its x
    (`at`: z(x), `mirror`: z(-x)), so that either curve answers a hover alike.

    Everything that changes with the step, the layer or the checkpoint is data here, not
    spec: the browser then swaps the data of the chart it has instead of compiling and
    laying out a new one (Streamlit keeps a Vega view whose spec is unchanged). The curves
    come folded (long), so the browser runs no fold or lookup per point. With `y_domain`,
    two `bound` rows in every panel (drawn invisible) carry the shared y range.
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
    x = df["x"].to_numpy(dtype=float)
    values = [df[key].to_numpy(dtype=float) for key in keys]
    # z(x) and z(-x), the first two curves, carry the hover points, with both values
    tips = [
        nth % TIP_STRIDE == 0 if i < 2 else np.zeros(len(df), dtype=bool) for i in range(len(keys))
    ]
    drawn = [m | t for m, t in zip(_simplified(channel, x, values, y_domain), tips, strict=True)]
    rows = np.concatenate([np.flatnonzero(m) for m in drawn])  # df's rows, curve by curve
    tip = np.concatenate([t[m] for t, m in zip(tips, drawn, strict=True)])
    m = len(rows)
    cols = {
        "panel": panel[rows],
        "channel": channel[rows],
        "title": panel[rows],  # codes into `titles`, made categorical below
        "x": x[rows],
        "series": np.repeat(np.arange(len(keys)), [int(d.sum()) for d in drawn]),  # codes
        "value": np.concatenate([v[d] for v, d in zip(values, drawn, strict=True)]),
        "tip": tip,
        "at": np.where(tip, values[0][rows], np.nan),
        "mirror": np.where(tip, values[1][rows], np.nan) if len(keys) > 1 else np.full(m, np.nan),
        "D": defects[panel[rows]],
        "bound": np.zeros(m, dtype=bool),
        "bound_y": np.full(m, np.nan),
    }
    if y_domain and m:
        # two rows per panel, copies of its first point with no value, at the range's ends:
        # each panel's own y scale then spans y_domain, the same in every panel
        first = np.unique(cols["panel"], return_index=True)[1]
        at = np.repeat(first, len(y_domain))
        extra = {c: v[at] for c, v in cols.items()}
        extra.update(
            value=np.full(len(at), np.nan),
            tip=np.zeros(len(at), dtype=bool),
            at=np.full(len(at), np.nan),
            mirror=np.full(len(at), np.nan),
            bound=np.ones(len(at), dtype=bool),
            bound_y=np.tile(np.asarray(y_domain, dtype=float), len(first)),
        )
        cols = {c: np.concatenate([v, extra[c]]) for c, v in cols.items()}
    # Arrow sends each distinct string once
    cols["title"] = (
        pd.Categorical.from_codes(cols["title"], categories=titles)
        if titles
        else cols["title"].astype(str)
    )
    cols["series"] = pd.Categorical.from_codes(
        cols["series"], categories=[names[key] for key in keys]
    )
    return pd.DataFrame(_narrow(cols))


def _simplified(
    channel: np.ndarray, x: np.ndarray, values: list[np.ndarray], y_domain: list[float] | None
) -> list[np.ndarray]:
    """For each curve in `values` (rows grouped by `channel`, each channel's points in x
    order, as curve_frame gives them), the mask of the points its line is drawn through:
    simplified() within SIMPLIFY of the panel's y range (y_domain when shared, else the
    channel's own curves'). Rows not in equal-length channel blocks on one increasing x grid
    are all kept."""
    n_channels = len(np.unique(channel))
    n = len(channel) // max(n_channels, 1)
    blocks = (
        channel.reshape(n_channels, n) if n_channels and n * n_channels == len(channel) else None
    )
    grid = x[:n]
    if (
        blocks is None
        or n < 3
        or not (blocks == blocks[:, :1]).all()
        or not (x.reshape(n_channels, n) == grid).all()  # one grid, shared by every channel
        or not (np.diff(grid) > 0).all()
    ):
        return [np.ones(len(channel), dtype=bool) for _ in values]
    ys = [v.reshape(n_channels, n) for v in values]
    if y_domain:
        spread = np.full(n_channels, float(y_domain[-1]) - float(y_domain[0]))
    else:
        both = np.concatenate(ys, axis=1)
        with np.errstate(invalid="ignore"):
            spread = np.nanmax(np.where(np.isfinite(both), both, np.nan), axis=1, initial=-np.inf)
            spread -= np.nanmin(np.where(np.isfinite(both), both, np.nan), axis=1, initial=np.inf)
        spread = np.where(np.isfinite(spread), spread, 0.0)
    return [simplified(grid, y, SIMPLIFY * spread).ravel() for y in ys]


_F32_MAX = float(np.finfo(np.float32).max)


def _narrow(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The same table in fewer bytes: this table is most of what a layer or step change sends
    to the browser (125 of ~170 KB, issue 22). float32 keeps 7 digits, more than a chart or
    a 3-digit tooltip shows (values past its range are clipped, not turned into Infinity);
    panel and channel numbers fit int16 for any width the budgets admit."""
    out = dict(cols)
    for c in ("panel", "channel"):
        top = int(out[c].max()) if len(out[c]) else 0
        out[c] = out[c].astype(np.int16 if top < 2**15 else np.int32)
    for c in ("x", "value", "at", "mirror", "D", "bound_y"):
        out[c] = np.clip(out[c], -_F32_MAX, _F32_MAX).astype(np.float32)  # NaN stays NaN
    return out


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """For each element, how many elements of its group come before it (pandas' cumcount)."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    sizes = np.diff(np.r_[starts, len(groups)])
    rank = np.empty(len(groups), dtype=np.int64)
    rank[order] = np.arange(len(groups)) - np.repeat(starts, sizes)
    return rank
