"""A grid sweep's command line: every point of a --grid or --sweep-spec as a train.py job.

rflr.sweep.grid expands the spec (no argparse); this module parses each point exactly as the flags
`train.py <typed flags> <point's flags>` would be, so the parser checks every swept value, and
refuses two points that would train the same runs (`lr=1e-2,0.01`: one setting written twice).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from rflr.cli.flags import build_parser, jobs_from_args, typed_flags
from rflr.sweep.executors import engine_flags
from rflr.sweep.grid import (
    GridSpec,
    SpecError,
    flag,
    folder_names,
    load_spec,
    points,
    refuse_run_flags,
    shown,
    spec_from_flags,
    to_argv,
)
from rflr.train.trainer import Job

# What a spec may set: flags that take a value, and switches. Not --help (argparse would
# print it and exit 0 mid-sweep), nor flags that collect several values (--grid, --part).
SETTABLE = (argparse._StoreAction, argparse._StoreTrueAction)


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
        refuse_run_flags(spec, engine_flags())  # e.g. --ray-address: the executor's own
        actions = {a.dest: a for a in parser._actions if a.option_strings}
        typed = typed_flags(parser, argv)
        for key in [*spec.axes, *spec.flags]:
            if key not in actions:
                raise SpecError(f"train.py has no flag {flag(key)}")
            if not isinstance(actions[key], SETTABLE):
                raise SpecError(f"{flag(key)} is not a train.py setting a grid spec can give")
        for key in spec.axes:
            if key in typed:
                raise SpecError(f"{flag(key)} is both typed and swept")
        fixed = {k: _switch(actions[k], v) for k, v in spec.flags.items()}
        grid = [{k: _switch(actions[k], v) for k, v in p.items()} for p in points(spec)]
        names = folder_names(grid)
    except SpecError as e:
        parser.error(str(e))
    jobs, values, owners = [], [], []
    for point, name in zip(grid, names, strict=True):
        point_args, point_jobs = jobs_from_args([*to_argv(fixed), *argv, *to_argv(point)], prog)
        for job in point_jobs:
            jobs.append(replace(job, options=replace(job.options, out=job.options.out / name)))
            values.append({k: _cell(getattr(point_args, k)) for k in point})
            owners.append(point)
    try:
        _refuse_repeats(jobs, owners)
    except SpecError as e:
        parser.error(str(e))
    return (
        args,
        spec,
        jobs,
        values,
        jobs[0].options.out.parent,  # every config's folder sits in --out (or the preset's)
    )


def _refuse_repeats(jobs: list[Job], owners: list[dict]) -> None:
    """Two grid points whose jobs share a run (the same config and a seed) would train it twice
    and count it twice in the summary: refused, naming the points. The values are compared as
    parsed (1e-2 is 0.01, " 8" is 8), so it also catches a flag that changes nothing here."""
    seen: dict[str, list[tuple[dict, set[int]]]] = {}
    for job, point in zip(jobs, owners, strict=True):
        key = json.dumps(job.config.to_dict(), sort_keys=True)
        seeds = set(job.seeds)
        for other, other_seeds in seen.get(key, []):
            if other is not point and seeds & other_seeds:
                differ = [k for k in point if other[k] != point[k]]
                raise SpecError(
                    f"{_point(other)} and {_point(point)} would train the same runs twice: "
                    f"their {', '.join(map(flag, differ))} values mean the same, or do not "
                    "change these runs"
                )
        seen.setdefault(key, []).append((point, seeds))


def _point(point: dict) -> str:
    return "_".join(f"{k}={str(v)[:60]}" for k, v in point.items())  # checked: printable ASCII


def _switch(action: argparse.Action, v):
    """A spec value for a store_true flag must be a boolean (TOML true, or 'true'/'false')."""
    is_switch = isinstance(action, argparse._StoreTrueAction)
    if is_switch and isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    if is_switch != isinstance(v, bool):
        want = "true or false" if is_switch else "a value, not true/false"
        raise SpecError(f"{flag(action.dest)} takes {want}, got {shown(v)}")
    return v


def _cell(v):
    """A swept value as a summary.csv cell."""
    if isinstance(v, list):
        return json.dumps(v)
    return str(v) if isinstance(v, Path) else v
