"""Cached reads for the explorer: keyed on file identity (path, mtime, size), bounded.

`st.cache_resource` holds loaded checkpoints (read-only, shared by sessions);
`st.cache_data` holds the tables derived from them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from rflr.files import checkpoint
from rflr.measure.metrics import PARITY_TAU
from rflr.views import catalog, data, sources

LISTINGS_KEPT = 8  # folders whose listing is kept


@st.cache_resource(show_spinner=False)
def _listings() -> dict:
    """root -> (walked folders, their signature, catalog): shared by sessions."""
    return {}


def listing(root: Path) -> catalog.Catalog:
    """Headers of every checkpoint below root (bounded: rflr.views.sources.scan). A rerun only
    stats the folders the last walk saw (sources.signature); it walks again when one changed."""
    store, key = _listings(), str(root)
    hit = store.get(key)
    if hit is not None and sources.signature(hit[0]) == hit[1]:
        return hit[2]
    with st.spinner("Reading checkpoint headers…"):
        found = sources.scan(root)
        sig = sources.signature(found.dirs)
        items, stopped = sources.list_folder(found, root)
        folders = [sources.relative(root, d) for d in found.dirs]
        cat = catalog.build(items, root, stopped, folders)
    store.pop(key, None)
    while len(store) >= LISTINGS_KEPT:
        store.pop(next(iter(store)))  # the oldest first (dicts keep insertion order)
    store[key] = (found.dirs, sig, cat)
    return cat


@st.cache_resource(max_entries=8, show_spinner="Loading checkpoint…")
def loaded(path: str, mtime: int, size: int):
    """(Checkpoint, Partials, None) or (None, None, reason). Read-only: shared by sessions."""
    try:
        ckpt = checkpoint.load(path)
        return ckpt, data.compute_partials(ckpt), None
    except checkpoint.CheckpointError as e:
        return None, None, e.reason
    except Exception as e:  # a file that loads but cannot be evaluated must not break the page
        return None, None, f"cannot evaluate this checkpoint ({type(e).__name__}: {e})"


@st.cache_data(max_entries=256, show_spinner=False)
def channel_table(key: tuple, name: str, thr: float) -> pd.DataFrame:
    return data.channel_frame(loaded(*key)[1], name, thr, PARITY_TAU)


@st.cache_data(max_entries=256, show_spinner=False)
def curves(key: tuple, name: str, channels: tuple[int, ...]) -> pd.DataFrame:
    return data.curve_frame(loaded(*key)[1], name, list(channels))


@st.cache_data(max_entries=64, show_spinner=False)
def profile(key: tuple, thr: float, equivariance: bool) -> tuple[pd.DataFrame, float]:
    p = loaded(*key)[1]
    return data.depth_profile(p, thr, PARITY_TAU, equivariance), data.output_defect(p)


@st.cache_data(max_entries=32, show_spinner=False)
def atoms(key: tuple) -> data.AtomFrames:
    ckpt, p, _ = loaded(*key)
    return data.atom_frames(ckpt, p)


@st.cache_data(max_entries=32, show_spinner="Matching mirror pairs in every layer…")
def weight_symmetry(key: tuple) -> pd.DataFrame:
    ckpt, p, _ = loaded(*key)
    return data.weight_symmetry_frame(ckpt, p)


@st.cache_data(max_entries=32, show_spinner=False)
def history(key: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
    try:
        h = checkpoint.read_header(key[0]).history
        return data.history_frame(h), data.plateau_frame(h)
    except Exception:  # replaced by a bad file since the listing, or a history of wrong shape
        return data.history_frame({}), data.plateau_frame({})


@st.cache_data(max_entries=32, show_spinner=False)
def defect_history(keys: tuple) -> pd.DataFrame:
    """Per-layer active defect at every snapshot of a run, from the headers only; `keys`
    holds each snapshot's (path, mtime, size), so a new or replaced file changes the key."""
    snaps = []
    for path, _, _ in keys:
        try:
            header = checkpoint.read_header(path)
        except checkpoint.CheckpointError:  # replaced by a bad file since the listing
            continue
        snaps.append((header.step, header.metrics))
    return data.defect_history(snaps)


@st.cache_resource(max_entries=8, show_spinner="Fetching from the Hugging Face Hub…")
def hub_folder(repo_id: str, revision: str) -> str:
    return str(sources.pull(repo_id, revision or None))  # a failure raises: nothing cached
