"""Cached reads for the explorer: keyed on file identity (path, mtime, size), bounded.

Loaded checkpoints with their evaluated layers, and the tables computed from them, live in one
store shared by sessions (rflr.views.budget.Store) that is bounded by the bytes it holds
(budget.Limits.cache_mb), not by a count of entries: one 4096-wide checkpoint weighs as much as
hundreds of small ones. A checkpoint is checked against the budget from its header before a
tensor is read (budget.check), and evaluations and matchings pass the heavy-work gate
(budget.heavy). Loaded checkpoints are shared, read-only objects; a table is handed out as a
deep copy, so that every caller gets its own (st.cache_data's contract; nothing is pickled).
Header-only reads (histories) and listings stay in Streamlit's caches: they hold no evaluated
array.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Hashable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from rflr.files import checkpoint
from rflr.measure.metrics import PARITY_TAU
from rflr.views import budget, catalog, data, slices, sources

LISTINGS_KEPT = 8  # folders whose listing is kept


@st.cache_resource(show_spinner=False)
def _listings() -> dict:
    """root -> (walked folders, their signature, catalog, rows by file): shared by sessions."""
    return {}


def listing(root: Path) -> catalog.Catalog:
    """Headers of every checkpoint below root (bounded: rflr.views.sources.scan). A rerun only
    stats the folders the last walk saw (sources.signature); it walks again when one changed,
    and reads again only the headers of files that changed (a run being written: one new
    snapshot costs one header, not the folder's)."""
    store, key = _listings(), str(root)
    hit = store.get(key)
    if hit is not None and sources.signature(hit[0]) == hit[1]:
        return hit[2]
    rows: dict[tuple, checkpoint.Listing] = {}
    with st.spinner("Reading checkpoint headers…"):
        found = sources.scan(root)
        sig = sources.signature(found.dirs)
        read = _reader(hit[3] if hit is not None else {}, rows)
        items, stopped = sources.list_folder(found, root, read=read)
        folders = [sources.relative(root, d) for d in found.dirs]
        cat = catalog.build(items, root, stopped, folders)
    store.pop(key, None)
    while len(store) >= LISTINGS_KEPT:
        store.pop(next(iter(store)))  # the oldest first (dicts keep insertion order)
    store[key] = (found.dirs, sig, cat, rows)
    return cat


def _reader(old: dict, new: dict) -> Callable[[Path, Path], checkpoint.Listing]:
    """checkpoint.list_one, taking an unchanged file's row (same path, mtime and size) from
    the last listing `old`; every row read or taken is kept in `new`, for the next one. A
    link is always read: where it points is checked again (list_one)."""

    def read(path: Path, top: Path) -> checkpoint.Listing:
        try:
            file = None if path.is_symlink() else sources.file_key(path)
        except OSError:
            file = None  # gone: list_one says so
        row = old.get(file) if file else None
        if row is None:
            row = checkpoint.list_one(path, top)
        if file:
            new[file] = row
        return row

    return read


@st.cache_resource(show_spinner=False)
def _store() -> budget.Store:
    """Loaded checkpoints and the tables evaluated from them: shared by sessions, by bytes."""
    return budget.Store(budget.limits().cache_mb * budget.MB)


def _kept(key: tuple, make: Callable[[], Any], spinner: str | None, heavy_work: bool) -> Any:
    """make()'s value, kept in the store under `key` and the limits it was computed under;
    the spinner shows while it is computed, or waits for its turn (budget.heavy)."""
    lim = budget.limits()
    store, key = _store(), (*key, lim)
    store.resize(lim.cache_mb * budget.MB)
    with st.spinner(spinner) if spinner and key not in store else nullcontext():
        return store.get(key, make, heavy_work)


def _table(spinner: str | None = None, heavy_work: bool = False):
    """Decorator: st.cache_data for the tables evaluated from a checkpoint, in the store (each
    call returns a deep copy). Arguments are hashable keys, as st.cache_data's."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def cached(*args: Hashable) -> Any:
            kept = _kept((fn.__qualname__, *args), lambda: fn(*args), spinner, heavy_work)
            return copy.deepcopy(kept)

        return cached

    return wrap


def loaded(path: str, mtime: int, size: int):
    """(Checkpoint, Partials, None) or (None, None, reason). Read-only: shared by sessions.
    A checkpoint over the budget is refused from its header: its tensors are never read."""
    key = ("loaded", path, mtime, size)
    return _kept(key, lambda: _load(path), "Loading checkpoint…", heavy_work=True)


def _load(path: str):
    try:
        header = checkpoint.read_header(path)
        points = budget.grid_points(header.metrics.grid_points)
        budget.check(header.config.model, points)
        ckpt = checkpoint.load(path)
        return ckpt, data.compute_partials(ckpt), None
    except budget.BudgetError as e:
        return None, None, str(e)
    except checkpoint.CheckpointError as e:
        return None, None, e.reason
    except Exception as e:  # a file that loads but cannot be evaluated must not break the page
        return None, None, f"cannot evaluate this checkpoint ({type(e).__name__}: {e})"


def frozen(key: tuple, make: Callable[[], Any]) -> Any:
    """make()'s value, kept in the store under `key` and handed out as it is, not copied: for
    values nobody changes (an Arrow table). `key` must name everything the value depends on."""
    return _kept(("frozen", *key), make, None, heavy_work=False)


@_table()
def channel_table(key: tuple, name: str, thr: float) -> pd.DataFrame:
    return data.channel_frame(loaded(*key)[1], name, thr, PARITY_TAU)


@_table()
def curves(key: tuple, name: str, channels: tuple[int, ...]) -> pd.DataFrame:
    return data.curve_frame(loaded(*key)[1], name, list(channels))


@_table(heavy_work=True)
def slice_curves(key: tuple, name: str, channels: tuple[int, ...]) -> pd.DataFrame:
    """curves() of a d >= 2 network: on the line x₂ = … = x_d = 0 (rflr.views.slices)."""
    return slices.slice_frame(loaded(*key)[0], name, list(channels))


@_table("Evaluating the plane…", heavy_work=True)
def plane(key: tuple, name: str, channels: tuple[int, ...]) -> pd.DataFrame:
    """A d = 2 network's channels over the plane (rflr.views.slices.plane_frame)."""
    return slices.plane_frame(loaded(*key)[0], name, list(channels))


@_table(heavy_work=True)
def profile(key: tuple, thr: float, equivariance: bool) -> tuple[pd.DataFrame, float]:
    p = loaded(*key)[1]
    return data.depth_profile(p, thr, PARITY_TAU, equivariance), data.output_defect(p)


@_table(heavy_work=True)
def atoms(key: tuple) -> data.AtomFrames:
    ckpt, p, _ = loaded(*key)
    return data.atom_frames(ckpt, p)


@_table("Matching mirror pairs in every layer…", heavy_work=True)
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
