"""The Sweep tab: a sweep's summary.csv laid out with Streamlit (charts: rflr.views.sweep_charts;
the file read defensively by rflr.views.sweep_table).

A run with its checkpoint in the folder opens in the layer view: by clicking its point in the
scatter (filled points have their file here; a click on a hollow one says why it does not
open), or by picking it and pressing the button. The summary and the picked run are in the
URL (sweep=, srun=).

A study's summary (a `part` column, study.json beside it) holds runs of different configs that
answer different questions: it is shown part by part, with one row per part, config and model,
never pooled into one number. So is a grid sweep with more than one config per model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from rflr.explorer.escape import md
from rflr.explorer.picks import TabInput
from rflr.explorer.specs import chart_ui, spec
from rflr.explorer.tabs import layer
from rflr.explorer.url import set_kept
from rflr.measure.metrics import SYMMETRIC_DEFECT
from rflr.sweep.stats import swept_keys
from rflr.sweep.summary import SWEEP_NAME, format_number, model_stats
from rflr.views import catalog, grid_charts, sources, sweep_table
from rflr.views.sweep_charts import (
    LABELS,
    depth_chart,
    distribution_chart,
    model_order,
    scatter_chart,
    symmetric_chart,
)

NAME = "Sweep"
SUMMARY_NAME = "summary.csv"
STUDY_NAME = "study.json"  # rflr.sweep.study.STUDY_NAME (training code: not imported here)
RECORD_MAX_BYTES = 1 << 20


@dataclass
class SweepSelection:
    """The run picked in the sweep view."""

    run_id: str
    checkpoint: str  # its final file, relative to the summary's folder (as in summary.csv)
    path: Path | None  # the file inside the root when it exists, else None


def draw(t: TabInput) -> None:
    """A sweep's reruns at once; a picked or clicked run opens in the layer view."""
    root, cat = t.root, t.cat
    st.subheader("Sweep: many controlled reruns")
    found = summaries(root, cat)
    if not found:
        st.info(
            f"No sweep summary ({SUMMARY_NAME}) below {md(root)}. `python train.py --preset "
            "poster` writes one; the shipped set has checkpoints/poster/summary.csv."
        )
        return
    if st.session_state.get("w_sweep") not in found:
        set_kept("w_sweep", found[0])
    rel = st.selectbox("Summary", found, key="w_sweep")
    try:
        selection = sweep_view(root, rel)
    except Exception as e:  # the last guard: a summary must never take the page down
        st.error(f"This summary cannot be shown ({type(e).__name__}).")
        return
    if selection is not None and selection.path is not None:
        file = sources.relative(root.resolve(), selection.path)
        st.button(
            f"Open {md(selection.run_id)} in the layer view",
            on_click=layer.open_checkpoint,
            args=(file,),
            key="open",
        )


def summaries(root: Path, cat: catalog.Catalog) -> list[str]:
    """The sweep summaries below root (relative paths), a sweep's (sweep.json beside it, its
    runs' files shipped) before a study's: the first is the one shown first."""
    found = [
        f"{d}/{SUMMARY_NAME}" if d != "." else SUMMARY_NAME
        for d in cat.folders
        if (root / d / SUMMARY_NAME).is_file()
    ]
    found.sort(key=lambda f: not (root / f).with_name(SWEEP_NAME).is_file())
    return found


def sweep_view(root: Path, rel: str) -> SweepSelection | None:
    """Render a sweep summary (a path below root); returns the picked run, None if none."""
    try:
        path = sources.inside(root, rel)
        stat = path.stat()
    except (sources.SourceError, OSError) as e:
        st.warning(f"No sweep summary at {md(rel)} ({md(e)}).")
        return None
    source = (str(path), stat.st_mtime_ns, stat.st_size)  # the key of all that is read from it
    df, error = summary_table(*source)
    if error:
        st.error(f"{md(rel)}: {md(error)}")
        return None
    if df.empty:
        st.info("The sweep summary has no runs.")
        return None
    record = _sweep_record(path.parent / SWEEP_NAME) or _sweep_record(path.parent / STUDY_NAME)
    _header_ui(df, rel, record)
    study = "part" in df.columns
    if study:  # every part's configs, then one part at a time
        df, source = _study_part_ui(df, source, record)
    one_config = not sweep_table.configs(df)  # one config per model: one number per model
    if one_config:
        _model_stats_ui(df)
    elif not study:  # a grid sweep (a study's parts are all in its table above)
        _config_table_ui(df, source)
    files = dict(
        zip(
            df["run_id"],
            sweep_table.checkpoint_files(root, path, list(df["checkpoint"])),
            strict=True,
        )
    )
    with_files = {r: sources.relative(root.resolve(), f) for r, f in files.items() if f}
    st.session_state.sweep_files = with_files  # what a click on a point opens
    _charts_ui(df, source, tuple(sorted(with_files)), _rerun_command(record), one_config)
    if study or spec(grid_charts.sweep_charts, source, df, swept_keys(df)):
        _grid_view(df, source)
    order = df.sort_values(["model", "headline_defect"], ascending=[False, True])
    selection = _run_picker_ui(root, df, order, files, with_files)
    _table_ui(order)
    return selection


