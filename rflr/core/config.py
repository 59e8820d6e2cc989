"""Configuration dataclasses: one per model, one for the target, one for training.

The config always travels with the weights: `RunConfig.to_json()` is what a
checkpoint stores under `rflr.config`, and `RunConfig.from_json()` reads it back,
filling defaults for fields that older files may lack.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

ACTIVATIONS = ("relu", "tanh")
PARAMETERIZATIONS = ("ntk", "standard", "mf")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "step", "cosine")
DTYPES = ("float32", "float64")

# Caps on what a config may ask for. Checkpoints come from anyone (a Hub repo, an upload), and
# the listing, the app's widgets and `load` build names and arrays from these numbers before a
# single tensor is read, so every count is bounded here, far above any run this project makes
# (the poster: width 128, depth 4, 100k steps). docs/security.md lists them.
WIDTH_MAX = 4096
DEPTH_MAX = 64
INPUT_DIM_MAX = 64
TERMS_MAX = 64  # cosine, sine and transverse terms of a target (each list)
FREQUENCY_MAX = 1e4  # |w| of a target term
MAGNITUDE_MAX = 1e6  # |amplitude|, domain A, lr, adam eps ...
STEPS_MAX = 10**12
N_TRAIN_MAX = 10**7
BATCH_MAX = 10**6
MILESTONES_MAX = 64
SEED_MAX = 2**63 - 1
RUN_ID_MAX = 200  # characters


def _finite(name: str, v: float, lo: float = -MAGNITUDE_MAX, hi: float = MAGNITUDE_MAX) -> None:
    if not lo <= v <= hi:  # NaN fails every comparison; ints of any size compare exactly
        raise ValueError(f"{name} must be a finite number in [{lo:g}, {hi:g}], got {str(v)[:40]}")


def _within(name: str, v: int, lo: int, hi: int) -> None:
    if v < lo:
        raise ValueError(f"{name} must be >= {lo}, got {str(v)[:40]}")
    if v > hi:
        raise ValueError(f"{name} must be <= {hi} (the documented cap), got {str(v)[:40]}")


@dataclass
class ModelConfig:
    """Fields shared by both models (SPEC section 2)."""

    width: int = 256  # N: units of every hidden layer
    depth: int = 4  # L: number of hidden nonlinear layers (>= 1)
    input_dim: int = 1  # d: the reflection negates coordinate 0 (x_1)
    activation: str = "relu"  # "relu" | "tanh"
    parameterization: str = "ntk"  # "ntk": N(0,1) init, products / sqrt(fan_in); "standard": PyTorch init;  # "mf" (mean field): as ntk, but the readout divides by N instead of sqrt(N)
    train_atoms: bool = True  # False freezes the first layer at its random init

    kind = "base"

    def validate(self) -> None:
        _within("width", self.width, 1, WIDTH_MAX)
        _within("depth", self.depth, 1, DEPTH_MAX)
        _within("input_dim", self.input_dim, 1, INPUT_DIM_MAX)
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if self.parameterization not in PARAMETERIZATIONS:
            raise ValueError(
                f"parameterization must be one of {PARAMETERIZATIONS}, got {self.parameterization!r}"
            )

    @property
    def rank_or_none(self) -> int | None:
        return None


@dataclass
class RFLRConfig(ModelConfig):
    """Random-feature low-rank network: N-wide layers joined by rank-r bottlenecks."""

    rank: int = 2  # r: channels of every bottleneck (the partial functions z)

    kind = "rflr"

    def validate(self) -> None:
        super().validate()
        if not 1 <= self.rank <= self.width:
            raise ValueError(f"rank must be in [1, width={self.width}], got {self.rank}")

    @property
    def rank_or_none(self) -> int | None:
        return self.rank


@dataclass
class DenseConfig(ModelConfig):
    """Dense MLP control: each bottleneck replaced by a full N x N matrix."""

    kind = "dense"


def parse_terms(text: str) -> list[list[float]]:
    """'1:1.0,2:0.5' -> [[1, 1.0], [2, 0.5]] (frequency:amplitude pairs, the syntax of
    `train.py --cosines`); '' -> []. ValueError (one line) for anything else."""
    terms = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            w, a = (float(v) for v in part.split(":"))
            if not (math.isfinite(w) and math.isfinite(a)):
                raise ValueError
            terms.append([w, a])
    except ValueError:
        raise ValueError(
            f"bad terms {text!r}: use freq:amp pairs of finite numbers like 1:1.0,2:0.5"
        ) from None
    return terms


@dataclass
class TargetConfig:
    """f*(x) on [-domain, domain]^d, even under R: x_1 -> -x_1 (coordinate 0 of x) unless
    `sines` is non-empty (the non-even control):

        f*(x) = sum_cosines a cos(w x_1) + sum_sines a sin(w x_1)
                + sum_transverse a cos(w x_1) sin(v s),   s = x_2 + ... + x_d.

    The transverse terms (d > 1 only) make the target depend on every coordinate, so a d > 1
    run is not a 1D problem with noise inputs: each is even under R by construction (cos is
    even, s does not contain x_1), and for w != 0 it is not a sum g(x_1) + h(s). sin (not
    cos) of s so that R is the only coordinate sign flip the whole target is even under
    (negating x_2, ..., x_d flips s). Empty by default: a config without them, and its
    checkpoint header, is exactly what it was before they existed (SPEC 3: f*(x) =
    g(|x_1|, x_2, ...)).
    """

    cosines: list[list[float]] = field(default_factory=lambda: [[1, 1.0], [2, 0.5], [3, 0.25]])
    sines: list[list[float]] = field(default_factory=list)  # non-empty: a non-even control
    domain: float = math.pi  # A
    transverse: list[list[float]] = field(default_factory=list)  # [w, v, a] triples (d > 1)

    def validate(self) -> None:
        _finite("domain", self.domain, 0, MAGNITUDE_MAX)
        if not self.domain > 0:
            raise ValueError(f"domain must be > 0, got {self.domain}")
        for name, arity, shape in (
            ("cosines", 2, "[frequency, amplitude] pairs"),
            ("sines", 2, "[frequency, amplitude] pairs"),
            ("transverse", 3, "[w, v, amplitude] triples"),
        ):
            terms = getattr(self, name)
            if len(terms) > TERMS_MAX:
                raise ValueError(f"{name}: at most {TERMS_MAX} terms, got {len(terms)}")
            for term in terms:
                if len(term) != arity:
                    raise ValueError(f"{name} entries are {shape}, got {str(term)[:60]}")
                for i, v in enumerate(term[:-1]):
                    label = "frequency" if arity == 2 else ("w", "v")[i]
                    _finite(f"{name} {label}", v, -FREQUENCY_MAX, FREQUENCY_MAX)
                _finite(f"{name} amplitude", term[-1])
        if not self.cosines and not self.sines:
            raise ValueError("target needs at least one cosine or sine term")

    @property
    def is_even(self) -> bool:
        return not any(a != 0 for _, a in self.sines)  # transverse terms are even by construction

    def to_dict(self) -> dict[str, Any]:
        """The stored form; `transverse` only when non-empty, so that every config without it
        writes the same header bytes as before the field existed."""
        d = dataclasses.asdict(self)
        if not self.transverse:
            del d["transverse"]
        return d


@dataclass
class TrainConfig:
    """Training protocol (SPEC section 3)."""

    optimizer: str = "sgd"  # "sgd" | "adam"
    lr: float = 0.005  # peak learning rate
    schedule: str = "step"  # "constant" | "step" (x gamma at each milestone) | "cosine"
    lr_milestones: list[float] = field(default_factory=lambda: [0.5, 0.75])  # fractions of steps
    lr_gamma: float = 0.1  # step-decay factor
    batch_size: int = 1  # samples per step, per seed
    n_train: int = 256  # training points per seed, uniform on the domain, never symmetrized
    online: bool = False  # True: a fresh sample every step instead of a fixed training set
    steps: int = 100_000
    dtype: str = "float32"  # parameters and arithmetic while training
    adam_betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    adam_eps: float = 1e-8
    weight_decay: float = 0.0  # decoupled L2 on trained weights (not biases): w -= lr * wd * w
    weight_decay_biases: bool = False  # True: the decay shrinks the biases too

    def validate(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        _finite("lr", self.lr, 0, MAGNITUDE_MAX)
        if not self.weight_decay >= 0:
            raise ValueError(f"weight decay must be a number >= 0, got {self.weight_decay}")
        _finite("weight decay", self.weight_decay, 0, MAGNITUDE_MAX)
        if not self.lr_gamma > 0:  # a negative factor would make the lr negative after a milestone
            raise ValueError(f"lr_gamma must be > 0, got {self.lr_gamma}")
        _finite("lr_gamma", self.lr_gamma, 0, MAGNITUDE_MAX)
        _within("batch size", self.batch_size, 1, BATCH_MAX)
        _within("n_train", self.n_train, 1, N_TRAIN_MAX)
        _within("steps", self.steps, 0, STEPS_MAX)
        if len(self.lr_milestones) > MILESTONES_MAX:
            raise ValueError(
                f"at most {MILESTONES_MAX} lr milestones, got {len(self.lr_milestones)}"
            )
        if any(not 0 < m < 1 for m in self.lr_milestones):
            raise ValueError(f"lr milestones are fractions in (0, 1), got {self.lr_milestones}")
        if len(self.adam_betas) != 2 or any(not 0 <= b < 1 for b in self.adam_betas):
            raise ValueError(f"adam_betas are two numbers in [0, 1), got {self.adam_betas}")
        _finite("adam_eps", self.adam_eps, 0, MAGNITUDE_MAX)

    def to_dict(self) -> dict[str, Any]:
        """The stored form; `weight_decay_biases` only when True, so that every config without
        it writes the same header bytes as before the field existed."""
        d = dataclasses.asdict(self)
        if not self.weight_decay_biases:
            del d["weight_decay_biases"]
        return d

    def lr_at(self, step: int) -> float:
        """Learning rate used for the update that takes step -> step + 1."""
        if self.schedule == "constant" or self.steps == 0:
            return self.lr
        if self.schedule == "step":
            drops = sum(step >= m * self.steps for m in self.lr_milestones)
            return self.lr * self.lr_gamma**drops
        return 0.5 * self.lr * (1 + math.cos(math.pi * min(step, self.steps) / self.steps))


@dataclass
class RunConfig:
    """Everything that defines one run: model, target, training, seed."""

    model: ModelConfig = field(default_factory=RFLRConfig)
    target: TargetConfig = field(default_factory=TargetConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0
    run_id: str = ""

    def __post_init__(self) -> None:
        if not self.run_id:
            self.run_id = default_run_id(self)

    def validate(self) -> None:
        self.model.validate()
        self.target.validate()
        if self.target.transverse and self.model.input_dim == 1:
            raise ValueError(
                "transverse target terms need input_dim >= 2 (they act on x_2 + ... + x_d)"
            )
        self.train.validate()
        _within("seed", self.seed, 0, SEED_MAX)
        if not 0 < len(self.run_id) <= RUN_ID_MAX:
            raise ValueError(
                f"run_id must have 1 to {RUN_ID_MAX} characters, got {len(self.run_id)}"
            )
        if (
            "/" in self.run_id
            or "\\" in self.run_id
            or self.run_id in (".", "..")
            or any(ord(c) < 32 for c in self.run_id)
        ):  # it names the run's folder: snapshot_path must stay inside the output folder
            raise ValueError(f"run_id {self.run_id!r} cannot name a folder")

    def to_dict(self) -> dict[str, Any]:
        m = self.model
        return {
            "model": m.kind,
            "width": m.width,
            "rank": m.rank_or_none,  # null for dense
            "depth": m.depth,
            "input_dim": m.input_dim,
            "activation": m.activation,
            "parameterization": m.parameterization,
            "train_atoms": m.train_atoms,
            "target": self.target.to_dict(),
            "train": self.train.to_dict(),
            "seed": self.seed,
            "run_id": self.run_id,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        """Inverse of to_dict. Unknown keys are ignored; missing keys take defaults."""
        kind = d.get("model")
        # Each kind's config is a subclass of ModelConfig (rflr.core.kinds registers the rest of
        # the kind, and imports this module: reading the subclasses keeps the import one way).
        configs = {c.kind: c for c in ModelConfig.__subclasses__()}
        model_cls = configs.get(kind)
        if model_cls is None:
            raise ValueError(f"unknown model kind {kind!r} (expected one of {list(configs)})")
        model = model_cls(**_known(model_cls, d))
        target = TargetConfig(**_known(TargetConfig, d.get("target", {})))
        train = TrainConfig(**_known(TrainConfig, d.get("train", {})))
        return cls(model, target, train, seed=int(d.get("seed", 0)), run_id=d.get("run_id", ""))

    @classmethod
    def from_json(cls, s: str) -> RunConfig:
        return cls.from_dict(json.loads(s))


def _known(dc: type, d: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(dc)}
    return {k: v for k, v in d.items() if k in names and v is not None}


def default_run_id(cfg: RunConfig) -> str:
    """A readable id that differs between runs a sweep would compare."""
    m = cfg.model
    rank = f"-r{m.rank_or_none}" if m.rank_or_none is not None else ""
    tgt = "even" if cfg.target.is_even else "odd-ctrl"
    return f"{m.kind}-w{m.width}{rank}-L{m.depth}-{tgt}-s{cfg.seed}"


def json_safe(x):
    """NaN/inf -> None recursively, since JSON has no NaN."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    return x
