"""A study: several grid sweeps (parts) post-processed into one summary.csv.

`python train.py --preset beyond` (rflr.cli.train) trains each part of the study as a grid sweep
into OUT/<part>/ (its own summary.csv and sweep.json), then this module reads every run's
final checkpoint back once and adds what a header does not hold:

- the training protocol as columns (input_dim, optimizer, batch_size, weight_decay,
  parameterization, n_train, frozen_atoms, weight_decay_biases), whether or not the part
  swept them;
- symmetric_relative (rflr.sweep.verdicts): headline defect < 3 x output defect;
- weight symmetry of every layer of units (rflr.measure.weight_symmetry): pairing defect and signed
  outgoing mismatch, each beside its level at the run's random init: wsym{k}_*;
  outgoing_mismatch is the atoms' (k = 1) signed mismatch; the rescale-invariant direction
  pairing, outgoing match (each with _init) and movement from init: wsym{k}_direction,
  _match, _movement, and the atoms' as atom_direction_pairing, outgoing_match, atom_movement;
- basin width (rflr.measure.basin) at sweep-scale settings (POST below): flat_radius and
  hessian_top (+ hessian_converged);
- the median oscillation count of each partial layer's active channels (from the header):
  osc{k}_median.

It writes OUT/summary.csv (one row per run of every part, a `part` column first, checkpoint
paths relative to OUT) and OUT/study.json (parts, settings, wall times), and copies both to a
ship folder (checkpoints/beyond). Post-processed columns are cached per part in
OUT/<part>/post.csv, keyed by the checkpoint's path, size and mtime, so that rerunning the
preset only measures new runs. Statistics and claims: rflr.sweep.stats (pandas only).
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rflr.core.config import RunConfig
from rflr.core.targets import DEFAULT_GRID_POINTS, symmetric_grid
from rflr.files.checkpoint import CheckpointError, load, read_header
from rflr.files.provenance import git_commit, machine_info
from rflr.measure import basin
from rflr.measure.evaluate import partials_on_grid
from rflr.measure.record import as_float
from rflr.measure.weight_symmetry import weight_symmetry_of
from rflr.sweep.presets import StudyPart
from rflr.sweep.summary import SUMMARY_NAME, read_summary, summarize, summary_row
from rflr.sweep.verdicts import symmetric_relative

STUDY_NAME = "study.json"
POST_NAME = "post.csv"


@dataclass(frozen=True)
class PostSettings:
    """Basin and Hessian settings cheap enough for thousands of runs (rflr.cli.analyze uses 8
    directions x 13 radii and 1000 iterations at tol 1e-10 for one file)."""

    directions: int = 4  # filter-normalized random directions (both signs each)
    radii: tuple[float, ...] = tuple(float(r) for r in np.geomspace(1e-3, 1.0, 7))  # 2/decade
    hessian_iterations: int = 30  # power-iteration cap
    hessian_tol: float = 1e-4  # relative change of the Rayleigh quotient that stops it
    grid_points: int = DEFAULT_GRID_POINTS  # the same grid as the header metrics
    columns: int = 2  # version of the post columns: a new one re-measures cached runs


POST = PostSettings()

# The protocol columns read from each run's config (the grid adds only the swept ones).
PROTOCOL_COLUMNS = (
    "input_dim",
    "optimizer",
    "batch_size",
    "weight_decay",
    "parameterization",
    "n_train",
    "frozen_atoms",
    "weight_decay_biases",
)


def protocol_columns(cfg: RunConfig) -> dict:
    """The PROTOCOL_COLUMNS of one run, from its config (cheap: read fresh, never cached)."""
    return {
        "input_dim": cfg.model.input_dim,
        "optimizer": cfg.train.optimizer,
        "batch_size": cfg.train.batch_size,
        "weight_decay": cfg.train.weight_decay,
        "parameterization": cfg.model.parameterization,
        "n_train": cfg.train.n_train,
        "frozen_atoms": not cfg.model.train_atoms,
        "weight_decay_biases": cfg.train.weight_decay_biases,
    }


def post_columns(path: Path, settings: PostSettings = POST) -> dict:
    """Everything the study adds to one run's row, from its checkpoint file."""
    ck = load(path)
    cfg = ck.config
    row: dict = protocol_columns(cfg)
    for k, layer in enumerate(ck.metrics.layers, start=1):
        row[f"osc{k}_median"] = as_float(layer.oscillations_median)
    if ck.status != "ok":  # a diverged run's last finite weights are not a minimum
        row.update(flat_radius=math.nan, hessian_top=math.nan, hessian_converged=False)
        return row
    grid = symmetric_grid(cfg.target.domain, settings.grid_points, cfg.model.input_dim)
    partials = partials_on_grid(cfg, ck.params, grid)
    layers = weight_symmetry_of(cfg, ck.params, partials, grid)
    for k, w in enumerate(layers, start=1):
        row[f"wsym{k}_name"] = w.name
        row[f"wsym{k}_trivial"] = w.trivial
        row[f"wsym{k}_pairing"] = w.pairing_defect
        row[f"wsym{k}_pairing_init"] = w.init_pairing_defect
        row[f"wsym{k}_mismatch"] = w.outgoing_mismatch
        row[f"wsym{k}_mismatch_init"] = w.init_outgoing_mismatch
        row[f"wsym{k}_direction"] = w.direction_pairing  # rescale-invariant measures
        row[f"wsym{k}_direction_init"] = w.init_direction_pairing
        row[f"wsym{k}_match"] = w.outgoing_match
        row[f"wsym{k}_match_init"] = w.init_outgoing_match
        row[f"wsym{k}_movement"] = w.movement
    row["atom_movement"] = layers[0].movement
    row["atom_direction_pairing"] = layers[0].direction_pairing
    row["atom_direction_pairing_init"] = layers[0].init_direction_pairing
    row["outgoing_match"] = layers[0].outgoing_match
    row["outgoing_match_init"] = layers[0].init_outgoing_match
    row["outgoing_mismatch"] = layers[0].outgoing_mismatch
    row["outgoing_mismatch_init"] = layers[0].init_outgoing_mismatch
    row["atom_pairing_init"] = layers[0].init_pairing_defect
    x, y = basin.training_set(cfg)
    prof = basin.basin_profile(
        cfg.model, ck.params, x, y, radii=settings.radii, directions=settings.directions
    )
    top = basin.top_hessian_eigenvalue(
        cfg.model, ck.params, x, y, tol=settings.hessian_tol, max_iter=settings.hessian_iterations
    )
    row.update(flat_radius=prof.flat_radius, hessian_top=top.eigenvalue)
    row["hessian_converged"] = top.converged
    return row


