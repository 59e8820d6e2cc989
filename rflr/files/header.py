"""The one validation boundary for checkpoint metadata (SPEC section 5).

A checkpoint's `__metadata__` is text written by anyone (a Hub repo, an upload). Every field
is checked here for type and range before a tensor name list, a model or a widget is built
from it, and comes out as a typed record: `RunConfig`, the step, `Metrics` and `History`.
Nothing past this module sees a raw JSON value.

Rules (docs/security.md lists them with the caps):
- each JSON field is at most JSON_MAX_CHARS characters and NESTING_MAX levels deep, checked
  before and after parsing (the C parser raises RecursionError on deep nesting: caught);
- bools are not numbers; numbers are finite (NaN and Infinity literals are refused; the
  trainer writes an undefined measurement as JSON null);
- counts are bounded (rflr.core.config's caps, HISTORY_MAX, LAYERS_MAX, GRID_POINTS_MAX);
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
    MODEL_CONFIGS,
    STEPS_MAX,
    TERMS_MAX,
    WIDTH_MAX,
    RunConfig,
    TargetConfig,
    TrainConfig,
)

JSON_MAX_CHARS = 4 << 20  # per metadata field; a 20k-point history is ~1.3 MB
NESTING_MAX = 8  # the deepest legitimate value is rflr.config.target.cosines[i][j]: 4 levels
HISTORY_MAX = 20_000  # logged points (10 per decade of 10^12 steps is 120)
LAYERS_MAX = DEPTH_MAX  # per-layer metric records: one per partial layer
GRID_POINTS_MAX = 16_385  # the app evaluates every layer on this many points
NAME_MAX = 100  # characters of a layer name
STATUSES = ("ok", "diverged")
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


# --- rflr.metrics and rflr.history: typed records ---------------------------------------------


class _Record(Mapping):
    """A frozen dataclass that also reads like the JSON object it came from (`m.get("x")`),
    so code written against the dict keeps working; new code uses the attributes. In that
    view a field that is None is absent, as a key the file did not have: `m.get("status",
    "unknown")` gives "unknown" for a file without a status."""

    def to_dict(self) -> dict[str, Any]:
        """Every field (None included), nested records as dicts: JSON-ready."""
        return {
            f.name: _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        }

    def __getitem__(self, key: str) -> Any:
        value = getattr(self, key, None) if key in self._names() else None
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return (k for k in self._names() if getattr(self, k) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def _names(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self))  # type: ignore[arg-type]


def _plain(v: Any) -> Any:
    if isinstance(v, _Record):
        return v.to_dict()
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


_UNIT = (0.0, 1.0)  # D, a fraction, lies in [0, 1]
_LOSS = (0.0, math.inf)  # a loss is >= 0; huge but finite is legal (a run about to diverge)


@dataclass(frozen=True, eq=True)
class LayerMetrics(_Record):
    """One partial layer's active partial defect (measure.checkpoint_metrics)."""

    name: str = ""
    defect_mean: float | None = None
    defect_median: float | None = None
    defect_max: float | None = None
    active: int | None = None
    channels: int | None = None
    even: int | None = None
    odd: int | None = None
    mixed: int | None = None
    oscillations_median: float | None = None

    @classmethod
    def parse(cls, prefix: str, d: Any) -> LayerMetrics:
        d = _dict(prefix, d)
        counts = {
            k: _optional_int(f"{prefix}.{k}", d.get(k), 0, WIDTH_MAX)
            for k in ("active", "channels", "even", "odd", "mixed")
        }
        return cls(
            name=_str(f"{prefix}.name", d.get("name", ""), NAME_MAX),
            **{
                k: _optional_number(f"{prefix}.{k}", d.get(k), *_UNIT)
                for k in ("defect_mean", "defect_median", "defect_max")
            },
            **counts,
            oscillations_median=_optional_number(
                f"{prefix}.oscillations_median", d.get("oscillations_median"), 0, GRID_POINTS_MAX
            ),
        )


@dataclass(frozen=True, eq=True)
class Metrics(_Record):
    """`rflr.metrics`: a snapshot's measurements; None where undefined or not recorded."""

    status: str | None = None  # "ok" | "diverged"; None: not recorded (read as "ok")
    test_mse: float | None = None
    output_defect: float | None = None
    headline_defect: float | None = None
    grid_points: int | None = None
    activity_threshold: float | None = None
    parity_tau: float | None = None
    oscillation_tol: float | None = None
    atom_pairing_defect: float | None = None
    atom_outgoing_mismatch: float | None = None
    alive_atoms: int | None = None
    diverged_at_step: int | None = None
    layers: list[LayerMetrics] = field(default_factory=list)

    @classmethod
    def parse(cls, text: object) -> Metrics:
        name = "rflr.metrics"
        d = _dict(name, parse_json(name, text))
        status = d.get("status")
        if status is not None and _str(f"{name}.status", status, NAME_MAX) not in STATUSES:
            raise HeaderError(
                f"{name}.status", f"expected one of {list(STATUSES)}, got {status[:40]!r}"
            )
        layers = _list(f"{name}.layers", d.get("layers", []), LAYERS_MAX)

        def num(key: str, lo: float, hi: float) -> float | None:
            return _optional_number(f"{name}.{key}", d.get(key), lo, hi)

        return cls(
            status=status,
            test_mse=num("test_mse", *_LOSS),
            output_defect=num("output_defect", *_UNIT),
            headline_defect=num("headline_defect", *_UNIT),
            grid_points=_optional_int(
                f"{name}.grid_points", d.get("grid_points"), 3, GRID_POINTS_MAX
            ),
            activity_threshold=num("activity_threshold", *_UNIT),
            parity_tau=num("parity_tau", *_UNIT),
            oscillation_tol=num("oscillation_tol", 0, MAGNITUDE_MAX),
            atom_pairing_defect=num("atom_pairing_defect", 0, math.inf),
            atom_outgoing_mismatch=num("atom_outgoing_mismatch", 0, math.inf),
            alive_atoms=_optional_int(f"{name}.alive_atoms", d.get("alive_atoms"), 0, WIDTH_MAX),
            diverged_at_step=_optional_int(
                f"{name}.diverged_at_step", d.get("diverged_at_step"), 0, STEPS_MAX
            ),
            layers=[LayerMetrics.parse(f"{name}.layers[{i}]", x) for i, x in enumerate(layers)],
        )


@dataclass(frozen=True, eq=True)
class History(_Record):
    """`rflr.history`: logged steps (non-decreasing) and the losses there (None: not finite)."""

    step: list[int] = field(default_factory=list)
    train_loss: list[float | None] = field(default_factory=list)
    test_mse: list[float | None] = field(default_factory=list)

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
                _optional_number(f"{name}.{key}[{i}]", v, *_LOSS) for i, v in enumerate(values)
            ]
        return cls(steps, losses["train_loss"], losses["test_mse"])
