"""What a visitor can make the explorer compute and keep: the budget of one checkpoint's
evaluation, the byte-bounded store of what was computed, and the gate on heavy work.

The explorer evaluates every captured layer of a checkpoint on the symmetric grid
(rflr.views.data). What that costs follows from the checkpoint's shape, which the header gives
before a tensor is read (`Cost.of`):

    memory         the evaluated layers, float64, ~ 2 x width x depth x grid points values,
                   and the float64 copies of the weights (width^2 x depth for dense)
    multiply-adds  grid points x the weights of one forward pass (width^2 x depth for dense)
    matching       width^3 x depth: the Hungarian matchings of every layer's units (Weights
                   tab, equivariance), cubic in the units matched

`check` refuses a checkpoint over any limit, in one line that names the limit and its
variable; `grid_points` caps the grid, so that a header's `metrics.grid_points` cannot choose
how much is computed. Served mode (RFLR_SERVE=1: one process for every visitor of a Space,
2 vCPU and 16 GB) has tight limits; a local explorer generous ones, still bounded. A Space
owner can set each limit by an environment variable (ENV; docs/security.md).

Why a module of its own, not rflr.core.config: config's caps say what a *file* may declare,
for every reader (the trainer, `rflr analyze`, the notebook); these say what the *explorer*
agrees to compute and keep for a visitor, and depend on how it is served. What a visitor may
put on disk (upload size and count) stays with the uploads, in rflr.views.sources.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import torch

from rflr.core.config import ModelConfig
from rflr.core.model import param_shapes
from rflr.core.targets import DEFAULT_GRID_POINTS
from rflr.measure.record import GRID_POINTS_MAX
from rflr.views import slots, sources

MB = 2**20
GIGA = 2**30  # the unit of the compute and matching limits
_LOG = logging.getLogger(__name__)
T = TypeVar("T")
L = TypeVar("L")  # a limits dataclass (Limits, TrainLimits)


class BudgetError(Exception):
    """A checkpoint too large for this explorer; the message is one line naming the limit."""


@dataclass(frozen=True)
class Limits:
    """What one checkpoint may make the explorer compute, and what its caches may keep."""

    grid_points: int = GRID_POINTS_MAX  # points a layer is evaluated on, at most (odd)
    eval_mb: int = 2048  # one checkpoint's evaluated layers and float64 weights
    compute_g: int = 128  # multiply-adds of one evaluation, in units of 2^30
    matching_g: int = 256  # width^3 x depth of the Hungarian matchings, in units of 2^30
    cache_mb: int = 4096  # loaded checkpoints and tables evaluated from them, all sessions
    heavy_at_once: int = 2  # evaluations and matchings running at the same time
    overlay_runs: int = 100  # runs overlaid at once (each reads its snapshots' headers)


# A public Space: 2 vCPU, 16 GB for every visitor together. One evaluation at a time leaves a
# core to the pages of everyone else. The caches' 768 MB hold every shipped checkpoint (74
# files of 8.6 MB loaded and evaluated, 637 MB), so no number of visitors on them makes the
# store churn; with the server's 450 MB after its first page and one evaluation of 256 MB in
# flight, the process stays under 1.5 GB however full the store is (issue 22's goal).
# An overlay reads every snapshot header of each run it draws (~10 ms a run): 12 runs.
SERVED = Limits(
    grid_points=4097,
    eval_mb=256,
    compute_g=8,
    matching_g=8,
    cache_mb=768,
    heavy_at_once=1,
    overlay_runs=12,
)
LOCAL = Limits()  # one person's machine: generous, still bounded

# What a Space owner can tune: variable -> field of Limits (a positive integer; anything else
# is ignored with a warning in the server's log).
ENV = {
    "RFLR_GRID_POINTS_MAX": "grid_points",
    "RFLR_EVAL_MB": "eval_mb",
    "RFLR_COMPUTE_G": "compute_g",
    "RFLR_MATCHING_G": "matching_g",
    "RFLR_CACHE_MB": "cache_mb",
    "RFLR_HEAVY_AT_ONCE": "heavy_at_once",
    "RFLR_OVERLAY_RUNS": "overlay_runs",
}
_warned: set[str] = set()


def limits() -> Limits:
    """The limits of this process: SERVED in served mode, else LOCAL, each field replaced by
    its environment variable when that is set to a positive integer. `cache_mb` is the whole
    server's: a server of several processes (RFLR_PROCESSES, rflr.explorer.serve) gives each
    its share, so that the caches' memory stays what one process would keep. `heavy_at_once`
    unset is per process (served: one evaluation at a time in each, each process its core:
    the lower tail of benchmarks/served_load.py --processes 2, docs/security.md); set, it is
    the whole server's."""
    lim = _from_env(SERVED if sources.served() else LOCAL, ENV)
    given = os.environ.get("RFLR_HEAVY_AT_ONCE", "").strip()
    owners = given.isdigit() and len(given) <= 12 and int(given) >= 1
    return dataclasses.replace(
        lim,
        grid_points=min(lim.grid_points, GRID_POINTS_MAX),
        cache_mb=max(1, lim.cache_mb // slots.processes()),
        heavy_at_once=lim.heavy_at_once if owners else lim.heavy_at_once * slots.processes(),
    )


def _from_env(base: L, env: dict[str, str]) -> L:
    """`base` with each field of `env` (variable -> field) replaced by its environment
    variable when that is a positive integer; anything else is ignored with a warning."""
    changes = {}
    for var, name in env.items():
        raw = os.environ.get(var, "").strip()
        if not raw:
            continue
        value = int(raw) if raw.isdigit() and len(raw) <= 12 else 0
        if value < 1 or (name == "grid_points" and value < 3):
            if raw not in _warned:
                _warned.add(raw)
                _LOG.warning("ignored %s=%r: not a positive integer", var, raw[:40])
            continue
        changes[name] = value
    return dataclasses.replace(base, **changes)


@dataclass(frozen=True)
class TrainLimits:
    """What the Train tab (rflr.views.jobs) lets visitors run on this server."""

    slots: int = 1  # jobs running at once, all sessions together; the rest wait in a queue
    work_m: int = 8000  # steps x batch x seeds x width^2 of a job (its models summed), millions
    wall_s: int = 3600  # a running job is killed after this many seconds
    idle_s: int = 30  # a job whose page has not polled for this long is cancelled
    keep_s: int = 86400  # a session's training folder is deleted this long after its last use
    zip_mb: int = 200  # the "Download run (zip)" archive, at most


# A public Space: the default job (RF-LR + dense, width 64, 8 seeds, 20,000 steps: 1,311 M)
# fits, and so does 30,000 steps; width 128 with 8 seeds does not. Five minutes of wall clock
# at most, and a session's runs go an hour after it was last used.
SERVED_TRAIN = TrainLimits(slots=1, work_m=2000, wall_s=300, idle_s=30, keep_s=3600, zip_mb=100)
LOCAL_TRAIN = TrainLimits()
TRAIN_ENV = {
    "RFLR_TRAIN_SLOTS": "slots",
    "RFLR_TRAIN_WORK_M": "work_m",
    "RFLR_TRAIN_WALL_S": "wall_s",
    "RFLR_TRAIN_IDLE_S": "idle_s",
    "RFLR_TRAIN_KEEP_S": "keep_s",
    "RFLR_TRAIN_ZIP_MB": "zip_mb",
}


def train_limits() -> TrainLimits:
    """The Train tab's limits: SERVED_TRAIN in served mode, else LOCAL_TRAIN, each field
    replaced by its environment variable (TRAIN_ENV) when that is a positive integer."""
    return _from_env(SERVED_TRAIN if sources.served() else LOCAL_TRAIN, TRAIN_ENV)


def grid_points(requested: object, lim: Limits | None = None) -> int:
    """The points the explorer evaluates a checkpoint on: the header's `metrics.grid_points`
    (the grid its metrics were measured on; DEFAULT_GRID_POINTS when absent), at most the cap."""
    lim = lim or limits()
    points = requested if isinstance(requested, int) and not isinstance(requested, bool) else 0
    points = points if points >= 3 else DEFAULT_GRID_POINTS
    return min(points, lim.grid_points)


@dataclass(frozen=True)
class Cost:
    """What evaluating one checkpoint on a grid costs, from its shape alone (no tensor read)."""

    width: int
    depth: int
    grid_points: int
    values: int  # evaluated layers: grid points x every product's outputs, twice (u and h)
    weights: int  # entries of the weight matrices: the multiply-adds of one grid point
    matching: int  # width^3 x depth: Hungarian matchings of every layer's units

    @classmethod
    def of(cls, model: ModelConfig, points: int) -> Cost:
        """An upper bound read off the model's tensor shapes (rflr.core.model.param_shapes):
        each weight matrix's outputs are captured before and after the activation."""
        mats = [s for s in param_shapes(model).values() if len(s) == 2]
        outputs = sum(rows for rows, _ in mats)
        weights = sum(rows * cols for rows, cols in mats)
        n, depth = model.width, model.depth
        return cls(n, depth, points, 2 * outputs * points, weights, n**3 * depth)

    @property
    def memory_bytes(self) -> int:
        """float64 layers, and two float64-sized copies of the weights (the checkpoint's own
        and the evaluation's)."""
        return 8 * self.values + 16 * self.weights

    @property
    def multiply_adds(self) -> int:
        return self.weights * self.grid_points


def refusal(cost: Cost, lim: Limits | None = None) -> str | None:
    """Why the explorer will not evaluate a checkpoint of this cost (one line), or None."""
    lim = lim or limits()
    where = "this server's" if sources.served() else "this explorer's"
    shape = f"width {cost.width} × depth {cost.depth}"
    checks = (  # (needed, allowed, what it is, how the limit reads, its variable)
        (
            cost.memory_bytes,
            lim.eval_mb * MB,
            f"{_size(cost.memory_bytes)} of memory to evaluate ({shape} × "
            f"{cost.grid_points} grid points)",
            _size(lim.eval_mb * MB),
            "RFLR_EVAL_MB",
        ),
        (
            cost.multiply_adds,
            lim.compute_g * GIGA,
            f"{_count(cost.multiply_adds)} multiply-adds to evaluate ({cost.weights:,} weights "
            f"× {cost.grid_points} grid points)",
            _count(lim.compute_g * GIGA),
            "RFLR_COMPUTE_G",
        ),
        (
            cost.matching,
            lim.matching_g * GIGA,
            f"Hungarian matchings of {_count(cost.matching)} steps (width³ × depth)",
            _count(lim.matching_g * GIGA),
            "RFLR_MATCHING_G",
        ),
    )
    for needed, allowed, what, limit, var in checks:
        if needed > allowed:
            return f"too large to show here: it needs {what}, over {where} limit of {limit} ({var})"
    return None


def check(model: ModelConfig, points: int, lim: Limits | None = None) -> Cost:
    """The cost of evaluating `model` on `points` grid points; BudgetError if over a limit."""
    cost = Cost.of(model, points)
    reason = refusal(cost, lim)
    if reason:
        raise BudgetError(reason)
    return cost


def _size(n: int) -> str:
    return f"{n / GIGA:.1f} GB" if n >= GIGA else f"{math.ceil(n / MB)} MB"


def _count(n: int) -> str:
    return f"{n / GIGA:.1f} G" if n >= GIGA / 10 else f"{n:,}"


# --- the gate on heavy work ------------------------------------------------------------------

_gate_lock = threading.Lock()
_gate: tuple[int, threading.BoundedSemaphore] | None = None
_inside = threading.local()  # how deep this thread is in heavy(): the gate is re-entrant


@contextmanager
def heavy() -> Iterator[None]:
    """Run an evaluation or a matching with at most `heavy_at_once` of them in the server at
    a time: one visitor's checkpoint cannot take every core while other pages wait (each
    page's torch runs one thread: rflr.explorer.page). A server of several processes counts
    them all (a slot file in RFLR_SLOTS_DIR), which also keeps one evaluation's memory in
    flight, not one per process. Re-entrant within a thread (a matching that has to load its
    checkpoint first), so it cannot deadlock on itself."""
    depth = getattr(_inside, "depth", 0)
    if depth:
        _inside.depth = depth + 1
        try:
            yield
        finally:
            _inside.depth = depth
        return
    size = limits().heavy_at_once
    shared = slots.folder()
    with _semaphore(size):
        # then the server's slot, when the server is several processes (rflr.views.slots):
        # always after the process's own gate, so that the two cannot wait for each other
        slot = slots.take(shared, "heavy", size) if shared is not None else None
        _inside.depth = 1
        try:
            yield
        finally:
            _inside.depth = 0
            if slot is not None:
                slot.release()


def _semaphore(size: int) -> threading.BoundedSemaphore:
    """The process's gate, made again when its size was changed (RFLR_HEAVY_AT_ONCE)."""
    global _gate
    with _gate_lock:
        if _gate is None or _gate[0] != size:
            _gate = (size, threading.BoundedSemaphore(size))
        return _gate[1]


# --- a cache bounded by bytes ------------------------------------------------------------------


def nbytes(value: Any) -> int:
    """The memory a value holds: arrays, tensors, frames and Arrow tables by their data,
    containers and dataclasses by their parts, anything else by sys.getsizeof."""
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, pd.DataFrame | pd.Series):
        return int(value.memory_usage(deep=True, index=True).sum())
    if isinstance(getattr(value, "nbytes", None), int):  # an Arrow table's buffers
        return value.nbytes
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(nbytes(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, f.name)) for f in dataclasses.fields(value))
    return sys.getsizeof(value)


