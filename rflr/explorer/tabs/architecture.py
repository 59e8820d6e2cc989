"""The Architecture tab: each network drawn layer by layer (Graphviz), and its nodes as buttons
that open that layer in the Layer view."""

from __future__ import annotations

import streamlit as st

from rflr.core.kinds import describe
from rflr.core.model import layer_name
from rflr.explorer.escape import md
from rflr.explorer.picks import TabInput, columns_for
from rflr.explorer.tabs import layer
from rflr.views import architecture

NAME = "Architecture"


def draw(t: TabInput) -> None:
    """Each network drawn, the layer shown in the Layer view marked; its nodes open a layer."""
    picks, k, part = t.picks, t.layer.k, t.layer.part
    st.subheader("Architecture")
    for c, col in zip(picks, columns_for(picks), strict=True):
        with col:
            st.markdown(c.title)
            if c.ckpt is None:
                st.error(f"{md(c.rel)}: {md(c.error)}")
                continue
            cfg = c.ckpt.config.model
            st.graphviz_chart(architecture.architecture_dot(cfg, layer_name(cfg, k, part)))
            nodes = _nodes(cfg.depth)
            st.pills(
                "Open a node in the layer view",
                list(nodes),
                format_func=lambda n, cfg=cfg, nodes=nodes: layer_name(cfg, *nodes[n]) or n,
                key=f"arch_{c.rel}",
                on_change=_open_node,
                args=(f"arch_{c.rel}", nodes),
                help="The drawing itself cannot be clicked (Graphviz); these are its nodes.",
            )
            n_params = sum(int(w.numel()) for w in c.ckpt.params.values())
            st.caption(
                f"{n_params:,} parameters; red: the layer shown in the layer view. " + describe(cfg)
            )


def _nodes(depth: int) -> dict[str, tuple[int, str]]:
    """The drawing's nodes a layer view can show: name -> (layer index, part)."""
    out = {"0": (0, "partial")}
    for k in range(1, depth):
        out[f"{k}"] = (k, "partial")
        out[f"{k}h"] = (k, "h")
    out[f"{depth}"] = (depth, "partial")
    return out


def _open_node(key: str, nodes: dict[str, tuple[int, str]]) -> None:
    """A node pill: show that layer (and part) on the Layer view tab."""
    ss = st.session_state
    picked = ss.get(key)
    if picked in nodes:
        layer.open_layer(*nodes[picked])
    ss[key] = None  # a one-shot choice: the pill does not stay selected
