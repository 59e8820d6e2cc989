"""The Sweep tab: a sweep's summary.csv laid out with Streamlit (charts: rflr.app.sweep_charts).

`sweep_view(summary_path)` returns the run the user picked, so that the caller can open
its checkpoint in the layer view.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from rflr.app.sweep_charts import (
    LABELS,
    depth_chart,
    distribution_chart,
    scatter_chart,
    symmetric_chart,
)
from rflr.metrics import SYMMETRIC_DEFECT
from rflr.summary import SWEEP_NAME, model_stats, read_summary


@dataclass
class SweepSelection:
    """The run picked in the sweep view."""

    run_id: str
    checkpoint: str  # its final file, relative to the summary's folder (as in summary.csv)
    path: Path | None  # summary folder / checkpoint when that file exists, else None


def sweep_view(summary_path: str | Path) -> SweepSelection | None:
    """Render a sweep summary; returns the selected run (None when the summary is empty)."""
    path = Path(summary_path)
    if not path.is_file():
        st.warning(f"No sweep summary at `{path}`. Run `python train.py --preset poster`.")
        return None
    stat = path.stat()
    df = _summary(str(path), stat.st_mtime_ns, stat.st_size)
    if df.empty:
        st.info("The sweep summary has no runs.")
        return None
    record = _sweep_record(path.parent / SWEEP_NAME)

    counts = ", ".join(f"{n} {LABELS.get(m, m)}" for m, n in df["model"].value_counts().items())
    st.markdown(f"**{len(df)} reruns** ({counts}) from `{path}`.")
    if record:
        machine = record.get("machine", {})
        st.caption(
            f"`{record.get('command', '')}` · {record.get('started_utc', '')} · "
            f"{record.get('wall_time_s', float('nan')) / 60:.1f} min on "
            f"{machine.get('cpu_count', '?')} CPUs, torch {machine.get('torch', '?')}"
        )

    stats = model_stats(df)
    cols = st.columns(len(stats))
    for col, (model, r) in zip(cols, stats.iterrows(), strict=True):
        col.metric(
            f"{LABELS.get(model, model)}: symmetric reruns",
            f"{int(r['symmetric'])}/{int(r['reruns'])}",
            help=f"headline active partial defect < {SYMMETRIC_DEFECT:g} (diverged runs count "
            "as not symmetric)",
        )
        col.caption(
            f"median test MSE {r['test_mse_median']:.2e} · median headline defect "
            f"{r['headline_median']:.2e} · diverged {int(r['diverged'])}"
        )

    left, right = st.columns(2)
    left.altair_chart(distribution_chart(df, "test_mse", "test MSE"), width="stretch")
    right.altair_chart(
        distribution_chart(df, "headline_defect", "headline active partial defect"),
        width="stretch",
    )
    left, right = st.columns([2, 1])
    left.altair_chart(scatter_chart(df), width="stretch")
    right.altair_chart(symmetric_chart(df), width="stretch")
    st.altair_chart(depth_chart(df), width="stretch")

    st.markdown("**Pick a run** (sorted by model, then headline defect)")
    order = df.sort_values(["model", "headline_defect"], ascending=[False, True])
    exists = {
        r: (path.parent / c).is_file() for r, c in zip(df["run_id"], df["checkpoint"], strict=True)
    }
    by_id = df.set_index("run_id")
    options = list(order["run_id"])
    default = next((i for i, r in enumerate(options) if exists[r]), 0)

    def describe(run_id: str) -> str:
        r = by_id.loc[run_id]
        mark = " · file here" if exists[run_id] else ""
        return (
            f"{run_id} · MSE {r['test_mse']:.1e} · defect {r['headline_defect']:.1e}"
            f" · {r['status']}{mark}"
        )

    run_id = st.selectbox("run", options, index=default, format_func=describe, key="sweep_run")
    row = by_id.loc[run_id]
    file = path.parent / row["checkpoint"]
    if exists[run_id]:
        st.caption(f"Checkpoint: `{file}`")
    else:
        st.caption(
            f"`{row['checkpoint']}` is not in `{path.parent}` (only a few runs are shipped); "
            "rerun the sweep to get every file."
        )
    floats = [c for c in order.columns if order[c].dtype.kind == "f" and c not in ("lr",)]
    st.dataframe(
        order,
        hide_index=True,
        height=260,
        column_config={c: st.column_config.NumberColumn(format="%.2e") for c in floats},
    )
    return SweepSelection(run_id, row["checkpoint"], file if exists[run_id] else None)


@st.cache_data(max_entries=4, show_spinner=False)
def _summary(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    """read_summary, cached on the file's identity (mtime and size change when it is rewritten)."""
    return read_summary(path)


def _sweep_record(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
