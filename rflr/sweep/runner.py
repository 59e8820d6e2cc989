"""A sweep: many controlled reruns, one progress bar, one summary table.

`python train.py --preset poster` comes here (rflr.cli.train dispatches every preset marked
`sweep=True`). The jobs of a sweep share one training protocol (target, data, batch size,
optimizer, schedule) and differ only in the model and the seed. The sweep trains them one
job after the other, then reads every run's final checkpoint header back and writes:

    OUT/<run_id>/step-*.safetensors   every run's final file (and snapshots of a few seeds)
    OUT/summary.csv                   one row per run (columns: rflr.sweep.summary.SUMMARY_COLUMNS)
    OUT/sweep.json                    command, date, wall time, machine, definitions

and, when a ship folder is given (the poster preset: checkpoints/poster), copies the
summary, sweep.json and a handful of the checkpoints there, keeping the same relative
paths so that the summary's `checkpoint` column resolves for the shipped runs.
The summary's schema, its rows, statistics and poster claims live in rflr.sweep.summary.
"""

from __future__ import annotations

import json
import math
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from rflr.core.config import RunConfig
from rflr.files.checkpoint import (
    CheckpointError,
    Header,
    atomic_write,
    current_umask,
    read_header,
    snapshot_path,
)
from rflr.files.provenance import git_commit, load_average, machine_info
from rflr.measure import metrics as metriclib
from rflr.measure.metrics import SYMMETRIC_DEFECT
from rflr.sweep.executors import LocalExecutor, Outcome, Task
from rflr.sweep.grid import seed_blocks
from rflr.sweep.summary import (
    COMPARABLE_MSE_FACTOR,
    SUMMARY_COLUMNS,
    SUMMARY_NAME,
    SWEEP_NAME,
    failed_row,
    format_stats,
    pick_shipped,
    summarize,
    summary_row,
)
from rflr.train.identity import RunConflict, differences, run_files
from rflr.train.trainer import Job, block_and_threads


