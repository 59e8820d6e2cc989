"""The one validation boundary for checkpoint metadata (SPEC section 5).

A checkpoint's `__metadata__` is text written by anyone (a Hub repo, an upload). Every field
is checked here for type and range before a tensor name list, a model or a widget is built
from it, and comes out as a typed record: `RunConfig`, the step, `Metrics` (the class of
rflr.measure.record, which the evaluation writes) and `History`. Nothing past this module sees
a raw JSON value.

Rules (docs/security.md lists them with the caps):
- each JSON field is at most JSON_MAX_CHARS characters and NESTING_MAX levels deep, checked
  before and after parsing (the C parser raises RecursionError on deep nesting: caught);
- bools are not numbers; numbers are finite (NaN and Infinity literals are refused; the
  trainer writes an undefined measurement as JSON null);
- counts are bounded (rflr.core.config's caps, HISTORY_MAX, LAYERS_MAX, and the range each
  field of rflr.measure.record declares, e.g. GRID_POINTS_MAX);
- unknown keys are ignored (newer writers may add some), missing ones take defaults.

A failure is a HeaderError naming the field (e.g. `rflr.config.train.lr`); rflr.files.checkpoint
turns it into a CheckpointError naming the file.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from rflr.core.config import (
    DEPTH_MAX,
    MAGNITUDE_MAX,
    MILESTONES_MAX,
    STEPS_MAX,
    TERMS_MAX,
    RunConfig,
    TargetConfig,
    TrainConfig,
)
from rflr.core.kinds import MODEL_CONFIGS
from rflr.measure.record import LOSS_RANGE, STATUSES, LayerMetrics, Metrics

JSON_MAX_CHARS = 4 << 20  # per metadata field; a 20k-point history is ~1.3 MB
NESTING_MAX = 8  # the deepest legitimate value is rflr.config.target.cosines[i][j]: 4 levels
HISTORY_MAX = 20_000  # logged points (10 per decade of 10^12 steps is 120)
LAYERS_MAX = DEPTH_MAX  # per-layer metric records: one per partial layer
NAME_MAX = 100  # characters of a layer name
_STEP = re.compile(r"[0-9]{1,13}")  # STEPS_MAX = 10^12 has 13 digits


class HeaderError(ValueError):
    """A metadata field of the wrong type, out of range, too large or too deep."""

    def __init__(self, field_name: str, reason: str):
        self.field = field_name
        self.reason = reason
        super().__init__(f"{field_name}: {reason}")


# --- JSON text -> bounded value ---------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed (write null for an undefined number)")


def parse_json(field_name: str, text: object) -> Any:
    """json.loads with the size and nesting bounds; NaN/Infinity literals refused."""
    if not isinstance(text, str):
        raise HeaderError(field_name, f"expected JSON text, got {type(text).__name__}")
    if len(text) > JSON_MAX_CHARS:
        raise HeaderError(field_name, f"{len(text)} characters, more than {JSON_MAX_CHARS}")
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise HeaderError(field_name, f"nested deeper than {NESTING_MAX} levels") from None
    except ValueError as e:
        raise HeaderError(field_name, f"not valid JSON ({e})") from None
    _check_nesting(field_name, value)
    return value


def _check_nesting(field_name: str, value: Any) -> None:
    """Iterative (no recursion), so a deep value cannot blow the stack here either."""
    stack = [(value, 1)]
    while stack:
        v, level = stack.pop()
        if isinstance(v, dict | list):
            if level > NESTING_MAX:
                raise HeaderError(field_name, f"nested deeper than {NESTING_MAX} levels")
            stack.extend((c, level + 1) for c in (v.values() if isinstance(v, dict) else v))


# --- typed scalars ----------------------------------------------------------------------------


def _type_name(v: Any) -> str:
    return "null" if v is None else type(v).__name__


def _int(name: str, v: Any, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise HeaderError(name, f"expected an integer, got {_type_name(v)}")
    if not lo <= v <= hi:
        raise HeaderError(name, f"{_short(v)} is outside [{lo}, {hi}]")
    return v


def _number(name: str, v: Any, lo: float = -MAGNITUDE_MAX, hi: float = MAGNITUDE_MAX) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise HeaderError(name, f"expected a number, got {_type_name(v)}")
    if isinstance(v, float) and not math.isfinite(v):  # 1e400 parses as inf
        raise HeaderError(name, f"expected a finite number, got {v}")
    if not lo <= v <= hi:  # exact for ints of any size (no float conversion)
        raise HeaderError(name, f"{_short(v)} is outside [{lo:g}, {hi:g}]")
    return v


def _short(v: Any) -> str:
    text = (
        str(v)
        if not isinstance(v, int) or abs(v) < 10**15
        else f"an integer of {len(str(abs(v)))} digits"
    )
    return text[:40]


def _optional_number(name: str, v: Any, lo: float, hi: float) -> float | None:
    """A measurement: a finite number, or null where it was undefined (NaN when measured)."""
    return None if v is None else _number(name, v, lo, hi)


def _optional_int(name: str, v: Any, lo: int, hi: int) -> int | None:
    return None if v is None else _int(name, v, lo, hi)


def _str(name: str, v: Any, max_len: int) -> str:
    if not isinstance(v, str):
        raise HeaderError(name, f"expected a string, got {_type_name(v)}")
    if len(v) > max_len:
        raise HeaderError(name, f"{len(v)} characters, more than {max_len}")
    return v


def _bool(name: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise HeaderError(name, f"expected true or false, got {_type_name(v)}")
    return v


def _list(name: str, v: Any, max_len: int) -> list:
    if not isinstance(v, list):
        raise HeaderError(name, f"expected a list, got {_type_name(v)}")
    if len(v) > max_len:
        raise HeaderError(name, f"{len(v)} entries, more than {max_len}")
    return v


def _dict(name: str, v: Any) -> dict:
    if not isinstance(v, dict):
        raise HeaderError(name, f"expected a JSON object, got {_type_name(v)}")
    return v


# --- rflr.config ------------------------------------------------------------------------------

_INT_CAP = 2**63 - 1  # the ranges proper are RunConfig.validate's (one home for each rule)


def _typed_fields(prefix: str, cls: type, d: dict) -> dict[str, Any]:
    """The known fields of dataclass `cls` present in d, each checked against its default's type."""
    out = {}
    for f in dataclasses.fields(cls):
        if f.name not in d or d[f.name] is None:
            continue  # missing: the default (files from older writers)
        name, v = f"{prefix}{f.name}", d[f.name]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        if isinstance(default, bool):
            out[f.name] = _bool(name, v)
        elif isinstance(default, int):
            out[f.name] = _int(name, v, -_INT_CAP, _INT_CAP)
        elif isinstance(default, float):
            out[f.name] = _number(name, v)
        elif isinstance(default, str):
            out[f.name] = _str(name, v, NAME_MAX)
        elif f.name in _TERM_SHAPES:
            terms = _list(name, v, TERMS_MAX)
            out[f.name] = [
                _term(f"{name}[{i}]", p, _TERM_SHAPES[f.name]) for i, p in enumerate(terms)
            ]
        else:  # lists of numbers: lr_milestones, adam_betas
            items = _list(name, v, MILESTONES_MAX)
            out[f.name] = [_number(f"{name}[{i}]", x) for i, x in enumerate(items)]
    return out


