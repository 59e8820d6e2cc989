"""The Checkpoints tab: the folder's checkpoint table (from headers only), filters, and the
files that could not be read."""

from __future__ import annotations

import streamlit as st

from rflr.explorer.picks import TabInput
from rflr.explorer.tabs import layer
from rflr.views import catalog

NAME = "Checkpoints"


def draw(t: TabInput) -> None:
    checkpoints_ui(t.cat)


def checkpoints_ui(cat: catalog.Catalog) -> None:
    """Every checkpoint of the folder, filtered; a row opens as A. Also shown alone when the
    folder has no readable checkpoint (the page draws no tabs then)."""
    st.subheader("Checkpoints")
    table, errors = cat.table, cat.errors
    if not table.empty:
        f1, f2, f3, f4 = st.columns([1, 1, 2, 1])
        kinds = f1.multiselect("Kind", sorted(table["kind"].unique()), key="f_kind")
        statuses = f2.multiselect("Status", sorted(table["status"].unique()), key="f_status")
        text = f3.text_input("Run contains", key="f_text")
        final = f4.toggle("Final steps only", key="f_final")
        shown = catalog.filter_table(table, kinds, statuses, text, final)
        st.caption(f"{len(shown)} of {len(table)} checkpoints (read from headers only).")
        st.session_state.ckpt_files = list(shown["file"])  # what a click on a row opens
        st.dataframe(
            catalog.visible(shown),
            hide_index=True,
            column_config={
                c: st.column_config.NumberColumn(format="%.2e")
                for c in ("test_mse", "headline_defect", "output_defect")
            },
            on_select=_open_row,
            selection_mode="single-row",
            key="ckpt_table",
        )
        st.caption("Select a row to open that checkpoint as A in the layer view.")
    if not errors.empty:
        st.markdown(f"**{len(errors)} file(s) could not be read**")
        st.dataframe(errors, hide_index=True)


def _open_row() -> None:
    ss = st.session_state
    rows = (ss.get("ckpt_table") or {}).get("selection", {}).get("rows") or []
    files = ss.get("ckpt_files", [])
    if rows and 0 <= rows[0] < len(files):
        layer.open_checkpoint(files[rows[0]])
