"""A sweep: many controlled reruns, one progress bar, one summary table.

`python train.py --preset poster` comes here (rflr.cli dispatches every preset marked
`sweep=True`). The jobs of a sweep share one training protocol (target, data, batch size,
optimizer, schedule) and differ only in the model and the seed. The sweep trains them one
job after the other, then reads every run's final checkpoint header back and writes:

    OUT/<run_id>/step-*.safetensors   every run's final file (and snapshots of a few seeds)
    OUT/summary.csv                   one row per run (columns: SUMMARY_COLUMNS, then layers)
    OUT/sweep.json                    command, date, wall time, machine, definitions

and, when a ship folder is given (the poster preset: checkpoints/poster), copies the
summary, sweep.json and a handful of the checkpoints there, keeping the same relative
paths so that the summary's `checkpoint` column resolves for the shipped runs.

Definitions used by the statistics (also written to sweep.json):

- a rerun has *symmetric active partials* when it trained without diverging and its
  headline active partial defect is below SYMMETRIC_DEFECT = 1e-3
  (rflr.analysis.ends_symmetric). The fraction of
  symmetric reruns of a model is counted over all its reruns (a diverged rerun counts as
  not symmetric): the SPEC's "trainable volume".
- medians and bests of test MSE and defects are over the reruns that did not diverge.
- the dense control fits "at comparable test MSE" when its median test MSE is within a
  factor COMPARABLE_MSE_FACTOR = 10 of the RF-LR median.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rflr import metrics as metriclib
from rflr.analysis import SYMMETRIC_DEFECT, ends_symmetric
from rflr.checkpoint import Header, read_header, snapshot_path
from rflr.config import RunConfig
from rflr.plateaus import history_plateaus
from rflr.trainer import RunResult, TrainOptions, seed_block_size, train

COMPARABLE_MSE_FACTOR = 10.0  # dense and RF-LR median test MSE within this factor: comparable
SUMMARY_NAME = "summary.csv"
SWEEP_NAME = "sweep.json"

# The source poster's headline numbers (SPEC section 1), shown beside ours.
POSTER = {
    "reruns": 149,
    "best_test_mse": 1e-5,
    "rflr_headline_defect": 1e-4,
    "dense": "hidden features stay asymmetric",
}

# Fixed columns of summary.csv; per-layer columns layer{k}_name/_defect/_active follow.
SUMMARY_COLUMNS = [
    "run_id",
    "model",
    "seed",
    "width",
    "rank",
    "depth",
    "lr",
    "schedule",
    "steps",
    "status",
    "step",  # step of the final file (the last finite step for a diverged run)
    "diverged_at_step",
    "test_mse",
    "final_train_loss",
    "output_defect",
    "headline_layer",
    "headline_defect",
    "headline_active",
    "headline_channels",
    "headline_even",
    "headline_odd",
    "headline_mixed",
    "symmetric",
    "atom_pairing_defect",
    "atom_outgoing_mismatch",
    "alive_atoms",
    "plateaus",  # plateaus and drops of the logged test MSE (rflr.plateaus)
    "drops",
    "first_plateau_end",  # last step of the first plateau (empty without a plateau)
    "first_plateau_loss",  # its median test MSE
    "checkpoint",  # the final file, relative to the summary's folder
]


_COUNT_COLUMNS = {
    "rank",
    "diverged_at_step",
    "headline_active",
    "headline_channels",
    "headline_even",
    "headline_odd",
    "headline_mixed",
    "alive_atoms",
}

Job = tuple[RunConfig, list[int], TrainOptions]


# --- one row per run --------------------------------------------------------------------------


def _num(x) -> float:
    """JSON null (a NaN when it was saved) -> NaN."""
    return float("nan") if x is None else float(x)


def summary_row(header: Header, root: Path) -> dict:
    """The summary.csv row of one run, from its final checkpoint's header alone."""
    cfg, m, hist = header.config, header.metrics, header.history
    layers = m.get("layers", [])
    head = layers[-1] if layers else {}
    status = m.get("status", "ok")
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
    df = df[SUMMARY_COLUMNS + layer_cols]
    counts = [c for c in df.columns if c in _COUNT_COLUMNS or c.endswith("_active")]
    return df.astype({c: "Int64" for c in counts})  # integers that may be missing


def read_summary(path: str | os.PathLike) -> pd.DataFrame:
    """summary.csv back as a DataFrame (symmetric as bool, rank nullable)."""
    df = pd.read_csv(path)
    df["symmetric"] = df["symmetric"].astype(str).str.lower() == "true"
    counts = [c for c in df.columns if c in _COUNT_COLUMNS or c.endswith("_active")]
    return df.astype({c: "Int64" for c in counts})


