"""Altair charts of depth, weights and the architecture drawing: pure functions of the
DataFrames in rflr.views.data (and of a config), so that they can be built and checked without
Streamlit. The layer view's panels are in rflr.views.layer_charts.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from rflr.core.config import ModelConfig, RFLRConfig
from rflr.core.model import layer_index
from rflr.views import style

LOG_FLOOR = 1e-16  # log axes clip here (an exactly even channel has D = 0); one floor for all


def _tips(*fields: str) -> list[alt.Tooltip]:
    """Channel objects, not shorthand strings: Altair resolves each string through a schema
    lookup that costs milliseconds, which adds up on every rerun."""
    return [alt.Tooltip(f) for f in fields]


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
    LOG_FLOOR.

    profile: checkpoint, kind, k, part, layer, defect_mean (equivariance optional);
    outputs: checkpoint, kind, output_defect.
    """
    labels = list(dict.fromkeys(outputs["checkpoint"]))
    kinds = dict(zip(outputs["checkpoint"], outputs["kind"], strict=True))
    y = alt.Y(
        "D:Q",
        scale=alt.Scale(type="log"),
        title="active D (log; 0 even, 1 odd)",
    )
    color = alt.Color(
        "checkpoint:N",
        scale=alt.Scale(domain=labels, range=style.checkpoint_colors([kinds[c] for c in labels])),
        legend=alt.Legend(orient="bottom", columns=1, labelLimit=0, title="checkpoint"),
    )
    outs = _output_rows(outputs)
    rules = (
        alt.Chart(outs)
        .mark_rule(strokeWidth=1.5, opacity=0.8)
        .encode(y=y, color=color, tooltip=_tips("checkpoint", "output_defect"))
    )
    text = (
        alt.Chart(outs)
        .mark_text(align="left", baseline="bottom", dx=4, dy=-2, fontSize=11)
        .encode(y=y, x=alt.value(0), text="text:N", color=color)
    )
    # Streamlit fits the whole chart, legends included, in this height: 520 leaves ~380 px
    return alt.layer(rules, text, _lines(_measure_rows(profile), y, color)).properties(height=520)


def _measure_rows(profile: pd.DataFrame) -> pd.DataFrame:
    """One row per checkpoint, layer and measure: its value, and D (the value clipped for the
    log axis; rows with no finite D are left out)."""
    names = {k: v[0] for k, v in MEASURES.items()}
    rows = profile.assign(measure=profile["part"].map(names), value=profile["defect_mean"])
    if "equivariance" in profile and profile["equivariance"].notna().any():
        eq = profile[(profile["part"] == "h") & profile["equivariance"].notna()]
        rows = pd.concat([rows, eq.assign(measure=names["equivariance"], value=eq["equivariance"])])
    rows = rows.assign(D=rows["value"].clip(lower=LOG_FLOOR))
    return rows[np.isfinite(rows["D"])]


def _output_rows(outputs: pd.DataFrame) -> pd.DataFrame:
    """Each checkpoint's output defect, clipped for the log axis, and its rule's label."""
    return outputs.assign(
        D=outputs["output_defect"].clip(lower=LOG_FLOOR),
        text=[
            "output D(y) = " + _short(v) + " · " + c.split(" · ")[0]
            for c, v in zip(outputs["checkpoint"], outputs["output_defect"], strict=True)
        ],
    )


def _lines(rows: pd.DataFrame, y: alt.Y, color: alt.Color) -> alt.Chart:
    """A line per checkpoint and measure over the layer index, dashed by measure (only the
    measures present get a legend entry)."""
    shown = [v for v in MEASURES.values() if v[0] in set(rows["measure"])]
    return (
        alt.Chart(rows)
        .mark_line(point=alt.OverlayMarkDef(size=70, filled=True))
        .encode(
            x=alt.X(
                "k:Q",
                title="layer index k (0: atoms)",
                axis=alt.Axis(tickMinStep=1, format="d"),
            ),
            y=y,
            color=color,
            strokeDash=alt.StrokeDash(
                "measure:N",
                scale=alt.Scale(domain=[n for n, _ in shown], range=[d for _, d in shown]),
                legend=alt.Legend(
                    title="measure",
                    orient="bottom",
                    columns=1,
                    labelLimit=0,
                    symbolType="stroke",
                    symbolStrokeColor="#555555",
                    symbolStrokeWidth=2,
                    symbolSize=400,
                ),
            ),
            detail=alt.Detail("measure:N"),
            tooltip=[
                alt.Tooltip("checkpoint:N"),
                alt.Tooltip("layer:N"),
                alt.Tooltip("measure:N"),
                alt.Tooltip("value:Q", title="value", format=".3e"),
            ],
        )
    )


def _short(v: float) -> str:
    return "–" if not np.isfinite(v) else f"{v:.1e}"


