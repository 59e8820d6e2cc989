"""The Symmetry over training tab: when does the mirror lock in? Every partial layer's defect
at every snapshot, read from the snapshots' headers, over the test MSE."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rflr.explorer import viewport
from rflr.explorer.cache import defect_history
from rflr.explorer.export_menu import export_ui
from rflr.explorer.jump import jump_kwargs
from rflr.explorer.overlay import colors_of, overlay_ui
from rflr.explorer.overlay import histories as overlay_histories
from rflr.explorer.picks import Pick, TabInput
from rflr.explorer.specs import spec
from rflr.explorer.tabs.training import histories, labelled_runs
from rflr.measure.metrics import ACTIVITY_THRESHOLD
from rflr.views import catalog, layer_charts, sources, training_charts

NAME = "Symmetry over training"


def draw(t: TabInput) -> None:
    """Every partial layer's active defect at every snapshot, over the test MSE."""
    picks, cat = t.picks, t.cat
    st.subheader("Symmetry over training: when does the mirror lock in?")
    st.caption(
        "Top: the active partial defect D (mean odd fraction of the active channels) of every "
        "partial layer at every snapshot, log-log; colour: the model (orange RF-LR, blue "
        "dense), shape and dash: the layer. Below, on the same step axis: the test MSE. "
        "Shaded: plateaus and drops of A's test MSE; black rule: the selected step; grey rule: "
        "the snapshot nearest the pointer, on both charts; click a point to go to that step; "
        "Ctrl + scroll (or pinch) zooms the step axis, a double-click resets. Read from the "
        "snapshots' headers (rflr.metrics.layers), so "
        f"at the activity threshold they were saved with (default {ACTIVITY_THRESHOLD:g}), "
        "whatever the sidebar says."
    )
    step, steps = int(picks[0].row["step"]), t.cat.steps[picks[0].row["run"]]
    labelled = labelled_runs(picks, cat)
    frames, snaps = [], ()
    for c, _ in labelled:
        keys = _snapshot_keys(c, cat)
        snaps += (keys,)
        d = defect_history(keys)
        if not d.empty:
            frames.append(d.assign(checkpoint=c.label, kind=c.row["kind"]))
    hist, shading = histories(labelled)
    if not frames:
        st.info("No snapshot of these runs stores per-layer defects in its header.")
        return
    defects = pd.concat(frames, ignore_index=True)
    args = (defects, hist, shading, step)
    # one chart for both (a hover and a zoom shared by their step axis): Vega-Lite cannot
    # stretch a concat, so it is laid out to the measured width (rflr.explorer.viewport)
    width = training_charts.linked_width(viewport.main_width(layer_charts.MAIN_WIDTH))
    # built once per set of snapshot files (rflr.explorer.specs): the frames are read from them
    key = tuple((c.label, k) for c, k in labelled) + snaps
    linked = spec(training_charts.symmetry_chart, key, *args, None, width, True)
    # the key holds the step: a click on the point of the step shown before picks it anew
    st.vega_lite_chart(linked, **jump_kwargs(f"sym_pick_{step}", steps))
    export_ui(
        lambda: training_charts.symmetry_chart(*args),
        defects,
        f"{picks[0].label} · symmetry over training",
        "symmetry",
    )
    _overlay_ui(t, step)
    numbers = st.expander("The numbers", key="symmetry_numbers", on_change="rerun")
    if numbers.open:
        numbers.dataframe(
            defects[["checkpoint", "layer", "step", "defect_mean", "active", "channels"]],
            hide_index=True,
            column_config={"defect_mean": st.column_config.NumberColumn(format="%.2e")},
        )


def _overlay_ui(t: TabInput, step: int) -> None:
    """Any number of runs on one symmetry chart, chosen in the run table (rflr.explorer.overlay)."""
    runs, defects = overlay_ui(t.root, t.cat)
    if not runs:
        return
    if defects.empty:
        st.info("None of the chosen runs stores per-layer defects in its headers.")
        return
    hist = overlay_histories(t.root, t.cat, runs)
    upper, lower = training_charts.symmetry_charts(
        defects, hist, None, step, colors_of(defects), pick=False
    )
    st.altair_chart(upper, width="stretch")
    st.altair_chart(lower, width="stretch")


def _snapshot_keys(c: Pick, cat: catalog.Catalog) -> tuple:
    """(path, mtime, size) of every snapshot of the pick's run: the cache key of its
    defect history, which changes when a snapshot is added or replaced."""
    keys = []
    for step in cat.steps.get(c.row["run"], []):
        try:
            keys.append(sources.file_key(sources.inside(c.root, cat.files[c.row["run"]][step])))
        except (OSError, sources.SourceError):
            continue
    return tuple(keys)
