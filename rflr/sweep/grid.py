"""A grid sweep's spec: which train.py flags take which values (pure; no torch, no argparse).

A spec comes from repeated `--grid KEY=V1,V2,...` flags or from a TOML file:

    seeds_per_task = 8          # optional: seeds trained together in one task

    [flags]                     # optional: train.py flags fixed for every config
    steps = 2000
    seeds = "0-15"

    [grid]                      # the swept flags: every combination is one config
    model = ["rflr", "dense"]
    lr = [0.02, 0.05]

Keys are train.py's long flags with or without dashes (`batch-size` = `batch_size`);
values are what the flag takes on the command line (a TOML number, string or boolean;
`true`/`false` for switches like `online`). A config is a point of the grid: one value
per swept key. The command line parser (rflr.cli.train) checks every value; this module only
expands the grid and names each point's folder.

A spec may come from someone else, so `checked` is its one boundary: keys are flag names,
values are numbers, booleans or one line of printable text (swept ones ASCII: they name
folders), and a file is small and shallow enough to parse; any failure is one SpecError line.
"""

from __future__ import annotations

import itertools
import re
import reprlib
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Flags that say how or where a sweep runs, not what it trains: never swept (nor are an
# engine's own flags, rflr.sweep.executors.engine_flags: see refuse_run_flags).
NOT_SWEPT = frozenset(
    {
        "preset",
        "seeds",
        "out",
        "resume",
        "overwrite",
        "ship",
        "threads",
        "no_progress",
        "grid",
        "sweep_spec",
        "seeds_per_task",
        "executor",
        "device",
        "part",  # a study's parts (a study sets its own grids)
    }
)
# Flags that change what a run records or how its seeds are batched, not what it trains:
# fixed in [flags] if wanted, never swept (two configs would train the same runs twice).
NOT_TRAINING = frozenset({"snapshots", "snapshot_seeds", "log_per_decade", "seed_block"})
MAX_CONFIGS = 10_000  # a typo like lr=0.1,...x10 in six keys should fail before any work
TOP_LEVEL = {"flags", "grid", "seeds_per_task"}
_UNSAFE = re.compile(r"[^A-Za-z0-9.+-]")
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")  # an argparse destination, after dest()
SPEC_MAX_BYTES = 1 << 20  # a TOML spec file; real ones are a few hundred bytes
_SHORT = reprlib.Repr()  # values in messages: bounded in depth and length
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 2, 60, 60


def shown(v: Any) -> str:
    """A spec value or key for an error line: repr, bounded in length and depth (a value
    nested 5,000 deep or a megabyte long still makes one short line)."""
    return _SHORT.repr(v)


class SpecError(ValueError):
    """A spec that cannot be expanded; the message is one line for the user."""


@dataclass(frozen=True)
class GridSpec:
    """What a grid sweep trains: fixed flags, swept flags (in order), seeds per task."""

    axes: dict[str, list[Any]]  # key (argparse destination) -> its values, in order
    flags: dict[str, Any] = field(default_factory=dict)  # fixed for every config
    seeds_per_task: int | None = None  # None: all seeds of a config in one task

    def to_dict(self) -> dict[str, Any]:
        """The spec as sweep.json records it."""
        return {"grid": self.axes, "flags": self.flags, "seeds_per_task": self.seeds_per_task}


def dest(key: str) -> str:
    """'--batch-size' / 'batch-size' / 'batch_size' -> 'batch_size' (argparse's name)."""
    return key.strip().lstrip("-").replace("-", "_")


def flag(key: str) -> str:
    """'batch_size' -> '--batch-size'."""
    return "--" + key.replace("_", "-")


def parse_grid_flag(text: str) -> tuple[str, list[str]]:
    """'lr=0.01,0.05' -> ('lr', ['0.01', '0.05']). Values holding commas (e.g. cosines
    1:1.0,2:0.5) are separated by ';' instead: 'cosines=1:1;1:1,2:0.5'."""
    key, sep, values = text.partition("=")
    if not sep or not key.strip():
        raise SpecError(f"--grid {text!r}: use KEY=V1,V2,... (e.g. lr=0.01,0.05)")
    parts = [v.strip() for v in values.split(";" if ";" in values else ",")]
    if not parts or any(not v for v in parts):
        raise SpecError(f"--grid {text!r}: empty value")
    return dest(key), parts


def spec_from_flags(grid_flags: list[str], seeds_per_task: int | None = None) -> GridSpec:
    axes: dict[str, list[Any]] = {}
    for text in grid_flags:
        key, values = parse_grid_flag(text)
        if key in axes:
            raise SpecError(f"--grid {key} is given twice")
        axes[key] = values
    return checked(GridSpec(axes, {}, seeds_per_task))


def load_spec(path: Path) -> GridSpec:
    """A TOML spec file -> GridSpec (every error one SpecError line)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(SPEC_MAX_BYTES + 1)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"{path}: cannot read ({e.__class__.__name__})") from None
    if len(raw) > SPEC_MAX_BYTES:
        raise SpecError(f"{path}: a spec of more than {SPEC_MAX_BYTES} bytes")
    try:
        data = tomllib.loads(text)
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise SpecError(f"{path}: values nested too deeply") from None
    except ValueError as e:  # TOMLDecodeError, and integers over Python's digit limit
        raise SpecError(f"{path}: not TOML ({str(e).splitlines()[0][:200]})") from None
    unknown = set(data) - TOP_LEVEL
    if unknown:
        raise SpecError(
            f"{path}: unknown entries {shown(sorted(unknown))} (expected {sorted(TOP_LEVEL)})"
        )
    grid, flags = data.get("grid", {}), data.get("flags", {})
    if not isinstance(grid, dict) or not isinstance(flags, dict):
        raise SpecError(f"{path}: [grid] and [flags] must be tables")
    axes = {}
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise SpecError(f"{path}: grid.{_name(key)} must be a non-empty list of values")
        # stripped like --grid values: " 8" is the width 8, and names the folder width=8
        axes[dest(key)] = [_strip(_scalar(path, f"grid.{_name(key)}", v)) for v in values]
    fixed = {dest(k): _scalar(path, f"flags.{_name(k)}", v) for k, v in flags.items()}
    per_task = data.get("seeds_per_task")
    check_seeds_per_task(per_task, f"{path}: seeds_per_task")
    return checked(GridSpec(axes, fixed, per_task))


def _scalar(path: Path, where: str, v: Any) -> Any:
    if isinstance(v, bool | int | float | str):
        return v
    raise SpecError(f"{path}: {where} must be a number, string or boolean, got {shown(v)}")


def _name(key: str) -> str:
    """A key for an error line: as written when it is a short printable name, else shown."""
    return key if key.isprintable() and len(key) <= 64 else shown(key)


def _strip(v: Any) -> Any:
    return v.strip() if isinstance(v, str) else v


def _check_entry(where: str, key: str, values: list[Any], swept: bool) -> None:
    """One key of a spec and its values: a flag name; numbers, booleans or one printable line."""
    if _KEY.fullmatch(key) is None:
        raise SpecError(f"{where} {shown(key)} is not a train.py flag name")
    for v in values:
        if not isinstance(v, bool | int | float | str):
            raise SpecError(f"{flag(key)}: {shown(v)} is not a number, string or boolean")
        if not isinstance(v, str):
            continue
        if not v.isprintable():  # a NUL, a line break: no flag takes one, and paths choke
            raise SpecError(f"{flag(key)}: {shown(v)} holds a control character")
        if swept and not v.isascii():  # it names the config's folder, which must show it
            raise SpecError(f"{flag(key)}: swept values are ASCII, got {shown(v)}")
        if swept and not v.strip():
            raise SpecError(f"{flag(key)}: empty value")


def checked(spec: GridSpec) -> GridSpec:
    """The spec, if it can be expanded: flag names, plain values, no run-control keys, each
    value once, not too big."""
    if not spec.axes:
        raise SpecError("a grid sweep needs at least one swept flag")
    refuse_run_flags(spec, NOT_SWEPT)
    for key, values in spec.axes.items():
        _check_entry("grid key", key, values, swept=True)
        if key in NOT_TRAINING:
            raise SpecError(f"{flag(key)} cannot be swept (it does not change what is trained)")
        if len({str(v) for v in values}) != len(values):
            raise SpecError(f"{flag(key)}: a value is listed twice in {shown(values)}")
        if key in spec.flags:
            raise SpecError(f"{flag(key)} is both fixed and swept")
    for key, v in spec.flags.items():
        _check_entry("[flags] key", key, [v], swept=False)
    n = 1
    for values in spec.axes.values():
        n *= len(values)
    if n > MAX_CONFIGS:
        raise SpecError(f"the grid has {n} configs, more than {MAX_CONFIGS}")
    check_seeds_per_task(spec.seeds_per_task)
    return spec


def check_seeds_per_task(n: object, name: str = "--seeds-per-task") -> None:
    """The rule for seeds per task: None (all of a config's seeds in one task) or a whole
    number >= 1; else a SpecError naming where the value came from."""
    if n is None:
        return
    if type(n) is not int:  # bool is an int subclass: TOML `true` is refused too
        raise SpecError(f"{name} must be a whole number, got {shown(n)}")
    if n < 1:
        raise SpecError(f"{name} must be >= 1, got {n}")


def refuse_run_flags(spec: GridSpec, run_flags: Collection[str]) -> None:
    """SpecError for a flag of `run_flags` (how or where the sweep runs) that the spec
    sweeps, or fixes in [flags] unless it is one a spec may fix (seeds, out, threads, device)."""
    for key in spec.axes:
        if key in run_flags:
            raise SpecError(f"{flag(key)} cannot be swept (it says how the sweep runs)")
    bad = sorted(set(spec.flags) & (set(run_flags) - {"seeds", "out", "threads", "device"}))
    if bad:
        raise SpecError(f"[flags] cannot set {', '.join(map(flag, bad))}")


def points(spec: GridSpec) -> list[dict[str, Any]]:
    """Every combination of the swept values, the last key varying fastest."""
    keys = list(spec.axes)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*spec.axes.values())]


def to_argv(values: dict[str, Any]) -> list[str]:
    """Flag values -> train.py arguments; a boolean is a switch (present when true)."""
    argv: list[str] = []
    for key, v in values.items():
        if isinstance(v, bool):
            argv += [flag(key)] if v else []
        else:
            argv += [flag(key), str(v)]
    return argv


def folder_name(point: dict[str, Any]) -> str:
    """A point's folder under the sweep's output: 'model=rflr_lr=0.05' (safe characters)."""
    parts = [f"{key}={_UNSAFE.sub('-', str(v))}" for key, v in point.items()]
    return "_".join(parts)


def folder_names(all_points: list[dict[str, Any]]) -> list[str]:
    """Every point's folder name; two points that would share a folder are refused."""
    names = [folder_name(p) for p in all_points]
    seen: dict[str, dict] = {}
    for name, p in zip(names, all_points, strict=True):
        if name in seen:
            raise SpecError(f"configs {seen[name]} and {p} would share the folder {name!r}")
        seen[name] = p
    return names


def seed_blocks(seeds: list[int], per_task: int | None) -> list[list[int]]:
    """The seeds of one config cut into tasks of `per_task` seeds (None: one task)."""
    size = per_task or max(len(seeds), 1)
    return [seeds[i : i + size] for i in range(0, len(seeds), size)]
