"""Charts against the training step: the losses, and the symmetry defect of every partial
layer at every snapshot (is the mirror locking in, and when?). Pure functions of the
tables in rflr.views.data; A and B (or any number of overlaid runs: rflr.views.overlay) on
one chart, on one step axis, in their models' colours.

The symmetry view is two charts on the same step domain (symmetry_charts), with y axes of
one width so that a step sits at the same x in both. Vega-Lite cannot stretch a concat to
its container, so they are two charts filling it where they are independent (the overlay),
and one concat at a given width (symmetry_chart) where they share a hover, a zoom and a
pick (the app's linked view, at the page's measured width: linked_width) or a file (the
export, at EXPORT_WIDTH). A click on a point selects its step (PICK): the page moves the
step slider.

Step 0 cannot sit on a log axis and is left out. Steps are whole numbers everywhere.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from rflr.views import style
from rflr.views.names import layer_label
from rflr.views.style import LOG_FLOOR

EXPORT_WIDTH = 860  # px: the exported PNG of the symmetry charts (a file has no container)
STEP_FORMAT = "~s"  # 100, 1k, 30k: whole steps, short
Y_EXTENT = 48  # px for the y tick labels: the stacked charts then share their plot's left edge
PICK = "pick"  # the click selection: the page reads the clicked point's step from it
HOVER = "hover"  # the snapshot nearest the pointer: a rule on both charts of the linked view
ZOOM = "zoom"  # the linked view's step axis, zoomed by Ctrl + wheel
SERIES = {  # loss series: legend entry -> how it is drawn
    "test MSE": "line",
    "train loss": "hollow dots",
}
LAYERS_PER_ROW = 3  # the layer legend's columns: a deep network's legend still fits a phone


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


def _log_y(field: str, title: str) -> alt.Y:
    return alt.Y(
        field,
        scale=alt.Scale(type="log"),
        axis=alt.Axis(format=style.LOG_AXIS_FORMAT, minExtent=Y_EXTENT, maxExtent=Y_EXTENT),
        title=title,
    )


def _color(labels: list[str], colors: list[str], title: str, legend: bool = True) -> alt.Color:
    return alt.Color(
        "checkpoint:N",
        scale=alt.Scale(domain=labels, range=colors),
        legend=alt.Legend(
            title=title,
            orient="bottom",
            columns=1,
            labelLimit=style.LEGEND_LABEL_LIMIT,
            symbolType="stroke",  # a line per checkpoint or run (and a row of 20 px)
            symbolStrokeWidth=2,
        )
        if legend
        else None,
    )


def _series(frame: pd.DataFrame, colors: dict[str, str] | None) -> tuple[list[str], list[str]]:
    """The checkpoints (or runs) of a frame in order of appearance, and their colours: the
    given ones, else style.checkpoint_colors of their kinds (A, B, ...)."""
    labels = list(dict.fromkeys(frame["checkpoint"]))
    if colors is not None:
        return labels, [colors.get(c, style.OTHER_COLOR) for c in labels]
    kind_of = dict(zip(frame["checkpoint"], frame["kind"], strict=True))
    return labels, style.checkpoint_colors([kind_of[c] for c in labels])


def _who(frame: pd.DataFrame) -> list[alt.Tooltip]:
    """The tooltip's first lines: the checkpoint or run, and its model when the frame has it."""
    first = [alt.Tooltip("checkpoint:N", title="run" if "model" in frame else "checkpoint")]
    return first + ([alt.Tooltip("model:N")] if "model" in frame else [])


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
    # right-aligned, left of the rule: the final step's label stays inside the plot
    text = (
        alt.Chart(frame)
        .mark_text(align="right", baseline="top", dx=-4, y=4, fontSize=11, fontWeight="bold")
        .encode(x=_step_x(domain), text=alt.Text("text:N"))
    )
    return [rule, text]


def _pick() -> alt.Parameter:
    """A click on (or near) a point selects its step."""
    return alt.selection_point(name=PICK, fields=["step"], on="click", nearest=True, clear=False)


def _hover() -> alt.Parameter:
    """The snapshot nearest the pointer (anywhere on the plot), until the pointer leaves."""
    return alt.selection_point(
        name=HOVER, fields=["step"], on="pointerover", nearest=True, clear="pointerout", empty=False
    )


def _zoom() -> alt.Parameter:
    """Ctrl + wheel (a trackpad's pinch) zooms the step axis; a double-click resets it. A bare
    wheel scrolls the page, and a drag does nothing: it would end in a click, which picks."""
    return alt.selection_interval(
        name=ZOOM, bind="scales", encodings=["x"], zoom=style.ZOOM_WHEEL, translate=False
    )


def _hover_rule(frame: pd.DataFrame, domain: list[float]) -> alt.Chart:
    """A rule at the hovered snapshot (HOVER), one candidate per snapshot of `frame`, shown
    by opacity: a layer filtered to no rows would join the step scale empty (Vega's
    "Infinite extent" warning)."""
    steps = frame.loc[frame["step"] > 0, ["step"]].drop_duplicates()
    return (
        alt.Chart(steps)
        .mark_rule(color=style.INK_GREY, strokeWidth=1, tooltip=False)
        .encode(
            x=_step_x(domain),
            opacity=alt.condition(alt.param(HOVER, empty=False), alt.value(1), alt.value(0)),
        )
    )


