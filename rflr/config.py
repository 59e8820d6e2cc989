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
KIND_LABELS = {"rflr": "RF-LR", "dense": "dense"}  # how the model kinds read on charts and pages


@dataclass
class ModelConfig:
    """Fields shared by both models (SPEC section 2)."""

    width: int = 256  # N: units of every hidden layer
    depth: int = 4  # L: number of hidden nonlinear layers (>= 1)
    input_dim: int = 1  # d: the reflection negates coordinate 0
    activation: str = "relu"  # "relu" | "tanh"
    parameterization: str = "ntk"  # "ntk": N(0,1) init, products / sqrt(fan_in); "standard": PyTorch init;  # "mf" (mean field): as ntk, but the readout divides by N instead of sqrt(N)
    train_atoms: bool = True  # False freezes the first layer at its random init

    kind = "base"

    def validate(self) -> None:
        if self.width < 1:
            raise ValueError(f"width must be >= 1, got {self.width}")
        if self.depth < 1:
            raise ValueError(f"depth must be >= 1, got {self.depth}")
        if self.input_dim < 1:
            raise ValueError(f"input_dim must be >= 1, got {self.input_dim}")
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


@dataclass
class TargetConfig:
    """f*(x) = sum a cos(w x) + sum a sin(w x) on [-domain, domain] (coordinate 0 of x)."""

    cosines: list[list[float]] = field(default_factory=lambda: [[1, 1.0], [2, 0.5], [3, 0.25]])
    sines: list[list[float]] = field(default_factory=list)  # non-empty: a non-even control
    domain: float = math.pi  # A

    def validate(self) -> None:
        if not self.domain > 0:
            raise ValueError(f"domain must be > 0, got {self.domain}")
        for name in ("cosines", "sines"):
            for pair in getattr(self, name):
                if len(pair) != 2:
                    raise ValueError(f"{name} entries are [frequency, amplitude] pairs, got {pair}")
        if not self.cosines and not self.sines:
            raise ValueError("target needs at least one cosine or sine term")

    @property
    def is_even(self) -> bool:
        return not any(a != 0 for _, a in self.sines)


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

    def validate(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise ValueError(f"weight decay must be a number >= 0, got {self.weight_decay}")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be >= 1, got {self.batch_size}")
        if self.n_train < 1:
            raise ValueError(f"n_train must be >= 1, got {self.n_train}")
        if self.steps < 0:
            raise ValueError(f"steps must be >= 0, got {self.steps}")
        if any(not 0 < m < 1 for m in self.lr_milestones):
            raise ValueError(f"lr milestones are fractions in (0, 1), got {self.lr_milestones}")

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
        self.train.validate()

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
            "target": dataclasses.asdict(self.target),
            "train": dataclasses.asdict(self.train),
            "seed": self.seed,
            "run_id": self.run_id,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        """Inverse of to_dict. Unknown keys are ignored; missing keys take defaults."""
        kind = d.get("model")
        model_cls = MODEL_CONFIGS.get(kind)
        if model_cls is None:
            raise ValueError(f"unknown model kind {kind!r} (expected one of {list(MODEL_CONFIGS)})")
        model = model_cls(**_known(model_cls, d))
        target = TargetConfig(**_known(TargetConfig, d.get("target", {})))
        train = TrainConfig(**_known(TrainConfig, d.get("train", {})))
        return cls(model, target, train, seed=int(d.get("seed", 0)), run_id=d.get("run_id", ""))

    @classmethod
    def from_json(cls, s: str) -> RunConfig:
        return cls.from_dict(json.loads(s))


MODEL_CONFIGS: dict[str, type[ModelConfig]] = {"rflr": RFLRConfig, "dense": DenseConfig}


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
