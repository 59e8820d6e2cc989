"""Charts of grid sweeps: curves over one swept parameter, heatmaps over two (pure Altair).

Every chart takes a summary DataFrame (rflr.sweep.summary / rflr.sweep.study) and draws statistics from
rflr.sweep.stats.group_stats: the fraction of runs with symmetric active partials with its Wilson
95% interval, and medians with seeded bootstrap 95% intervals. The Sweep tab
(rflr.explorer.tabs.sweep) shows them for any summary with swept keys; scripts/make_beyond.py saves
them as the docs/figures/beyond-*.png of REPRODUCTION.md.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from rflr.core.kinds import KIND_LABELS
from rflr.measure.metrics import SYMMETRIC_DEFECT
from rflr.sweep.stats import basin_table, group_stats, weight_regimes
from rflr.views.style import LOG_AXIS_FORMAT, ONE_SERIES_COLOR

_CUTOFF = np.format_float_scientific(SYMMETRIC_DEFECT, trim="-", exp_digits=1)  # "1e-3"
# What a chart can show per group: title, log scale.
VALUES = {
    "symmetric_fraction": (f"fraction symmetric (headline < {_CUTOFF})", False),
    "headline_defect": ("median headline defect", True),
    "test_mse": ("median test MSE", True),
    "atom_pairing_defect": ("median atom pairing defect", False),
    "outgoing_mismatch": ("median outgoing mismatch (signed)", False),
    "flat_radius": ("median flat radius", True),
    "hessian_top": ("median top Hessian eigenvalue", True),
}


def _interval(value: str) -> tuple[str, str, str]:
    """Columns of group_stats holding the value and its interval."""
    if value == "symmetric_fraction":
        return value, "symmetric_lo", "symmetric_hi"
    return f"{value}_median", f"{value}_lo", f"{value}_hi"


def _finite(st: pd.DataFrame, cols: tuple[str, ...]) -> pd.DataFrame:
    """inf (a basin that never rose) cannot be drawn: clipped to the largest finite value."""
    out = st.copy()
    finite = pd.concat([out[c].replace([np.inf, -np.inf], np.nan) for c in cols])
    top = finite.max() if finite.notna().any() else np.nan  # nothing finite: nothing drawn
    for c in cols:
        out[c] = out[c].where(~np.isinf(out[c]), top)
    return out


def _y(value: str, title: str | None = None) -> alt.Y:
    label, log = VALUES.get(value, (value, False))
    mid, _, _ = _interval(value)
    scale = alt.Scale(type="log") if log else alt.Scale(zero=value == "symmetric_fraction")
    axis = alt.Axis(format=LOG_AXIS_FORMAT) if log else alt.Undefined
    return alt.Y(f"{mid}:Q", title=title or label, scale=scale, axis=axis)


def curve_chart(
    df: pd.DataFrame,
    x: str,
    value: str = "symmetric_fraction",
    color: str | None = "model",
    order: list | None = None,
) -> alt.LayerChart:
    """`value` per value of the swept key `x` (one line per `color` group), with intervals;
    `order`: the x values in display order (an ordinal axis)."""
    keys = [x] + ([color] if color and color in df.columns and color != x else [])
    st = group_stats(df, keys)
    mid, lo, hi = _interval(value)
    st = _finite(st, (mid, lo, hi))
    if len(keys) > 1:
        st["group"] = st[keys[1]].map(KIND_LABELS).fillna(st[keys[1]].astype(str))
    else:
        st["group"] = "all"
    log_x = (
        x in ("rank", "lr", "batch_size", "width", "weight_decay", "steps")
        and (pd.to_numeric(st[x], errors="coerce") > 0).all()
    )
    xenc = alt.X(
        f"{x}:Q" if log_x else f"{x}:O",
        scale=alt.Scale(type="log") if log_x else alt.Undefined,
        axis=alt.Axis(format=LOG_AXIS_FORMAT) if log_x else alt.Undefined,
        sort=order if order is not None else "ascending",
        title=x,
    )
    color_enc = (
        alt.Color("group:N", title=keys[-1]) if len(keys) > 1 else alt.value(ONE_SERIES_COLOR)
    )
    base = alt.Chart(st).encode(x=xenc, color=color_enc)
    tips = [
        alt.Tooltip(x, title=x.replace("_", " ")),
        alt.Tooltip("group", title=keys[-1].replace("_", " ") if len(keys) > 1 else "series"),
        alt.Tooltip(f"{mid}:Q", format=".3g", title=VALUES.get(value, (value,))[0]),
        alt.Tooltip("runs", title="runs"),
        alt.Tooltip("ok", title="trained (not diverged)"),
    ]
    line = base.mark_line(point=True).encode(y=_y(value), tooltip=tips)
    bars = base.mark_errorbar().encode(y=alt.Y(f"{lo}:Q", title=""), y2=f"{hi}:Q")
    return alt.layer(line, bars).properties(width=300, height=220)


def heatmap_chart(
    df: pd.DataFrame, x: str, y: str, value: str = "symmetric_fraction"
) -> alt.LayerChart:
    """`value` over the grid of two swept keys, each cell labelled with its number and runs."""
    st = group_stats(df, [x, y])
    mid, _, _ = _interval(value)
    label, log = VALUES.get(value, (value, False))
    st = _finite(st, (mid,))
    st["text"] = [
        f"{v:.0%}" if value == "symmetric_fraction" else f"{v:.1e}" for v in st[mid].fillna(np.nan)
    ]
    base = alt.Chart(st).encode(x=alt.X(f"{x}:O", title=x), y=alt.Y(f"{y}:O", title=y))
    scale = alt.Scale(type="log", scheme="viridis") if log else alt.Scale(scheme="viridis")
    if value == "symmetric_fraction":
        scale = alt.Scale(domain=[0, 1], scheme="viridis")
    rect = base.mark_rect().encode(
        color=alt.Color(
            f"{mid}:Q",
            title=label.split(" (")[0],
            scale=scale,
            legend=alt.Legend(format=LOG_AXIS_FORMAT) if log else alt.Undefined,
        ),
        tooltip=[
            alt.Tooltip(x, title=x.replace("_", " ")),
            alt.Tooltip(y, title=y.replace("_", " ")),
            alt.Tooltip(f"{mid}:Q", format=".3g", title=label),
            alt.Tooltip("runs", title="runs"),
            alt.Tooltip("ok", title="trained (not diverged)"),
        ],
    )
    text = base.mark_text(fontSize=11, color="white").encode(text="text:N")
    return alt.layer(rect, text).properties(width=260, height=200, title=label)


def sweep_charts(df: pd.DataFrame, keys: list[str]) -> list[alt.TopLevelMixin]:
    """The charts of a grid sweep with swept `keys`: curves of the fraction symmetric and
    the median headline defect over one key (lines per model when model is swept too), or
    heatmaps of both over the first two keys that are not the model."""
    axes = [k for k in keys if k != "model"]
    if not axes:
        return []
    if len(axes) == 1:
        return [
            curve_chart(df, axes[0], "symmetric_fraction"),
            curve_chart(df, axes[0], "headline_defect"),
        ]
    out = []
    for model, g in df.groupby("model", sort=True):
        for value in ("symmetric_fraction", "headline_defect"):
            out.append(
                heatmap_chart(g, axes[0], axes[1], value).properties(
                    title=f"{KIND_LABELS.get(model, model)}: {VALUES[value][0]}"
                )
            )
    return out


def weight_chart(df: pd.DataFrame) -> alt.LayerChart:
    """Per regime: median (atom pairing defect / its random-init level) of each model, with
    bootstrap intervals; the rule at 1 is "no better than chance"."""
    wr = weight_regimes(df)
    wr["label"] = wr["model"].map(KIND_LABELS).fillna(wr["model"])
    base = alt.Chart(wr).encode(
        y=alt.Y("regime:N", sort=None, title=None),
        color=alt.Color("label:N", title="model"),
        yOffset="label:N",
    )
    points = base.mark_point(filled=True).encode(
        x=alt.X("pairing_ratio_median:Q", title="atom pairing defect / random-init level"),
        tooltip=["regime", "label", "runs", alt.Tooltip("pairing_ratio_median:Q", format=".3f")],
    )
    bars = base.mark_errorbar().encode(
        x=alt.X("pairing_ratio_lo:Q", title="atom pairing defect / random-init level"),
        x2="pairing_ratio_hi:Q",
    )
    one = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 3]).encode(x="x:Q")
    return alt.layer(bars, points, one).properties(width=360, height=alt.Step(14))


def basin_chart(df: pd.DataFrame) -> alt.HConcatChart:
    """Flat radius and top Hessian eigenvalue by minimum class and optimizer (medians, CIs)."""
    bt = basin_table(df)
    panels = []
    for value in ("flat_radius", "hessian_top"):
        mid, lo, hi = _interval(value)
        st = _finite(bt, (mid, lo, hi))
        st["n"] = st["ok"].astype(str)
        base = alt.Chart(st).encode(
            x=alt.X("minimum:N", title=None),
            color=alt.Color("optimizer:N"),
            xOffset="optimizer:N",
        )
        points = base.mark_point(filled=True, size=60).encode(
            y=_y(value),
            tooltip=["optimizer", "minimum", "n", alt.Tooltip(f"{mid}:Q", format=".3g")],
        )
        bars = base.mark_errorbar().encode(y=alt.Y(f"{lo}:Q", title=""), y2=f"{hi}:Q")
        panels.append(alt.layer(bars, points).properties(width=240, height=220))
    return alt.hconcat(*panels)


def oscillation_chart(df: pd.DataFrame) -> alt.LayerChart:
    """Median oscillation count of the deepest partial layer vs depth, per model (IQR bars)."""
    ok = df[df["status"] == "ok"].copy()
    osc = [c for c in ok.columns if c.startswith("osc") and c.endswith("_median")]
    ok["oscillations"] = ok.apply(
        lambda r: next((r[c] for c in reversed(osc) if pd.notna(r[c])), np.nan), axis=1
    )
    st = group_stats(ok, ["depth", "model"], ("oscillations",))
    st["group"] = st["model"].map(KIND_LABELS).fillna(st["model"])
    base = alt.Chart(st).encode(x=alt.X("depth:O"), color=alt.Color("group:N", title="model"))
    line = base.mark_line(point=True).encode(
        y=alt.Y("oscillations_median:Q", title="oscillations of the deepest partial layer"),
        tooltip=["depth", "group", "runs", "oscillations_median"],
    )
    bars = base.mark_errorbar().encode(
        y=alt.Y("oscillations_lo:Q", title=""), y2="oscillations_hi:Q"
    )
    return alt.layer(line, bars).properties(width=300, height=220)