def _header_ui(df: pd.DataFrame, rel: str, record: dict) -> None:
    """How many reruns of each model, and the command and machine that ran them."""
    n = df["model"].value_counts()
    counts = ", ".join(f"{n[m]} {md(LABELS.get(m, m))}" for m in model_order(list(n.index)))
    st.markdown(f"**{len(df)} reruns** ({counts}) from {md(rel)}.")
    if record:
        machine = record.get("machine") if isinstance(record.get("machine"), dict) else {}
        minutes = record.get("wall_time_s")
        said = [md(record.get("command", "")), md(record.get("started_utc", ""))]
        if isinstance(minutes, int | float):  # a sweep's record; a study's has none
            said.append(
                f"{minutes / 60:.1f} min on {md(machine.get('cpu_count', '?'))} CPUs, "
                f"torch {md(machine.get('torch', '?'))}"
            )
        st.caption(" · ".join(x for x in said if x))


def _model_stats_ui(df: pd.DataFrame) -> None:
    """One metric per model (RF-LR first): its symmetric reruns, with medians and
    divergences below."""
    stats = model_stats(df)
    stats = stats.loc[model_order(list(stats.index))]
    cols = st.columns(len(stats))
    for col, (model, r) in zip(cols, stats.iterrows(), strict=True):
        col.metric(
            f"{md(LABELS.get(model, model))}: symmetric reruns",
            f"{int(r['symmetric'])}/{int(r['reruns'])}",
            help=f"Symmetric: the headline active partial defect (mean D of the active "
            f"channels of the deepest partial layer) is below {SYMMETRIC_DEFECT:g}; diverged "
            "runs count as not symmetric.",
        )
        col.caption(
            f"median test MSE {_num(r['test_mse_median'])} · median headline defect "
            f"{_num(r['headline_median'])} · diverged {int(r['diverged'])}"
        )


def _study_part_ui(df: pd.DataFrame, source: tuple, record: dict) -> tuple[pd.DataFrame, tuple]:
    """A study: one row per part, config and model, then the part the charts below show."""
    parts = list(dict.fromkeys(df["part"]))
    st.markdown(
        f"**A study of {len(parts)} parts**: each asks its own question at its own configs, so "
        "its runs are counted per part and config, never pooled."
    )
    _config_table_ui(df, source)
    part = st.selectbox("study part", parts, key="sweep_part")
    question = next(
        (
            p.get("question")
            for p in record.get("parts", [])
            if isinstance(p, dict) and p.get("name") == part
        ),
        None,
    )
    if isinstance(question, str) and question:
        st.caption(f"{md(part)}: {md(question)}")
    return df[df["part"] == part], (*source, part)


def _config_table_ui(df: pd.DataFrame, source: tuple) -> None:
    """Symmetric reruns and medians per (part,) config and model: one row each."""
    rows = _config_rows(source, df)
    st.dataframe(
        rows,
        hide_index=True,
        height=min(36 + 35 * len(rows), 320),
        column_config={
            "median_test_mse": st.column_config.NumberColumn("median test MSE", format="%.2e"),
            "median_headline_defect": st.column_config.NumberColumn(
                "median headline defect", format="%.2e"
            ),
            "symmetric": st.column_config.TextColumn(
                "symmetric reruns",
                help=f"headline defect below {SYMMETRIC_DEFECT:g}; [95% Wilson interval]",
            ),
        },
    )


@st.cache_data(max_entries=8, show_spinner=False)
def _config_rows(source: tuple, _df: pd.DataFrame) -> pd.DataFrame:
    """sweep_table.config_rows once per summary (source: its identity): ~1 s on a study."""
    return sweep_table.config_rows(_df)


def _charts_ui(
    df: pd.DataFrame, source: tuple, files: tuple[str, ...], rerun: str, one_config: bool
) -> None:
    """The distributions, the clickable scatter (filled: the runs whose file is here), the
    symmetric counts (one config per model only), the depth profile, and a grid sweep's
    curves or heatmaps."""
    # Each chart is built once per summary (rflr.explorer.specs): building them took ~0.4 s a rerun.
    left, right = st.columns(2)
    chart_ui(distribution_chart, source, df, "test_mse", "test MSE", where=left, width="stretch")
    chart_ui(
        distribution_chart,
        source,
        df,
        "headline_defect",
        "headline active partial defect",
        where=right,
        width="stretch",
    )
    left, right = st.columns([2, 1]) if one_config else (st.container(), None)
    chart_ui(
        scatter_chart,
        source,
        df,
        True,  # pick: a click on a point selects its run
        files,
        where=left,
        width="stretch",
        on_select=_open_clicked,
        selection_mode="pick",
        key="sweep_scatter",
    )
    missing = st.session_state.get("sweep_missing")
    if missing is not None and missing in set(df["run_id"]):
        left.warning(
            f"{md(missing)}: this run's checkpoint is not in the folder: rerun with "
            f"{rerun} to get it."
        )
    elif files:
        left.caption("Click a filled point to open its run in the layer view.")
    if right is not None:
        chart_ui(symmetric_chart, source, df, where=right, width="stretch")
    chart_ui(depth_chart, source, df, width="stretch")


