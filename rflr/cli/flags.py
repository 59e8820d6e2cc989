"""`train.py`'s flags: the parser, and the jobs (config, seeds, options) a command line means.

A preset is a list of jobs (flag values); flags given on the command line override
every job's value, so `--preset shipped --steps 2000` is the shipped set, shorter.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from rflr.core.config import (
    ACTIVATIONS,
    DTYPES,
    OPTIMIZERS,
    PARAMETERIZATIONS,
    SCHEDULES,
    SEED_MAX,
    RFLRConfig,
    RunConfig,
    TargetConfig,
    TrainConfig,
)
from rflr.core.config import parse_terms as config_parse_terms
from rflr.core.kinds import KINDS, model_config
from rflr.sweep.executors import EXECUTORS, engine_flags
from rflr.sweep.presets import PRESETS
from rflr.train.steps import DEVICES, resolve_device
from rflr.train.trainer import Job, TrainOptions, snapshot_steps

SEEDS_MAX = 10_000  # seeds in one command (the poster sweep has 149); each is a stacked model
THREADS_MAX = 1024
# 1000 per decade of 10^12 steps is 12,001 logged points, under rflr.files.header.HISTORY_MAX
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
    """'1:1.0,2:0.5' -> [[1, 1.0], [2, 0.5]] (frequency:amplitude pairs); '' -> []. The rule
    is rflr.core.config.parse_terms (the explorer's Train tab reads the same syntax)."""
    try:
        return config_parse_terms(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def parse_transverse(text: str) -> list[list[float]]:
    """'1:1:0.5,2:3:-0.25' -> [[1, 1, 0.5], [2, 3, -0.25]] (w:v:a triples, each the target term
    a cos(w x_1) sin(v (x_2 + ... + x_d))); '' -> []."""
    terms = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            w, v, a = part.split(":")
            terms.append([finite_float(w), finite_float(v), finite_float(a)])
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(
            f"bad transverse terms {text[:80]!r}: use w:v:a triples of finite numbers "
            "like 1:1:0.5,2:1:0.25"
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
        description="Train RF-LR networks and dense MLP controls on an even target with "
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
    choices = [k.choice for k in KINDS.values()]
    g.add_argument(
        "--model",
        choices=list(KINDS),
        default=m.kind,
        help=", ".join(choices[:-1]) + " or " + choices[-1],
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
    g = p.add_argument_group(
        "target: f*(x) = sum a cos(w x_1) + sum a sin(w x_1) [+ transverse terms] on [-A, A]^d"
    )
    g.add_argument(
        "--cosines", type=parse_terms, default=t.cosines, help="w:a pairs, e.g. 1:1.0,2:0.5,3:0.25"
    )
    g.add_argument(
        "--sines",
        type=parse_terms,
        default=t.sines,
        help="w:a pairs; non-empty makes a non-even control",
    )
    g.add_argument(
        "--transverse",
        type=parse_transverse,
        default=t.transverse,
        help="w:v:a triples (d >= 2), each adding a cos(w x_1) sin(v (x_2 + ... + x_d)): even "
        "under x_1 -> -x_1 and dependent on every coordinate, e.g. 1:1:0.5",
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
        "--weight-decay-biases",
        action="store_true",
        help="--weight-decay shrinks the biases too (default: weight matrices only)",
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
        help="'log' (0, 1 and 3 x 10^k, end), 'log:N' (N log-spaced), 'final', or steps 0,500,2000",
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
        help="torch threads (default: 1, or 2 for wide dense blocks; see rflr.train.trainer.auto_threads)",
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
        "seeds_per_task); see rflr.sweep.grid",
    )
    g.add_argument(
        "--seeds-per-task",
        type=int,
        default=None,
        help="seeds of one config trained together as one task (default: all its seeds)",
    )
    g.add_argument(
        "--executor",
        choices=list(EXECUTORS),
        default=next(iter(EXECUTORS)),
        help="where a sweep's tasks run: "
        + " or ".join(f"{name} ({e.about})" for name, e in EXECUTORS.items()),
    )
    for own in engine_flags().values():  # each engine's own, e.g. --ray-address
        g.add_argument(own.flag, default=None, help=own.help)
    g.add_argument(
        "--part",
        action="append",
        metavar="NAME",
        help="a study preset: train only this part (repeat for several), with the preset's "
        "own flags; the study's summary still covers every part already in its folder",
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
    given = typed_flags(parser, argv)
    jobs = PRESETS[args.preset].jobs if args.preset else [{}]
    out = []
    for job in jobs:
        values = {**vars(args), **job, **{k: getattr(args, k) for k in given}}
        try:
            out.append(_job(values))
        except ValueError as e:
            parser.error(str(e))
    return args, out


def typed_flags(parser: argparse.ArgumentParser, argv: list[str] | None) -> set[str]:
    """Destinations of the flags the user actually typed (they override a preset)."""
    argv = sys.argv[1:] if argv is None else argv
    flags = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    return {a.dest for a in parser._actions if any(f in flags for f in a.option_strings)}


def _job(v: dict) -> Job:
    model = model_config(v["model"], {**v, "train_atoms": not v["frozen_atoms"]})
    cfg = RunConfig(
        model=model,
        target=TargetConfig(
            cosines=v["cosines"],
            sines=v["sines"],
            domain=v["domain"],
            transverse=v["transverse"],
        ),
        train=TrainConfig(
            optimizer=v["optimizer"],
            lr=v["lr"],
            weight_decay=v["weight_decay"],
            weight_decay_biases=v["weight_decay_biases"],
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
    try:
        snapshot_steps(v["steps"], v["snapshots"])
    except ValueError:
        raise ValueError(
            f"--snapshots: use log, log:N, final or a list of steps, got {v['snapshots']!r}"
        ) from None
    if v["snapshot_seeds"] is not None and v["snapshot_seeds"] < 0:
        raise ValueError("--snapshot-seeds must be >= 0")
    if v["seed_block"] is not None and v["seed_block"] < 1:
        raise ValueError("--seed-block must be >= 1")
    if v["threads"] is not None and not 1 <= v["threads"] <= THREADS_MAX:
        raise ValueError(f"--threads must be in [1, {THREADS_MAX}]")
    if (
        not 1 <= v["log_per_decade"] <= LOG_PER_DECADE_MAX
    ):  # the history has a cap (rflr.files.header)
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
