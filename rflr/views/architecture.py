"""The Architecture tab's drawing: a network as Graphviz DOT text, drawn by the browser."""

from __future__ import annotations

from rflr.core.config import ModelConfig
from rflr.core.model import layer_index
from rflr.views.style import FILL_GREY, INK_GREY, subscript

WIDE = 2.6  # inches: an N-wide layer; a bottleneck is drawn in proportion, never below its label


def architecture_dot(cfg: ModelConfig, highlight: str | None = None) -> str:
    """Graphviz DOT of the network, top to bottom: N-wide layers (wide boxes) joined by
    rank-r bottlenecks (narrow boxes) for RF-LR, an hourglass at each layer; for dense, by
    full N x N matrices (thick edges). `highlight` (a layer name such as bottleneck.3.z) marks
    the node that layer lives in. Streamlit renders DOT in the browser, so no graphviz
    package is needed."""
    n, d, depth = cfg.width, cfg.input_dim, cfg.depth
    frozen = " (frozen)" if not cfg.train_atoms else ""
    lines = [
        "digraph net {",
        "  rankdir=TB; bgcolor=transparent; nodesep=0.3; ranksep=0.28;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=12,'
        ' fillcolor="#e8eef7", color="#4a6fa5", height=0.36, fixedsize=true];',
        f'  edge [fontname="Helvetica", fontsize=10, color="{INK_GREY}", arrowsize=0.6];',
        f'  x [label="input x (d = {d})", width=1.6, fillcolor="{FILL_GREY}"];',
        f'  h1 [label="h₁ · N = {n}", width={WIDE}];',
        f'  x -> h1 [label="  atoms W_in {n}×{d}{frozen}"];',
    ]
    for k in range(1, depth):
        lines += MIX_DRAWINGS[cfg.kind](cfg, k)
    lines += [
        f'  y [label="output y", width=1.2, fillcolor="{FILL_GREY}"];',
        f'  h{depth} -> y [label="  w_out 1×{n}"];',
    ]
    node = _node_of(highlight)
    if node:
        lines.append(f'  {node} [color="#c0392b", penwidth=3];')
    return "\n".join([*lines, "}"])


def _bottleneck_dot(cfg: ModelConfig, k: int) -> list[str]:
    """RF-LR layer k: h_k -> z_k (a narrow box) -> h_{k+1}."""
    n, r = cfg.width, cfg.rank  # type: ignore[attr-defined]
    narrow = max(0.7, WIDE * r / n)
    return [
        f'  z{k} [label="z{subscript(k)} · r = {r}", width={narrow:.2f}, fillcolor="#ffe3c2",'
        ' color="#d9822b"];',
        f'  h{k} -> z{k} [label="  D{subscript(k)} {r}×{n}"];',
        f'  h{k + 1} [label="h{subscript(k + 1)} · N = {n}", width={WIDE}];',
        f'  z{k} -> h{k + 1} [label="  U{subscript(k)} {n}×{r}"];',
    ]


def _hidden_dot(cfg: ModelConfig, k: int) -> list[str]:
    """Dense layer k: h_k -> h_{k+1} through a full matrix (a thick edge)."""
    n = cfg.width
    return [
        f'  h{k + 1} [label="h{subscript(k + 1)} · N = {n}", width={WIDE}];',
        f'  h{k} -> h{k + 1} [label="  W{subscript(k)} {n}×{n}", penwidth=3];',
    ]


# How each model kind's mixing layer k is drawn (rflr.core.kinds holds the rest of a kind).
MIX_DRAWINGS = {"rflr": _bottleneck_dot, "dense": _hidden_dot}


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
