"""The layer controls above the tabs: which layer and part, the odd part, the activity
threshold and shared y axes (the Layer view draws them; Depth and Architecture read them)."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from rflr.views import data


@dataclass(frozen=True)
class LayerChoice:
    """What the layer controls hold."""

    k: int  # layer index (0: atoms, depth: output)
    part: str  # one of rflr.views.data.PARTS
    odd: bool  # draw the odd part o(x) too
    thr: float  # activity threshold (fraction of the layer's largest activity)
    shared: bool  # one y axis across panels and checkpoints


def layer_controls(depth: int) -> LayerChoice:
    """Layer index, part, odd-part toggle, activity threshold, shared y axes: above the tabs,
    inside the page's fragment, so that changing one redraws only the view (a sidebar
    widget reruns and redraws the whole page)."""
    ss = st.session_state
    options = list(range(depth + 1))
    if ss.get("w_layer") not in options:
        ss.w_layer = max(depth - 1, 0)  # the deepest partial layer: the headline
    left, mid, right = st.columns([2, 2, 3])
    k = left.selectbox(
        "Layer", options, key="w_layer", format_func=lambda i: data.layer_label(i, depth)
    )
    part = mid.radio(
        "Partial",
        list(data.PARTS),
        key="w_part",
        format_func=data.PARTS.get,
        disabled=k in (0, depth),
        horizontal=True,
        help="Atoms and output have one part each.",
    )
    thr = right.number_input(
        "Activity threshold",
        min_value=0.0,
        max_value=1.0,
        step=1e-4,
        format="%.1e",
        key="w_thr",
        help="A channel is active when its activity (std over the grid × norm of "
        "its outgoing weights) is at least this fraction of the largest in its layer.",
    )
    left, right = st.columns(2)
    odd = left.toggle("Show the odd part o(x) = (z(x) − z(−x))/2", key="w_odd")
    shared = right.toggle("Share y axes across panels and checkpoints", key="w_shared")
    return LayerChoice(k, part, odd, float(thr), shared)
