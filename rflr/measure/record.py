"""The metrics record a checkpoint carries (SPEC section 5): one typed record, no dict twin.

    rflr.measure.evaluate.checkpoint_metrics   writes it (the trainer then sets the status)
    Metrics.to_json                            is the header's `rflr.metrics` text
    rflr.files.header.metrics_from_json        validates that text and builds this same class
    everyone else                              reads attributes: m.test_mse, m.layers[-1].name

Undefined has one value, in memory as in the file: None (JSON null). A measurement that came
out NaN (no active channel, no order on a d > 1 grid) or infinite becomes None when the record
is built, so a record survives to_json -> metrics_from_json equal field for field.

A new metric is one function in rflr/measure/ that computes it and one field here, declared
with `_number` or `_count` and the range a file may hold (a checkpoint-wide measurement goes
before `layers`, a per-layer one at the end of LayerMetrics); checkpoint_metrics calls the
function for it, rflr.files.header checks the range without a line of its own, files written
before it read back with None, and the JSON keys follow the field order. A summary.csv column
for it, if it gets one, is one line in rflr.sweep.summary.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from rflr.core.config import MAGNITUDE_MAX, STEPS_MAX, WIDTH_MAX

GRID_POINTS_MAX = 16_385  # the app evaluates every layer on this many points
STATUSES = ("ok", "diverged")  # the trainer's; a record without one reads as "unknown"

UNIT_RANGE = (0.0, 1.0)  # D, a fraction, lies in [0, 1]
LOSS_RANGE = (0.0, math.inf)  # a loss is >= 0; huge but finite is legal (a run about to diverge)


def _number(lo: float, hi: float) -> Any:
    """A float measurement in [lo, hi] (checked by rflr.files.header); None where undefined."""
    return field(default=None, metadata={"kind": float, "range": (lo, hi)})


def _count(lo: int, hi: int, when_set: bool = False) -> Any:
    """An integer in [lo, hi] (checked by rflr.files.header); None where not recorded.
    `when_set`: see _when_set."""
    meta = {"kind": int, "range": (lo, hi), "when_set": when_set}
    return field(default=None, metadata=meta)


def _when_set() -> Any:
    """A field the trainer sets, not a measurement: written only when not None, as the
    trainer always has (a finished run's file has no diverged_at_step key)."""
    return field(default=None, metadata={"when_set": True})


def as_float(x: float | None) -> float:
    """A measurement for arithmetic and tables: NaN where undefined (None)."""
    return math.nan if x is None else float(x)


def _undefined_as_none(record: Any) -> None:
    for f in dataclasses.fields(record):
        v = getattr(record, f.name)
        if isinstance(v, float) and not math.isfinite(v):
            object.__setattr__(record, f.name, None)  # frozen: only here, while it is built


def _json_ready(record: Any) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(record):
        v = getattr(record, f.name)
        if v is None and f.metadata.get("when_set"):
            continue
        out[f.name] = [x.to_dict() for x in v] if isinstance(v, list) else v
    return out


@dataclass(frozen=True)
class LayerMetrics:
    """One partial layer's active partial defect (rflr.measure.metrics.defect_stats) and the
    median oscillation count of its active channels (rflr.measure.channels)."""

    name: str = ""  # the captured layer, e.g. "bottleneck.2.z"
    defect_mean: float | None = _number(*UNIT_RANGE)  # D over the active channels
    defect_median: float | None = _number(*UNIT_RANGE)
    defect_max: float | None = _number(*UNIT_RANGE)
    active: int | None = _count(0, WIDTH_MAX)  # channels at or above the activity threshold
    channels: int | None = _count(0, WIDTH_MAX)
    even: int | None = _count(0, WIDTH_MAX)  # active channels by parity (tau)
    odd: int | None = _count(0, WIDTH_MAX)
    mixed: int | None = _count(0, WIDTH_MAX)
    oscillations_median: float | None = _number(0, GRID_POINTS_MAX)  # None on a d > 1 grid

    def __post_init__(self) -> None:
        _undefined_as_none(self)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this layer in `rflr.metrics.layers`."""
        return _json_ready(self)


@dataclass(frozen=True)
class Metrics:
    """`rflr.metrics`: a snapshot's measurements; None where undefined or not recorded.

    Field order is the file's key order: the measurements, the layers, then what the trainer
    sets (status, and diverged_at_step for a diverged run)."""

    test_mse: float | None = _number(*LOSS_RANGE)  # on the metrics grid
    output_defect: float | None = _number(*UNIT_RANGE)  # D(y)
    headline_defect: float | None = _number(*UNIT_RANGE)  # the deepest partial layer's defect_mean
    grid_points: int | None = _count(3, GRID_POINTS_MAX)
    activity_threshold: float | None = _number(*UNIT_RANGE)
    parity_tau: float | None = _number(*UNIT_RANGE)
    oscillation_tol: float | None = _number(0, MAGNITUDE_MAX)
    atom_pairing_defect: float | None = _number(0, math.inf)  # rflr.measure.channels
    atom_outgoing_mismatch: float | None = _number(0, math.inf)
    alive_atoms: int | None = _count(0, WIDTH_MAX)
    layers: list[LayerMetrics] = field(default_factory=list)  # one per partial layer
    status: str | None = _when_set()  # "ok" | "diverged"; None: not recorded ("unknown")
    diverged_at_step: int | None = _count(0, STEPS_MAX, when_set=True)

    def __post_init__(self) -> None:
        _undefined_as_none(self)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of `rflr.metrics`, keys in field order (None is null; status and
        diverged_at_step are left out while unset)."""
        return _json_ready(self)

    def to_json(self) -> str:
        """The header's `rflr.metrics` text, byte for byte what the trainer has always written."""
        return json.dumps(self.to_dict())