def _rerun_command(record: dict) -> str:
    """The command that wrote the summary, as markdown code ("its sweep" when unknown)."""
    command = record.get("command")
    if isinstance(command, str) and command.strip():
        return f"`{command.strip().replace('`', '')}`"
    return "its sweep's command"


def _run_picker_ui(
    root: Path,
    df: pd.DataFrame,
    order: pd.DataFrame,
    files: dict[str, Path | None],
    with_files: dict[str, str],
) -> SweepSelection | None:
    """Pick one of the runs whose checkpoint is in the folder (sorted by model, then
    headline defect); None when no run has its file here."""
    options = [r for r in order["run_id"] if r in with_files]
    by_id = df.set_index("run_id")
    if not options:
        st.info(
            f"None of these runs has its checkpoint in {md(root)} (only a few runs are "
            "shipped); rerun the sweep to get every file."
        )
        return None
    st.markdown(
        f"**Pick a run** ({len(options)} of {len(df)} have their checkpoint here; sorted "
        "by model, then headline defect)"
    )
    if st.session_state.get("sweep_run") not in options:
        set_kept("sweep_run", options[0])

    def describe(run_id: str) -> str:  # plain text: a select box does not render markdown
        r = by_id.loc[run_id]
        return (
            f"{run_id} · MSE {_num(r['test_mse'])} · defect {_num(r['headline_defect'])}"
            f" · {r['status']}"
        )

    run_id = st.selectbox("run", options, format_func=describe, key="sweep_run")
    st.caption(f"Checkpoint: {md(with_files[run_id])}")
    return SweepSelection(run_id, str(by_id.loc[run_id, "checkpoint"]), files[run_id])


def _table_ui(order: pd.DataFrame) -> None:
    """Every run's row. A checked summary holds numbers as floats (NaN allowed): seeds,
    widths and steps that are whole in every row are shown as integers, the rest in
    scientific notation."""
    floats = [c for c in order.columns if order[c].dtype.kind == "f" and c not in ("lr",)]
    whole = [c for c in floats if _whole(order[c])]
    formats = {c: "%d" if c in whole else "%.2e" for c in floats}
    st.dataframe(
        order,
        hide_index=True,
        height=260,
        column_config={c: st.column_config.NumberColumn(format=f) for c, f in formats.items()},
    )


def _whole(column) -> bool:
    """Every value present is a whole number (NaN rows aside)."""
    values = column.dropna()
    return len(values) > 0 and bool((values % 1 == 0).all())


def _open_clicked() -> None:
    """A click on a sweep point: open that run's checkpoint if it has one here; else note
    the run, and the tab says in one line why nothing opened."""
    ss = st.session_state
    event = ss.get("sweep_scatter")
    points = (event or {}).get("selection", {}).get("pick") or []
    run_id = points[0].get("run_id") if points and isinstance(points[0], dict) else None
    rel = ss.get("sweep_files", {}).get(run_id)
    ss["sweep_missing"] = None if rel or run_id is None else run_id
    if rel:
        set_kept("sweep_run", run_id)
        layer.open_checkpoint(rel)


def _num(v: object) -> str:
    return format_number(v if isinstance(v, int | float) else None, missing="–")


def _grid_view(df: pd.DataFrame, source: tuple) -> None:
    """A grid sweep (or one part of a study): curves over one swept key, heatmaps over two."""
    keys = swept_keys(df)
    st.markdown(f"**Grid sweep**: swept {', '.join(f'`{k}`' for k in keys) or 'nothing'}")
    specs = spec(grid_charts.sweep_charts, source, df, keys)  # once per summary (and part)
    for left, right in zip(specs[::2], specs[1::2] + [None] * (len(specs) % 2), strict=True):
        cols = st.columns(2)
        cols[0].vega_lite_chart(left, width="stretch")
        if right is not None:
            cols[1].vega_lite_chart(right, width="stretch")


@st.cache_data(max_entries=4, show_spinner=False)
def summary_table(path: str, mtime_ns: int, size: int) -> tuple[pd.DataFrame, str | None]:
    """(table, None) or (empty, reason); cached on the file's identity (mtime and size)."""
    try:
        return sweep_table.read_checked(path), None
    except sweep_table.SummaryError as e:
        return pd.DataFrame(), str(e)


def _sweep_record(path: Path) -> dict:
    try:
        if path.is_symlink() or path.stat().st_size > RECORD_MAX_BYTES:
            return {}
        record = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        return {}
    return record if isinstance(record, dict) else {}
