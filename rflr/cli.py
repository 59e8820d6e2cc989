"""`train.py`'s command line: argparse fills the config dataclasses.

A preset is a list of jobs (flag values); flags given on the command line override
every job's value, so `--preset shipped --steps 2000` is the shipped set, shorter.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from rflr.config import (
    ACTIVATIONS,
    DTYPES,
    OPTIMIZERS,
    PARAMETERIZATIONS,
    SCHEDULES,
    SEED_MAX,
    DenseConfig,
    RFLRConfig,
    RunConfig,
    TargetConfig,
    TrainConfig,
)
from rflr.executors import EXECUTORS, make_executor
from rflr.grid import (
    GridSpec,
    SpecError,
    flag,
    folder_names,
    load_spec,
    points,
    spec_from_flags,
    to_argv,
)
from rflr.identity import RunConflict, check_resume
from rflr.presets import PRESETS
from rflr.runner import DEVICES, resolve_device
from rflr.trainer import RESUME_DIR, Job, TrainOptions, block_and_threads, resume_states, train

SEEDS_MAX = 10_000  # seeds in one command (the poster sweep has 149); each is a stacked model
THREADS_MAX = 1024
# 1000 per decade of 10^12 steps is 12,001 logged points, under rflr.header.HISTORY_MAX
LOG_PER_DECADE_MAX = 1000


def finite_float(text: str) -> float:
    """argparse type: a float that is not NaN or infinite."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def parse_seeds(text: str) -> list[int]:
    """'0-148' -> [0..148]; '0,3,5-7' -> [0, 3, 5, 6, 7]; at most SEEDS_MAX seeds."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part[1:]:
                lo, hi = part.split("-", 1) if not part.startswith("-") else ("-", part[1:])
                lo_i, hi_i = int(lo), int(hi)
                if hi_i < lo_i:
                    raise ValueError
                if len(seeds) + hi_i - lo_i + 1 > SEEDS_MAX:  # checked before building the list
                    raise argparse.ArgumentTypeError(
                        f"bad seed list {text!r}: at most {SEEDS_MAX} seeds in one command"
                    )
                seeds.extend(range(lo_i, hi_i + 1))
            elif part:
                seeds.append(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"bad seed list {text!r}: use e.g. 0-148 or 0,3,5-7"
        ) from None
    if len(seeds) > SEEDS_MAX:
        raise argparse.ArgumentTypeError(
            f"bad seed list {text!r}: at most {SEEDS_MAX} seeds in one command"
        )
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"bad seed list {text!r}: seeds must be distinct and >= 0")
    if any(s > SEED_MAX for s in seeds):
        raise argparse.ArgumentTypeError(f"bad seed list {text!r}: seeds must be <= {SEED_MAX}")
    return seeds


def parse_terms(text: str) -> list[list[float]]:
    """'1:1.0,2:0.5' -> [[1, 1.0], [2, 0.5]] (frequency:amplitude pairs); '' -> []."""
    terms = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            w, a = part.split(":")
            terms.append([finite_float(w), finite_float(a)])
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(
            f"bad terms {text!r}: use freq:amp pairs of finite numbers like 1:1.0,2:0.5"
        ) from None
    return terms


def parse_fractions(text: str) -> list[float]:
    try:
        return [finite_float(p) for p in text.split(",") if p.strip()]
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(f"bad list {text!r}: use e.g. 0.5,0.75") from None


def build_parser(prog: str = "train.py") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Train RF-LR networks and dense MLP controls on an even 1D target with "
        "batch-size-one SGD, many seeds at once; writes safetensors checkpoints.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    m, t, o, w = RFLRConfig(), TargetConfig(), TrainConfig(), TrainOptions()
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="named set of jobs; other flags override it: "
        + "; ".join(f"{k}: {v.description}" for k, v in sorted(PRESETS.items())),
    )
    g = p.add_argument_group("model")
    g.add_argument(
        "--model",
        choices=["rflr", "dense"],
        default="rflr",
        help="RF-LR (low rank) or the dense MLP control",
    )
    g.add_argument("--width", type=int, default=m.width, help="N, units per hidden layer")
    g.add_argument("--rank", type=int, default=m.rank, help="r, bottleneck channels (RF-LR only)")
    g.add_argument("--depth", type=int, default=m.depth, help="L, hidden nonlinear layers (>= 1)")
    g.add_argument(
        "--input-dim", type=int, default=m.input_dim, help="d; the reflection negates coordinate 0"
    )
    g.add_argument("--activation", choices=ACTIVATIONS, default=m.activation, help="nonlinearity s")
    g.add_argument(
        "--parameterization",
        choices=PARAMETERIZATIONS,
        default=m.parameterization,
        help="ntk: N(0,1) init, products / sqrt(fan_in); standard: PyTorch's Linear init; "
        "mf: as ntk with the readout / N (mean field)",
    )
    g.add_argument(
        "--frozen-atoms",
        action="store_true",
        help="keep the first layer (atoms) at its random init",
    )
    g = p.add_argument_group("target: f*(x) = sum a cos(w x) + sum a sin(w x) on [-A, A]")
    g.add_argument(
        "--cosines", type=parse_terms, default=t.cosines, help="w:a pairs, e.g. 1:1.0,2:0.5,3:0.25"
    )
    g.add_argument(
        "--sines",
        type=parse_terms,
        default=t.sines,
        help="w:a pairs; non-empty makes a non-even control",
    )
    g.add_argument("--domain", type=finite_float, default=t.domain, help="A")
    g = p.add_argument_group("training")
    g.add_argument("--optimizer", choices=OPTIMIZERS, default=o.optimizer, help="optimizer")
    g.add_argument("--lr", type=finite_float, default=o.lr, help="peak learning rate")
    g.add_argument(
        "--weight-decay",
        type=float,  # NaN and inf: refused by TrainConfig.validate
        default=o.weight_decay,
        help="decoupled L2 on trained weights, not biases: w -= lr * wd * w per step",
    )
    g.add_argument(
        "--schedule", choices=SCHEDULES, default=o.schedule, help="learning-rate schedule"
    )
    g.add_argument(
        "--lr-milestones",
        type=parse_fractions,
        default=o.lr_milestones,
        help="step schedule: fractions of --steps at which lr is multiplied by --lr-gamma",
    )
    g.add_argument(
        "--lr-gamma", type=finite_float, default=o.lr_gamma, help="step schedule decay factor"
    )
    g.add_argument("--batch-size", type=int, default=o.batch_size, help="samples per step per seed")
    g.add_argument(
        "--n-train",
        type=int,
        default=o.n_train,
        help="training points per seed (uniform, not symmetrized)",
    )
    g.add_argument(
        "--online", action="store_true", help="fresh samples every step instead of a fixed set"
    )
    g.add_argument("--steps", type=int, default=o.steps, help="optimizer steps")
    g.add_argument("--dtype", choices=DTYPES, default=o.dtype, help="training precision")
    g.add_argument(
        "--seeds",
        type=parse_seeds,
        default=[0],
        help="seeds to train together, e.g. 0-148 or 0,3,5-7",
    )
    g = p.add_argument_group("output")
    g.add_argument("--out", type=Path, default=w.out, help="output folder (one subfolder per run)")
    g.add_argument(
        "--snapshots",
        default=w.snapshots,
        help="'log' (0, 10^k, end), 'final', or steps like 0,500,2000",
    )
    g.add_argument(
        "--snapshot-seeds",
        type=int,
        default=None,
        help="intermediate snapshots only for the first K seeds",
    )
    g.add_argument(
        "--log-per-decade",
        type=int,
        default=w.log_per_decade,
        help="logged losses per decade of steps",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="continue the killed run of exactly these flags (refused if they differ)",
    )
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a different run of the same id in --out (refused without it)",
    )
    g.add_argument(
        "--seed-block",
        type=int,
        default=None,
        help="seeds stacked at once (default: all for RF-LR, cache-sized blocks for dense)",
    )
    g.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: 1, or 2 for wide dense blocks; see rflr.trainer.auto_threads)",
    )
    g.add_argument(
        "--device",
        choices=DEVICES,
        default=w.device,
        help="where the stacked seeds train: cpu (bit-reproducible), cuda (CUDA graphs; equal "
        "to cpu up to float rounding), auto (cuda when available)",
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = p.add_argument_group("sweeps (grid sweeps and sweep presets; docs: README, Scaling out)")
    g.add_argument(
        "--grid",
        action="append",
        metavar="KEY=V1,V2,...",
        help="sweep a train.py flag over values (repeat for a grid of every combination); "
        "each config trains in OUT/KEY=V_.../; values with commas: separate them by ';'",
    )
    g.add_argument(
        "--sweep-spec",
        type=Path,
        metavar="FILE.toml",
        help="a grid sweep from a TOML file ([grid] swept flags, [flags] fixed ones, "
        "seeds_per_task); see rflr.grid",
    )
    g.add_argument(
        "--seeds-per-task",
        type=int,
        default=None,
        help="seeds of one config trained together as one task (default: all its seeds)",
    )
    g.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="where a sweep's tasks run: local (this process) or ray (a Ray cluster)",
    )
    g.add_argument(
        "--ray-address",
        default=None,
        help="--executor ray: 'auto' or host:port of a running cluster (default: start a "
        "local Ray instance on this machine's cores)",
    )
    g.add_argument(
        "--ship",
        default=None,
        help="sweep presets: folder that receives summary.csv, sweep.json and a few "
        "checkpoints (default: the preset's, e.g. checkpoints/poster; 'none': skip)",
    )
    return p


def jobs_from_args(
    argv: list[str] | None = None, prog: str = "train.py"
) -> tuple[argparse.Namespace, list[Job]]:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    given = _explicit(parser, argv)
    jobs = PRESETS[args.preset].jobs if args.preset else [{}]
    out = []
    for job in jobs:
        values = {**vars(args), **job, **{k: getattr(args, k) for k in given}}
        try:
            out.append(_job(values))
        except ValueError as e:
            parser.error(str(e))
    return args, out


def _explicit(parser: argparse.ArgumentParser, argv: list[str] | None) -> set[str]:
    """Destinations of the flags the user actually typed (they override a preset)."""
    argv = sys.argv[1:] if argv is None else argv
    flags = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    return {a.dest for a in parser._actions if any(f in flags for f in a.option_strings)}


def _job(v: dict) -> Job:
    common = dict(
        width=v["width"],
        depth=v["depth"],
        input_dim=v["input_dim"],
        activation=v["activation"],
        parameterization=v["parameterization"],
        train_atoms=not v["frozen_atoms"],
    )
    model = RFLRConfig(rank=v["rank"], **common) if v["model"] == "rflr" else DenseConfig(**common)
    cfg = RunConfig(
        model=model,
        target=TargetConfig(cosines=v["cosines"], sines=v["sines"], domain=v["domain"]),
        train=TrainConfig(
            optimizer=v["optimizer"],
            lr=v["lr"],
            weight_decay=v["weight_decay"],
            schedule=v["schedule"],
            lr_milestones=v["lr_milestones"],
            lr_gamma=v["lr_gamma"],
            batch_size=v["batch_size"],
            n_train=v["n_train"],
            online=v["online"],
            steps=v["steps"],
            dtype=v["dtype"],
        ),
    )
    cfg.validate()
    if v["snapshots"] not in ("log", "final"):
        try:
            [int(s) for s in v["snapshots"].split(",") if s.strip()]
        except ValueError:
            raise ValueError(
                f"--snapshots: use log, final or a list of steps, got {v['snapshots']!r}"
            ) from None
    if v["snapshot_seeds"] is not None and v["snapshot_seeds"] < 0:
        raise ValueError("--snapshot-seeds must be >= 0")
    if v["seed_block"] is not None and v["seed_block"] < 1:
        raise ValueError("--seed-block must be >= 1")
    if v["threads"] is not None and not 1 <= v["threads"] <= THREADS_MAX:
        raise ValueError(f"--threads must be in [1, {THREADS_MAX}]")
    if not 1 <= v["log_per_decade"] <= LOG_PER_DECADE_MAX:  # the history has a cap (rflr.header)
        raise ValueError(f"--log-per-decade must be in [1, {LOG_PER_DECADE_MAX}]")
    device = resolve_device(v["device"])
    opts = TrainOptions(
        out=Path(v["out"]),
        snapshots=v["snapshots"],
        snapshot_seeds=v["snapshot_seeds"],
        log_per_decade=v["log_per_decade"],
        resume=v["resume"],
        overwrite=v["overwrite"],
        progress=not v["no_progress"],
        seed_block=v["seed_block"],
        device=device,
    )
    return Job(cfg, v["seeds"], opts)


def _one_line(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        where = f"{e.filename}: " if e.filename else ""
        return f"{where}{e.strerror}"
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def _check_writable(out: Path) -> None:
    """Fail before any training when --out cannot hold files (a file, read-only, ...)."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=out):
        pass
    if not os.access(out, os.W_OK | os.X_OK):
        raise PermissionError(13, "Permission denied", str(out))


