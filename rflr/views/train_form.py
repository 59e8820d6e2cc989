"""The Train tab's choices, checked at one boundary, and the `train.py` command lines they mean.

The tab trains with the project's own entry (`python -m rflr train`, the same as `python
train.py`), one process per model, so the files it writes are exactly those train.py writes.
What a form may ask for is bounded here (a browser run, not a sweep); what this *server*
agrees to run is rflr.views.budget.train_limits, checked by the job manager (rflr.views.jobs).

Pure Python: no Streamlit, no training code (the explorer may not import rflr.train).
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from pathlib import Path

from rflr.core.config import (
    PARAMETERIZATIONS,
    DenseConfig,
    RFLRConfig,
    RunConfig,
    TargetConfig,
    TrainConfig,
    parse_terms,
)

# The form's caps: a run a visitor watches finish, not a sweep.
WIDTH_MAX = 128
DEPTH_MAX = 6
STEPS_MAX = 30_000
SEEDS_MAX = 8
SNAPSHOTS = 20  # `--snapshots log:20` (rflr.train.trainer.snapshot_steps): enough frames for Play

# model choice -> the --model of each process, the studied model first (it opens as A)
MODELS: dict[str, tuple[str, ...]] = {
    "RF-LR + dense control": ("rflr", "dense"),
    "RF-LR only": ("rflr",),
    "dense only": ("dense",),
}
CUSTOM = "custom"
# target presets: label -> the --cosines text (the first is train.py's default)
COSINES: dict[str, str] = {
    "cos x + ½ cos 2x + ¼ cos 3x (default)": "1:1.0,2:0.5,3:0.25",
    "cos x": "1:1.0",
    "cos 2x": "2:1.0",
    "cos x + cos 4x": "1:1.0,4:1.0",
    CUSTOM: "",
}


class FormError(ValueError):
    """A choice the tab refuses; the message is one line."""


@dataclass(frozen=True)
class TrainForm:
    """What the visitor chose; `check` refuses anything train.py or this tab would not take."""

    models: str = next(iter(MODELS))  # a key of MODELS
    width: int = 64  # N
    rank: int = 1  # r (RF-LR only)
    depth: int = 4  # L
    lr: float = 0.005
    batch_size: int = 1
    steps: int = 20_000
    seeds: int = 8  # seeds 0 .. seeds - 1
    cosines: str = COSINES[next(iter(COSINES))]  # train.py's --cosines syntax
    parameterization: str = "ntk"

    def check(self) -> None:
        """FormError (one line) for a choice out of range; the configs' own validation
        (rflr.core.config) decides the rest, with the message train.py would print."""
        if self.models not in MODELS:
            raise FormError(f"model: one of {', '.join(MODELS)}")
        if self.parameterization not in PARAMETERIZATIONS:
            raise FormError(f"parameterization: one of {', '.join(PARAMETERIZATIONS)}")
        for name, value, lo, hi in (
            ("width", self.width, 1, WIDTH_MAX),
            ("depth", self.depth, 1, DEPTH_MAX),
            ("steps", self.steps, 1, STEPS_MAX),
            ("seeds", self.seeds, 1, SEEDS_MAX),
            ("rank", self.rank, 1, self.width),
            ("batch size", self.batch_size, 1, 1024),
        ):
            if not isinstance(value, int) or not lo <= value <= hi:
                raise FormError(f"{name}: a whole number from {lo} to {hi}, got {value!r}")
        if not (isinstance(self.lr, int | float) and math.isfinite(self.lr) and self.lr > 0):
            raise FormError(f"lr: a positive number, got {self.lr!r}")
        try:
            cosines = parse_terms(self.cosines)
            if not cosines:
                raise ValueError("target cosines: give at least one freq:amp pair, e.g. 1:1.0")
            for kind in MODELS[self.models]:
                self.config(kind, cosines).validate()
        except ValueError as e:
            raise FormError(" ".join(str(e).split())) from None

    def config(self, kind: str, cosines: list[list[float]] | None = None) -> RunConfig:
        """The run config train.py builds from this form's flags for one model kind."""
        common = dict(width=self.width, depth=self.depth, parameterization=self.parameterization)
        model = RFLRConfig(rank=self.rank, **common) if kind == "rflr" else DenseConfig(**common)
        return RunConfig(
            model=model,
            target=TargetConfig(cosines=parse_terms(self.cosines) if cosines is None else cosines),
            train=TrainConfig(lr=self.lr, batch_size=self.batch_size, steps=self.steps),
        )

    @property
    def kinds(self) -> tuple[str, ...]:
        return MODELS[self.models]

    @property
    def work(self) -> int:
        """steps x batch x seeds x width^2, summed over the models: what the server's cap
        bounds (a step's cost grows with its batch: without it, batch 1024 ran 1024 times the
        work the cap let through)."""
        return len(self.kinds) * self.steps * self.batch_size * self.seeds * self.width**2

    def argv(self, kind: str, out: Path | str) -> list[str]:
        """`train.py`'s flags for one model kind, written into `out`."""
        flags = [
            "--model", kind,
            "--width", str(self.width),
            *(["--rank", str(self.rank)] if kind == "rflr" else []),
            "--depth", str(self.depth),
            "--parameterization", self.parameterization,
            "--lr", repr(float(self.lr)),
            "--batch-size", str(self.batch_size),
            "--steps", str(self.steps),
            "--seeds", f"0-{self.seeds - 1}" if self.seeds > 1 else "0",
            "--cosines", canonical_terms(self.cosines),
            "--snapshots", f"log:{SNAPSHOTS}",
            "--out", str(out),
        ]  # fmt: skip
        return flags

    def command_lines(self, out: Path | str = "runs") -> str:
        """The equivalent shell commands, one per model: what the tab runs."""
        return "\n".join(
            "python train.py " + shlex.join(self.argv(kind, out)) for kind in self.kinds
        )


def canonical_terms(text: str) -> str:
    """A --cosines text as train.py's own flag reads it (spaces dropped); a text it would
    refuse as typed (the form's check says why)."""
    try:
        return ",".join(f"{_num(w)}:{_num(a)}" for w, a in parse_terms(text))
    except ValueError:
        return text.strip()


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))