# A target's term lists and the numbers of each entry (rflr.core.config.TargetConfig).
_TERM_SHAPES = {
    "cosines": (2, "[frequency, amplitude] pair"),
    "sines": (2, "[frequency, amplitude] pair"),
    "transverse": (3, "[w, v, amplitude] triple"),
}


def _term(name: str, v: Any, shape: tuple[int, str]) -> list[float]:
    arity, what = shape
    items = _list(name, v, arity)
    if len(items) != arity:
        raise HeaderError(name, f"expected a {what}, got {len(items)} numbers")
    return [_number(f"{name}[{i}]", x) for i, x in enumerate(items)]


def config_from_json(text: object) -> RunConfig:
    """`rflr.config` -> a validated RunConfig (types here, ranges and caps in RunConfig.validate)."""
    d = _dict("rflr.config", parse_json("rflr.config", text))
    kind = d.get("model")
    if not isinstance(kind, str) or kind not in MODEL_CONFIGS:
        shown = repr(kind)[:40] if isinstance(kind, str) else _type_name(kind)
        raise HeaderError(
            "rflr.config.model",
            f"unknown model kind {shown} (expected one of {list(MODEL_CONFIGS)})",
        )
    model_cls = MODEL_CONFIGS[kind]
    model = model_cls(**_typed_fields("rflr.config.", model_cls, d))
    target = TargetConfig(
        **_typed_fields(
            "rflr.config.target.",
            TargetConfig,
            _dict("rflr.config.target", d.get("target", {})),
        )
    )
    train = TrainConfig(
        **_typed_fields(
            "rflr.config.train.",
            TrainConfig,
            _dict("rflr.config.train", d.get("train", {})),
        )
    )
    seed = _int("rflr.config.seed", d.get("seed", 0), 0, _INT_CAP)
    run_id = d.get("run_id")
    run_id = "" if run_id is None else _str("rflr.config.run_id", run_id, 1000)  # "": default
    cfg = RunConfig(model, target, train, seed=seed, run_id=run_id)
    try:
        cfg.validate()
    except ValueError as e:
        raise HeaderError("rflr.config", str(e)) from None
    return cfg