def grid_from_args(
    argv: list[str], prog: str = "train.py"
) -> tuple[argparse.Namespace, GridSpec, list[Job], list[dict], Path]:
    """A grid sweep's jobs: every point of the grid, each in its own folder under --out.

    A point's flags go after the typed ones, so each job is parsed (and validated) exactly
    as `train.py <flags> <point's flags>` would be; a preset's jobs multiply with the grid.
    """
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        if args.sweep_spec is not None and args.grid:
            raise SpecError("give --grid or --sweep-spec, not both")
        if args.sweep_spec is not None:
            spec = load_spec(args.sweep_spec)
            if args.seeds_per_task is not None:
                spec = replace(spec, seeds_per_task=args.seeds_per_task)
        else:
            spec = spec_from_flags(args.grid, args.seeds_per_task)
        actions = {a.dest: a for a in parser._actions if a.option_strings}
        typed = _explicit(parser, argv)
        for key in [*spec.axes, *spec.flags]:
            if key not in actions:
                raise SpecError(f"train.py has no flag {flag(key)}")
        for key in spec.axes:
            if key in typed:
                raise SpecError(f"{flag(key)} is both typed and swept")
        fixed = {k: _switch(actions[k], v) for k, v in spec.flags.items()}
        grid = [{k: _switch(actions[k], v) for k, v in p.items()} for p in points(spec)]
        names = folder_names(grid)
    except SpecError as e:
        parser.error(str(e))
    jobs, values = [], []
    for point, name in zip(grid, names, strict=True):
        point_args, point_jobs = jobs_from_args([*to_argv(fixed), *argv, *to_argv(point)], prog)
        for job in point_jobs:
            jobs.append(replace(job, options=replace(job.options, out=job.options.out / name)))
            values.append({k: _cell(getattr(point_args, k)) for k in point})
    return (
        args,
        spec,
        jobs,
        values,
        jobs[0].options.out.parent,  # every config's folder sits in --out (or the preset's)
    )


