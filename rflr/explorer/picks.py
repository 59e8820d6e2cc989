"""The chosen checkpoints (A and B) every tab shows: loading them, their column headers, and
what the page hands each tab (TabInput)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from rflr.core.kinds import KIND_LABELS
from rflr.explorer.cache import loaded
from rflr.explorer.controls import LayerChoice
from rflr.explorer.escape import md
from rflr.files.checkpoint import Checkpoint
from rflr.sweep.summary import format_number
from rflr.views import budget, catalog, sources, style


@dataclass(frozen=True)
class Pick:
    """A chosen checkpoint: its catalog row, cache key, and the loaded file (or the error)."""

    root: Path
    rel: str  # path relative to root, as in the catalog
    key: tuple  # (path, mtime, size): the cache key of everything derived from it
    row: dict
    ckpt: Checkpoint | None  # None when it could not be read or evaluated
    error: str | None
    label: str  # plain text: kind · run · step (for charts and select boxes, not markdown)
    title: str  # markdown with a kind badge (the run name escaped)


def pick(root: Path, cat: catalog.Catalog, rel: str) -> Pick:
    """A chosen checkpoint: its table row, cache key, and the loaded objects (or the error)."""
    path = sources.inside(root, rel)
    try:
        key = sources.file_key(path)
        ckpt, _, error = loaded(*key)
    except OSError as e:  # removed since the listing
        key, ckpt, error = (str(path), 0, 0), None, f"cannot read it ({e})"
    row = cat.rows[rel]
    kind = KIND_LABELS.get(row["kind"], row["kind"])
    label = f"{kind} · {row['run']} · step {int(row['step'])}"
    badge = style.kind_badge(row["kind"], kind)
    return Pick(
        root=root,
        rel=rel,
        key=key,
        row=row,
        ckpt=ckpt,
        error=error,
        label=label,
        title=f"{badge} **{md(row['run'])}** · step {int(row['step'])}",
    )


def columns_for(picks: list[Pick]) -> list:
    """One column per checkpoint, side by side (a plain container for one)."""
    # medium: 32 px, what rflr.views.layer_charts.COLUMN_GAP lays the panels out for
    return st.columns(len(picks), gap="medium") if len(picks) > 1 else [st.container()]


def pick_header(c: Pick) -> bool:
    """Title of a checkpoint's column; False (with the reason shown) if it cannot be used."""
    row = c.row
    st.markdown(c.title)
    st.caption(
        f"width {row['width']}"
        + (f" · rank {row['rank']}" if pd.notna(row["rank"]) else "")  # a kind with a rank
        + f" · depth {row['depth']} · seed {row['seed']} · target {md(row['target'])} · "
        f"test MSE {fmt(row['test_mse'])} · headline D {fmt(row['headline_defect'])} · "
        f"output D {fmt(row['output_defect'])} · status {md(row['status'])}"
    )
    if c.error:
        st.error(f"{md(c.rel)}: {md(c.error)}")
        return False
    asked = c.ckpt.metrics.grid_points if c.ckpt else None
    if isinstance(asked, int) and budget.grid_points(asked) < asked:
        st.caption(
            f"Measured here on {budget.grid_points(asked)} of its {asked} grid points (the "
            "cap of this explorer: RFLR_GRID_POINTS_MAX); D may differ a little from its header's."
        )
    return True


def fmt(v: float | None) -> str:
    return format_number(v, missing="–")


@dataclass(frozen=True)
class TabInput:
    """What the page hands every tab (rflr.explorer.tabs.TABS): the folder, its listing, the
    chosen checkpoints and the layer controls above the tabs."""

    root: Path
    cat: catalog.Catalog
    picks: list[Pick]  # A, then B when there is one
    layer: LayerChoice