def step_from_text(text: object, cfg: RunConfig) -> int:
    """`rflr.step`: decimal digits, at most the run's own number of steps."""
    if not isinstance(text, str) or not _STEP.fullmatch(text):
        shown = repr(text)[:40] if isinstance(text, str) else _type_name(text)
        raise HeaderError("rflr.step", f"expected a step count (decimal digits), got {shown}")
    step = int(text)
    if step > cfg.train.steps:
        raise HeaderError("rflr.step", f"{step} is past the run's last step {cfg.train.steps}")
    return step


# --- rflr.metrics: the record of rflr.measure.record --------------------------------------------


def metrics_from_json(text: object) -> Metrics:
    """`rflr.metrics` -> a validated rflr.measure.record.Metrics. Each measured field is
    checked against the type and range its record field declares, in field order."""
    name = "rflr.metrics"
    d = _dict(name, parse_json(name, text))
    status = d.get("status")
    if status is not None and _str(f"{name}.status", status, NAME_MAX) not in STATUSES:
        raise HeaderError(
            f"{name}.status", f"expected one of {list(STATUSES)}, got {status[:40]!r}"
        )
    layers = _list(f"{name}.layers", d.get("layers", []), LAYERS_MAX)
    return Metrics(
        status=status,
        **_measured(name, Metrics, d),
        layers=[_layer_metrics(f"{name}.layers[{i}]", x) for i, x in enumerate(layers)],
    )


def _layer_metrics(prefix: str, d: Any) -> LayerMetrics:
    d = _dict(prefix, d)
    name = _str(f"{prefix}.name", d.get("name", ""), NAME_MAX)
    return LayerMetrics(name=name, **_measured(prefix, LayerMetrics, d))


def _measured(prefix: str, cls: type, d: dict) -> dict[str, Any]:
    """The fields of record `cls` that declare a kind and range: each a number (or an
    integer) in that range, or None (JSON null: undefined; missing: an older writer)."""
    out = {}
    for f in dataclasses.fields(cls):
        if "range" in f.metadata:
            check = _optional_int if f.metadata["kind"] is int else _optional_number
            out[f.name] = check(f"{prefix}.{f.name}", d.get(f.name), *f.metadata["range"])
    return out


# --- rflr.history -----------------------------------------------------------------------------

_SERIES = ("step", "train_loss", "test_mse")


@dataclass(frozen=True, eq=True)
class History(Mapping):
    """`rflr.history`: logged steps (non-decreasing) and the losses there (None: not finite).

    Also a mapping from series name to values, the shape of the trainer's own history dict:
    its readers (rflr.measure.plateaus, rflr.views.data) pick a series by name and take
    either. The metrics record (rflr.measure.record) has no such view."""

    step: list[int] = field(default_factory=list)
    train_loss: list[float | None] = field(default_factory=list)
    test_mse: list[float | None] = field(default_factory=list)

    def __getitem__(self, key: str) -> list:
        if key not in _SERIES:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(_SERIES)

    def __len__(self) -> int:
        return len(_SERIES)

    def to_dict(self) -> dict[str, list]:
        """The JSON object of `rflr.history`."""
        return {k: getattr(self, k) for k in _SERIES}

    @classmethod
    def parse(cls, text: object) -> History:
        name = "rflr.history"
        d = _dict(name, parse_json(name, text))
        steps = _list(f"{name}.step", d.get("step", []), HISTORY_MAX)
        steps = [_int(f"{name}.step[{i}]", s, 0, STEPS_MAX) for i, s in enumerate(steps)]
        if any(b < a for a, b in zip(steps, steps[1:], strict=False)):
            raise HeaderError(f"{name}.step", "steps must be non-decreasing")
        losses = {}
        for key in ("train_loss", "test_mse"):
            values = _list(f"{name}.{key}", d.get(key, []), HISTORY_MAX)
            if values and len(values) != len(steps):
                raise HeaderError(f"{name}.{key}", f"{len(values)} values for {len(steps)} steps")
            losses[key] = [
                _optional_number(f"{name}.{key}[{i}]", v, *LOSS_RANGE) for i, v in enumerate(values)
            ]
        return cls(steps, losses["train_loss"], losses["test_mse"])
