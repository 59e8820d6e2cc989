"""The Depth profile's chart: the active defect of every layer, each checkpoint's output defect
beside it (a pure function of rflr.views.data.depth_profile's table)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from rflr.views import style
from rflr.views.names import tensor_label

PLOT_HEIGHT = 330  # px of the plot; its x axis and the legends below add their own

# What a line measures (a profile's part, or the equivariance of h): legend name, dash. No
# dash here is the mirror's.
MEASURES = {
    "partial": ("solid: partial layers (z for RF-LR, u for dense)", [1, 0]),
    "h": ("dotted: hidden features h", [2, 2]),
    "equivariance": ("dash-dot: equivariance of h (units permuted)", [8, 2, 2, 2]),
}


def depth_chart(profile: pd.DataFrame, outputs: pd.DataFrame) -> alt.LayerChart:
    """Active defect per layer on a log scale, one colour per checkpoint (its model kind's),
    a line per measure (partial layers, hidden features h, and the equivariance of h when
    measured), and each checkpoint's output defect D(y) as a labelled rule. D is clipped at
    style.LOG_FLOOR.

    profile: checkpoint, kind, k, part, layer, defect_mean (equivariance optional);
    outputs: checkpoint, kind, output_defect.
    """
    labels = list(dict.fromkeys(outputs["checkpoint"]))
    kinds = dict(zip(outputs["checkpoint"], outputs["kind"], strict=True))
    y = _d_axis()
    color = alt.Color(
        "checkpoint:N",
        scale=alt.Scale(domain=labels, range=style.checkpoint_colors([kinds[c] for c in labels])),
        legend=alt.Legend(
            orient="bottom",
            columns=1,
            labelLimit=style.LEGEND_LABEL_LIMIT,
            title="checkpoint",
            symbolType="stroke",  # a line per checkpoint (and a row of 20 px)
            symbolStrokeWidth=2,
        ),
    )
    outs = _output_rows(outputs)
    rules = (
        alt.Chart(outs)
        .mark_rule(strokeWidth=1.5, opacity=0.8)
        .encode(y=y, color=color, tooltip=[alt.Tooltip("checkpoint"), alt.Tooltip("output_defect")])
    )
    text = (
        alt.Chart(outs)
        .mark_text(align="left", baseline="bottom", dx=4, dy=-2, fontSize=11)
        .encode(y=y, x=alt.value(0), text="text:N", color=color)
    )
    rows = _measure_rows(profile)
    # Streamlit fits the whole chart, legends included, in its height: the plot keeps its own
    legends = style.legends_height((len(labels), True), (rows["measure"].nunique(), True))
    return alt.layer(rules, text, _lines(rows, y, color), config=style.STACKED_LEGENDS).properties(
        height=PLOT_HEIGHT + legends
    )


def _measure_rows(profile: pd.DataFrame) -> pd.DataFrame:
    """One row per checkpoint, layer and measure: its value, and D (the value clipped for the
    log axis; rows with no finite D are left out)."""
    names = {k: v[0] for k, v in MEASURES.items()}
    rows = profile.assign(measure=profile["part"].map(names), value=profile["defect_mean"])
    if "equivariance" in profile and profile["equivariance"].notna().any():
        eq = profile[(profile["part"] == "h") & profile["equivariance"].notna()]
        rows = pd.concat([rows, eq.assign(measure=names["equivariance"], value=eq["equivariance"])])
    rows = rows.assign(
        D=rows["value"].clip(lower=style.LOG_FLOOR), name=rows["layer"].map(tensor_label)
    )
    return rows[np.isfinite(rows["D"])]


def _output_rows(outputs: pd.DataFrame) -> pd.DataFrame:
    """Each checkpoint's output defect, clipped for the log axis, and its rule's label."""
    return outputs.assign(
        D=outputs["output_defect"].clip(lower=style.LOG_FLOOR),
        text=[
            "output D(y) = " + _short(v) + " · " + c.split(" · ")[0]
            for c, v in zip(outputs["checkpoint"], outputs["output_defect"], strict=True)
        ],
    )


def _lines(rows: pd.DataFrame, y: alt.Y, color: alt.Color) -> alt.LayerChart:
    """A line per checkpoint and measure over the layer index, dashed by measure (only the
    measures present get a legend entry), and its points (a layer of their own: filled
    points on the line itself would leave the dash legend's strokes unpainted)."""
    shown = [v for v in MEASURES.values() if v[0] in set(rows["measure"])]
    x = alt.X("k:Q", title="layer k (0: atoms h₁)", axis=alt.Axis(tickMinStep=1, format="d"))
    tooltip = [
        alt.Tooltip("checkpoint:N"),
        alt.Tooltip("name:N", title="layer"),
        alt.Tooltip("measure:N"),
        alt.Tooltip("value:Q", title="value", format=".3e"),
    ]
    lines = (
        alt.Chart()
        .mark_line()
        .encode(
            x=x,
            y=y,
            color=color,
            strokeDash=alt.StrokeDash(
                "measure:N",
                scale=alt.Scale(domain=[n for n, _ in shown], range=[d for _, d in shown]),
                legend=alt.Legend(
                    title="measure",
                    orient="bottom",
                    columns=1,
                    labelLimit=style.LEGEND_LABEL_LIMIT,
                    symbolType="stroke",
                    symbolStrokeColor=style.INK_GREY,
                    symbolStrokeWidth=2,
                    symbolSize=400,
                ),
            ),
            detail=alt.Detail("measure:N"),
            tooltip=tooltip,
        )
    )
    points = (
        alt.Chart()
        .mark_point(size=70, filled=True, opacity=1)
        .encode(x=x, y=y, color=color, tooltip=tooltip)
    )
    return alt.LayerChart(data=rows, layer=[lines, points])


def _d_axis() -> alt.Y:
    return alt.Y(
        "D:Q",
        scale=alt.Scale(type="log"),
        axis=alt.Axis(format=style.LOG_AXIS_FORMAT),
        title="active D (log; 0 even, 1 odd)",
    )


def _short(v: float) -> str:
    return "–" if not np.isfinite(v) else f"{v:.1e}"
