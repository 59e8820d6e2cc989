"""Charts against the training step: the losses, and the symmetry defect of every partial
layer at every snapshot (is the mirror locking in, and when?). Pure functions of the
tables in rflr.views.data; A and B on one chart, on one step axis, in their kinds' colours.

Step 0 cannot sit on a log axis and is left out. Steps are whole numbers everywhere.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from rflr.views import style
from rflr.views.names import layer_label
from rflr.views.style import LOG_FLOOR

WIDTH = 860  # px: the symmetry chart is a concat, which does not stretch to its column
STEP_FORMAT = "~s"  # 100, 1k, 30k: whole steps, short


def step_domain(*steps: pd.Series) -> list[float]:
    """The log step axis: from the first logged step past 0 to a little beyond the last, so
    that the selected-step rule stays visible at the final snapshot."""
    values = pd.concat([s[s > 0] for s in steps if s is not None and len(s)])
    if values.empty:
        return [1.0, 10.0]
    return [float(values.min()), float(values.max()) * 1.5]


def _step_x(domain: list[float], title: str | None = "training step (log)") -> alt.X:
    return alt.X(
        "step:Q",
        scale=alt.Scale(type="log", domain=domain, nice=False),
        axis=alt.Axis(format=STEP_FORMAT, grid=True),
        title=title,
    )


def _color(labels: list[str], kinds: list[str], legend: bool = True) -> alt.Color:
    return alt.Color(
        "checkpoint:N",
        scale=alt.Scale(domain=labels, range=style.checkpoint_colors(kinds)),
        legend=alt.Legend(title="checkpoint", orient="bottom", columns=1, labelLimit=0)
        if legend
        else None,
    )


def _shading(
    shading: pd.DataFrame | None, domain: list[float], legend: bool = True
) -> list[alt.Chart]:
    """Plateaus and drops of A's test MSE as shaded step ranges."""
    if shading is None or shading.empty:
        return []
    shade = shading.assign(
        start=shading["start"].clip(lower=domain[0]), end=shading["end"].clip(lower=domain[0])
    )
    return [
        alt.Chart(shade)
        .mark_rect(opacity=0.14)
        .encode(
            x=alt.X(
                "start:Q",
                scale=alt.Scale(type="log", domain=domain, nice=False),
                title="training step (log)",
            ),
            x2=alt.X2("end:Q"),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(
                    domain=list(style.SHADE_COLORS), range=list(style.SHADE_COLORS.values())
                ),
                legend=alt.Legend(title="shaded (A's test MSE)", orient="bottom")
                if legend
                else None,
            ),
            tooltip=[
                alt.Tooltip("kind:N"),
                alt.Tooltip("start:Q", format="d"),
                alt.Tooltip("end:Q", format="d"),
                alt.Tooltip("loss:Q", format=".2e"),
            ],
        )
    ]


def _step_rule(step: int | None, domain: list[float], label: bool = True) -> list[alt.Chart]:
    if step is None or step <= 0:
        return []
    frame = pd.DataFrame({"step": [step], "text": [f"step {step:,}"]})
    rule = (
        alt.Chart(frame)
        .mark_rule(color="black", strokeWidth=2)
        .encode(x=_step_x(domain), tooltip=[alt.Tooltip("step:Q", format="d", title="selected")])
    )
    if not label:
        return [rule]
    text = (
        alt.Chart(frame)
        .mark_text(align="left", baseline="top", dx=4, y=4, fontSize=11, fontWeight="bold")
        .encode(x=_step_x(domain), text=alt.Text("text:N"))
    )
    return [rule, text]


