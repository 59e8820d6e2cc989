"""Altair charts and the architecture drawing: pure functions of the DataFrames in
rflr.app.data (and of a config), so that they can be built and checked without Streamlit.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from rflr.config import ModelConfig, RFLRConfig
from rflr.model import layer_index

SERIES = ["z(x)", "z(-x)", "o(x)"]
_DASH = [[1, 0], [6, 4], [2, 2]]  # z(x) solid, its mirror z(-x) dashed, the odd part dotted
_COLOR = ["#1f77b4", "#ff7f0e", "#7f7f7f"]
PANEL_WIDTH, PANEL_HEIGHT = 150, 105

LOG_FLOOR = 1e-16  # log axes clip here (an exactly even channel has D = 0); one floor for all


def _tips(*fields: str) -> list[alt.Tooltip]:
    """Channel objects, not shorthand strings: Altair resolves each string through a schema
    lookup that costs milliseconds, which adds up on every rerun."""
    return [alt.Tooltip(f) for f in fields]


def channel_title(row: pd.Series) -> str:
    d = row["D"]
    dtext = "undefined" if not np.isfinite(d) else f"{d:.1e}"
    return f"ch {int(row['channel'])} · D = {dtext} · {row['parity']}"


def y_extent(curves: pd.DataFrame, show_odd: bool) -> list[float]:
    """One y domain covering every curve drawn (for shared axes), padded by 5%."""
    cols = SERIES if show_odd else SERIES[:2]
    if curves.empty:
        return [-1.0, 1.0]
    lo, hi = float(curves[cols].min().min()), float(curves[cols].max().max())
    pad = 0.05 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.05
    return [lo - pad, hi + pad]


def layer_panels(
    curves: pd.DataFrame,
    channels: pd.DataFrame,
    show_odd: bool = False,
    y_domain: list[float] | None = None,
    columns: int = 4,
) -> alt.FacetChart:
    """Small multiples, one per channel of `channels` (in its order): z(x) solid and z(-x)
    dashed on the same axes, with D and parity in each title. `y_domain` shares the y axis
    (e.g. across two checkpoints); without it each panel scales to its own curves.

    One faceted chart over one table, not a concat of many charts: a tenth of the work to
    build and serialize, which keeps a rerun within the app's latency budget.
    """
    series = SERIES if show_odd else SERIES[:2]
    n = len(series)
    order = {int(c): i for i, c in enumerate(channels["channel"])}
    titles = [channel_title(row) for _, row in channels.iterrows()]
    df = curves.loc[curves["channel"].isin(order), ["channel", "x", *series]]
    df = df.assign(panel=df["channel"].map(order))
    y_scale = alt.Scale(domain=y_domain, nice=False) if y_domain else alt.Scale(zero=False)
    label = "[" + ", ".join(_js_string(t) for t in titles) + "][datum.value]"
    chart = (
        alt.Chart(df)
        .transform_fold(series, as_=["series", "value"])
        .mark_line(strokeWidth=1.6, clip=True)
        .encode(
            x=alt.X("x:Q", title="x"),
            y=alt.Y("value:Q", title=None, scale=y_scale),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=series, range=_COLOR[:n]),
                legend=alt.Legend(title=None, orient="top"),
            ),
            strokeDash=alt.StrokeDash(
                "series:N", scale=alt.Scale(domain=series, range=_DASH[:n]), legend=None
            ),
        )
        .properties(width=PANEL_WIDTH, height=PANEL_HEIGHT)
        .facet(
            facet=alt.Facet(
                "panel:O",
                title=None,
                header=alt.Header(labelExpr=label, labelFontSize=11, labelFontWeight="bold"),
            ),
            columns=columns,
        )
    )
    return chart if y_domain else chart.resolve_scale(y="independent")


def _js_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def depth_chart(profile: pd.DataFrame, outputs: pd.DataFrame) -> alt.LayerChart:
    """Active defect per layer on a log scale, one line per checkpoint (and part), with each
    checkpoint's output defect as a dashed rule. D is clipped at LOG_FLOOR.

    profile: checkpoint, k, part, layer, defect_mean, active, channels; outputs: checkpoint,
    output_defect.
    """
    prof = profile.assign(D=profile["defect_mean"].clip(lower=LOG_FLOOR))
    prof = prof[np.isfinite(prof["D"])]
    outs = outputs.assign(D=outputs["output_defect"].clip(lower=LOG_FLOOR))
    y = alt.Y("D:Q", scale=alt.Scale(type="log"), title="active partial defect D (log)")
    color = alt.Color("checkpoint:N", legend=alt.Legend(orient="bottom", columns=1, labelLimit=420))
    lines = (
        alt.Chart(prof)
        .mark_line(point=alt.OverlayMarkDef(size=60))
        .encode(
            x=alt.X("k:Q", title="layer index k", axis=alt.Axis(tickMinStep=1, format="d")),
            y=y,
            color=color,
            strokeDash=alt.StrokeDash(
                "part:N",
                scale=alt.Scale(domain=["partial", "h"], range=[[1, 0], [2, 2]]),
                legend=alt.Legend(title="part", orient="bottom"),
            ),
            tooltip=_tips("checkpoint", "layer", "defect_mean", "defect_max", "active", "channels"),
        )
    )
    rules = (
        alt.Chart(outs)
        .mark_rule(strokeDash=[8, 4], strokeWidth=2)
        .encode(
            y=y,
            color=color,
            tooltip=[alt.Tooltip("checkpoint"), alt.Tooltip("output_defect", title="output D")],
        )
    )
    return (rules + lines).properties(height=320)


def training_chart(
    history: pd.DataFrame, shading: pd.DataFrame | None, current_step: int | None = None
) -> alt.LayerChart:
    """Train loss and test MSE against step, log-log, plateaus and drops shaded, and the
    selected snapshot marked. Step 0 cannot sit on a log axis and is left out."""
    hist = history[(history["step"] > 0) & (history["value"] > 0)]
    x = alt.X("step:Q", scale=alt.Scale(type="log"), title="step (log)")
    layers = []
    if shading is not None and not shading.empty:
        shade = shading.assign(
            start=shading["start"].clip(lower=1), end=shading["end"].clip(lower=1)
        )
        layers.append(
            alt.Chart(shade)
            .mark_rect(opacity=0.18)
            .encode(
                x=alt.X("start:Q", scale=alt.Scale(type="log"), title="step (log)"),
                x2=alt.X2("end:Q"),
                color=alt.Color(
                    "kind:N",
                    scale=alt.Scale(domain=["plateau", "drop"], range=["#9467bd", "#d62728"]),
                    legend=alt.Legend(title="shaded", orient="bottom"),
                ),
                tooltip=_tips("kind", "start", "end", "loss"),
            )
        )
    layers.append(
        alt.Chart(hist)
        .mark_line(point=alt.OverlayMarkDef(size=12))
        .encode(
            x=x,
            y=alt.Y("value:Q", scale=alt.Scale(type="log"), title="loss (log)"),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=["train loss", "test MSE"], range=["#aaaaaa", "#1f77b4"]),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            tooltip=_tips("step", "series", "value"),
        )
    )
    if current_step is not None and current_step > 0:
        layers.append(
            alt.Chart(pd.DataFrame({"step": [current_step]}))
            .mark_rule(color="black", strokeWidth=1.5)
            .encode(x=alt.X("step:Q"), tooltip=[alt.Tooltip("step", title="selected step")])
        )
    return alt.layer(*layers).resolve_scale(color="independent").properties(height=300)


def atoms_chart(atoms: pd.DataFrame, links: pd.DataFrame) -> alt.LayerChart:
    """Atoms as points (w, b); each alive atom joined to the atom matched to its mirror.
    A mirror-symmetric first layer looks like segments crossing w = 0 horizontally."""
    seg = (
        alt.Chart(links)
        .mark_line(color="#999999", strokeWidth=1)
        .encode(x=alt.X("w:Q"), y=alt.Y("b:Q"), detail=alt.Detail("pair:N"))
    )
    pts = (
        alt.Chart(atoms)
        .mark_circle(size=36)
        .encode(
            x=alt.X("w:Q", title="input weight w (coordinate 0)"),
            y=alt.Y("b:Q", title="bias b"),
            color=alt.Color(
                "alive:N",
                scale=alt.Scale(domain=[True, False], range=["#1f77b4", "#cccccc"]),
                legend=alt.Legend(title="alive on the domain", orient="bottom"),
            ),
            tooltip=_tips("atom", "w", "b", "alive"),
        )
    )
    return (seg + pts).properties(height=300)


def outgoing_chart(outgoing: pd.DataFrame) -> alt.LayerChart:
    """Outgoing weights of atom i against those of its mirror match j: on the diagonal when
    matched atoms feed the next layer identically."""
    lo = float(min(outgoing["o_i"].min(), outgoing["o_j"].min())) if len(outgoing) else -1.0
    hi = float(max(outgoing["o_i"].max(), outgoing["o_j"].max())) if len(outgoing) else 1.0
    diag = (
        alt.Chart(pd.DataFrame({"a": [lo, hi], "b": [lo, hi]}))
        .mark_line(color="#999999", strokeDash=[4, 4])
        .encode(x=alt.X("a:Q"), y=alt.Y("b:Q"))
    )
    pts = (
        alt.Chart(outgoing)
        .mark_circle(size=20, opacity=0.7)
        .encode(
            x=alt.X("o_i:Q", title="outgoing weight of atom i"),
            y=alt.Y("o_j:Q", title="outgoing weight of its mirror match j"),
            tooltip=_tips("i", "j", "entry", "o_i", "o_j"),
        )
    )
    return (diag + pts).properties(height=300)


# --- architecture ------------------------------------------------------------------------------


def architecture_dot(cfg: ModelConfig, highlight: str | None = None) -> str:
    """Graphviz DOT of the network, top to bottom: N-wide layers (wide boxes) joined by
    rank-r bottlenecks (narrow boxes) for RF-LR, an hourglass at each layer; for dense, by
    full N x N matrices (thick edges). `highlight` (a layer name such as bottleneck.3.z) marks
    the node that layer lives in. Streamlit renders DOT in the browser, so no graphviz
    package is needed."""
    n, d, depth = cfg.width, cfg.input_dim, cfg.depth
    wide = 2.6  # inches; a bottleneck is drawn in proportion, but never thinner than its label
    narrow = max(0.7, wide * cfg.rank / n) if isinstance(cfg, RFLRConfig) else wide
    frozen = " (frozen)" if not cfg.train_atoms else ""
    lines = [
        "digraph net {",
        "  rankdir=TB; bgcolor=transparent; nodesep=0.3; ranksep=0.28;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=12,'
        ' fillcolor="#e8eef7", color="#4a6fa5", height=0.36, fixedsize=true];',
        '  edge [fontname="Helvetica", fontsize=10, color="#555555", arrowsize=0.6];',
        f'  x [label="input x (d = {d})", width=1.6, fillcolor="#f3f3f3"];',
        f'  h1 [label="h₁ · N = {n}", width={wide}];',
        f'  x -> h1 [label="  atoms W_in {n}×{d}{frozen}"];',
    ]
    for k in range(1, depth):
        if isinstance(cfg, RFLRConfig):
            r = cfg.rank
            lines += [
                f'  z{k} [label="z{_sub(k)} · r = {r}", width={narrow:.2f}, fillcolor="#ffe3c2",'
                ' color="#d9822b"];',
                f'  h{k} -> z{k} [label="  D{_sub(k)} {r}×{n}"];',
                f'  h{k + 1} [label="h{_sub(k + 1)} · N = {n}", width={wide}];',
                f'  z{k} -> h{k + 1} [label="  U{_sub(k)} {n}×{r}"];',
            ]
        else:
            lines += [
                f'  h{k + 1} [label="h{_sub(k + 1)} · N = {n}", width={wide}];',
                f'  h{k} -> h{k + 1} [label="  W{_sub(k)} {n}×{n}", penwidth=3];',
            ]
    lines += [
        '  y [label="output y", width=1.2, fillcolor="#f3f3f3"];',
        f'  h{depth} -> y [label="  w_out 1×{n}"];',
    ]
    node = _node_of(highlight)
    if node:
        lines.append(f'  {node} [color="#c0392b", penwidth=3];')
    return "\n".join([*lines, "}"])


def _node_of(layer: str | None) -> str | None:
    """The drawing's node holding a layer: z_k for bottleneck.k.z, h_{k+1} for layer k's u
    and h (atoms.h is h_1), y for the output."""
    if not layer:
        return None
    if layer == "readout.y":
        return "y"
    if layer.startswith("atoms."):
        return "h1"
    k = layer_index(layer)
    return f"z{k}" if layer.endswith(".z") else f"h{k + 1}"


def _sub(k: int) -> str:
    return str(k).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