def _top(layers: list, height: int, top_level: bool, width: int | None) -> alt.LayerChart:
    # One constructor call: each .resolve_scale() or .properties() deep-copies every layer
    # (Altair), which took most of this tab's rerun.
    extra = {"usermeta": style.CANVAS, "config": style.STACKED_LEGENDS} if top_level else {}
    extra |= {"width": width} if width is not None else {}
    return alt.LayerChart(
        layer=layers,
        resolve=alt.Resolve(scale=alt.ScaleResolveMap(color="independent")),
        height=height,
        **extra,
    )


def loss_chart(
    history: pd.DataFrame,
    shading: pd.DataFrame | None = None,
    current_step: int | None = None,
    domain: list[float] | None = None,
    height: int = 300,  # the plot's; the legends below add their own
    top_level: bool = True,  # False: a part of a concat (no usermeta there)
    y_title: str = "loss (log)",
    legends: bool = True,  # the checkpoints' colours (the series' marks are always named)
    width: int | None = None,  # None: the container's
    colors: dict[str, str] | None = None,  # checkpoint -> colour; None: kinds' (A, B)
    pick: bool = False,  # a click near a train-loss dot selects its step (PICK)
) -> alt.LayerChart:
    """Test MSE (lines) and train loss (hollow dots drawn over them, so that it shows even
    where the two coincide) of every checkpoint against step, log-log; A's plateaus and
    drops shaded; the selected step marked. The legend names each series by its own mark.

    history: checkpoint, kind, step, series, value (rflr.views.data.history_frame + labels).
    """
    hist = history[(history["step"] > 0) & (history["value"] > 0)]
    labels, shades = _series(hist, colors)
    domain = domain or step_domain(hist["step"])
    y = _log_y("value:Q", y_title)
    tooltip = [
        *_who(hist),
        alt.Tooltip("series:N"),
        alt.Tooltip("step:Q", format="d"),
        alt.Tooltip("value:Q", format=".3e"),
    ]
    shown = [s for s in SERIES if s in set(hist["series"])]
    series_legend = {"title": None, "orient": "bottom", "symbolStrokeColor": style.INK_GREY}
    layers = _shading(shading, domain, legends)
    if "test MSE" in shown:
        layers.append(
            alt.Chart(hist)
            .transform_filter(alt.datum.series == "test MSE")
            .mark_line(clip=True, strokeWidth=2)
            .encode(
                x=_step_x(domain),
                y=y,
                color=_color(labels, shades, "checkpoint", legends),
                strokeDash=alt.StrokeDash(
                    "series:N",
                    scale=alt.Scale(domain=["test MSE"], range=[style.SOLID]),
                    legend=alt.Legend(symbolType="stroke", symbolStrokeWidth=2, **series_legend),
                ),
                detail=alt.Detail("checkpoint:N"),
                tooltip=tooltip,
            )
        )
    if "train loss" in shown:
        # its own field: a legend of its own, not merged into the line's (one grey ring each)
        dots = (
            alt.Chart(hist)
            .transform_filter(alt.datum.series == "train loss")
            .transform_calculate(dots="datum.series")
            .mark_point(clip=True, size=16, filled=False, opacity=0.8, strokeWidth=1)
            .encode(
                x=_step_x(domain),
                y=y,
                color=_color(labels, shades, "checkpoint", legend=False),
                shape=alt.Shape(
                    "dots:N",
                    scale=alt.Scale(domain=["train loss"], range=["circle"]),
                    legend=alt.Legend(symbolFillColor="transparent", **series_legend),
                ),
                tooltip=tooltip,
            )
        )
        layers.append(dots.add_params(_pick()) if pick else dots)  # a click: its nearest dot
    layers += _step_rule(current_step, domain)
    below = [(1, False), (1.5, False)][: len(shown)] + [(1, True)] * (legends and _has(shading))
    below += [(len(labels), True)] * legends
    return _top(
        layers, height + style.X_AXIS_HEIGHT + style.legends_height(*below), top_level, width
    )


def _has(frame: pd.DataFrame | None) -> bool:
    return frame is not None and not frame.empty