def depth_profile(df: pd.DataFrame) -> pd.DataFrame:
    """Long table of per-layer defects: run_id, model, k (1 = first partial layer), layer, defect."""
    ks = sorted({int(c[5:].split("_")[0]) for c in df.columns if c.startswith("layer")})
    parts = []
    for k in ks:
        part = df[["run_id", "model", "status", f"layer{k}_name", f"layer{k}_defect"]].copy()
        part.columns = ["run_id", "model", "status", "layer", "defect"]
        part["k"] = k
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["run_id", "model", "status", "layer", "defect", "k"])
    long = pd.concat(parts, ignore_index=True)
    return long.dropna(subset=["layer", "defect"]).reset_index(drop=True)


# --- statistics -------------------------------------------------------------------------------


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k/n (sensible at 0/n and n/n)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def model_stats(df: pd.DataFrame) -> pd.DataFrame:
    """Per model: counts, test MSE and headline defect quantiles, fraction symmetric."""
    rows = []
    for model, g in df.groupby("model", sort=True):
        ok = g[g["status"] == "ok"]
        k, n = int(g["symmetric"].sum()), len(g)
        lo, hi = wilson_interval(k, n)
        all_even = ok["headline_even"] == ok["headline_active"]
        rows.append(
            {
                "model": model,
                "reruns": n,
                "ok": len(ok),
                "diverged": int((g["status"] == "diverged").sum()),
                "test_mse_best": ok["test_mse"].min(),
                "test_mse_median": ok["test_mse"].median(),
                "test_mse_worst": ok["test_mse"].max(),
                "headline_best": ok["headline_defect"].min(),
                "headline_median": ok["headline_defect"].median(),
                "headline_worst": ok["headline_defect"].max(),
                "symmetric": k,
                "symmetric_fraction": k / n if n else float("nan"),
                "symmetric_ci_low": lo,
                "symmetric_ci_high": hi,
                "all_even_fraction": float(all_even.sum()) / n if n else float("nan"),
                "pairing_median": ok["atom_pairing_defect"].median(),
            }
        )
    return pd.DataFrame(rows).set_index("model")


@dataclass
class Target:
    """One poster claim next to our number and the check we hold it to."""

    claim: str
    poster: str
    ours: str
    criterion: str
    met: bool | None  # None: reported, no threshold


def _get(stats: pd.DataFrame, model: str, col: str) -> float:
    return float(stats.loc[model, col]) if model in stats.index else float("nan")


def poster_targets(df: pd.DataFrame) -> list[Target]:
    """The reproduction's checks, computed from the summary alone (no definition moves)."""
    st = model_stats(df)
    g = lambda model, col: _get(st, model, col)  # noqa: E731
    n_by = {m: int(st.loc[m, "reruns"]) for m in st.index}
    best_mse = g("rflr", "test_mse_best")
    rflr_med, dense_med = g("rflr", "test_mse_median"), g("dense", "test_mse_median")
    ratio = dense_med / rflr_med if rflr_med > 0 else float("nan")
    ok_rflr = df[(df["model"] == "rflr") & (df["status"] == "ok")]
    best_run = ok_rflr.loc[ok_rflr["test_mse"].idxmin()] if len(ok_rflr) else None
    targets = [
        Target(
            "controlled reruns",
            f"{POSTER['reruns']}",
            f"{len(df)} ({', '.join(f'{n} {m}' for m, n in n_by.items())})",
            f"= {POSTER['reruns']}",
            len(df) == POSTER["reruns"],
        ),
        Target(
            "best RF-LR test MSE",
            f"{POSTER['best_test_mse']:.0e}",
            f"{best_mse:.2e}",
            "<= 1e-5",
            best_mse <= 1e-5,
        ),
        Target(
            "RF-LR headline active partial defect, best run",
            f"~{POSTER['rflr_headline_defect']:.0e}",
            f"{g('rflr', 'headline_best'):.2e}",
            "<= 1e-4",
            g("rflr", "headline_best") <= 1e-4,
        ),
        Target(
            "RF-LR headline active partial defect, median run",
            f"~{POSTER['rflr_headline_defect']:.0e}",
            f"{g('rflr', 'headline_median'):.2e}",
            "<= 1e-3",
            g("rflr", "headline_median") <= 1e-3,
        ),
        Target(
            "RF-LR headline defect of the best-test-MSE run",
            "-",
            f"{best_run['headline_defect']:.2e}" if best_run is not None else "-",
            "(reported)",
            None,
        ),
        Target(
            "dense control headline defect, median run",
            POSTER["dense"],
            f"{g('dense', 'headline_median'):.2e}",
            ">= 1e-2",
            g("dense", "headline_median") >= 1e-2,
        ),
        Target(
            "dense fits at comparable test MSE (median dense / median RF-LR)",
            "dense fits as well",
            f"{dense_med:.2e} / {rflr_med:.2e} = {ratio:.2g}",
            f"within x{COMPARABLE_MSE_FACTOR:g}",
            1 / COMPARABLE_MSE_FACTOR <= ratio <= COMPARABLE_MSE_FACTOR,
        ),
    ]
    ok = df[df["status"] == "ok"]
    for m, g in ok.groupby("model", sort=True):
        with_plateau = g["first_plateau_end"].notna()
        ends = g.loc[with_plateau, "first_plateau_end"]
        targets.append(
            Target(
                f"{m}: loss curves (plateaus and drops of the test MSE, rflr.plateaus)",
                "long plateaus followed by sharp drops",
                f"{int(with_plateau.sum())}/{len(g)} runs open with a plateau"
                + (f" ending at step {ends.median():.0f} (median)" if len(ends) else "")
                + f"; {int((g['drops'] > 0).sum())} runs have a drop between two plateaus",
                "(reported)",
                None,
            )
        )
    profile = depth_profile(ok)
    for m, g in profile.groupby("model", sort=True):
        medians = g.groupby("k")["defect"].median()
        targets.append(
            Target(
                f"{m}: median active partial defect by depth (layer 1 to {medians.index.max()})",
                "-",
                " -> ".join(f"{v:.1e}" for v in medians),
                "(reported)",
                None,
            )
        )
    for m in st.index:
        k, n = int(st.loc[m, "symmetric"]), int(st.loc[m, "reruns"])
        lo, hi = wilson_interval(k, n)
        targets.append(
            Target(
                f"{m}: reruns with symmetric active partials (headline < {SYMMETRIC_DEFECT:g})",
                "-",
                f"{k}/{n} = {k / n:.0%} (95% CI {lo:.0%}-{hi:.0%})",
                "(reported)",
                None,
            )
        )
    return targets


