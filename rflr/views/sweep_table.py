"""A sweep's summary.csv as the Sweep tab may use it: read defensively, every column of the
right type, and each run's checkpoint path kept inside the folder the app was pointed at.

A summary.csv is as untrusted as a checkpoint: it may be empty, binary, truncated, hand
edited, or name `../../etc/passwd` as a checkpoint. `read_checked` either returns a table the
tab can draw without further checks, or raises SummaryError with one line for the user.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from rflr.core.kinds import KIND_LABELS, KINDS
from rflr.sweep.stats import group_stats, swept_keys, symmetric_cell
from rflr.sweep.summary import SUMMARY_COLUMNS, with_count_types
from rflr.views import sources

MAX_BYTES = 20 << 20  # a 5,000-run sweep's summary is ~2 MB
MAX_ROWS = 100_000
TEXT_MAX = 500  # characters kept of a text cell
REQUIRED = ("run_id", "model", "status", "test_mse", "headline_defect", "checkpoint")
TEXT = {"run_id", "model", "schedule", "status", "checkpoint", "headline_layer", "symmetric"}
_LAYER = re.compile(r"layer(\d+)_(name|defect)")


class SummaryError(Exception):
    """A summary.csv the tab cannot show; the message is one line for the user."""


def read_checked(path: str | os.PathLike) -> pd.DataFrame:
    """summary.csv as a table of known types: text columns as str, every other column
    numeric (unreadable cells NaN, counts Int64), `symmetric` bool, one row per run id."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise SummaryError(f"cannot read it ({e.strerror or e})") from None
    if size > MAX_BYTES:
        raise SummaryError(f"{size / 2**20:.0f} MB is over the {MAX_BYTES >> 20} MB limit")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=MAX_ROWS + 1)
    except pd.errors.EmptyDataError:
        df = pd.DataFrame(columns=list(REQUIRED))
    except Exception as e:  # binary, bad quoting, undecodable bytes: pandas raises many kinds
        raise SummaryError(f"not a readable CSV file ({type(e).__name__})") from None
    if len(df) > MAX_ROWS:
        raise SummaryError(f"more than {MAX_ROWS} rows")
    df.columns = [str(c) for c in df.columns]
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise SummaryError(f"not an rflr sweep summary: no column {', '.join(missing)}")
    # a column named like a layer column but not one would break the depth chart
    df = df[[c for c in df.columns if not c.startswith("layer") or _LAYER.fullmatch(c)]]
    df = df.loc[:, ~pd.Index(df.columns).duplicated()].copy()
    for c in SUMMARY_COLUMNS:  # an older or hand-made summary: absent columns are empty
        if c not in df.columns:
            df[c] = ""
    for c in df.columns:
        if c in TEXT or (c.startswith("layer") and c.endswith("_name")) or _text(c, df[c]):
            df[c] = df[c].map(_cell_text)
        else:
            v = pd.to_numeric(df[c], errors="coerce").astype(float)
            df[c] = v.where(np.isfinite(v) | v.isna())  # no inf: counts must be integers
    df["symmetric"] = (
        df["symmetric"].str.lower() == "true" if "symmetric" in df else pd.Series(False, df.index)
    )
    df = df[df["run_id"].str.strip() != ""].drop_duplicates("run_id").reset_index(drop=True)
    kinds = with_count_types(df.iloc[:0]).dtypes  # the columns rflr.sweep.summary counts
    for c in df.columns:
        if str(kinds[c]) == "Int64":
            df[c] = df[c].where((df[c] == df[c].round()) & (df[c].abs() < 2**53))  # not 1.5, 1e30
    return with_count_types(df)


def configs(df: pd.DataFrame) -> list[str]:
    """The swept keys of a summary (or of one study part) that are not the model: more than
    one config per model, whose runs must not be pooled into one number."""
    return [k for k in swept_keys(df) if k != "model"]


def config_rows(df: pd.DataFrame) -> pd.DataFrame:
    """One row per study part, config and model (RF-LR first): runs, symmetric reruns with
    their Wilson interval, median test MSE and headline defect over the runs that trained.
    A study's parts ask different questions at different configs: pooling them into one
    fraction ("328/624") answers none of them."""
    parts = df.groupby("part", sort=False) if "part" in df.columns else [(None, df)]
    order = {m: i for i, m in enumerate(KINDS)}
    rows = []
    for part, g in parts:
        keys = [*configs(g), "model"]
        g = g[[*keys, "status", "symmetric", "test_mse", "headline_defect"]]  # 10x faster
        stats = group_stats(g, keys, medians=())  # plain medians below: no bootstrap (~2 s)
        ok = g[g["status"] == "ok"]
        medians = ok.groupby(keys, dropna=False)[["test_mse", "headline_defect"]].median()
        stats = stats.join(medians, on=keys)
        stats = stats.assign(_order=stats["model"].map(order).fillna(len(order)))
        stats = stats.sort_values([*keys[:-1], "_order"], kind="stable")
        for _, r in stats.iterrows():
            row = {} if part is None else {"part": part}
            row.update(
                config=", ".join(f"{k} = {_value(r[k])}" for k in keys[:-1]) or "–",
                model=KIND_LABELS.get(r["model"], r["model"]),
                runs=int(r["runs"]),
                symmetric=symmetric_cell(r),
                median_test_mse=r["test_mse"],
                median_headline_defect=r["headline_defect"],
            )
            rows.append(row)
    return pd.DataFrame(rows)


def _value(v: object) -> str:
    """A config value as the command line writes it: 64, not 64.0."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return f"{v:g}" if isinstance(v, float) else str(v)


def _text(name: str, cells: pd.Series) -> bool:
    """A column beyond the fixed schema (a grid's swept flag, a study's part or optimizer)
    stays text when one of its non-empty cells is not a number."""
    if name in SUMMARY_COLUMNS:
        return False
    filled = cells[cells.str.strip() != ""]
    return bool(pd.to_numeric(filled, errors="coerce").isna().any())


def _cell_text(cell: str) -> str:
    """A file's text cell for a table: one line, no control characters, at most TEXT_MAX."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(cell)[:TEXT_MAX])


def checkpoint_file(root: Path, summary: Path, rel: str) -> Path | None:
    """The run's checkpoint file named in the summary (relative to the summary's folder), or
    None unless it is a regular file inside `root` (no `..`, absolute path or link out)."""
    return checkpoint_files(root, summary, [rel])[0]


def checkpoint_files(root: Path, summary: Path, rels: list[str]) -> list[Path | None]:
    """checkpoint_file of each name, the root and the summary's folder resolved once (a
    summary names ~150 runs, and the Sweep tab asks on every rerun): each name is still
    resolved and checked against the root on its own."""
    try:
        folder = sources.relative(root.resolve(), summary.resolve().parent)
    except (OSError, ValueError, RuntimeError):
        return [None] * len(rels)
    return [_inside_file(root, folder, rel) for rel in rels]


def _inside_file(root: Path, folder: str, rel: str) -> Path | None:
    try:
        if not rel or Path(rel).is_absolute():
            return None
        path = sources.inside(root, f"{folder}/{rel}")
        return path if path.is_file() else None
    except (sources.SourceError, OSError, ValueError, RuntimeError):
        return None