def loss_chart(
    history: pd.DataFrame,
    shading: pd.DataFrame | None = None,
    current_step: int | None = None,
    domain: list[float] | None = None,
    height: int = 400,  # legends included (Streamlit fits the chart to it)
    top_level: bool = True,  # False: a part of a concat (no usermeta there)
    y_title: str = "loss (log)",
    legends: bool = True,
    width: int | None = None,
) -> alt.LayerChart:
    """Test MSE (lines) and train loss (hollow dots drawn over them, so that it shows even
    where the two coincide) of every checkpoint against step, log-log; A's plateaus and
    drops shaded; the selected step marked.

    history: checkpoint, kind, step, series, value (rflr.views.data.history_frame + labels).
    """
    hist = history[(history["step"] > 0) & (history["value"] > 0)]
    labels = list(dict.fromkeys(hist["checkpoint"]))
    kinds = [hist.loc[hist["checkpoint"] == c, "kind"].iloc[0] for c in labels]
    domain = domain or step_domain(hist["step"])
    color = _color(labels, kinds, legend=legends)
    y = alt.Y("value:Q", scale=alt.Scale(type="log"), title=y_title)
    tooltip = [
        alt.Tooltip("checkpoint:N"),
        alt.Tooltip("series:N"),
        alt.Tooltip("step:Q", format="d"),
        alt.Tooltip("value:Q", format=".3e"),
    ]
    test = (
        alt.Chart(hist)
        .transform_filter(alt.datum.series == "test MSE")
        .mark_line(clip=True, strokeWidth=2)
        .encode(
            x=_step_x(domain),
            y=y,
            color=color,
            strokeDash=alt.StrokeDash(
                "series:N",
                scale=alt.Scale(domain=["test MSE"], range=[style.SOLID]),
                legend=alt.Legend(title=None, orient="bottom") if legends else None,
            ),
            tooltip=tooltip,
        )
    )
    train = (
        alt.Chart(hist)
        .transform_filter(alt.datum.series == "train loss")
        .mark_point(clip=True, size=16, filled=False, opacity=0.8, strokeWidth=1)
        .encode(
            x=_step_x(domain),
            y=y,
            color=_color(labels, kinds, legend=False),  # the line's legend says it once
            shape=alt.Shape(
                "series:N",
                scale=alt.Scale(domain=["train loss"], range=["circle"]),
                legend=alt.Legend(title=None, orient="bottom") if legends else None,
            ),
            tooltip=tooltip,
        )
    )
    layers = [*_shading(shading, domain, legends), test, train]
    layers += _step_rule(current_step, domain)
    # One constructor call: each .resolve_scale() or .properties() deep-copies every layer
    # (Altair), which took most of this tab's rerun.
    extra = {"usermeta": style.CANVAS} if top_level else {}
    extra |= {"width": width} if width is not None else {}
    return alt.LayerChart(
        layer=layers,
        resolve=alt.Resolve(scale=alt.ScaleResolveMap(color="independent")),
        height=height,
        **extra,
    )


def symmetry_chart(
    defects: pd.DataFrame,
    history: pd.DataFrame,
    shading: pd.DataFrame | None = None,
    current_step: int | None = None,
) -> alt.VConcatChart:
    """Is the mirror locking in? Top: the active partial defect D of every partial layer at
    every snapshot (log-log; one colour per checkpoint, one point shape per layer k). Below,
    on the same step axis: the test MSE. A's plateaus and drops shaded on both.

    defects: checkpoint, kind, step, layer, k, defect_mean (rflr.views.data.defect_history);
    history: as for loss_chart.
    """
    d = defects[defects["step"] > 0]
    d = d.assign(
        D=d["defect_mean"].clip(lower=LOG_FLOOR),
        layer_k=[layer_label(None, int(k)) for k in d["k"]],  # "layer 3", as every tab says
    )
    d = d[np.isfinite(d["D"])]
    labels = list(dict.fromkeys([*d["checkpoint"], *history["checkpoint"]]))
    kind_of = dict(zip(d["checkpoint"], d["kind"], strict=True))
    kind_of |= dict(zip(history["checkpoint"], history["kind"], strict=True))
    kinds = [kind_of[c] for c in labels]
    domain = step_domain(d["step"], history["step"])
    ks = sorted(set(d["layer_k"]), key=lambda s: int(s.split()[-1]))
    top = (
        alt.Chart(d)
        .mark_line(point=alt.OverlayMarkDef(size=60, filled=True), clip=True)
        .encode(
            x=_step_x(domain, title=None),
            y=alt.Y(
                "D:Q",
                scale=alt.Scale(type="log"),
                title="active partial defect D (log)",
            ),
            color=_color(labels, kinds),
            shape=alt.Shape(
                "layer_k:N",
                scale=alt.Scale(domain=ks),
                legend=alt.Legend(title="partial layer", orient="bottom"),
            ),
            detail=alt.Detail("layer:N"),
            tooltip=[
                alt.Tooltip("checkpoint:N"),
                alt.Tooltip("layer:N"),
                alt.Tooltip("step:Q", format="d"),
                alt.Tooltip("defect_mean:Q", title="D (active mean)", format=".3e"),
                alt.Tooltip("active:Q", title="active channels"),
            ],
        )
    )
    upper = alt.LayerChart(  # one constructor call each: see loss_chart
        layer=[*_shading(shading, domain), top, *_step_rule(current_step, domain)],
        resolve=alt.Resolve(scale=alt.ScaleResolveMap(color="independent")),
        height=300,
        width=WIDTH,
    )
    tests = history[history["series"] == "test MSE"]
    lower = loss_chart(
        tests, shading, current_step, domain, 150, False, "test MSE (log)", False, WIDTH
    )
    return alt.VConcatChart(
        vconcat=[upper, lower],
        resolve=alt.Resolve(scale=alt.ScaleResolveMap(x="shared", color="independent")),
        usermeta=style.CANVAS,
    )