def _switch(action: argparse.Action, v):
    """A spec value for a store_true flag must be a boolean (TOML true, or 'true'/'false')."""
    is_switch = isinstance(action, argparse._StoreTrueAction)
    if is_switch and isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    if is_switch != isinstance(v, bool):
        want = "true or false" if is_switch else "a value, not true/false"
        raise SpecError(f"{flag(action.dest)} takes {want}, got {v!r}")
    return v


def _cell(v):
    """A swept value as a summary.csv cell."""
    if isinstance(v, list):
        return json.dumps(v)
    return str(v) if isinstance(v, Path) else v


def main(argv: list[str] | None = None, prog: str = "train.py") -> int:
    """Train or sweep; every OSError or run conflict is one line `train.py: error: ...`, exit 1.
    `rflr train` passes its own name as `prog` for the usage and error lines."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(prog)
    head = parser.parse_args(argv)
    grid = head.grid or head.sweep_spec is not None
    sweep_preset = head.preset is not None and PRESETS[head.preset].sweep
    study = head.preset is not None and bool(PRESETS[head.preset].study)
    if head.ray_address is not None and head.executor != "ray":
        parser.error("--ray-address needs --executor ray")
    runs_sweeps = grid or sweep_preset or study
    if (head.executor != "local" or head.seeds_per_task is not None) and not runs_sweeps:
        parser.error(
            "--executor and --seeds-per-task run sweeps: add --grid, --sweep-spec or a sweep preset"
        )
    if head.seeds_per_task is not None and head.seeds_per_task < 1:
        parser.error("--seeds-per-task must be >= 1")
    if study:
        if grid:
            parser.error(f"--preset {head.preset} is a study: it sets its own --grid")
        return _study(argv, head)
    try:
        if grid or sweep_preset:  # one progress bar, summary.csv, sweep.json
            return _sweep(argv, head, prog)
        args, jobs = jobs_from_args(argv, prog)
        return _run(args, jobs)
    except (OSError, RunConflict) as e:
        print(f"{prog}: error: {_one_line(e)}", file=sys.stderr)
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
            best = min(ok, key=lambda r: r.metrics["test_mse"])
            print(
                f"done in {dt:.1f}s: {len(ok)} ok, best test MSE {best.metrics['test_mse']:.3g} (seed {best.seed}), "
                f"headline defect {best.metrics['headline_defect']}"
            )
        if diverged:
            print(f"diverged seeds (saved, marked): {diverged}")
    return 0


def _sweep(argv: list[str], head: argparse.Namespace, prog: str) -> int:
    from rflr.sweep import run_preset

    executor = make_executor(head.executor, head.ray_address)
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
    """A study preset (rflr.study): each part is a grid sweep into OUT/<part>, then one
    post-processed OUT/summary.csv. Flags typed with the preset (e.g. --device, --threads,
    --executor) go to every part; --out moves the whole study."""
    from rflr.study import write_study

    preset = PRESETS[head.preset]
    typed = _explicit(build_parser(), argv)
    out = Path(head.out) if "out" in typed else Path(preset.out)
    ship = head.ship if head.ship is not None else preset.ship
    rest = _without(_without(argv, "--preset"), "--out")
    seconds = {}
    for part in preset.study:
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
