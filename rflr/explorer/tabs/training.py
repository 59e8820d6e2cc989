"""The Training tab: the loss histories the trainer logged, A and B on one chart; and the
histories' reads the Symmetry over training tab shares."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rflr.explorer.cache import history
from rflr.explorer.escape import md
from rflr.explorer.export_menu import export_ui
from rflr.explorer.jump import jump_kwargs
from rflr.explorer.picks import Pick, TabInput
from rflr.views import catalog, data, sources, training_charts
from rflr.views import state as view_state
from rflr.views.training_charts import EXPORT_WIDTH

NAME = "Training"


def draw(t: TabInput) -> None:
    """A's and B's loss histories on one chart, A's plateaus and drops shaded."""
    picks = t.picks
    st.subheader("Training")
    st.caption(
        "Loss history logged by the trainer (from each run's last snapshot), log-log, A and B "
        "on one chart: test MSE as lines, train loss as hollow dots over them (the two often "
        "coincide). Shaded: plateaus and the sharp drops between them in A's test MSE "
        "(rflr.measure.plateaus). The black rule marks the selected step; change it with the "
        "step slider above, or click near a dot. Step 0 cannot sit on a log axis."
    )
    hist, shading = histories(labelled_runs(picks, t.cat))
    if hist.empty:
        st.info("These checkpoints carry no loss history.")
        return
    window = st.select_slider(
        "Smooth the train loss (rolling geometric mean over logged points)",
        options=list(view_state.SMOOTHING),
        key="w_smooth",
        format_func=lambda w: "off" if w == 1 else f"{w} points",
    )
    shown = data.smooth_series(hist, "train loss", window)
    step, steps = int(picks[0].row["step"]), t.cat.steps[picks[0].row["run"]]
    chart = training_charts.loss_chart(shown, shading, step, pick=True)
    st.altair_chart(chart, width="stretch", **jump_kwargs(f"train_pick_{step}", steps))
    export_ui(
        lambda: training_charts.loss_chart(shown, shading, step, width=EXPORT_WIDTH),
        hist,
        f"{picks[0].label} · training",
        picks[0].rel + "train",
    )
    if shading is not None and not shading.empty:
        st.caption(f"Plateaus and drops of A's test MSE ({md(picks[0].row['run'])}), whole steps:")
        st.dataframe(
            shading,
            hide_index=True,
            column_config={
                "start": st.column_config.NumberColumn(format="%d"),
                "end": st.column_config.NumberColumn(format="%d"),
                "loss": st.column_config.NumberColumn(format="%.2e"),
            },
        )


def labelled_runs(picks: list[Pick], cat: catalog.Catalog) -> list[tuple[Pick, tuple]]:
    """Each usable checkpoint with the file key of its run's final snapshot (which carries
    the whole loss history)."""
    out = []
    for c in picks:
        try:
            last = sources.inside(c.root, cat.final_file(c.row["run"]))
            out.append((c, sources.file_key(last)))
        except (OSError, TypeError, sources.SourceError):
            continue
    return out


def histories(runs: list[tuple[Pick, tuple]]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The loss histories of the runs in one long table, and A's plateaus and drops."""
    frames, shading = [], None
    for i, (c, key) in enumerate(runs):
        hist, shade = history(key)
        if not hist.empty:
            frames.append(hist.assign(checkpoint=c.label, kind=c.row["kind"]))
        if i == 0:
            shading = shade
    if not frames:
        return pd.DataFrame(columns=["step", "series", "value", "checkpoint", "kind"]), shading
    return pd.concat(frames, ignore_index=True), shading
