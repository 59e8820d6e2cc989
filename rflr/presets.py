"""Named sets of training jobs for `train.py --preset NAME`.

Each job is a dict of train.py flag values (argparse destinations); flags typed on the
command line override them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    description: str
    jobs: list[dict]


_SHIPPED_COMMON = dict(
    width=128,
    depth=4,
    steps=30000,
    lr=0.05,
    schedule="step",
    seeds="0-3",
    out="checkpoints",
    snapshots="0,100,1000,3000,10000",
    log_per_decade=20,
)

PRESETS: dict[str, Preset] = {
    "shipped": Preset(
        "the small set in checkpoints/: RF-LR (r=2) and dense, width 128, depth 4, seeds 0-3",
        [dict(_SHIPPED_COMMON, model="rflr", rank=2), dict(_SHIPPED_COMMON, model="dense")],
    ),
    "smoke": Preset(
        "a few seconds: both models, width 32, 500 steps, seeds 0-1",
        [
            dict(model=m, width=32, depth=3, rank=2, steps=500, seeds="0-1", out="runs/smoke")
            for m in ("rflr", "dense")
        ],
    ),
}
