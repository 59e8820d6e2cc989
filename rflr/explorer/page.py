"""rflr explorer: does low rank make training recover the mirror symmetry x -> -x inside the
network, not only at its output? Browse checkpoints layer by layer, each partial function
z(x) drawn beside its mirror z(-x), an RF-LR network beside its dense control.

    streamlit run streamlit_app.py                       # the shipped checkpoints/ folder
    RFLR_CHECKPOINTS=/path/to/folder streamlit run streamlit_app.py
    rflr app [FOLDER | --hub USER/NAME]                  # installed: runs this file

This module is main(): the page and its tabs. It lives in the package so that an installed
rflr can start the explorer from any directory; streamlit_app.py only calls it. The widgets
live in rflr.explorer (one module per tab: rflr.explorer.tabs); everything they show is computed by
rflr/ and reshaped by rflr.views (see docs/app.md and docs/architecture.md).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
import torch

from rflr.explorer import look
from rflr.explorer.cache import listing
from rflr.explorer.controls import layer_controls
from rflr.explorer.escape import md
from rflr.explorer.glossary import glossary_ui
from rflr.explorer.live import apply_open, being_written, follow_newest, live_ui
from rflr.explorer.picks import TabInput, pick
from rflr.explorer.play import play_step_before_slider, step_ui
from rflr.explorer.sidebar import (
    AUTO,
    NONE,
    apply_url_files,
    missing_control_ui,
    runs_ui,
    source_ui,
)
from rflr.explorer.strip import strip_ui
from rflr.explorer.tabs import TABS
from rflr.explorer.tabs.checkpoints import checkpoints_ui
from rflr.explorer.tabs.train import watch as train_watch
from rflr.explorer.url import (
    keep_widgets,
    restore_from_url,
    show_url_notes,
    with_settings,
    write_url,
)
from rflr.views import catalog
from rflr.views import state as view_state

__all__ = ["TABS", "main"]  # TABS: read by streamlit_app.py, tests and benchmarks

# The networks are tiny: handing a 1025 x 64 product to a second thread costs more than the
# product itself, and on a busy machine far more (0.27 s against 2 ms measured).
torch.set_num_threads(1)


# --- main area -------------------------------------------------------------------------------


def main() -> None:
    st.set_page_config(page_title="rflr explorer", page_icon="🪞", layout="wide")
    look.apply()
    keep_widgets()
    restore_from_url()
    apply_open()  # a live run's Open button (rflr.explorer.live)
    masthead_ui()
    train_watch()  # this session's training job, polled while there is one
    root, vs = source_ui()
    if root is None:
        show_url_notes()
        st.info("Choose a checkpoint source in the sidebar.")
        write_url(with_settings(vs))
        return
    notice = st.container()  # runs being written: live_ui, once the page knows what it shows
    cat = listing(root)
    if cat.stopped:
        st.warning(
            f"Listing of {md(root)} stopped ({md(cat.stopped)}): only part of the folder is "
            "shown. Choose a smaller folder."
        )
    if not cat.errors.empty:
        st.warning(
            f"{len(cat.errors)} file(s) in {md(root)} could not be read; see the Checkpoints tab."
        )
    if not cat.rows:
        show_url_notes()
        if being_written(root):
            st.info("training: waiting for the first snapshot", icon="⏳")
        else:
            st.info(f"No readable rflr checkpoints in {md(root)}.")
        checkpoints_ui(cat)
        write_url(with_settings(vs))
        live_ui(notice, root, cat, None)  # polls on its own; draws the page when files land
        return
    if "url_files" in st.session_state:
        apply_url_files(root, cat)
    show_url_notes()
    run_a, run_b, b_choice = runs_ui(cat)
    shown = [f for r in (run_a, run_b) if r for f in cat.files[r].values()]
    live_ui(notice, root, cat, shown)  # draws the page again when A or B gets a snapshot
    view(root, cat, run_a, run_b, b_choice, vs)


def masthead_ui() -> None:
    """One line: the name, the question, and the glossary that defines every term (the
    answer, the strip below it, has to start on the first screen)."""
    with st.container(horizontal=True, vertical_alignment="center", key="masthead"):
        st.title("rflr explorer", anchor=False, width="content")
        st.caption(
            "Does low rank make training recover the mirror symmetry x → −x *inside* the "
            "network, not only at its output?"
        )
        glossary_ui()


@st.fragment
def view(
    root: Path,
    cat: catalog.Catalog,
    run_a: str,
    run_b: str | None,
    b_choice: str,
    vs: view_state.ViewState,
) -> None:
    """The verdict strip, the controls bar (layer controls, the step and Play) and the tabs.
    A fragment: a change of the step, the layer, the tab or a widget inside a tab reruns only
    this, not the sidebar and the listing, and the browser redraws only this part of the page."""
    ss = st.session_state
    if "url_files" in ss or ss.pop("rerun_app", False):
        st.rerun()  # a click in here chose another A or B: the sidebar has to follow
    keep_widgets()  # a fragment run does not restore the kept widgets a tab switch dropped
    steps = cat.steps[run_a]
    follow_newest(root, run_a, steps)  # a snapshot landed while at A's newest: go to it
    play_step_before_slider(steps)
    if ss.get("w_step") not in steps:
        ss.w_step = steps[-1]  # the final snapshot
    at = ss.w_step  # the slider's value, known before it is drawn: the strip goes above it
    strip_ui(
        root, cat, [f for f in (cat.file_at(run_a, at), run_b and cat.file_at(run_b, at)) if f]
    )
    depth = int(cat.rows[cat.file_at(run_a, steps[-1])]["depth"])  # every snapshot's
    # One bar that wraps where the window is narrow, and stays in view (look.PAGE_CSS).
    with st.container(horizontal=True, vertical_alignment="bottom", key="controls"):
        with st.container(
            horizontal=True, vertical_alignment="bottom", width="content", key="layer_bar"
        ):
            layer = layer_controls(depth)
        step = step_ui(run_a, steps)
    file_a = cat.file_at(run_a, step)
    file_b = cat.file_at(run_b, step) if run_b else None
    vs.a, vs.b = file_a, (None if b_choice == AUTO else "none" if b_choice == NONE else file_b)
    with_settings(vs)
    # an upload or this session's trained runs cannot come back from a URL
    write_url(vs if vs.src in view_state.URL_SOURCES else view_state.ViewState(src=vs.src))

    missing_control_ui(cat, run_a, b_choice)
    shown = TabInput(root, cat, [pick(root, cat, f) for f in (file_a, file_b) if f], layer)
    tabs = st.tabs(list(TABS), key="tab", bind="query-params")
    for draw, tab in zip(TABS.values(), tabs, strict=True):
        if tab.open is not False:  # hidden tabs do no work
            with tab:
                draw(shown)


if __name__ == "__main__":
    main()
