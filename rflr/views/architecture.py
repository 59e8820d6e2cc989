"""The Architecture tab's drawing: one box per layer a view can open, with thumbnails of its
channels' functions, as a clickable Altair chart."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from rflr.core.config import ModelConfig
from rflr.core.kinds import kind_of
from rflr.core.model import layer_index, layer_name
from rflr.views.names import layer_label
from rflr.views.style import FILL_GREY, INK_GREY, kind_color, subscript

ROW_PX = 66  # one box and the edge below it
BOX = 0.68  # of a row: the box; the rest holds the edge and its label
THUMB = (0.42, 0.92)  # the thumbnail's band of the box, from its top (the label above it)
THUMB_CHANNELS = 6  # curves per thumbnail: its most active channels (Playground draws one)
THUMB_POINTS = 33  # points per curve: a thumbnail is ~40 px tall
# Boxes: the partial functions in a tint of their kind's colour (rflr.views.style), the
# rest neutral, so that no box of a dense network looks like RF-LR's orange or vice versa.
_FILLS = {"h": "#ffffff", "io": FILL_GREY}
_STROKES = {"h": INK_GREY, "io": INK_GREY}
PARTIAL_TINTS = {"rflr": "#ffe3c2", "dense": "#d9e7f5"}
HIGHLIGHT = "#c0392b"  # the layer shown in the layer view
_LETTERS = {"down": "D", "up": "U", "weight": "W"}  # a product's letter, as the paper writes it


def diagram_nodes(cfg: ModelConfig) -> pd.DataFrame:
    """The diagram's boxes, top to bottom: input x, then each value a layer view can show
    (the atoms' h₁; per mixing layer k its partial function and its h_{k+1}), then the
    output y. Columns: node (an id), k and part (what a click opens; k -1: the input), layer
    (the tensor name), label (rflr.views.names), width (of the diagram, 0..1), edge (the
    label of the edge into it)."""
    kind = kind_of(cfg)
    n, depth = cfg.width, cfg.depth
    frozen = " (frozen)" if not cfg.train_atoms else ""
    rows = [
        ("x", -1, "io", None, f"input x (d = {cfg.input_dim})", 0.45, ""),
        (
            "h1",
            0,
            "h",
            "atoms.h",
            f"{layer_label(cfg.kind, 0, depth)} · N = {n}",
            1.0,
            f"atoms {n}×{cfg.input_dim}" + frozen,
        ),
    ]
    shapes = kind.tensors(cfg)
    for k in range(1, depth):
        first, *rest = kind.products
        wide = shapes[first][0]  # the partial function's channels: r for RF-LR, N for dense
        rows.append(
            (
                f"{kind.partial}{k}",
                k,
                "partial",
                layer_name(cfg, k, "partial"),
                f"{layer_label(cfg.kind, k, depth)} · {'N' if wide == n else 'r'} = {wide}",
                max(0.55, wide / n),
                _product(first, k, shapes[first]),
            )
        )
        into_h = " · ".join(_product(p, k, shapes[p]) for p in rest) or "activation"
        rows.append(
            (
                f"h{k + 1}",
                k,
                "h",
                layer_name(cfg, k, "h"),
                f"{layer_label(cfg.kind, k, depth, 'h')} · N = {n}",
                1.0,
                into_h,
            )
        )
    rows.append(
        ("y", depth, "io", "readout.y", layer_label(cfg.kind, depth, depth), 0.45, f"readout 1×{n}")
    )
    cols = ["node", "k", "part", "layer", "label", "width", "edge"]
    return pd.DataFrame(rows, columns=cols).assign(row=lambda d: range(len(d)))


def _product(name: str, k: int, shape: tuple[int, ...]) -> str:
    return f"{_LETTERS.get(name, name)}{subscript(k)} {'×'.join(str(s) for s in shape)}"


def node_of(nodes: pd.DataFrame, layer: str | None) -> str | None:
    """The box that holds a captured layer (a tensor name): its own box, or for a value not
    drawn (RF-LR's u, between z and h) the h it becomes."""
    if not layer:
        return None
    own = nodes[nodes["layer"] == layer]
    if own.empty:
        own = nodes[(nodes["k"] == layer_index(layer)) & (nodes["part"] == "h")]
    return str(own["node"].iloc[0]) if not own.empty else None


def thumbnail_frame(curves: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Thumbnail curves per node, from the layer view's curve frames (rflr.views.data.
    curve_frame: channel, x, z(x)): THUMB_POINTS points of each channel, its values scaled
    to 0..1 (a thumbnail shows shapes, as Playground's do; the layer view has the values)."""
    parts = []
    for node, cv in curves.items():
        if cv.empty:
            continue
        for channel, g in cv.groupby("channel", sort=False):
            step = max(1, len(g) // (THUMB_POINTS - 1))
            g = g.iloc[::step]
            z = g["z(x)"].to_numpy(dtype=float)
            span = float(np.nanmax(z) - np.nanmin(z)) if len(z) else 0.0
            v = (z - np.nanmin(z)) / span if span > 0 else np.full_like(z, 0.5)
            x = g["x"].to_numpy(dtype=float)
            lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
            u = (x - lo) / (hi - lo) if hi > lo else np.full_like(x, 0.5)
            parts.append(pd.DataFrame({"node": node, "channel": int(channel), "u": u, "v": v}))
    if not parts:
        return pd.DataFrame(columns=["node", "channel", "u", "v"])
    return pd.concat(parts, ignore_index=True)


def diagram_chart(
    nodes: pd.DataFrame,
    thumbs: pd.DataFrame,
    kind: str,
    highlight: str | None = None,
    width: int = 320,
) -> alt.LayerChart:
    """The network top to bottom, one box per node (nodes: diagram_nodes), each clickable
    box with thumbnails of its channels' functions (thumbs: thumbnail_frame) in the kind's
    colour; `highlight` (a node) outlined in red. A click selects the node: the selection
    parameter "node" (field node), for st.vega_lite_chart(on_select=...)."""
    rows = len(nodes)
    b = nodes.assign(
        x0=0.5 - nodes["width"] / 2,
        x1=0.5 + nodes["width"] / 2,
        y0=nodes["row"].astype(float),
        y1=nodes["row"] + BOX,
        fill=nodes["part"].map({**_FILLS, "partial": PARTIAL_TINTS.get(kind, FILL_GREY)}),
        stroke=[
            HIGHLIGHT if n == highlight else _STROKES.get(p, kind_color(kind))
            for n, p in zip(nodes["node"], nodes["part"], strict=True)
        ],
        line=[3.0 if n == highlight else 1.2 for n in nodes["node"]],
        clickable=nodes["k"] >= 0,
    )
    x = alt.X("x0:Q", scale=alt.Scale(domain=[0, 1]), axis=None)
    y = alt.Y("y0:Q", scale=alt.Scale(domain=[rows, 0]), axis=None)
    boxes = (
        alt.Chart(b)
        .mark_rect(cornerRadius=6)
        .encode(
            x=x,
            x2="x1:Q",
            y=y,
            y2="y1:Q",
            fill=alt.Fill("fill:N", scale=None),
            stroke=alt.Stroke("stroke:N", scale=None),
            strokeWidth=alt.StrokeWidth("line:Q", scale=None),
        )
    )
    labels = (
        alt.Chart(b.assign(tx=b["x0"] + 0.02, ty=b["row"] + 0.06))
        .mark_text(align="left", baseline="top", fontSize=11, color="#222222")
        .encode(
            x=alt.X("tx:Q", scale=alt.Scale(domain=[0, 1]), axis=None),
            y=alt.Y("ty:Q", scale=alt.Scale(domain=[rows, 0]), axis=None),
            text="label:N",
        )
    )
    edges = b[b["row"] > 0].assign(
        ex=0.5,
        ey=b["row"] - (1 - BOX),
        ey2=b["row"].astype(float),
        tx=0.52,
        ty=b["row"] - (1 - BOX) / 2,
    )
    arrows = (
        alt.Chart(edges)
        .mark_rule(color=INK_GREY)
        .encode(
            x=alt.X("ex:Q", scale=alt.Scale(domain=[0, 1]), axis=None),
            y=alt.Y("ey:Q", scale=alt.Scale(domain=[rows, 0]), axis=None),
            y2="ey2:Q",
        )
    )
    edge_text = (
        alt.Chart(edges)
        .mark_text(align="left", baseline="middle", fontSize=10, color=INK_GREY)
        .encode(
            x=alt.X("tx:Q", scale=alt.Scale(domain=[0, 1]), axis=None),
            y=alt.Y("ty:Q", scale=alt.Scale(domain=[rows, 0]), axis=None),
            text="edge:N",
        )
    )
    layers = [arrows, edge_text, boxes, labels]
    if not thumbs.empty:
        t = thumbs.merge(b[["node", "x0", "x1", "row"]], on="node")
        pad = 0.03
        t = t.assign(
            px=t["x0"] + pad + t["u"] * (t["x1"] - t["x0"] - 2 * pad),
            py=t["row"] + THUMB[1] * BOX - t["v"] * (THUMB[1] - THUMB[0]) * BOX,
            series=t["node"] + "/" + t["channel"].astype(str),
        )
        layers.append(
            alt.Chart(t)
            .mark_line(strokeWidth=1.2, opacity=0.85, color=kind_color(kind))
            .encode(
                x=alt.X("px:Q", scale=alt.Scale(domain=[0, 1]), axis=None),
                y=alt.Y("py:Q", scale=alt.Scale(domain=[rows, 0]), axis=None),
                detail="series:N",
            )
        )
    # on top, transparent: the click target of each box that opens a layer (tooltips there)
    hits = (
        alt.Chart(b[b["clickable"]])
        .mark_rect(opacity=0, cursor="pointer")
        .encode(
            x=x,
            x2="x1:Q",
            y=y,
            y2="y1:Q",
            tooltip=[
                alt.Tooltip("label:N", title="open in the layer view"),
                alt.Tooltip("layer:N", title="tensor"),
            ],
        )
        .add_params(alt.selection_point(name="node", fields=["node"], on="click"))
    )
    layers.append(hits)
    return alt.LayerChart(layer=layers, width=width, height=rows * ROW_PX).configure_view(
        stroke=None
    )
