"""`train.py`'s command line: train the jobs its flags mean (rflr.cli.flags), one run or a sweep
(a grid through rflr.cli.grid_jobs, or a sweep preset) handed to rflr.sweep.runner."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from rflr.cli.flags import build_parser, jobs_from_args, typed_flags
from rflr.cli.grid_jobs import grid_from_args
from rflr.measure.record import as_float
from rflr.sweep.executors import Executor, executor_from_flags, one_line
from rflr.sweep.grid import SpecError, check_seeds_per_task
from rflr.sweep.presets import PRESETS
from rflr.train.identity import RunConflict, check_resume
from rflr.train.memory import MemoryBudgetError
from rflr.train.trainer import RESUME_DIR, Job, block_and_threads, resume_states, train


def _check_writable(out: Path) -> None:
    """Fail before any training when --out cannot hold files (a file, read-only, ...)."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=out):
        pass
    if not os.access(out, os.W_OK | os.X_OK):
        raise PermissionError(13, "Permission denied", str(out))


def main(argv: list[str] | None = None, prog: str = "train.py") -> int:
    """Train or sweep; every OSError, run conflict or run too large for this machine's memory
    is one line `train.py: error: ...`, exit 1.
    `rflr train` passes its own name as `prog` for the usage and error lines."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(prog)
    head = parser.parse_args(argv)
    grid = head.grid or head.sweep_spec is not None
    sweep_preset = head.preset is not None and PRESETS[head.preset].sweep
    study = head.preset is not None and bool(PRESETS[head.preset].study)
    try:
        executor = executor_from_flags(head.executor, vars(head))
    except ValueError as e:  # an engine's flag without its --executor
        parser.error(str(e))
    runs_sweeps = grid or sweep_preset or study
    other_executor = head.executor != parser.get_default("executor")
    if (other_executor or head.seeds_per_task is not None) and not runs_sweeps:
        parser.error(
            "--executor and --seeds-per-task run sweeps: add --grid, --sweep-spec or a sweep preset"
        )
    try:
        check_seeds_per_task(head.seeds_per_task)
    except SpecError as e:
        parser.error(str(e))
    if head.part and not study:
        parser.error("--part NAME picks parts of a study preset (e.g. --preset beyond)")
    if study:
        if grid:
            parser.error(f"--preset {head.preset} is a study: it sets its own --grid")
        names = [p.name for p in PRESETS[head.preset].study]
        unknown = [n for n in head.part or [] if n not in names]
        if unknown:
            parser.error(f"--part {unknown[0]!r}: {head.preset} has the parts {', '.join(names)}")
        return _study(argv, head)
    try:
        if grid or sweep_preset:  # one progress bar, summary.csv, sweep.json
            return _sweep(argv, head, prog, executor)
        args, jobs = jobs_from_args(argv, prog)
        return _run(args, jobs)
    except (OSError, RunConflict, MemoryBudgetError) as e:
        print(f"{prog}: error: {one_line(e, typed=False)}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, jobs: list[Job]) -> int:
    for out in {job.options.out for job in jobs}:
        _check_writable(out)
    for job in jobs:
        cfg, seeds, opts = job.config, job.seeds, job.options
        block, threads = block_and_threads(
            cfg, len(seeds), opts.seed_block, args.threads, opts.device
        )
        if opts.resume:
            states = resume_states(cfg, seeds, opts)
            if not any(p.is_file() for p in states):
                check_resume(cfg, seeds[:block], states[0], opts.out / RESUME_DIR)
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        print(
            f"training {cfg.model.kind} width={cfg.model.width} rank={cfg.model.rank_or_none} "
            f"depth={cfg.model.depth} seeds={_fmt_seeds(seeds)} steps={cfg.train.steps} -> {opts.out}",
            flush=True,
        )
        results = train(cfg, seeds, opts)
        dt = time.perf_counter() - t0
        ok = [r for r in results if r.status == "ok"]
        diverged = [r.seed for r in results if r.status == "diverged"]
        if ok:
            best = min(ok, key=lambda r: as_float(r.metrics.test_mse))
            print(
                f"done in {dt:.1f}s: {len(ok)} ok, best test MSE {as_float(best.metrics.test_mse):.3g} (seed {best.seed}), "
                f"headline defect {as_float(best.metrics.headline_defect)}"
            )
        if diverged:
            print(f"diverged seeds (saved, marked): {diverged}")
    return 0


def _sweep(argv: list[str], head: argparse.Namespace, prog: str, executor: Executor) -> int:
    from rflr.sweep.runner import run_preset

    ship = (
        head.ship if head.ship is not None else (PRESETS[head.preset].ship if head.preset else None)
    )
    common = dict(
        ship_to=None if ship in (None, "none") else Path(ship),
        threads=head.threads,
        progress=not head.no_progress,
        argv=argv,
        executor=executor,
    )
    if not (head.grid or head.sweep_spec is not None):  # a sweep preset, as a sweep of its jobs
        _, jobs = jobs_from_args(argv, prog)
        for out in {job.options.out for job in jobs}:
            _check_writable(out)
        return run_preset(
            head.preset, jobs, resume=head.resume, seeds_per_task=head.seeds_per_task, **common
        )
    args, spec, jobs, values, out = grid_from_args(argv, prog)
    _check_writable(out)
    return run_preset(
        head.preset,
        jobs,
        resume=True,  # a grid always skips the runs it finished before
        points=values,
        spec=spec.to_dict(),
        seeds_per_task=spec.seeds_per_task,
        out=out,
        **common,
    )


def _without(argv: list[str], option: str) -> list[str]:
    """argv less every `option VALUE` / `option=VALUE`."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == option:
            skip = True
        elif not a.startswith(option + "="):
            out.append(a)
    return out


def _study(argv: list[str], head: argparse.Namespace) -> int:
    """A study preset (rflr.sweep.study): each part is a grid sweep into OUT/<part>, then one
    post-processed OUT/summary.csv. Flags typed with the preset (e.g. --device, --threads,
    --executor) go to every part; --out moves the whole study; --part NAME trains only the
    parts named (the summary still covers every part found in OUT)."""
    from rflr.sweep.study import write_study

    preset = PRESETS[head.preset]
    typed = typed_flags(build_parser(), argv)
    out = Path(head.out) if "out" in typed else Path(preset.out)
    ship = head.ship if head.ship is not None else preset.ship
    rest = _without(_without(_without(argv, "--preset"), "--out"), "--part")
    seconds = {}
    for part in preset.study:
        if head.part and part.name not in head.part:
            continue  # --part: the others stay as they are in OUT (and in the summary)
        print(f"study {head.preset}, part {part.name}: {part.question}", flush=True)
        t0 = time.perf_counter()
        rc = main([*part.args, *rest, "--out", str(out / part.name), "--ship", "none"])
        seconds[part.name] = time.perf_counter() - t0
        if rc != 0:
            print(f"part {part.name} ended with exit code {rc}; going on", flush=True)
    command = "python train.py " + " ".join(argv)
    ship_to = None if ship in (None, "none") else Path(ship)
    df = write_study(head.preset, preset.study, out, ship_to, seconds, command)
    print(f"\nstudy {head.preset}: {len(df)} runs -> {out / 'summary.csv'}")
    if ship_to is not None:
        print(f"copied summary.csv and study.json -> {ship_to}")
    return 0


def _fmt_seeds(seeds: list[int]) -> str:
    return (
        f"{seeds[0]}-{seeds[-1]}"
        if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 1
        else ",".join(map(str, seeds))
    )