def atoms_chart(atoms: pd.DataFrame, links: pd.DataFrame, kind: str = "rflr") -> alt.LayerChart:
    """Atoms as points (w, b), alive ones in the model's colour; each alive atom joined to
    the atom matched to its mirror. A mirror-symmetric first layer looks like segments
    crossing w = 0 horizontally."""
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
                scale=alt.Scale(domain=[True, False], range=[style.kind_color(kind), "#cccccc"]),
                legend=alt.Legend(title="alive on the domain", orient="bottom"),
            ),
            tooltip=_tips("atom", "w", "b", "alive"),
        )
    )
    return alt.LayerChart(layer=[seg, pts], height=300)


def outgoing_chart(outgoing: pd.DataFrame, kind: str = "rflr") -> alt.LayerChart:
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
        .mark_circle(size=20, opacity=0.7, color=style.kind_color(kind))
        .encode(
            x=alt.X("o_i:Q", title="outgoing weight of atom i"),
            y=alt.Y("o_j:Q", title="outgoing weight of its mirror match j"),
            tooltip=_tips("i", "j", "entry", "o_i", "o_j"),
        )
    )
    return alt.LayerChart(layer=[diag, pts], height=300)


def weight_symmetry_chart(frame: pd.DataFrame) -> alt.FacetChart:
    """Per layer of units: the pairing defect and the outgoing mismatch of the trained
    network (filled, its checkpoint's colour) beside the same measure at random init (a grey
    ring, drawn around the dot where the two coincide), joined by a segment: a long drop from grey to colour is symmetry learned. Trivial
    layers (the map is the identity, the defects 0 by construction) are left out.

    frame: checkpoint, kind, and the columns of rflr.views.data.weight_symmetry_frame.
    """
    labels = list(dict.fromkeys(frame["checkpoint"]))
    kinds = dict(zip(frame["checkpoint"], frame["kind"], strict=True))
    measures = {"pairing_defect": "pairing defect", "outgoing_mismatch": "outgoing mismatch"}
    rows = []
    for col, name in measures.items():
        for r in frame[~frame["trivial"]].to_dict("records"):
            for when, v in (("trained", r[col]), ("random init", r[f"init_{col}"])):
                rows.append({**r, "measure": name, "when": when, "value": v})
    d = pd.DataFrame(rows)
    if d.empty:
        d = pd.DataFrame(columns=["checkpoint", "layer", "k", "measure", "when", "value"])
    d = d.assign(value=pd.to_numeric(d["value"]).clip(lower=1e-6))
    # RF-LR's bottleneck.k.h and dense's hidden.k.h are both h_{k+1}: one slot per depth
    d = d.assign(depth=["h" + _sub(int(k) + 1) + (" (atoms)" if k == 0 else "") for k in d["k"]])
    d = d[np.isfinite(d["value"])]
    # one column per checkpoint and layer, side by side: "A · atoms.h"
    d = d.assign(
        unit=d["checkpoint"].map({c: i for i, c in enumerate(labels)}).astype(str)
        + " · "
        + d["layer"]
    )
    x = alt.X("depth:N", title="units", sort=alt.SortField("k"), axis=alt.Axis(labelAngle=0))
    y = alt.Y("value:Q", scale=alt.Scale(type="log"), title="defect (log)")
    color = alt.Color(
        "checkpoint:N",
        scale=alt.Scale(domain=labels, range=style.checkpoint_colors([kinds[c] for c in labels])),
        legend=alt.Legend(title="trained (filled)", orient="bottom", columns=1, labelLimit=0),
    )
    offset = alt.XOffset("checkpoint:N", scale=alt.Scale(domain=labels))
    seg = (
        alt.Chart()
        .mark_line(color="#999999", strokeWidth=1.5)
        .encode(x=x, xOffset=offset, y=y, detail=alt.Detail("unit:N"))
    )
    init = (
        alt.Chart()
        .transform_filter(alt.datum.when == "random init")
        .mark_point(size=150, filled=False, color="#555555", strokeWidth=1.5)
        .encode(x=x, xOffset=offset, y=y, tooltip=_weight_tips())
    )
    trained = (
        alt.Chart()
        .transform_filter(alt.datum.when == "trained")
        .mark_point(size=90, filled=True, opacity=1)
        .encode(x=x, xOffset=offset, y=y, color=color, tooltip=_weight_tips())
    )
    # the init ring drawn after the dot: around it, not under it
    layers = alt.LayerChart(layer=[seg, trained, init], data=d, width=330, height=240)
    return layers.facet(column=alt.Column("measure:N", title=None, sort=list(measures.values())))


def _weight_tips() -> list[alt.Tooltip]:
    return [
        alt.Tooltip("checkpoint:N"),
        alt.Tooltip("layer:N"),
        alt.Tooltip("when:N"),
        alt.Tooltip("value:Q", format=".3e"),
        alt.Tooltip("alive:Q", title="alive units"),
    ]


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