def _key(path: Path) -> str:
    s = path.stat()
    return f"{s.st_size}:{s.st_mtime_ns}"


def post_process(df: pd.DataFrame, folder: Path, settings: PostSettings = POST) -> pd.DataFrame:
    """`df` (a part's summary, checkpoints relative to `folder`) with the post columns,
    measuring only runs not in folder/post.csv under the same file identity."""
    cache_path = folder / POST_NAME
    cache = pd.read_csv(cache_path) if cache_path.is_file() else pd.DataFrame()
    cached = {}
    if {"checkpoint", "file_key", "settings"} <= set(cache.columns):
        here = json.dumps(asdict(settings))
        for rec in cache.to_dict("records"):
            if rec["settings"] == here:
                cached[(rec["checkpoint"], rec["file_key"])] = rec
    rows = []
    for ckpt, status in zip(df["checkpoint"], df["status"], strict=True):
        if not isinstance(ckpt, str) or status == "failed":
            rows.append({})
            continue
        path = folder / ckpt
        key = _key(path)
        rec = cached.get((ckpt, key))
        if rec is not None:  # a cache written before a protocol column existed lacks it
            rec = {**rec, **protocol_columns(read_header(path).config)}
        else:
            torch.set_num_threads(1)
            rec = {
                **post_columns(path, settings),
                "checkpoint": ckpt,
                "file_key": key,
                "settings": json.dumps(asdict(settings)),
            }
        rows.append(rec)
    post = pd.DataFrame(rows)
    if "checkpoint" in post.columns:
        post[post["checkpoint"].notna()].to_csv(cache_path, index=False)
    post = post.drop(columns=["checkpoint", "file_key", "settings"], errors="ignore")
    keep = [c for c in df.columns if c not in post.columns]
    return pd.concat([df[keep].reset_index(drop=True), post.reset_index(drop=True)], axis=1)


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    """`part` first, then the summary's columns, then protocol / post columns by family."""

    def family(c: str) -> tuple:
        for i, p in enumerate(("layer", "osc", "wsym")):
            if c.startswith(p) and c[len(p)].isdigit():
                k = int(c[len(p) :].split("_")[0])
                return (2 + i, k, c)
        return (1, 0, "")

    fixed = [c for c in df.columns if family(c)[0] == 1]
    rest = sorted((c for c in df.columns if family(c)[0] > 1), key=family)
    fixed.remove("part")
    return df[["part", *fixed, *rest]]


