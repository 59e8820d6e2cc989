"""Charts of many reruns at once, from a sweep's summary.csv (rflr.sweep.summary).

Pure functions of the summary DataFrame that return Altair charts: the explorer's Sweep
tab (rflr.explorer.tabs.sweep) shows them, scripts/make_reproduction.py saves them as the PNGs of
REPRODUCTION.md.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from rflr.core.kinds import KIND_LABELS, KINDS
from rflr.measure.metrics import SYMMETRIC_DEFECT
from rflr.sweep.summary import depth_profile, model_stats, wilson_interval
from rflr.views.names import layer_symbol, tensor_label
from rflr.views.style import INK_GREY, KIND_COLORS, LOG_FLOOR

LABELS = KIND_LABELS
MODEL_ORDER = tuple(KINDS)  # RF-LR first, then its controls: the registry's order, every view's
# One colour per model kind on every tab (rflr.views.style): RF-LR orange, dense blue.
COLORS = {LABELS.get(k, k): c for k, c in KIND_COLORS.items()}
_SCALE = alt.Scale(domain=list(COLORS), range=list(COLORS.values()))
_COLOR = alt.Color("label:N", title="model", scale=_SCALE)
# The scatter's legend of what a click does: filled points have their checkpoint here.
HAS_FILE = "has a checkpoint: click to open"
NO_FILE = "summary only: no file here"
# A ring as a Vega symbol path (unit circle, a hole wound the other way): the shape, not a
# fill opacity, carries "has a file", because only a shape gets a legend of its own.
RING = "M1,0A1,1,0,1,1,-1,0A1,1,0,1,1,1,0ZM0.55,0A0.55,0.55,0,1,0,-0.55,0A0.55,0.55,0,1,0,0.55,0Z"


def model_order(models: list[str]) -> list[str]:
    """Models as every view lists them: the registry's kinds in its order, then any other."""
    rank = {m: i for i, m in enumerate(MODEL_ORDER)}
    return sorted(models, key=lambda m: (rank.get(m, len(rank)), str(m)))


