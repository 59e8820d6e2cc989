"""Many runs at once: a run table with a checkbox per run (rflr.views.overlay), whose chosen
runs the Depth profile and Symmetry over training tabs overlay beside their A/B comparison.

The choice lives in session state as the URL's runs= text ("overlay_runs", a row of
rflr.views.state's table), so a shared link overlays the same runs. The checkboxes edit a
fixed table (Streamlit's data editor keeps its edits relative to the data it was given);
their callback writes the choice before the page writes its URL.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rflr.core.kinds import KIND_LABELS
from rflr.explorer.cache import defect_history, history
from rflr.explorer.escape import md
from rflr.views import budget, overlay, sources
from rflr.views.catalog import Catalog

KEY = "overlay_runs"  # the URL's runs=, comma-joined
_EDITOR, _BASE = "overlay_editor", "overlay_base"
SHOW = "overlay"  # the checkbox column


def overlay_ui(root, cat: Catalog) -> tuple[list[str], pd.DataFrame]:
    """The run table in an expander; returns the chosen runs and their per-layer defects at
    every snapshot (checkpoint = the run, kind, model), read from the headers."""
    ss = st.session_state
    cap = budget.limits().overlay_runs
    runs, note = overlay.chosen_runs(ss.get(KEY), cat, cap)
    table = overlay.run_table(cat)
    if ss.get(_BASE) != (tuple(table["run"]), tuple(runs)):
        ss[_BASE] = (tuple(table["run"]), tuple(runs))  # a new folder, or the URL's choice
        ss.pop(_EDITOR, None)
    shown = set(runs)
    label = f"Overlay runs ({len(runs)} chosen)" if runs else "Overlay runs"
    with st.expander(label, expanded=bool(runs)):
        st.caption(
            "Tick runs to draw them together below (colour: model; lighter: a further run of "
            f"that model), read from their snapshots' headers; at most {cap}."
        )
        st.data_editor(
            table.assign(**{SHOW: table["run"].isin(shown)})[[SHOW, *table.columns]],
            key=_EDITOR,
            hide_index=True,
            width="stretch",
            height=min(36 * (len(table) + 1) + 3, 320),
            disabled=list(table.columns),
            on_change=_write_choice,
            column_config={
                SHOW: st.column_config.CheckboxColumn("overlay", width="small"),
                "test_mse": st.column_config.NumberColumn("test MSE", format="%.2e"),
                "headline_defect": st.column_config.NumberColumn("headline D", format="%.2e"),
            },
        )
        if note:
            st.caption(md(note))
    return runs, _defects(root, cat, runs)


def _write_choice() -> None:
    """The checkboxes' callback: the base choice with the editor's edits, as runs= text."""
    ss = st.session_state
    names, chosen = ss[_BASE]
    picked = set(chosen)
    for row, edit in (ss.get(_EDITOR) or {}).get("edited_rows", {}).items():
        if SHOW in edit and 0 <= int(row) < len(names):
            (picked.add if edit[SHOW] else picked.discard)(names[int(row)])
    ss[KEY] = overlay.SEP.join(n for n in names if n in picked)
    ss.pop(_BASE, None)  # the next run draws the table afresh from the new choice


def _defects(root, cat: Catalog, runs: list[str]) -> pd.DataFrame:
    frames = []
    for run in runs:
        keys = []
        for step in cat.steps.get(run, []):
            try:
                keys.append(sources.file_key(sources.inside(root, cat.files[run][step])))
            except (OSError, sources.SourceError):
                continue
        d = defect_history(tuple(keys))
        if not d.empty:
            kind = cat.rows[cat.final_file(run)]["kind"]
            model = KIND_LABELS.get(kind, kind)
            frames.append(d.assign(checkpoint=run, kind=kind, model=model))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def colors_of(defects: pd.DataFrame) -> dict[str, str]:
    """run -> colour of the overlay's runs, in the table's order (rflr.views.overlay)."""
    kinds = defects.drop_duplicates("checkpoint")
    return overlay.run_colors(list(kinds["checkpoint"]), list(kinds["kind"]))


def histories(root, cat: Catalog, runs: list[str]) -> pd.DataFrame:
    """The loss histories of the runs (from each run's last snapshot), one long table."""
    frames = []
    for run in runs:
        try:
            key = sources.file_key(sources.inside(root, cat.final_file(run)))
        except (OSError, TypeError, sources.SourceError):
            continue
        hist, _ = history(key)
        if not hist.empty:
            frames.append(hist.assign(checkpoint=run, kind=cat.rows[cat.final_file(run)]["kind"]))
    if not frames:
        return pd.DataFrame(columns=["step", "series", "value", "checkpoint", "kind"])
    return pd.concat(frames, ignore_index=True)
