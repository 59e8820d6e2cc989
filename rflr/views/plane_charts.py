"""The layer view of a d = 2 network over the whole plane: each channel z(x₁, x₂) as a heatmap
beside its mirror z(−x₁, x₂), so that an even channel shows two equal pictures (pure Altair over
rflr.views.slices.plane_frame)."""

from __future__ import annotations

import functools
import json

import altair as alt
import numpy as np
import pandas as pd

from rflr.views import style
from rflr.views.layer_charts import (
    MAX_PLOT,
    MIN_PLOT,
    SPACING,
    channel_title,
    panel_height,
    panel_layout,
    plot_width,
)

SIDES = ("channel", "mirror")  # the two heatmaps of a channel, left to right


def plane_layout(main_width: int | None, checkpoints: int, channels: int) -> tuple[int, int]:
    """Heatmaps per row (even: a channel beside its mirror) and their width, filling a
    checkpoint's column as rflr.views.layer_charts.panel_layout does for curves."""
    per_row, width = panel_layout(main_width, checkpoints, 2 * channels)
    if per_row % 2 and per_row > 1:  # 3: two heatmaps, wider
        per_row -= 1
        width = min(max(plot_width(main_width, checkpoints, per_row), MIN_PLOT // 2), MAX_PLOT)
    return per_row, width


def plane_table(plane: pd.DataFrame, channels: pd.DataFrame, symbol: str = "z") -> pd.DataFrame:
    """One row per cell of each heatmap: the channel's panel and title (its D and parity; the
    mirror's names what it shows), the cell's centre and half width, its value, and the value
    scaled by the channel's largest |value| (`scaled`, in [-1, 1]): one colour scale serves
    every channel, whatever its size."""
    parts, titles = [], []
    for order, row in enumerate(channels.to_dict("records")):
        c = int(row["channel"])
        cells = plane[plane["channel"] == c]
        top = float(np.max(np.abs(cells[["z", "mirror"]].to_numpy()), initial=0.0)) or 1.0
        titles += [channel_title(row), f"ch {c} · mirror\n{symbol}(−x₁, x₂)"]
        for side, column in enumerate(("z", "mirror")):
            values = cells[column].to_numpy(dtype=float)
            parts.append(
                pd.DataFrame(
                    {
                        "panel": 2 * order + side,
                        "channel": c,
                        "x1": cells["x1"].to_numpy(dtype=float),
                        "x2": cells["x2"].to_numpy(dtype=float),
                        "half": cells["half"].to_numpy(dtype=float),
                        "value": values,
                        "scaled": values / top,
                        "D": float(row["D"]),
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=["panel", "channel", "title", *_FLOATS])
    df = pd.concat(parts, ignore_index=True)
    # Arrow sends each distinct title once
    df.insert(2, "title", pd.Categorical.from_codes(df["panel"].to_numpy(), categories=titles))
    return df


_FLOATS = ("x1", "x2", "half", "value", "scaled", "D")


def plane_panels(
    plane: pd.DataFrame,
    channels: pd.DataFrame,
    per_row: int,
    width: int,
    symbol: str = "z",
) -> alt.FacetChart:
    """Heatmaps of each channel of `channels` (in its order) and of its mirror, side by side,
    `per_row` // 2 channels to a row (at least one; plane_layout), each about `width` px
    wide: the chart
    with its data inline, for an export (the app sends plane_panels_spec and plane_table)."""
    df = plane_table(plane, channels, symbol)
    records = df.assign(title=df["title"].astype(str)).to_dict("records")
    return _plane(per_row, width, symbol, alt.Data(values=records))


@functools.lru_cache(maxsize=16)
def plane_panels_spec(per_row: int, width: int, symbol: str = "z") -> str:
    """plane_panels' Vega-Lite spec without its data, as JSON, for st.vega_lite_chart with
    plane_table's table (Arrow: a 41 x 41 grid per panel is too much for inline JSON)."""
    empty = pd.DataFrame({c: pd.Series(dtype=float) for c in ("panel", "channel", *_FLOATS)})
    spec = _plane(per_row, width, symbol, empty.assign(title=pd.Series(dtype=str))).to_dict()
    spec.pop("datasets", None)
    spec.pop("data", None)
    return json.dumps(spec)


def _plane(per_row: int, width: int, symbol: str, data: pd.DataFrame | alt.Data) -> alt.FacetChart:
    value = f"{symbol}(x₁, x₂)"
    cells = (
        alt.Chart()
        .transform_calculate(
            x1_lo="datum.x1 - datum.half",
            x1_hi="datum.x1 + datum.half",
            x2_lo="datum.x2 - datum.half",
            x2_hi="datum.x2 + datum.half",
        )
        .mark_rect()
        .encode(
            x=alt.X("x1_lo:Q", title="x₁", axis=alt.Axis(tickCount=5)),
            x2="x1_hi:Q",
            y=alt.Y("x2_lo:Q", title="x₂", axis=alt.Axis(tickCount=5)),
            y2="x2_hi:Q",
            color=alt.Color(
                "scaled:Q",
                scale=alt.Scale(scheme="redblue", domain=[-1, 1], reverse=True),
                legend=alt.Legend(
                    title=f"{symbol} / its largest |{symbol}|", orient="top", gradientLength=160
                ),
            ),
            tooltip=[
                alt.Tooltip("channel:Q", title="channel"),
                alt.Tooltip("x1:Q", title="x₁", format=".3~g"),
                alt.Tooltip("x2:Q", title="x₂", format=".3~g"),
                alt.Tooltip("value:Q", title=value, format=".4g"),
                alt.Tooltip("D:Q", title="D (odd fraction)", format=".2e"),
            ],
        )
    )
    size = min(width, panel_height(width) + 40)  # about square: x₁ and x₂ share a range
    return (
        alt.layer(cells, data=data)
        .properties(width=size, height=size)
        .facet(
            facet=alt.Facet(
                "title:N",
                sort=alt.EncodingSortField("panel", op="min", order="ascending"),
                title=None,
                header=alt.Header(
                    labelFontSize=11,
                    labelFontWeight="bold",
                    labelLimit=0,
                    labelExpr="split(datum.value, '\\n')",
                ),
            ),
            columns=2 * max(1, per_row // 2),
            spacing=SPACING,
        )
        # each panel's own scales: none spans the whole table, so the chart Streamlit first
        # draws without its data computes no empty extent ("Infinite extent" warnings)
        .resolve_scale(x="independent", y="independent")
        .resolve_axis(x="independent", y="independent")
        .properties(usermeta=style.CANVAS)
    )
