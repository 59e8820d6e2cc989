"""The Depth profile tab: the active defect of every layer, beside the output's (output is not
enough: two networks can fit an even target alike while their insides differ)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rflr.explorer.cache import profile
from rflr.explorer.escape import md
from rflr.explorer.export_menu import export_ui
from rflr.explorer.overlay import colors_of, overlay_ui
from rflr.explorer.picks import TabInput, fmt
from rflr.views import depth_charts, overlay, style

NAME = "Depth profile"


def draw(t: TabInput) -> None:
    """Each checkpoint's active defect layer by layer, its output defect, and the numbers."""
    picks, thr = t.picks, t.layer.thr
    st.subheader("Depth profile: output is not enough")
    ok = [c for c in picks if not c.error]
    for c in picks:
        if c.error:
            st.error(f"{md(c.rel)}: {md(c.error)}")
    if not ok:
        return
    equiv = st.toggle(
        "Also measure the equivariance of hidden features (Hungarian matching of units)",
        key="w_equiv",
    )
    profs, outs = [], []
    for c in ok:
        prof, out_d = profile(c.key, thr, equiv)
        profs.append(prof.assign(checkpoint=c.label, kind=c.row["kind"]))
        outs.append({"checkpoint": c.label, "kind": c.row["kind"], "output_defect": out_d})
    prof, outs = pd.concat(profs, ignore_index=True), pd.DataFrame(outs)
    cols = st.columns(len(ok))
    for col, c, o in zip(cols, ok, outs["output_defect"], strict=True):
        head = prof[(prof["checkpoint"] == c.label) & (prof["part"] == "partial")].iloc[-1]
        col.metric(f"{md(c.label)}: output D", fmt(o))
        col.metric("deepest partial layer D (active mean)", fmt(head["defect_mean"]))
    st.caption(
        "Solid: mean D over the active channels of each partial layer (z for RF-LR, u for "
        "dense); dotted: hidden features h"
        + ("; dash-dot: the equivariance defect of h" if equiv else "")
        + ". Horizontal rules: each network's output defect D(y). Two networks can fit an even "
        f"target equally well while their insides differ. D is clipped at {style.LOG_FLOOR:g} "
        f"for the log scale; activity threshold {thr:.1e}."
    )
    chart = depth_charts.depth_chart(prof, outs)
    st.altair_chart(chart)
    export_ui(chart, prof, "depth profile", "depth")
    st.dataframe(
        prof[
            [
                "checkpoint",
                "layer",
                "defect_mean",
                "defect_median",
                "defect_max",
                "active",
                "channels",
                "even",
                "odd",
                "mixed",
                *(["equivariance"] if equiv else []),
            ]
        ],
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.2e")
            for c in ("defect_mean", "defect_median", "defect_max", "equivariance")
        },
    )
    if equiv:
        st.caption(
            "equivariance: how far the reflection is from permuting the units of h "
            "(rflr.measure.channels.equivariance); a layer can be equivariant while its units are not."
        )
    _overlay_ui(t)


def _overlay_ui(t: TabInput) -> None:
    """Any number of runs' depth profiles at their last snapshots, from their headers."""
    runs, defects = overlay_ui(t.root, t.cat)
    if not runs:
        return
    if defects.empty:
        st.info("None of the chosen runs stores per-layer defects in its headers.")
        return
    st.caption(
        "The chosen runs' active partial defect D per partial layer at each run's last "
        "snapshot, read from its header (at the threshold it was saved with)."
    )
    chart = overlay.depth_overlay_chart(overlay.final_profile(defects), colors_of(defects))
    st.altair_chart(chart, width="stretch")