class Store:
    """A least-recently-used map bounded by the bytes of its values (not by entries), shared by
    the sessions' threads. `get` computes a missing value once: another caller of the same key
    waits for it rather than computing it again. A value larger than the whole bound is
    returned and not kept."""

    def __init__(self, max_bytes: int, size: Callable[[Any], int] = nbytes):
        self.max_bytes = max_bytes
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._running: dict[Hashable, threading.Event] = {}
        self.total = 0  # bytes held

    def get(self, key: Hashable, make: Callable[[], T], heavy_work: bool = False) -> T:
        """The value kept under `key`, else make(), kept. With heavy_work, make() runs inside
        heavy(), entered before the key is claimed: a thread that holds the gate and needs a
        key another thread claimed can then always get it (that thread holds the gate too, or
        computes outside it), so the two cannot wait for each other."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        if heavy_work:
            with heavy():
                return self._compute(key, make)
        return self._compute(key, make)

    def _compute(self, key: Hashable, make: Callable[[], T]) -> T:
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key][0]
                running = self._running.get(key)
                if running is None:
                    self._running[key] = threading.Event()
                    break
            running.wait()  # computed by another session: kept, or failed (then ours)
        try:
            value = make()
            self._keep(key, value)
            return value
        finally:
            with self._lock:
                self._running.pop(key).set()

    def _keep(self, key: Hashable, value: Any) -> None:
        size = self._size(value)
        with self._lock:
            if size > self.max_bytes:
                return
            while self._items and self.total + size > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)  # least recently used
                self.total -= dropped
            self._items[key] = (value, size)
            self.total += size

    def resize(self, max_bytes: int) -> None:
        """A new bound (the limits changed): drop the least recently used values over it."""
        with self._lock:
            self.max_bytes = max_bytes
            while self._items and self.total > max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self.total -= dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.total = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items
