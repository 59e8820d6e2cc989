"""The layer controls in the page's controls bar: which layer and part, and behind a Display
popover the odd part, the activity threshold and shared y axes (the Layer view draws them;
Depth and Architecture read them)."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from rflr.explorer.glossary import term
from rflr.views import data

# The part's radio in the one-row bar: short labels (data.PARTS says them in full, in help).
SHORT_PARTS = {"partial": "partial", "u": "u", "h": "h"}


@dataclass(frozen=True)
class LayerChoice:
    """What the layer controls hold."""

    k: int  # layer index (0: atoms, depth: output)
    part: str  # one of rflr.views.data.PARTS
    odd: bool  # draw the odd part o(x) too
    thr: float  # activity threshold (fraction of the layer's largest activity)
    shared: bool  # one y axis across panels and checkpoints


def layer_controls(depth: int) -> LayerChoice:
    """Layer index, part and a Display popover (odd part, activity threshold, shared y axes),
    drawn into the caller's row: inside the page's fragment, so that changing one redraws
    only the view (a sidebar widget reruns and redraws the whole page)."""
    ss = st.session_state
    options = list(range(depth + 1))
    if ss.get("w_layer") not in options:
        ss.w_layer = max(depth - 1, 0)  # the deepest partial layer: the headline
    k = st.selectbox(
        "Layer",
        options,
        key="w_layer",
        format_func=lambda i: data.layer_label(i, depth),
        width=130,
    )
    part = st.radio(
        "Partial",
        list(data.PARTS),
        key="w_part",
        format_func=SHORT_PARTS.get,
        disabled=k in (0, depth),
        horizontal=True,
        help="  \n".join(
            [f"{SHORT_PARTS[p]}: {text}" for p, text in data.PARTS.items()]
            + [term("partial function"), term("u and h")]
        ),
    )
    with st.popover("Display", icon=":material/tune:", key="display"):
        odd = st.toggle("Show the odd part o(x) = (z(x) − z(−x))/2", key="w_odd")
        shared = st.toggle("Share y axes across panels and checkpoints", key="w_shared")
        thr = st.number_input(
            "Activity threshold",
            min_value=0.0,
            max_value=1.0,
            step=1e-4,
            format="%.1e",
            key="w_thr",
            help=term("active"),
        )
    return LayerChoice(k, part, odd, float(thr), shared)