def finished_runs(folder: Path) -> pd.DataFrame:
    """The summary rows of the runs of a grid sweep in `folder` that ran to their last step
    (or diverged), read from their final headers: a part whose sweep was cut short."""
    rows = []
    for run in sorted(p for p in folder.glob("*/*") if p.is_dir() and not p.name.startswith(".")):
        files = sorted(run.glob("step-*.safetensors"))
        if not files:
            continue
        try:
            header = read_header(files[-1])
        except CheckpointError:
            continue
        if header.step == header.config.train.steps or header.status == "diverged":
            rows.append(summary_row(header, folder))
    return summarize(rows) if rows else pd.DataFrame()


def build_summary(
    parts: tuple[StudyPart, ...], out: Path, settings: PostSettings = POST
) -> pd.DataFrame:
    """One table of every part's runs (parts not yet trained are skipped), post-processed."""
    frames = []
    for part in parts:
        folder = out / part.name
        if (folder / SUMMARY_NAME).is_file():
            df = read_summary(folder / SUMMARY_NAME)
        else:  # a part cut short: the runs that finished
            df = finished_runs(folder)
            if df.empty:
                continue
        df = post_process(df, folder, settings)
        df["checkpoint"] = [
            f"{part.name}/{c}" if isinstance(c, str) else c for c in df["checkpoint"]
        ]
        df["run_id"] = [f"{part.name}/{r}" for r in df["run_id"]]
        df.insert(0, "part", part.name)
        df["symmetric_relative"] = symmetric_relative(df)  # issue 20: beside `symmetric`
        frames.append(df)
    if not frames:
        return pd.DataFrame()
    return _ordered(pd.concat(frames, ignore_index=True))


def _sweep_seconds(folder: Path) -> float:
    """The wall time a part's own sweep.json records (NaN when it has none)."""
    try:
        return float(json.loads((folder / "sweep.json").read_text())["wall_time_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return math.nan


def write_study(
    preset: str,
    parts: tuple[StudyPart, ...],
    out: Path,
    ship_to: Path | None,
    train_seconds: dict[str, float],
    command: str,
    settings: PostSettings = POST,
) -> pd.DataFrame:
    """Post-process, write OUT/summary.csv and OUT/study.json, copy both to `ship_to`."""
    t0 = time.perf_counter()
    df = build_summary(parts, out, settings)
    post_s = time.perf_counter() - t0
    df.to_csv(out / SUMMARY_NAME, index=False)
    done = set(df["part"]) if len(df) else set()
    partial = {p.name for p in parts if not (out / p.name / SUMMARY_NAME).is_file()} & done
    record = {
        "preset": preset,
        "command": command,
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": len(df),
        "parts": [
            {
                "name": p.name,
                "question": p.question,
                "args": list(p.args),
                "trained": p.name in done,
                "complete": p.name in done and p.name not in partial,
                "runs": int((df["part"] == p.name).sum()) if len(df) else 0,
                "planned_runs": p.planned_runs,
                "train_wall_time_s": round(
                    train_seconds.get(p.name, _sweep_seconds(out / p.name)), 1
                ),
            }
            for p in parts
        ],
        "post_processing": {**asdict(settings), "wall_time_s": round(post_s, 1)},
        "runs_folder": str(out),
        "machine": machine_info(),
        "git": git_commit(),
    }
    (out / STUDY_NAME).write_text(json.dumps(record, indent=2) + "\n")
    if ship_to is not None:
        ship_to.mkdir(parents=True, exist_ok=True)
        for name in (SUMMARY_NAME, STUDY_NAME):
            shutil.copy2(out / name, ship_to / name)
    return df


def main(argv: list[str] | None = None) -> int:
    """`python -m rflr.study beyond [--out DIR] [--ship DIR|none]`: summarize the parts a study
    has trained so far (no training), e.g. while or after `train.py --preset beyond` runs."""
    import argparse
    import sys

    from rflr.sweep.presets import PRESETS

    studies = sorted(k for k, v in PRESETS.items() if v.study)
    p = argparse.ArgumentParser(description=main.__doc__.split(":")[0])
    p.add_argument("preset", choices=studies)
    p.add_argument("--out", type=Path, default=None, help="the study's folder (default: preset's)")
    p.add_argument("--ship", default=None, help="copy summary.csv and study.json here ('none')")
    args = p.parse_args(argv)
    preset = PRESETS[args.preset]
    out = args.out or Path(preset.out)
    if not out.is_dir():
        p.error(f"{out} is not a folder: run `python train.py --preset {args.preset}` first")
    ship = args.ship if args.ship is not None else preset.ship
    seconds: dict[str, float] = {}  # each part's own sweep.json says how long it trained
    command = "python -m rflr.study " + " ".join(sys.argv[1:] if argv is None else argv)
    ship_to = None if ship in (None, "none") else Path(ship)
    df = write_study(args.preset, preset.study, out, ship_to, seconds, command)
    print(f"{len(df)} runs -> {out / SUMMARY_NAME}" + (f", copied to {ship_to}" if ship_to else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