def symmetry_charts(
    defects: pd.DataFrame,
    history: pd.DataFrame,
    shading: pd.DataFrame | None = None,
    current_step: int | None = None,
    colors: dict[str, str] | None = None,
    pick: bool = True,
    width: int | None = None,
    top_level: bool = True,
    linked: bool = False,
) -> list[alt.LayerChart]:
    """Is the mirror locking in? Two charts on one step axis. Top: the active partial defect
    D of every partial layer at every snapshot (log-log; colour: the checkpoint's model,
    shape and dash: the layer). Below: the test MSE, with a legend of its own. A's plateaus
    and drops shaded on both; the selected step marked; a click on a point picks its step.
    `linked` (for symmetry_chart): the snapshot nearest the pointer marked on both, and the
    step axis zoomed by Ctrl + wheel (HOVER, ZOOM).

    defects: checkpoint, kind, step, layer, k, defect_mean (rflr.views.data.defect_history),
    model optional (an overlay's runs); history: as for loss_chart; colors: checkpoint (or run) -> colour
    (None: their kinds', A and B).
    """
    d = defects[defects["step"] > 0]
    d = d.assign(D=d["defect_mean"].clip(lower=LOG_FLOOR), layer_k=d["k"].map(layer_name))
    d = d[np.isfinite(d["D"])]
    both = pd.concat([d[["checkpoint", "kind"]], history[["checkpoint", "kind"]]])
    labels, shades = _series(both, colors)
    domain = step_domain(d["step"], history["step"])
    ks = [layer_name(k) for k in sorted(set(d["k"]))]
    shapes, dashes = style.layer_marks(len(ks))
    x = _step_x(domain, title=None)
    y = _log_y("D:Q", "active partial defect D (log)")
    color = _color(labels, shades, "run" if "model" in d else "checkpoint")
    marks_legend = alt.Legend(
        title="partial layer",
        orient="bottom",
        columns=LAYERS_PER_ROW,
        symbolFillColor=style.INK_GREY,
        symbolStrokeWidth=0,  # the shape alone: its dash would break its outline
        symbolSize=90,
    )
    lines = (
        alt.Chart(d)
        .mark_line(clip=True, strokeWidth=1.5, opacity=0.85)
        .encode(
            x=x,
            y=y,
            color=color,
            strokeDash=alt.StrokeDash(
                "layer_k:N", scale=alt.Scale(domain=ks, range=dashes), legend=marks_legend
            ),
            detail=alt.Detail("checkpoint:N"),
        )
    )
    points = (
        alt.Chart(d)
        .mark_point(filled=True, size=55, opacity=0.95)  # unclipped: D = 1 is the top edge
        .encode(
            x=x,
            y=y,
            color=_color(labels, shades, "", legend=False),  # the lines' legend names them
            shape=alt.Shape(
                "layer_k:N", scale=alt.Scale(domain=ks, range=shapes), legend=marks_legend
            ),
            tooltip=[
                *_who(d),
                alt.Tooltip("layer:N"),
                alt.Tooltip("step:Q", format="d"),
                alt.Tooltip("defect_mean:Q", title="D (active mean)", format=".3e"),
                alt.Tooltip("active:Q", title="active channels"),
            ],
        )
    )
    if pick:
        points = points.add_params(_pick())
    hovered = [_hover_rule(d, domain)] if linked else []
    if linked:  # all on the points: Altair lifts a layer's params onto all its views
        points = points.add_params(_hover(), _zoom())
    below = [(1.5 * -(-len(ks) // LAYERS_PER_ROW), True), (len(labels), True)]
    below += [(1, True)] * _has(shading)
    upper = _top(
        [*_shading(shading, domain), *hovered, lines, points, *_step_rule(current_step, domain)],
        230 + style.X_AXIS_HEIGHT + style.legends_height(*below),
        top_level,
        width,
    )
    tests = history[history["series"] == "test MSE"]
    lower = loss_chart(
        tests,
        shading,
        current_step,
        domain,
        height=120,
        top_level=top_level,
        y_title="test MSE (log)",
        legends=False,
        width=width,
        colors=dict(zip(labels, shades, strict=True)),
    )
    if linked:  # the rule under the test MSE too: one snapshot, read on both
        lower.layer = [*hovered, *lower.layer]
    return [upper, lower]


def symmetry_chart(
    defects: pd.DataFrame,
    history: pd.DataFrame,
    shading: pd.DataFrame | None = None,
    current_step: int | None = None,
    colors: dict[str, str] | None = None,
    width: int = EXPORT_WIDTH,
    linked: bool = False,
) -> alt.VConcatChart:
    """symmetry_charts as one chart whose plots are `width` px wide: the exported file, or
    (`linked`) the app's view, where one step axis lets the two charts share a hover, a
    zoom and a click that picks a step (PICK): Vega-Lite cannot stretch a concat to its
    container, so the page passes its measured width (linked_width)."""
    upper, lower = symmetry_charts(
        defects, history, shading, current_step, colors, linked, width, False, linked
    )
    return alt.VConcatChart(
        vconcat=[upper, lower],
        resolve=alt.Resolve(
            scale=alt.ScaleResolveMap(
                x="shared", color="independent", shape="independent", strokeDash="independent"
            )
        ),
        usermeta=style.CANVAS,
        config=style.STACKED_LEGENDS,
    )


def linked_width(main_width: int) -> int:
    """The plot width of symmetry_chart in a main area `main_width` px wide: what the y axis
    (Y_EXTENT, its title) and the padding leave, to 5 px (nearby widths share one spec)."""
    return max(150, (main_width - Y_EXTENT - 40) // 5 * 5)


def layer_name(k: int) -> str:
    """A partial layer's name in the legend, shared by RF-LR and dense: "layer 3", as every
    tab says (rflr.views.names)."""
    return layer_label(None, int(k))