def format_stats(df: pd.DataFrame) -> str:
    """The per-model table and the target checks as plain text (the end of a sweep's output)."""
    st = model_stats(df)
    lines = [
        f"{'model':6} {'runs':>4} {'ok':>4} {'div':>3}  {'MSE best':>9} {'median':>9}  "
        f"{'headline best':>13} {'median':>9} {'worst':>9}  symmetric"
    ]
    for m, r in st.iterrows():
        n, ok, div, k = (int(r[c]) for c in ("reruns", "ok", "diverged", "symmetric"))
        lines.append(
            f"{m:6} {n:>4} {ok:>4} {div:>3}  {r['test_mse_best']:>9.2e} "
            f"{r['test_mse_median']:>9.2e}  {r['headline_best']:>13.2e} {r['headline_median']:>9.2e} "
            f"{r['headline_worst']:>9.2e}  {k}/{n} "
            f"[{r['symmetric_ci_low']:.0%}, {r['symmetric_ci_high']:.0%}]"
        )
    lines.append("")
    for t in poster_targets(df):
        mark = {True: "met", False: "NOT MET", None: ""}[t.met]
        lines.append(f"{t.claim}: ours {t.ours} (poster {t.poster}; {t.criterion}) {mark}")
    return "\n".join(lines)


# --- what ships in checkpoints/ ------------------------------------------------------------------


