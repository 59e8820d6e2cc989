"""The Inspector tab: a checkpoint's tensors, config, metrics and history, as the file holds them."""

from __future__ import annotations

import streamlit as st

from rflr.explorer.escape import md
from rflr.explorer.picks import TabInput, columns_for, pick_header
from rflr.views import data

NAME = "Inspector"


def draw(t: TabInput) -> None:
    """Each checkpoint's tensors and its header's records, as stored."""
    picks = t.picks
    st.subheader("Inspector")
    for c, col in zip(picks, columns_for(picks), strict=True):
        with col:
            if not pick_header(c):
                continue
            ckpt = c.ckpt
            st.dataframe(data.tensor_frame(ckpt), hide_index=True)
            st.markdown("**rflr.config**")
            st.json(ckpt.config.to_dict(), expanded=1)
            st.markdown("**rflr.metrics**")
            st.json(ckpt.metrics.to_dict(), expanded=1)
            steps = getattr(ckpt.history, "step", None)  # a History record (rflr.files.header)
            n = len(steps) if isinstance(steps, list | tuple) else 0
            st.caption(f"rflr.history: {n} logged steps. File: {md(c.rel)}")
