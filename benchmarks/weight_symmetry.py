"""Weight symmetry per layer of the shipped checkpoints: RF-LR vs dense vs random init.

For every run folder given (default: every run under checkpoints/ and checkpoints/poster/),
its last snapshot is measured with rflr.measure.weight_symmetry (the function `python -m
rflr.cli.analyze` reports) and one row per (run, layer) is printed; then, per model and layer
depth, the medians of the trained defects beside the medians of their seed-init levels, over
the runs where that layer is not trivial (some kept input channel odd; a trivial layer is 0
by construction).

    python benchmarks/weight_symmetry.py                      # all shipped runs
    python benchmarks/weight_symmetry.py checkpoints/poster   # one folder of runs
    python benchmarks/weight_symmetry.py --csv out.csv        # the rows as CSV too
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, no install

from rflr.core.targets import DEFAULT_GRID_POINTS, symmetric_grid  # noqa: E402
from rflr.files.checkpoint import CheckpointError, load  # noqa: E402
from rflr.measure.evaluate import partials_on_grid  # noqa: E402
from rflr.measure.weight_symmetry import weight_symmetry_of  # noqa: E402

KEYS = ("pairing_defect", "identity_defect", "outgoing_mismatch", "outgoing_mismatch_matched")


def last_snapshots(folders: list[Path]) -> list[Path]:
    """The last step-*.safetensors of every run folder under the given folders."""
    runs = set()
    for folder in folders:
        runs |= {p.parent for p in folder.rglob("step-*.safetensors")}
    return [max(run.glob("step-*.safetensors")) for run in sorted(runs)]


def _shown(path: Path) -> Path:
    """Relative to the checkout when inside it."""
    path = path.resolve()
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def rows_of(path: Path) -> list[dict]:
    ckpt = load(path)
    cfg = ckpt.config
    grid = symmetric_grid(cfg.target.domain, DEFAULT_GRID_POINTS, cfg.model.input_dim)
    partials = partials_on_grid(cfg, ckpt.params, grid)
    out = []
    for depth, layer in enumerate(weight_symmetry_of(cfg, ckpt.params, partials, grid)):
        rec = layer.record()
        out.append(
            {
                "run": str(_shown(path.parent)),
                "model": cfg.model.kind,
                "rank": cfg.model.rank_or_none,
                "step": ckpt.step,
                "headline_defect": ckpt.metrics.headline_defect,
                "layer_depth": depth,
                **rec,
            }
        )
    return out


def _med(values: list) -> float:
    v = np.array([x for x in values if x is not None], dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else float("nan")


def summary(rows: list[dict]) -> list[str]:
    groups = defaultdict(list)
    for r in rows:
        groups[(r["model"], r["rank"], r["layer_depth"], r["name"])].append(r)
    lines = [
        f"{'model':<8}{'layer':<16}{'runs':>5}{'trivial':>8}"
        + "".join(f"{k + ' (init)':>34}" for k in KEYS)
    ]
    for (model, rank, _, name), group in sorted(groups.items(), key=lambda kv: kv[0][:3]):
        rs = [r for r in group if not r["trivial"]]  # a trivial layer is 0 by construction
        trivial = len(group) - len(rs)
        label = f"{model}{'-r' + str(rank) if rank else ''}"
        cells = [
            f"{_med([r[k] for r in rs]):.3g} ({_med([r['init_' + k] for r in rs]):.3g})"
            for k in KEYS
        ]
        lines.append(
            f"{label:<8}{name:<16}{len(group):>5}{trivial:>8}" + "".join(f"{c:>34}" for c in cells)
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folders", nargs="*", type=Path, help="folders of runs (default: shipped)")
    p.add_argument("--csv", type=Path, help="also write one row per (run, layer) here")
    args = p.parse_args(argv)
    folders = args.folders or [ROOT / "checkpoints"]
    rows = []
    for path in last_snapshots(folders):
        try:
            rows += rows_of(path)
        except CheckpointError as e:
            print(f"error: {e.path}: {e.reason}", file=sys.stderr)
    for r in rows:
        print(
            f"{r['run']:<48}{r['name']:<16}"
            + "".join(f"{r[k]:>10.3g} ({r['init_' + k]:.3g})" for k in KEYS)
            + ("  trivial" if r["trivial"] else "")
        )
    print()
    print("\n".join(summary(rows)))
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main())
