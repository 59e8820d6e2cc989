"""The notice of runs being written into the open folder ("training: <run>, step 3,000 of
20,000"), polled in a fragment of its own (rflr.views.live says which runs are live).

A poll reruns only this fragment, never the page, so an idle page stays idle and a layer or
step change waits for nothing. It stats the folders the last walk saw (their mtimes:
rflr.views.sources.signature) and walks again only when one changed; a header is read only
from a file modified within the live window, once per file version (path, mtime, size).
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from rflr.explorer.escape import md
from rflr.views import live, sources

POLL_S = 3.0  # a new run shows within this (plus a walk) of its first file
WALKS_KEPT = 8  # folders whose walk is kept
SHOWN = 5  # live runs named; more are counted


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


@st.fragment(run_every=POLL_S)
def live_ui(root: Path) -> None:
    """An info line per run being written below root; nothing when none is."""
    found = _walk(root)
    runs = live.live_runs(
        found.dirs,
        found.files,
        time.time(),
        snapshot=lambda p: _snapshot_run(sources.file_key(p)),
        resume=lambda p: _resume_runs(sources.file_key(p)),
    )
    for run in runs[:SHOWN]:
        st.info(md(run.notice()), icon="⏳")
    if len(runs) > SHOWN:
        st.caption(f"and {len(runs) - SHOWN} more runs being written")
