"""A sweep: many controlled reruns, one progress bar, one summary table.

`python train.py --preset poster` comes here (rflr.cli dispatches every preset marked
`sweep=True`). The jobs of a sweep share one training protocol (target, data, batch size,
optimizer, schedule) and differ only in the model and the seed. The sweep trains them one
job after the other, then reads every run's final checkpoint header back and writes:

    OUT/<run_id>/step-*.safetensors   every run's final file (and snapshots of a few seeds)
    OUT/summary.csv                   one row per run (columns: rflr.summary.SUMMARY_COLUMNS)
    OUT/sweep.json                    command, date, wall time, machine, definitions

and, when a ship folder is given (the poster preset: checkpoints/poster), copies the
summary, sweep.json and a handful of the checkpoints there, keeping the same relative
paths so that the summary's `checkpoint` column resolves for the shipped runs.
The summary's schema, statistics and poster claims live in rflr.summary.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import torch

from rflr import metrics as metriclib
from rflr.checkpoint import Header, atomic_write, current_umask, read_header, snapshot_path
from rflr.config import RunConfig
from rflr.identity import RunConflict, differences
from rflr.metrics import SYMMETRIC_DEFECT, ends_symmetric
from rflr.plateaus import history_plateaus
from rflr.provenance import git_commit, load_average, machine_info
from rflr.summary import (
    COMPARABLE_MSE_FACTOR,
    SUMMARY_COLUMNS,
    SUMMARY_NAME,
    SWEEP_NAME,
    format_stats,
    pick_shipped,
    with_count_types,
)
from rflr.trainer import Job, RunResult, block_and_threads, train

# --- one row per run --------------------------------------------------------------------------


def _num(x) -> float:
    """JSON null (a NaN when it was saved) -> NaN."""
    return float("nan") if x is None else float(x)


def summary_row(header: Header, root: Path) -> dict:
    """The summary.csv row of one run, from its final checkpoint's header alone."""
    cfg, m, hist = header.config, header.metrics, header.history
    layers = m.get("layers", [])
    head = layers[-1] if layers else {}
    status = header.status
    headline = _num(m.get("headline_defect"))
    shape = history_plateaus(hist)
    losses = [v for v in hist.get("train_loss", []) if v is not None]
    row = {
        "run_id": cfg.run_id,
        "model": cfg.model.kind,
        "seed": cfg.seed,
        "width": cfg.model.width,
        "rank": cfg.model.rank_or_none,
        "depth": cfg.model.depth,
        "lr": cfg.train.lr,
        "schedule": cfg.train.schedule,
        "steps": cfg.train.steps,
        "status": status,
        "step": header.step,
        "diverged_at_step": m.get("diverged_at_step"),
        "test_mse": _num(m.get("test_mse")),
        "final_train_loss": losses[-1] if losses else float("nan"),
        "output_defect": _num(m.get("output_defect")),
        "headline_layer": head.get("name"),
        "headline_defect": headline,
        "headline_active": head.get("active"),
        "headline_channels": head.get("channels"),
        "headline_even": head.get("even"),
        "headline_odd": head.get("odd"),
        "headline_mixed": head.get("mixed"),
        "symmetric": ends_symmetric(m),
        "atom_pairing_defect": _num(m.get("atom_pairing_defect")),
        "atom_outgoing_mismatch": _num(m.get("atom_outgoing_mismatch")),
        "alive_atoms": m.get("alive_atoms"),
        "plateaus": len(shape.plateaus),
        "drops": len(shape.drops),
        "first_plateau_end": shape.plateaus[0].end_step if shape.plateaus else float("nan"),
        "first_plateau_loss": shape.plateaus[0].loss if shape.plateaus else float("nan"),
        "checkpoint": header.path.relative_to(root).as_posix(),
    }
    for k, layer in enumerate(layers, start=1):
        row[f"layer{k}_name"] = layer.get("name")
        row[f"layer{k}_defect"] = _num(layer.get("defect_mean"))
        row[f"layer{k}_active"] = layer.get("active")
    return row


def summarize(headers: list[Header], root: Path) -> pd.DataFrame:
    """summary.csv as a DataFrame: one row per run, fixed columns first, then layers."""
    df = pd.DataFrame([summary_row(h, root) for h in headers])
    part_order = {"name": 0, "defect": 1, "active": 2}
    layer_cols = sorted(
        (c for c in df.columns if c.startswith("layer")),
        key=lambda c: (int(c[5:].split("_")[0]), part_order[c.split("_", 1)[1]]),
    )
    return with_count_types(df[SUMMARY_COLUMNS + layer_cols])


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


def _finished_headers(
    cfg: RunConfig, seeds: list[int], out: Path, overwrite: bool = False
) -> list[Header] | None:
    """The final headers of a job that already ran to the end in `out`, else None (resume).
    A final file of another config under the same id is a RunConflict (unless overwrite)."""
    headers = []
    for s in seeds:
        run = replace(cfg, seed=s, run_id="")
        final = snapshot_path(out, run, cfg.train.steps)
        if final.exists():
            header = read_header(final)
            diffs = differences(header.config.to_dict(), run.to_dict())
            if diffs:  # the same id, another run: never reused as this one
                if overwrite:
                    return None  # retrained; the trainer removes the other run's files
                raise RunConflict(
                    f"{final} is a different run with the same id ({'; '.join(diffs[:6])}); "
                    "use another --out, or --overwrite to replace it"
                )
            headers.append(header)
            continue
        files = sorted((out / run.run_id).glob("step-*.safetensors"))
        last = read_header(files[-1]) if files else None
        if last is None or last.status != "diverged":
            return None
        headers.append(last)
    return headers