def ship(df: pd.DataFrame, out: Path, dest: Path, snapshot_runs: list[str]) -> list[Path]:
    """Replace `dest` with summary.csv, sweep.json, the picked final files and every snapshot
    of `snapshot_runs`, at the same relative paths as in `out`. Returns the copied files."""
    if dest.exists() and not dest.is_dir():
        raise FileExistsError(f"--ship {dest}: is a file, not a folder")
    if dest.exists() and any(dest.iterdir()) and not (dest / SWEEP_NAME).exists():
        raise FileExistsError(f"{dest} exists and holds no {SWEEP_NAME}: not a shipped sweep")
    dest.parent.mkdir(parents=True, exist_ok=True)
    # a fresh private folder beside dest (same filesystem: the final rename is atomic); it is
    # the only folder this function ever deletes, with dest's previous shipped contents
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.staging-"))
    try:
        staging.chmod(0o777 & ~current_umask())  # mkdtemp's 0700 would stick to dest
        copied = _stage(df, out, dest, staging, snapshot_runs)
        if dest.exists():
            old = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.old-"))
            dest.rename(old / "shipped")
            staging.rename(dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return copied


def _stage(df: pd.DataFrame, out: Path, dest: Path, staging: Path, snapshot_runs: list[str]):
    files = [out / SUMMARY_NAME, out / SWEEP_NAME]
    by_id = df.set_index("run_id")
    files += [out / by_id.loc[r, "checkpoint"] for r in pick_shipped(df)]
    for r in snapshot_runs:
        files += sorted((out / r).glob("step-*.safetensors"))
    copied = []
    for f in dict.fromkeys(files):  # ordered, without duplicates
        target = staging / f.relative_to(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, target)
        copied.append(dest / f.relative_to(out))
    return copied


# --- running a sweep -------------------------------------------------------------------------

# The progress bar's cost model (seconds on one CPU thread; fitted to the poster sweep's job
# times in checkpoints/poster/sweep.json): a step of a stacked block costs STEP_S plus, per
# seed, SEED_S and PARAM_S per parameter and sample. Only the ETA uses it: dense seeds cost
# ~5x RF-LR seeds, so counting seed-steps would misjudge a mixed sweep.
STEP_S, SEED_S, PARAM_S = 2e-4, 3e-6, 4e-10


def estimated_seconds(cfg: RunConfig, n_seeds: int, block: int) -> float:
    """Rough wall time of training `n_seeds` seeds of `cfg` in blocks of `block`."""
    n, r, depth = cfg.model.width, cfg.model.rank_or_none, cfg.model.depth
    params = depth * n * 2 * r + 2 * n if r is not None else max(depth - 1, 1) * n * n + 3 * n
    per_seed = SEED_S + PARAM_S * params * cfg.train.batch_size
    return cfg.train.steps * (math.ceil(n_seeds / block) * STEP_S + n_seeds * per_seed)


def finished_header(cfg: RunConfig, out: Path, overwrite: bool = False) -> Header | None:
    """The final header of the run `cfg` (one seed) if it already ran to the end in `out`
    with this very config (a diverged run ends early) and every file of it reads, else None.
    A file of another config under the same id is a RunConflict, unless `overwrite` (then
    the run is retrained and the trainer replaces the other run's files)."""
    try:
        headers = [read_header(path) for path in run_files(out, cfg.run_id)]
    except CheckpointError:
        return None  # a damaged file: the run is retrained over it (TrainOptions.replace_damaged)
    final = snapshot_path(out, cfg, cfg.train.steps)
    header = next((h for h in headers if h.path == final), None)
    if header is None and headers and headers[-1].status == "diverged":
        header = headers[-1]
    if header is None:
        return None
    diffs = differences(header.config.to_dict(), cfg.to_dict())
    if diffs and not overwrite:
        raise RunConflict(
            f"{header.path} is a different run with the same id ({'; '.join(diffs[:6])}); "
            "use another --out, or --overwrite to replace it"
        )
    return None if diffs else header


@dataclass
class _Block:
    """One config's block of seeds: the runs already finished and the task for the rest."""

    config: int  # index of the job (config) it belongs to
    seeds: list[int]
    finished: dict[int, Header]
    task: Task | None
    cost: float
    block: int
    threads: int
    outcome: Outcome | None = None


def run_sweep(
    jobs: list[Job],
    out: Path,
    threads: int | None = None,
    resume: bool = False,
    progress: bool = True,
    executor=None,
    points: list[dict[str, Any]] | None = None,
    seeds_per_task: int | None = None,
) -> tuple[pd.DataFrame, list[dict]]:
    """Train every job into `out` as tasks of `seeds_per_task` seeds; the summary and one
    record per task.

    `executor` (rflr.sweep.executors; default: in this process) runs the tasks. With `resume`,
    runs already finished in their folder with the same config are read back instead of
    retrained, and a task cut short goes on from the trainer's resume file. A task that
    fails twice leaves rows with status "failed". `points` (one per job): the swept values,
    added as summary columns.
    """
    executor = executor or LocalExecutor()
    points = points or [{} for _ in jobs]
    blocks: list[_Block] = []
    tasks: list[Task] = []
    for k, job in enumerate(jobs):
        for seeds in seed_blocks(job.seeds, seeds_per_task):
            cfgs = {s: replace(job.config, seed=s, run_id="") for s in seeds}
            done = {
                s: h
                for s, c in cfgs.items()
                if resume and (h := finished_header(c, job.options.out, job.options.overwrite))
            }
            todo = [s for s in seeds if s not in done]
            block, n_threads = block_and_threads(
                job.config, len(todo) or 1, job.options.seed_block, threads, job.options.device
            )
            task = None
            if todo:
                opts = replace(
                    job.options,
                    resume=resume,
                    progress=False,
                    on_steps=None,
                    replace_damaged=True,
                    snapshot_seeds=_snapshot_seeds(job, todo),
                )
                task = Task(len(tasks), Job(job.config, todo, opts), n_threads)
                tasks.append(task)
            cost = estimated_seconds(job.config, len(todo), block)
            blocks.append(_Block(k, seeds, done, task, cost, block, n_threads))
    by_task = {b.task.index: b for b in blocks if b.task is not None}
    bar = _sweep_bar(sum(b.cost for b in by_task.values())) if progress else None
    counted = dict.fromkeys(by_task, 0.0)

    def on_steps(i: int, seed_steps: int) -> None:
        b = by_task[i]
        per = b.cost / (len(b.task.job.seeds) * max(b.task.job.config.train.steps, 1))
        add = min(seed_steps * per, b.cost - counted[i])
        counted[i] += add
        if bar is not None:
            bar.update(add)

    def on_done(outcome: Outcome) -> None:
        b = by_task[outcome.index]
        b.outcome = outcome
        if bar is not None:  # diverged seeds stop early; a remote task reports only its end
            bar.update(b.cost - counted[outcome.index])
            failed = sum(
                x.outcome is not None and x.outcome.error is not None for x in by_task.values()
            )
            bar.set_postfix_str(
                f"tasks {sum(x.outcome is not None for x in by_task.values())}/{len(tasks)}"
                + (f", {failed} failed" if failed else "")
            )

    executor.run(tasks, on_done, on_steps)
    if bar is not None:
        bar.close()
    rows, timings = [], []
    for b in blocks:
        job = jobs[b.config]
        rows += _block_rows(b, job, out, points[b.config])
        timings.append(_timing(b, job, out, points[b.config]))
    return summarize(rows, extra=_extra_columns(points)), timings


def _snapshot_seeds(job: Job, todo: list[int]) -> int | None:
    """How many of a task's seeds keep intermediate snapshots: those among the job's first
    `snapshot_seeds`, whichever task trains them (a prefix of `todo`, in the job's order),
    so that a run's files do not depend on how the seeds were cut into tasks."""
    k = job.options.snapshot_seeds
    return None if k is None else len(set(todo) & set(job.seeds[:k]))


def _block_rows(b: _Block, job: Job, out: Path, point: dict[str, Any]) -> list[dict]:
    """The block's summary rows, in seed order: finished runs from their headers, the rest
    from the task's files, or marked failed (a run that did finish before is still read)."""
    paths = (
        dict(zip(b.task.job.seeds, b.outcome.paths, strict=True))
        if b.task and b.outcome and b.outcome.paths
        else {}
    )
    rows = []
    for s in b.seeds:
        cfg = replace(job.config, seed=s, run_id="")
        header = b.finished.get(s)
        if header is None and s in paths:
            header = read_header(paths[s])
        if header is None:
            header = finished_header(cfg, job.options.out, overwrite=True)  # None if another run
        row = (
            summary_row(header, out)
            if header is not None
            else failed_row(cfg, job.options.out, out)
        )
        rows.append({**row, **point})
    return rows


def _timing(b: _Block, job: Job, out: Path, point: dict[str, Any]) -> dict:
    cfg = job.config
    o = b.outcome
    return {
        "config": job.options.out.relative_to(out).as_posix() if job.options.out != out else ".",
        "model": cfg.model.kind,
        "width": cfg.model.width,
        "rank": cfg.model.rank_or_none,
        "depth": cfg.model.depth,
        **{k: v for k, v in point.items() if k not in ("model", "width", "rank", "depth")},
        "seeds": len(b.seeds),
        "trained": len(b.task.job.seeds) if b.task else 0,
        "steps": cfg.train.steps,
        "threads": b.threads,
        "seed_block": b.block,
        "wall_time_s": round(o.wall_time_s, 1) if o else 0.0,
        "reused": b.task is None,
        "status": "failed" if o and o.error else "ok",
        **({"error": o.error} if o and o.error else {}),
    }


def _extra_columns(points: list[dict[str, Any]]) -> list[str]:
    keys = dict.fromkeys(k for p in points for k in p)
    return [k for k in keys if k not in SUMMARY_COLUMNS]


def _sweep_bar(total: float):
    from tqdm import tqdm

    return tqdm(
        total=total,
        bar_format="{percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}",
        dynamic_ncols=True,
        smoothing=0.02,
        mininterval=1.0,
    )


def write_sweep_json(path: Path, record: dict) -> None:
    atomic_write(path, (json.dumps(record, indent=2) + "\n").encode())


def run_preset(
    preset: str | None,
    jobs: list[Job],
    ship_to: Path | None,
    threads: int | None = None,
    resume: bool = False,
    progress: bool = True,
    argv: list[str] | None = None,
    executor=None,
    points: list[dict[str, Any]] | None = None,
    spec: dict[str, Any] | None = None,
    seeds_per_task: int | None = None,
    out: Path | None = None,
) -> int:
    """`train.py --preset poster` or a grid sweep: run it, write summary.csv and sweep.json,
    ship. `jobs` share one output folder, their sweep's (a grid's configs sit in subfolders
    of it); `spec` (a grid's) is recorded in sweep.json."""
    out = _shared_folder(jobs) if out is None else out
    out.mkdir(parents=True, exist_ok=True)
    started, load_start, t0 = datetime.now(UTC), load_average(), time.perf_counter()
    n_runs = sum(len(j.seeds) for j in jobs)
    name = preset or "grid"
    where = getattr(executor, "name", "local")
    print(
        f"sweep {name}: {len(jobs)} configs, {n_runs} runs, executor {where} -> {out}", flush=True
    )
    df, timings = run_sweep(jobs, out, threads, resume, progress, executor, points, seeds_per_task)
    wall = time.perf_counter() - t0
    atomic_write(out / SUMMARY_NAME, df.to_csv(index=False).encode())  # never half-written
    record = _sweep_record(preset, jobs, argv, df, timings, where, started, wall, load_start)
    if spec is not None:
        record["spec"] = spec
    if all(t["reused"] for t in timings):  # nothing was trained: only the summary was rebuilt
        _keep_training_record(record, out / SWEEP_NAME)
    write_sweep_json(out / SWEEP_NAME, record)
    print(f"\n{len(df)} reruns in {wall / 60:.1f} min -> {out / SUMMARY_NAME}\n")
    failed = [t for t in timings if t["status"] == "failed"]
    for t in failed:
        print(f"FAILED (twice): {t['config']} {t['model']} seeds {t['seeds']}: {t['error']}")
    print(format_stats(df))
    if ship_to is not None:
        _ship_first_seeds(df, jobs, out, ship_to)
    return 1 if failed else 0


def _shared_folder(jobs: list[Job]) -> Path:
    """A preset's output folder: the one --out its jobs share."""
    outs = {j.options.out for j in jobs}
    if len(outs) != 1:
        raise SystemExit(
            f"a sweep's jobs must share one --out folder, got {sorted(map(str, outs))}"
        )
    return outs.pop()


def _sweep_record(
    preset: str | None,
    jobs: list[Job],
    argv: list[str] | None,
    df: pd.DataFrame,
    timings: list[dict],
    where: str,
    started: datetime,
    wall: float,
    load_start: Any,
) -> dict[str, Any]:
    """sweep.json: the command, when and where it ran, each task's record, the definitions
    behind the summary's numbers, and the training protocol when the jobs share one."""
    record = {
        "preset": preset,
        "command": "python train.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_time_s": round(wall, 1),
        "executor": where,
        "reruns": len(df),
        "failed": int((df["status"] == "failed").sum()),
        "jobs": timings,
        "definitions": {
            "symmetric_defect": SYMMETRIC_DEFECT,
            "comparable_mse_factor": COMPARABLE_MSE_FACTOR,
            "activity_threshold": metriclib.ACTIVITY_THRESHOLD,
            "parity_tau": metriclib.PARITY_TAU,
            "grid_points": jobs[0].options.metrics_grid_points,
        },
        "machine": machine_info(),
        "load_average_start": load_start,
        "load_average_end": load_average(),
        "git": git_commit(),
    }
    protocols = {json.dumps(_protocol(j.config), sort_keys=True) for j in jobs}
    if len(protocols) == 1:  # the models share one training protocol (a preset's sweep)
        record["protocol"] = _protocol(jobs[0].config)
    return record


def _keep_training_record(record: dict[str, Any], previous: Path) -> None:
    """A sweep that trained nothing only rebuilt its summary: the training record in the
    sweep.json before it (command, times, tasks, machine) stands, if there is one."""
    if not previous.is_file():
        return
    try:
        old = json.loads(previous.read_text())
    except ValueError:  # a damaged sweep.json: the new record replaces it
        old = {}
    old = old if isinstance(old, dict) else {}
    for key in ("command", "started_utc", "finished_utc", "wall_time_s", "jobs", "machine"):
        record[key] = old.get(key, record[key])
    for key in ("load_average_start", "load_average_end", "git", "executor"):
        record[key] = old.get(key)
    record["summary_rebuilt_utc"] = datetime.now(UTC).isoformat(timespec="seconds")


def _ship_first_seeds(df: pd.DataFrame, jobs: list[Job], out: Path, ship_to: Path) -> None:
    """Ship the summary with the snapshots of each job's first seed."""
    first = [
        (j.options.out / replace(j.config, seed=j.seeds[0], run_id="").run_id)
        .relative_to(out)
        .as_posix()
        for j in jobs
    ]
    copied = ship(df, out, ship_to, snapshot_runs=first)
    size = sum(p.stat().st_size for p in copied)
    print(f"\nshipped {len(copied)} files ({size / 1e6:.1f} MB) -> {ship_to}")


def _protocol(cfg: RunConfig) -> dict[str, Any]:
    d = cfg.to_dict()
    return {
        "target": d["target"],
        "train": d["train"],
        "parameterization": cfg.model.parameterization,
        "train_atoms": cfg.model.train_atoms,
    }