def _labelled(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(label=df["model"].map(LABELS).fillna(df["model"]))


def _layer_label(name: object) -> str:
    """A summary's layer name (bottleneck.3.z) as every tab names it (layer 3 · z₃)."""
    return tensor_label(name) if isinstance(name, str) and name else "–"


def _jitter(df: pd.DataFrame, spread: float) -> pd.Series:
    """Horizontal offsets in [-spread/2, spread/2) from the run's row order: the golden-ratio
    sequence spreads points evenly and draws the same picture every time (no random())."""
    i = pd.Series(range(len(df)), index=df.index, dtype=float)
    return ((i * 0.6180339887) % 1.0 - 0.5) * spread


def _decades(values: pd.Series) -> list[float]:
    """Powers of ten spanning the values: the only ticks of a log axis (1e-5, 1e-4, ...)."""
    v = values[values > 0].dropna()
    if v.empty:
        return [1.0]
    lo, hi = math.floor(math.log10(v.min())), math.ceil(math.log10(v.max()))
    return [10.0**e for e in range(lo, max(hi, lo + 1) + 1)]


def _log_axis(values: pd.Series, title: str) -> dict:
    """Scale and axis of a log-scale position channel, ticked at whole decades."""
    ticks = _decades(values)
    return dict(
        scale=alt.Scale(type="log", domain=[ticks[0], ticks[-1]]),
        axis=alt.Axis(values=ticks, format=".0e", grid=True),
        title=title,
    )


def _partial_names() -> list[str]:
    """Each kind's partial function: "z for RF-LR", "u for dense" (layer k's is z_k, u_k)."""
    return [f"{layer_symbol(k.name, 1)[0]} for {k.label}" for k in KINDS.values()]


# --- charts: pure functions of the summary --------------------------------------------------


def distribution_chart(df: pd.DataFrame, field: str, title: str) -> alt.LayerChart:
    """One column per model: a box (quartiles, whiskers to min/max) over the jittered runs."""
    d = _labelled(df.loc[df["status"] == "ok", ["run_id", "model", field]])
    d = d.assign(value=d[field].clip(lower=LOG_FLOOR)).dropna(subset=["value"])
    d = d.assign(jitter=_jitter(d, 50))
    x = alt.X("label:N", title=None, sort=list(COLORS), axis=alt.Axis(labelAngle=0))
    y = alt.Y("value:Q", **_log_axis(d["value"], f"{title} (log)"))
    box = (
        alt.Chart(d)
        .mark_boxplot(extent="min-max", opacity=0.35, size=60)
        .encode(x=x, y=y, color=alt.Color("label:N", legend=None, scale=_SCALE))
    )
    strip = (
        alt.Chart(d)
        .mark_circle(size=22, opacity=0.7)
        .encode(
            x=x,
            xOffset=alt.XOffset("jitter:Q", scale=alt.Scale(domain=[-60, 60])),
            y=y,
            color=_COLOR,
            tooltip=[
                alt.Tooltip("run_id:N", title="run"),
                alt.Tooltip("label:N", title="model"),
                alt.Tooltip(f"{field}:Q", format=".2e", title=title),
            ],
        )
    )
    return alt.LayerChart(layer=[box, strip], width=220, height=280, title=title)


def scatter_chart(
    df: pd.DataFrame, pick: bool = False, files: tuple[str, ...] | None = None
) -> alt.LayerChart:
    """Test MSE against headline defect per run: the output fit alone hides the mechanism.
    With `files` (the runs whose checkpoint is in the folder) those are filled, the others
    rings, and a legend says which can be opened; without (a figure), every point is filled.
    With `pick`, clicking a point selects its run (the selection parameter "pick", field
    run_id), for st.altair_chart(on_select=...)."""
    cols = ["run_id", "model", "test_mse", "headline_defect", "headline_layer"]
    d = _labelled(df.loc[df["status"] == "ok", cols])  # only what is drawn goes to the browser
    d = d.assign(
        mse=d["test_mse"].clip(lower=LOG_FLOOR),
        defect=d["headline_defect"].clip(lower=LOG_FLOOR),
        file=d["run_id"].isin(set(files or ())).map({True: HAS_FILE, False: NO_FILE}),
        layer=d["headline_layer"].map(_layer_label),
    ).dropna(subset=["mse", "defect"])
    x = alt.X("mse:Q", **_log_axis(d["mse"], "test MSE (log)"))
    y = alt.Y("defect:Q", **_log_axis(d["defect"], "headline active partial defect (log)"))
    tips = [
        alt.Tooltip("run_id:N", title="run"),
        alt.Tooltip("label:N", title="model"),
        alt.Tooltip("test_mse:Q", format=".2e", title="test MSE"),
        alt.Tooltip("headline_defect:Q", format=".2e", title="headline defect"),
        alt.Tooltip("layer:N", title="headline layer"),
        *([alt.Tooltip("file:N", title="checkpoint")] if files is not None else []),
    ]
    points = (
        alt.Chart(d)
        .mark_point(size=40, filled=True, opacity=0.75)  # as mark_circle drew it
        .encode(x=x, y=y, color=_COLOR, tooltip=tips)
    )
    if files is not None:  # filled: its checkpoint is here (a click opens it); a ring: not
        points = points.encode(
            shape=alt.Shape(
                "file:N",
                title="checkpoint",
                scale=alt.Scale(domain=[HAS_FILE, NO_FILE], range=["circle", RING]),
                # no "click to open" entry where no point opens anything
                legend=alt.Legend(
                    symbolFillColor=INK_GREY,
                    labelLimit=260,
                    values=[HAS_FILE, NO_FILE] if files else [NO_FILE],
                ),
            )
        )
    layers = [points]
    if pick:  # on top, invisible whole discs: a ring's hole is no hole for a click
        layers.append(
            alt.Chart(d)
            .mark_circle(size=80, opacity=0, cursor="pointer")
            .encode(x=x, y=y, tooltip=tips)
            .add_params(
                alt.selection_point(name="pick", fields=["run_id"], on="click", clear="dblclick")
            )
        )
    rule = (
        alt.Chart(pd.DataFrame({"y": [SYMMETRIC_DEFECT], "text": ["symmetric below"]}))
        .mark_rule(strokeDash=[4, 4], color="gray")
        .encode(y="y:Q")
    )
    text = (
        alt.Chart(pd.DataFrame({"y": [SYMMETRIC_DEFECT], "text": ["symmetric below"]}))
        .mark_text(align="left", baseline="top", dx=4, dy=3, color="gray")
        .encode(y="y:Q", x=alt.value(0), text="text:N")
    )
    chart = alt.LayerChart(
        layer=[*layers, rule, text], width=420, height=300, title="Output fit vs. symmetry inside"
    )
    if files is None:
        return chart
    # The legends below the plot: beside it, the checkpoint legend's words left a 390 px screen
    # no plot. fit-x (not Streamlit's default fit): the legends must add height, not take it.
    return chart.properties(
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding")
    ).configure_legend(orient="bottom", direction="vertical")


def symmetric_chart(df: pd.DataFrame) -> alt.LayerChart:
    """Fraction of reruns with symmetric active partials per model, 95% Wilson interval."""
    rows = []
    for model, r in model_stats(df).iterrows():
        k, n = int(r["symmetric"]), int(r["reruns"])
        lo, hi = wilson_interval(k, n)
        rows.append(
            {"label": LABELS.get(model, model), "fraction": k / n, "lo": lo, "hi": hi, "n": n}
        )
    d = pd.DataFrame(rows)
    d["text"] = [f"{round(f * n)}/{n}" for f, n in zip(d["fraction"], d["n"], strict=True)]
    x = alt.X("label:N", title=None, sort=list(COLORS), axis=alt.Axis(labelAngle=0))
    y_title = f"reruns with headline defect < {SYMMETRIC_DEFECT:g}"
    bars = (
        alt.Chart(d)
        .mark_bar(size=50, opacity=0.8)
        .encode(
            x=x,
            y=alt.Y(
                "fraction:Q",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
                title=y_title,
            ),
            color=alt.Color("label:N", legend=None, scale=_SCALE),
            tooltip=[
                alt.Tooltip("label:N", title="model"),
                alt.Tooltip("text:N", title="symmetric"),
            ],
        )
    )
    bars_ci = (
        alt.Chart(d)
        .mark_errorbar(ticks=alt.MarkConfig(size=14), color="black")
        .encode(x=x, y=alt.Y("lo:Q", title=y_title), y2="hi:Q")
    )
    text = alt.Chart(d).mark_text(dy=-8, baseline="bottom").encode(x=x, y="hi:Q", text="text:N")
    return alt.LayerChart(
        layer=[bars, bars_ci, text], width=220, height=280, title="Symmetric reruns"
    )


def depth_chart(df: pd.DataFrame) -> alt.LayerChart:
    """Active partial defect of each partial layer (k = 1 first), every run and the median."""
    long = _labelled(depth_profile(df[df["status"] == "ok"]))
    long = long.assign(
        defect=long["defect"].clip(lower=LOG_FLOOR),
        jitter=_jitter(long, 24),
        layer=long["layer"].map(_layer_label),
    )
    x = alt.X(
        "k:O",
        title=f"partial layer ({', '.join(_partial_names())})",
        axis=alt.Axis(labelAngle=0, labelExpr="'layer ' + datum.label"),
    )
    y_title = "active partial defect (log)"
    y = alt.Y("defect:Q", **_log_axis(long["defect"], y_title))
    runs = (
        alt.Chart(long)
        .mark_circle(size=14, opacity=0.35)
        .encode(
            x=x,
            xOffset=alt.XOffset("jitter:Q", scale=alt.Scale(domain=[-40, 40])),
            y=y,
            color=_COLOR,
            tooltip=[
                alt.Tooltip("run_id:N", title="run"),
                alt.Tooltip("label:N", title="model"),
                alt.Tooltip("layer:N", title="layer"),
                alt.Tooltip("defect:Q", format=".2e", title="active partial defect"),
            ],
        )
    )
    medians = (
        alt.Chart(long)
        .mark_line(point=True, strokeWidth=2.5)
        .encode(x=x, y=alt.Y("median(defect):Q", title=y_title), color=_COLOR)
    )
    return alt.LayerChart(
        layer=[runs, medians],
        width=420,
        height=300,
        title="Depth profile: per-layer defect (line: median)",
    )