def pick_shipped(df: pd.DataFrame) -> list[str]:
    """Run ids worth shipping: per model, the best / median / worst headline defect and the
    best / median test MSE among the runs that did not diverge (duplicates once)."""
    chosen: list[str] = []
    for _, g in df[df["status"] == "ok"].groupby("model", sort=True):
        by_defect = g.sort_values(["headline_defect", "run_id"], na_position="last")
        by_mse = g.sort_values(["test_mse", "run_id"], na_position="last")
        picks = [
            by_defect.iloc[0],
            by_defect.iloc[(len(by_defect) - 1) // 2],
            by_defect.iloc[-1],
            by_mse.iloc[0],
            by_mse.iloc[(len(by_mse) - 1) // 2],
        ]
        for p in picks:
            if p["run_id"] not in chosen:
                chosen.append(p["run_id"])
    return chosen


def ship(df: pd.DataFrame, out: Path, dest: Path, snapshot_runs: list[str]) -> list[Path]:
    """Replace `dest` with summary.csv, sweep.json, the picked final files and every snapshot
    of `snapshot_runs`, at the same relative paths as in `out`. Returns the copied files."""
    if dest.exists() and any(dest.iterdir()) and not (dest / SWEEP_NAME).exists():
        raise FileExistsError(f"{dest} exists and holds no {SWEEP_NAME}: not a shipped sweep")
    staging = dest.with_name(dest.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
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
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    return copied


# --- where and how it ran --------------------------------------------------------------------


def machine_info() -> dict:
    """What REPRODUCTION.md states about the machine (read back, never guessed)."""
    try:
        cpus_usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus_usable = os.cpu_count()
    return {
        "platform": platform.platform(),
        "processor": _cpu_model() or platform.processor(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": cpus_usable,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _git_commit() -> dict:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        return {"commit": head, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def _loadavg() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


# --- running a sweep -------------------------------------------------------------------------


def _finished_headers(cfg: RunConfig, seeds: list[int], out: Path) -> list[Header] | None:
    """The final headers of a job that already ran to the end in `out`, else None (resume)."""
    headers = []
    for s in seeds:
        run = replace(cfg, seed=s, run_id="")
        final = snapshot_path(out, run, cfg.train.steps)
        if final.exists():
            headers.append(read_header(final))
            continue
        files = sorted((out / run.run_id).glob("step-*.safetensors"))
        last = read_header(files[-1]) if files else None
        if last is None or last.metrics.get("status") != "diverged":
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
    from rflr.cli import auto_threads  # cli imports this module lazily: no import cycle

    total = sum(len(seeds) * cfg.train.steps for cfg, seeds, _ in jobs)
    bar = _sweep_bar(total) if progress else None
    headers: list[Header] = []
    timings = []
    for i, (cfg, seeds, opts) in enumerate(jobs, start=1):
        job_total = len(seeds) * cfg.train.steps
        done = [0]

        def advance(n: int, done: list[int] = done) -> None:
            done[0] += n
            if bar is not None:
                bar.update(n)

        if bar is not None:
            bar.set_postfix_str(f"job {i}/{len(jobs)}: {cfg.model.kind} seeds {len(seeds)}")
        t0 = time.perf_counter()
        finished = _finished_headers(cfg, seeds, out) if resume else None
        block = opts.seed_block or seed_block_size(cfg, len(seeds))
        n_threads = threads or auto_threads(cfg, block)
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
    path.write_text(json.dumps(record, indent=2) + "\n")


def run_preset(
    args: argparse.Namespace,
    jobs: list[Job],
    ship_to: Path | None,
    argv: list[str] | None = None,
) -> int:
    """`train.py --preset poster`: run the sweep, write summary.csv and sweep.json, ship."""
    outs = {opts.out for _, _, opts in jobs}
    if len(outs) != 1:
        raise SystemExit(
            f"a sweep's jobs must share one --out folder, got {sorted(map(str, outs))}"
        )
    out = outs.pop()
    out.mkdir(parents=True, exist_ok=True)
    started, load_start, t0 = datetime.now(UTC), _loadavg(), time.perf_counter()
    n_runs = sum(len(s) for _, s, _ in jobs)
    print(f"sweep {args.preset}: {len(jobs)} jobs, {n_runs} reruns -> {out}", flush=True)
    df, timings = run_sweep(jobs, out, args.threads, args.resume, not args.no_progress)
    wall = time.perf_counter() - t0
    df.to_csv(out / SUMMARY_NAME, index=False)
    cfg0 = jobs[0][0]
    record = {
        "preset": args.preset,
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
            "grid_points": jobs[0][2].metrics_grid_points,
        },
        "machine": machine_info(),
        "load_average_start": load_start,
        "load_average_end": _loadavg(),
        "git": _git_commit(),
    }
    previous = out / SWEEP_NAME
    if all(t["reused"] for t in timings) and previous.is_file():
        # nothing was trained: only the summary was rebuilt; the training record stands
        old = json.loads(previous.read_text())
        for key in ("command", "started_utc", "finished_utc", "wall_time_s", "jobs", "machine"):
            record[key] = old.get(key, record[key])
        for key in ("load_average_start", "load_average_end", "git"):
            record[key] = old.get(key)
        record["summary_rebuilt_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
    write_sweep_json(previous, record)
    print(f"\n{len(df)} reruns in {wall / 60:.1f} min -> {out / SUMMARY_NAME}\n")
    print(format_stats(df))
    if ship_to is not None:
        first = [replace(cfg, seed=seeds[0], run_id="").run_id for cfg, seeds, _ in jobs]
        copied = ship(df, out, ship_to, snapshot_runs=first)
        size = sum(p.stat().st_size for p in copied)
        print(f"\nshipped {len(copied)} files ({size / 1e6:.1f} MB) -> {ship_to}")
    return 0
