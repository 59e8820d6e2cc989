"""Named sets of training jobs for `train.py --preset NAME`.

Each job is a dict of typed values keyed by train.py's argparse destinations (seeds as a
list, fractions as floats, folders as paths); flags typed on the command line override them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Preset:
    description: str
    jobs: list[dict]
    sweep: bool = (
        False  # True: run by rflr.sweep.runner (one progress bar, summary.csv, sweep.json)
    )
    ship: str | None = None  # sweep only: where summary + a few checkpoints are copied
    study: tuple[StudyPart, ...] = ()  # a study (rflr.sweep.study): grid sweeps, one summary
    out: str | None = None  # a study's output folder (its parts are subfolders)


@dataclass(frozen=True)
class StudyPart:
    """One grid sweep of a study: train.py arguments (with --grid flags) and its question."""

    name: str  # its subfolder of the study's output
    question: str
    args: tuple[str, ...]  # "--flag=value" strings; swept ones as "--grid=key=v1,v2"

    @property
    def planned_runs(self) -> int:
        """Configs x seeds (seeds given as "--seeds=A-B")."""
        n = 1
        for a in self.args:
            if a.startswith("--grid="):
                n *= len(a.split("=", 2)[2].split(","))
        lo, hi = next(a.split("=", 1)[1] for a in self.args if a.startswith("--seeds=")).split("-")
        return n * (int(hi) - int(lo) + 1)


_SHIPPED_COMMON = dict(
    width=128,
    depth=4,
    steps=30000,
    lr=0.05,
    schedule="step",
    seeds=list(range(4)),
    out=Path("checkpoints"),
    # ~20 frames for Play to animate. Seeds 2-3 keep only their final file: 20 dense
    # snapshots of all four seeds would take checkpoints/ past its 20 MB budget (22 MB).
    snapshots="log:20",
    snapshot_seeds=2,
    log_per_decade=20,
)

# The poster reproduction (REPRODUCTION.md): RF-LR and the dense control share everything
# below; only the model differs. Chosen by the exploration logged in REPRODUCTION.md:
# rank 1 gives the most symmetric bottlenecks; lr 0.07 is the largest step at which no seed
# of a 16-seed probe diverged (0.1 lost ~30% of the seeds in the first 2k steps); step
# decay (x0.1 at 50% and 75%) lets SGD settle into the narrow valley after the plateaus.
# Dense has the same width; it is trained in cache-sized seed blocks (rflr.train.trainer).
_POSTER_PROTOCOL = dict(
    width=128,
    depth=4,
    steps=100_000,
    lr=0.07,
    schedule="step",
    lr_milestones=[0.5, 0.75],
    lr_gamma=0.1,
    batch_size=1,
    n_train=256,
    out=Path("runs/poster"),
    snapshots="log",
    snapshot_seeds=2,
    log_per_decade=20,
)
_QUICK = dict(steps=30_000, out=Path("runs/poster-quick"))

PRESETS: dict[str, Preset] = {
    "shipped": Preset(
        "the small set in checkpoints/: RF-LR (r=2) and dense, width 128, depth 4, seeds 0-3",
        [dict(_SHIPPED_COMMON, model="rflr", rank=2), dict(_SHIPPED_COMMON, model="dense")],
    ),
    "smoke": Preset(
        "a few seconds: both models, width 32, 500 steps, seeds 0-1",
        [
            dict(
                model=m, width=32, depth=3, rank=2, steps=500, seeds=[0, 1], out=Path("runs/smoke")
            )
            for m in ("rflr", "dense")
        ],
    ),
    "poster": Preset(
        "the poster's 149 controlled reruns: 100 RF-LR (r=1) + 49 dense, width 128, depth 4, "
        "100k SGD steps; all files in runs/poster, a few shipped to checkpoints/poster (~4 min)",
        [
            dict(_POSTER_PROTOCOL, model="rflr", rank=1, seeds=list(range(100))),
            dict(_POSTER_PROTOCOL, model="dense", seeds=list(range(49))),
        ],
        sweep=True,
        ship="checkpoints/poster",
    ),
    "poster-quick": Preset(
        "the poster sweep in small: 8 RF-LR + 4 dense, 30k steps, into runs/poster-quick (~1 min)",
        [
            dict(_POSTER_PROTOCOL, model="rflr", rank=1, seeds=list(range(8)), **_QUICK),
            dict(_POSTER_PROTOCOL, model="dense", seeds=list(range(4)), **_QUICK),
        ],
        sweep=True,
    ),
}


# --- the "beyond the poster" study (issue 11; rflr.sweep.study, scripts/make_beyond.py) -----------

# One protocol for every part (each part changes only what it sweeps): the poster's target,
# batch-size-one SGD, lr 0.07 with step decay, depth 4, 256 training points, but width 64 and
# 20k steps so that ~900 runs fit the 45-minute budget of the 2-core machine.
_BEYOND = dict(
    width="64",
    depth="4",
    rank="1",
    steps="20000",
    lr="0.07",
    schedule="step",
    lr_milestones="0.5,0.75",
    batch_size="1",
    n_train="256",
    snapshots="final",
)
_BEYOND_QUICK = dict(_BEYOND, width="16", depth="3", steps="400")
# The input-dim part's target for d > 1 (rflr.core.config.TargetConfig): without a term in x_2..x_d
# those inputs would be noise and a d > 1 run a 1D problem. w = v = 1: one period in x_1 and
# about one over s = x_2 + ... + x_d on [-pi, pi]^d; amplitude 0.5, as the poster's second
# cosine, so the term is a sizeable part of f* but not all of it.
_TRANSVERSE = "1:1:0.5"
_TRANSVERSE_TERM = "0.5 cos(x_1) sin(x_2 + ... + x_d)"


# Issue 20's regime where the weights move: median |a - a0| / |a0| over atoms (4 seeds, 20k
# steps, lr 0.07 ntk) was 0.055 (RF-LR) / 0.14 (dense) at width 64, 0.18 / 0.26 at width 16,
# 0.33 / 0.33 at width 8; mean field at lr 0.7 diverged; standard at lr 0.01 moved 0.02.
_MOVING = dict(width="8")
_MOVING_TEXT = "width 8 at the study's lr 0.07"


def _args(base: dict, grid: dict[str, str], seeds: int, **fixed: str | bool) -> tuple[str, ...]:
    """A part's flags; a fixed value True is a switch (--frozen-atoms), given bare."""
    flags = {**base, **fixed}
    for key in grid:
        flags.pop(key, None)
    out = [f"--{k.replace('_', '-')}" + ("" if v is True else f"={v}") for k, v in flags.items()]
    out += [f"--grid={k.replace('_', '-')}={v}" for k, v in grid.items()]
    return (*out, f"--seeds=0-{seeds - 1}")


