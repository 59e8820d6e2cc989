"""Cached reads for the explorer: keyed on file identity (path, mtime, size), bounded.

`st.cache_resource` holds loaded checkpoints (read-only, shared by sessions);
`st.cache_data` holds the tables derived from them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from rflr import checkpoint
from rflr.app import catalog, data, sources
from rflr.metrics import PARITY_TAU


@st.cache_data(max_entries=8, show_spinner="Reading checkpoint headers…")
def listing(root: str, signature: tuple) -> catalog.Catalog:
    """Headers of every checkpoint below root; `signature` changes when files change."""
    return catalog.build(checkpoint.list_checkpoints(root), Path(root))


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


@st.cache_data(max_entries=32, show_spinner=False)
def history(key: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
    try:
        h = checkpoint.read_header(key[0]).history
    except checkpoint.CheckpointError:  # replaced by a bad file since the listing
        h = {}
    return data.history_frame(h), data.plateau_frame(h)


@st.cache_resource(max_entries=8, show_spinner="Fetching from the Hugging Face Hub…")
def hub_folder(repo_id: str, revision: str) -> str:
    return str(sources.pull(repo_id, revision or None))  # a failure raises: nothing cached
