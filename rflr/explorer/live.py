"""The notice of runs being written into the open folder ("training: <run>, step 3,000 of
20,000", with an Open button), polled in a fragment of its own (rflr.views.live says which
runs are live), and the page drawn again when the open run (A or B) gets a new snapshot.

A poll reruns only this fragment. It stats the folders the last walk saw (their mtimes:
rflr.views.sources.signature) and walks again only when one changed; a header is read only
from a file modified within the live window, once per file version (path, mtime, size). The
whole page is drawn again (st.rerun(scope="app")) only when the checkpoint files in A's or B's
folder differ from those the page was drawn with (rflr.views.live.should_rerun): once per new
snapshot, never while nothing is written, and a layer or step change waits for nothing. In
that rerun the step follows A's new snapshot if it was at A's newest (follow_newest).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import streamlit as st

from rflr.explorer.escape import md
from rflr.explorer.sidebar import AUTO
from rflr.explorer.url import set_kept
from rflr.views import catalog, live, sources

POLL_S = 3.0  # a new run shows within this (plus a walk) of its first file
WALKS_KEPT = 8  # folders whose walk is kept
SHOWN = 5  # live runs named; more are counted
# session state: what the page shows, the files of the last rerun asked for, Open pressed,
# (root, A, A's newest step) when the step slider was last drawn
_WATCH, _ASKED, _OPENED, _NEWEST = "live_watch", "live_asked", "live_opened", "live_newest"


@st.cache_resource(show_spinner=False)
def _walks() -> dict:
    """root -> (Scan, its folders' signature): shared by sessions, like cache.listing's."""
    return {}


def _walk(root: Path) -> sources.Scan:
    """The files and folders below root, walked again only when a folder's mtime changed."""
    store, key = _walks(), str(root)
    hit = store.get(key)
    if hit is not None and sources.signature(hit[0].dirs) == hit[1]:
        return hit[0]
    found = sources.scan(root)
    store.pop(key, None)
    while len(store) >= WALKS_KEPT:
        store.pop(next(iter(store)))  # the oldest first
    store[key] = (found, sources.signature(found.dirs))
    return found


@st.cache_data(max_entries=64, show_spinner=False)
def _snapshot_run(key: tuple[str, int, int]) -> live.LiveRun:
    return live.snapshot_run(Path(key[0]))


@st.cache_data(max_entries=64, show_spinner=False)
def _resume_runs(key: tuple[str, int, int]) -> list[live.LiveRun]:
    return live.resume_runs(Path(key[0]))


def _live_runs(found: sources.Scan) -> list[live.LiveRun]:
    return live.live_runs(
        found.dirs,
        found.files,
        time.time(),
        snapshot=lambda p: _snapshot_run(sources.file_key(p)),
        resume=lambda p: _resume_runs(sources.file_key(p)),
    )


def being_written(root: Path) -> bool:
    """Whether a run is being written below root (for a page that has no run to show yet)."""
    return bool(_live_runs(_walk(root)))


def live_ui(
    notice: st.delta_generator.DeltaGenerator,
    root: Path,
    cat: catalog.Catalog,
    open_files: Iterable[str] | None,
) -> None:
    """The live notice, drawn in `notice` (a slot at the top of the page), watching the
    folders of `open_files` (A's and B's snapshots; None: the page shows no run yet)."""
    listed = [*cat.rows, *cat.errors["file"]]
    st.session_state[_WATCH] = live.watch_of(listed, open_files)
    with notice:
        _poll(root)


@st.fragment(run_every=POLL_S)
def _poll(root: Path) -> None:
    """An info line per run being written below root (nothing when none is), and the whole
    page drawn again when the files of its open runs changed."""
    ss = st.session_state
    if _OPENED in ss:
        st.rerun(scope="app")  # Open was pressed: the sidebar and the tabs show the new A
    found = _walk(root)
    runs = _live_runs(found)
    for run in runs[:SHOWN]:
        _notice(root, run)
    if len(runs) > SHOWN:
        st.caption(f"and {len(runs) - SHOWN} more runs being written")
    files = [sources.relative(root, f) for f in found.files]
    watch = ss.get(_WATCH)
    if live.should_rerun(watch, files, ss.get(_ASKED)):  # after the notices: they show first
        ss[_ASKED] = watch.seen(files)
        st.rerun(scope="app")


def _notice(root: Path, run: live.LiveRun) -> None:
    name = run.name(root)
    text, button = st.columns([6, 1], vertical_alignment="center")
    text.info(md(run.notice()), icon="⏳")
    button.button(
        "Open",
        key=f"live_open:{name or run.run_id}",
        on_click=_open,
        args=(name,),
        disabled=name is None or run.step is None,
        help="Open this run as A, with its control as B",
        width="stretch",
    )


def _open(name: str) -> None:
    """Open run `name` as A, with B on its control: the choices the sidebar holds, set the
    way a click in a chart sets them, so the URL follows (rflr.explorer.url)."""
    set_kept("w_run_a", name)
    set_kept("w_run_b", AUTO)
    set_kept("w_step", None)  # its newest snapshot
    st.session_state[_OPENED] = name  # the fragment's run draws the whole page (_poll)


def apply_open() -> None:
    """At the top of a full run: the run Open asked for, set again. A poll the browser sent
    before it heard of the click carries the sidebar's old A, and Streamlit takes a widget's
    value from the browser over the one set here; until the page is drawn, Open wins."""
    name = st.session_state.pop(_OPENED, None)
    if name is not None:
        _open(name)
        del st.session_state[_OPENED]


def follow_newest(root: Path, run_a: str, steps: list[int]) -> None:
    """Before the step slider is drawn (a widget's value can only be set then): if A has
    gained snapshots since the slider was last drawn, and the slider was at A's newest one,
    move it to the new newest. TensorBoard's rule: a page left at the end follows training,
    a step the user went back to is kept. No rerun of its own: the new snapshot already
    draws the page again (_poll), and this is read in that run."""
    ss = st.session_state
    drawn = ss.get(_NEWEST)
    now = (str(root), run_a, steps[-1])
    grew = drawn is not None and drawn[:2] == now[:2] and drawn[2] < now[2]
    if grew and ss.get("w_step") == drawn[2]:
        set_kept("w_step", now[2])
    ss[_NEWEST] = now