def run_sweep(
    jobs: list[Job],
    out: Path,
    threads: int | None = None,
    resume: bool = False,
    progress: bool = True,
) -> tuple[pd.DataFrame, list[dict]]:
    """Train every job into `out`, one after the other; the summary and per-job timings.

    Jobs whose final files are all in `out` are read back instead of retrained when
    `resume` is set; a job cut short is resumed by the trainer's own resume file.
    """
    total = sum(len(j.seeds) * j.config.train.steps for j in jobs)
    bar = _sweep_bar(total) if progress else None
    headers: list[Header] = []
    timings = []
    for i, job in enumerate(jobs, start=1):
        cfg, seeds, opts = job.config, job.seeds, job.options
        job_total = len(seeds) * cfg.train.steps
        done = [0]

        def advance(n: int, done: list[int] = done) -> None:
            done[0] += n
            if bar is not None:
                bar.update(n)

        if bar is not None:
            bar.set_postfix_str(f"job {i}/{len(jobs)}: {cfg.model.kind} seeds {len(seeds)}")
        t0 = time.perf_counter()
        finished = _finished_headers(cfg, seeds, out, opts.overwrite) if resume else None
        block, n_threads = block_and_threads(cfg, len(seeds), opts.seed_block, threads, opts.device)
        if finished is None:
            torch.set_num_threads(n_threads)
            job_opts = replace(opts, out=out, resume=resume, progress=False, on_steps=advance)
            results: list[RunResult] = train(cfg, seeds, job_opts)
            finished = [read_header(r.path) for r in results]
        headers += finished
        if bar is not None:  # diverged seeds stop early; a resumed job was counted elsewhere
            bar.update(job_total - done[0])
        timings.append(
            {
                "model": cfg.model.kind,
                "width": cfg.model.width,
                "rank": cfg.model.rank_or_none,
                "depth": cfg.model.depth,
                "seeds": len(seeds),
                "steps": cfg.train.steps,
                "threads": n_threads,
                "seed_block": block,
                "wall_time_s": round(time.perf_counter() - t0, 1),
                "reused": done[0] == 0 and job_total > 0,
            }
        )
    if bar is not None:
        bar.close()
    return summarize(headers, out), timings


def _sweep_bar(total: int):
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="seed-step",
        unit_scale=True,
        dynamic_ncols=True,
        smoothing=0.02,
        mininterval=1.0,
    )


def write_sweep_json(path: Path, record: dict) -> None:
    atomic_write(path, (json.dumps(record, indent=2) + "\n").encode())


def run_preset(
    preset: str,
    jobs: list[Job],
    ship_to: Path | None,
    threads: int | None = None,
    resume: bool = False,
    progress: bool = True,
    argv: list[str] | None = None,
) -> int:
    """`train.py --preset poster`: run the sweep, write summary.csv and sweep.json, ship."""
    outs = {j.options.out for j in jobs}
    if len(outs) != 1:
        raise SystemExit(
            f"a sweep's jobs must share one --out folder, got {sorted(map(str, outs))}"
        )
    out = outs.pop()
    out.mkdir(parents=True, exist_ok=True)
    started, load_start, t0 = datetime.now(UTC), load_average(), time.perf_counter()
    n_runs = sum(len(j.seeds) for j in jobs)
    print(f"sweep {preset}: {len(jobs)} jobs, {n_runs} reruns -> {out}", flush=True)
    df, timings = run_sweep(jobs, out, threads, resume, progress)
    wall = time.perf_counter() - t0
    atomic_write(out / SUMMARY_NAME, df.to_csv(index=False).encode())  # never half-written
    cfg0 = jobs[0].config
    record = {
        "preset": preset,
        "command": "python train.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_time_s": round(wall, 1),
        "reruns": len(df),
        "jobs": timings,
        "protocol": {
            "target": cfg0.to_dict()["target"],
            "train": cfg0.to_dict()["train"],
            "parameterization": cfg0.model.parameterization,
            "train_atoms": cfg0.model.train_atoms,
        },
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
    previous = out / SWEEP_NAME
    if all(t["reused"] for t in timings) and previous.is_file():
        # nothing was trained: only the summary was rebuilt; the training record stands
        try:
            old = json.loads(previous.read_text())
        except ValueError:  # a damaged sweep.json: the new record replaces it
            old = {}
        old = old if isinstance(old, dict) else {}
        for key in ("command", "started_utc", "finished_utc", "wall_time_s", "jobs", "machine"):
            record[key] = old.get(key, record[key])
        for key in ("load_average_start", "load_average_end", "git"):
            record[key] = old.get(key)
        record["summary_rebuilt_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
    write_sweep_json(previous, record)
    print(f"\n{len(df)} reruns in {wall / 60:.1f} min -> {out / SUMMARY_NAME}\n")
    print(format_stats(df))
    if ship_to is not None:
        first = [replace(j.config, seed=j.seeds[0], run_id="").run_id for j in jobs]
        copied = ship(df, out, ship_to, snapshot_runs=first)
        size = sum(p.stat().st_size for p in copied)
        print(f"\nshipped {len(copied)} files ({size / 1e6:.1f} MB) -> {ship_to}")
    return 0
