"""The Architecture tab: each network drawn layer by layer, one box per value a layer view can
show, each with thumbnails of its channels' functions (as TensorFlow Playground draws its
units). A click on a box opens that layer in the Layer view.

The diagram is an Altair chart with a point selection on its boxes (st.vega_lite_chart's
on_select), not Graphviz: Streamlit's Graphviz element reports no clicks, which is why the
drawing used to need a row of buttons under it (cut at narrow widths: "bottlen…", "hi…").
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rflr.core.kinds import describe
from rflr.core.model import layer_name
from rflr.explorer.cache import channel_table, curves
from rflr.explorer.escape import md
from rflr.explorer.picks import Pick, TabInput, columns_for
from rflr.explorer.specs import chart_ui
from rflr.explorer.tabs import layer
from rflr.views import architecture

NAME = "Architecture"


def draw(t: TabInput) -> None:
    """Each network drawn, the layer shown in the Layer view outlined; a box opens a layer."""
    picks, k, part = t.picks, t.layer.k, t.layer.part
    st.subheader("Architecture")
    st.caption(
        "Click a box to open that layer in the layer view (red: the layer it shows). Each box "
        f"draws its {architecture.THUMB_CHANNELS} most active channels' functions of x, each "
        "scaled to its own range: their shapes, not their sizes."
    )
    for c, col in zip(picks, columns_for(picks), strict=True):
        with col:
            st.markdown(c.title)
            if c.ckpt is None:
                st.error(f"{md(c.rel)}: {md(c.error)}")
                continue
            cfg = c.ckpt.config.model
            nodes = architecture.diagram_nodes(cfg)
            shown = architecture.node_of(nodes, layer_name(cfg, k, part))
            key = f"arch_{c.rel}"
            chart_ui(
                architecture.diagram_chart,
                (c.key, t.layer.thr),  # the thumbnails' content: the file and the threshold
                nodes,
                _thumbnails(c, nodes, t.layer.thr),
                cfg.kind,
                shown,
                width="stretch",
                on_select=lambda key=key, nodes=nodes: _open_node(key, nodes),
                selection_mode="node",
                key=key,
            )
            n_params = sum(int(w.numel()) for w in c.ckpt.params.values())
            st.caption(f"{n_params:,} parameters. " + describe(cfg))


def _thumbnails(c: Pick, nodes: pd.DataFrame, thr: float) -> pd.DataFrame:
    """Each box's most active channels, from the layer view's cached tables (its channel
    table and curves: evaluated once per checkpoint, within rflr.views.budget)."""
    boxes = tuple((n, name) for n, name in zip(nodes["node"], nodes["layer"], strict=True))
    return _thumbnail_frame(c.key, thr, boxes)


@st.cache_data(max_entries=16, show_spinner=False)
def _thumbnail_frame(key: tuple, thr: float, boxes: tuple) -> pd.DataFrame:
    """Kept per file, threshold and boxes: without, each rerun of the tab spent ~0.1 s
    copying tables out of the store for the same small frame."""
    frames = {}
    for node, name in boxes:
        if not isinstance(name, str):
            continue  # the input x: no channels of its own
        table = channel_table(key, name, thr)
        top = table[table["active"]].head(architecture.THUMB_CHANNELS)  # most active first
        if not top.empty:
            frames[node] = curves(key, name, tuple(int(i) for i in top["channel"]))
    return architecture.thumbnail_frame(frames)


def _open_node(key: str, nodes: pd.DataFrame) -> None:
    """A click on a box: show its layer (and part) on the Layer view tab."""
    event = st.session_state.get(key) or {}
    picked = (event.get("selection", {}).get("node") or [{}])[0]
    node = picked.get("node") if isinstance(picked, dict) else None
    hit = nodes[nodes["node"] == node]
    if hit.empty or int(hit["k"].iloc[0]) < 0:
        return
    k = int(hit["k"].iloc[0])
    # the atoms' h₁ and the output have one part each: the controls call it "partial"
    layer.open_layer(k, "h" if hit["part"].iloc[0] == "h" and k > 0 else "partial")