def beyond_parts(quick: bool) -> tuple[StudyPart, ...]:
    """The study's parts in the order they run (a study cut short has the first ones); `quick`
    shrinks widths, steps, grids and seeds (a test-suite run)."""
    base = _BEYOND_QUICK if quick else _BEYOND
    s = (lambda full: 2) if quick else (lambda full: full)  # noqa: E731
    both = "rflr,dense"
    q = quick
    return (
        StudyPart(
            "base",
            "RF-LR vs dense at the study's protocol (the reference of every regime; SGD basins)",
            _args(base, {"model": both}, s(16)),
        ),
        StudyPart(
            "rank",
            "the rank continuum: headline defect and fraction symmetric vs r (r = 64 = N)",
            _args(base, {"rank": "1,4,16" if q else "1,2,4,8,16,32,64"}, s(32)),
        ),
        StudyPart(
            "rank-dense",
            "the dense control of the rank continuum",
            _args(base, {"model": "dense"}, s(32)),
        ),
        StudyPart(
            "adam",
            "Adam instead of SGD (weight symmetry; Adam basins)",
            _args(
                base,
                {"model": both, "lr": "0.003" if q else "0.001,0.003"},
                s(16),
                optimizer="adam",
            ),
        ),
        StudyPart(
            "weight-decay",
            "weight symmetry with decoupled weight decay",
            _args(base, {"model": both, "weight_decay": "1e-3" if q else "1e-4,1e-3"}, s(8)),
        ),
        StudyPart(
            "mean-field",
            "weight symmetry in the mean-field parameterization (readout / N)",
            _args(base, {"model": both, "parameterization": "mf"}, s(8)),
        ),
        StudyPart(
            "width",
            "weight symmetry vs width",
            _args(base, {"model": both, "width": "8,32" if q else "16,32,128"}, s(8)),
        ),
        StudyPart(
            "lr",
            "weight symmetry vs learning rate (both models)",
            _args(base, {"model": both, "lr": "0.02" if q else "0.01,0.03,0.15"}, s(8)),
        ),
        StudyPart(
            "input-dim",
            "input dimension d = 2, 3: the poster's cosines of x_1 plus the transverse term "
            f"{_TRANSVERSE_TERM} (--transverse {_TRANSVERSE}), so f* depends on every "
            "coordinate and is even under x_1 -> -x_1",
            _args(
                base,
                {"model": both, "input_dim": "2" if q else "2,3"},
                s(8),
                transverse=_TRANSVERSE,
            ),
        ),
        StudyPart(
            "steps",
            "training length",
            _args(base, {"model": both, "steps": "800" if q else "5000,80000"}, s(8)),
        ),
        StudyPart(
            "depth",
            "oscillations of the partial functions vs depth (2 to 8)",
            _args(base, {"model": both, "depth": "2,3" if q else "2,3,4,5,6,7,8"}, s(8)),
        ),
        StudyPart(
            "phase",
            "lr x batch size: fraction symmetric and median defect (RF-LR r=1)",
            _args(
                base,
                {
                    "lr": "0.03,0.1" if q else "0.01,0.03,0.07,0.15",
                    "batch_size": "1,4" if q else "1,4,16",
                },
                s(16),
            ),
        ),
        # Issue 20's controls and regimes where the weights move (16 seeds per model each).
        StudyPart(
            "frozen-atoms",
            "function-level symmetry without paired atoms: the atoms stay at their random "
            "init (--frozen-atoms), so their pairing cannot change",
            _args(base, {"model": both}, s(16), frozen_atoms=True),
        ),
        StudyPart(
            "weight-decay-biases",
            "weight decay 1e-3 on the biases too (--weight-decay-biases), beside the "
            "weight-decay part's decay on the matrices only (which pulls each atom toward "
            "its own mirror)",
            _args(base, {"model": both}, s(16), weight_decay="1e-3", weight_decay_biases=True),
        ),
        StudyPart(
            "standard",
            "the standard parameterization (PyTorch's Linear init) at lr 0.01",
            _args(base, {"model": both}, s(16), parameterization="standard", lr="0.01"),
        ),
        StudyPart(
            "moving",
            f"a regime where the atoms move (median |a - a0| / |a0| >= 0.2): {_MOVING_TEXT}",
            _args(base, {"model": both}, s(16), **_MOVING),
        ),
    )


PRESETS["beyond"] = Preset(
    "issue 11's study: weight symmetry regimes, rank continuum, lr x batch, depth, basin width "
    "(864 runs into runs/beyond; summary copied to checkpoints/beyond)",
    [],
    study=beyond_parts(quick=False),
    out="runs/beyond",
    ship="checkpoints/beyond",
)
PRESETS["beyond-quick"] = Preset(
    "the beyond study in small (width 16, 400 steps, 2 seeds; ~2 min) into runs/beyond-quick",
    [],
    study=beyond_parts(quick=True),
    out="runs/beyond-quick",
    ship="checkpoints/beyond-quick",
)
