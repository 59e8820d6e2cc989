"""Print the symmetry measurements of checkpoint files.

    python -m rflr.analyze CHECKPOINT... [--json] [--threshold T] [--tau T] [--basin] [--hessian]

Every number comes from the functions the trainer and the app use (evaluate.checkpoint_metrics
and rflr.measure.channels / plateaus / basin), so the three always agree. A file that cannot be read
prints one line naming it and the reason; the others are still analysed, and the exit code
is then 1. File names are printed with their control characters escaped
(rflr.files.names.printable): a name cannot send a terminal escape sequence.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from rflr.core.config import json_safe
from rflr.core.targets import DEFAULT_GRID_POINTS, symmetric_grid
from rflr.files.checkpoint import Checkpoint, CheckpointError, load
from rflr.files.names import printable
from rflr.measure import basin, channels, metrics
from rflr.measure.evaluate import checkpoint_metrics, partials_on_grid
from rflr.measure.plateaus import history_plateaus
from rflr.measure.record import GRID_POINTS_MAX
from rflr.measure.weight_symmetry import weight_symmetry_of


def analyze_checkpoint(
    ckpt: Checkpoint,
    threshold: float = metrics.ACTIVITY_THRESHOLD,
    tau: float = metrics.PARITY_TAU,
    grid_points: int = DEFAULT_GRID_POINTS,
    with_basin: bool = False,
    with_hessian: bool = False,
) -> dict:
    """Everything the CLI reports about one loaded checkpoint, as a JSON-ready dict."""
    cfg = ckpt.config
    record = checkpoint_metrics(cfg, ckpt.params, grid_points, threshold, tau)
    grid = symmetric_grid(cfg.target.domain, grid_points, cfg.model.input_dim)
    partials = partials_on_grid(cfg, ckpt.params, grid)
    equi = channels.equivariance_of(cfg.model, partials, grid.mirror)
    weights = weight_symmetry_of(cfg, ckpt.params, partials, grid, threshold, tau)
    key = "test_mse" if ckpt.history.test_mse else "train_loss"
    shape = history_plateaus(ckpt.history, key)
    out = {
        "path": str(ckpt.path),
        "config": cfg.to_dict(),
        "step": ckpt.step,
        "status": ckpt.status,
        "metrics": record.to_dict(),
        "equivariance": {name: e.defect for name, e in equi.items()},
        "weight_symmetry": [w.record() for w in weights],
        "history": {
            "key": key,
            "plateaus": [vars(p) for p in shape.plateaus],
            "drops": [vars(d) for d in shape.drops],
        },
    }
    if with_basin or with_hessian:
        x, y = basin.training_set(cfg)
    if with_basin:
        b = basin.basin_profile(cfg.model, ckpt.params, x, y)
        out["basin"] = {
            "base_loss": b.base_loss,
            "flat_radius": b.flat_radius,
            "rise_level": b.rise_level,
            "radii": b.radii.tolist(),
            "mean_loss": b.mean_loss.tolist(),
        }
    if with_hessian:
        h = basin.top_hessian_eigenvalue(cfg.model, ckpt.params, x, y)
        out["hessian"] = {
            "top_eigenvalue": h.eigenvalue,
            "iterations": h.iterations,
            "converged": h.converged,
        }
    return json_safe(out)


def _g(v: float | None) -> str:
    """Numbers for humans: 3 significant digits, '-' for undefined."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.3g}"


def format_report(rec: dict) -> str:
    """A readable table of one analyze_checkpoint record."""
    c, m = rec["config"], rec["metrics"]
    rank = f" rank {c['rank']}" if c["rank"] is not None else ""
    lines = [
        f"== {printable(rec['path'])}",
        f"model {c['model']} width {c['width']}{rank} depth {c['depth']} ({c['activation']}, "
        f"{c['parameterization']})  seed {c['seed']}  step {rec['step']}  status {rec['status']}",
        f"test MSE {_g(m['test_mse'])}   output defect {_g(m['output_defect'])}   "
        f"headline defect {_g(m['headline_defect'])}",
        f"atoms: {m['alive_atoms']}/{c['width']} alive   pairing defect "
        f"{_g(m['atom_pairing_defect'])}   outgoing mismatch {_g(m['atom_outgoing_mismatch'])}",
        "",
        f"{'partial layer':<18}{'active':>9}{'even':>6}{'odd':>5}{'mixed':>7}"
        f"{'D mean':>10}{'D median':>10}{'D max':>10}{'oscill.':>9}",
    ]
    for layer in m["layers"]:
        lines.append(
            f"{layer['name']:<18}{layer['active']:>5}/{layer['channels']:<3}{layer['even']:>6}"
            f"{layer['odd']:>5}{layer['mixed']:>7}{_g(layer['defect_mean']):>10}"
            f"{_g(layer['defect_median']):>10}{_g(layer['defect_max']):>10}"
            f"{_g(layer['oscillations_median']):>9}"
        )
    lines += ["", f"{'hidden features':<18}{'equivariance defect':>21}"]
    lines += [f"{name:<18}{_g(v):>21}" for name, v in rec["equivariance"].items()]
    lines += ["", *format_weight_symmetry(rec["weight_symmetry"])]
    hist = rec["history"]
    drops = ", ".join(f"{d['at_step']:.0f}" for d in hist["drops"]) or "none"
    lines += [
        "",
        f"{hist['key']} history: {len(hist['plateaus'])} plateaus, drops at steps {drops}",
    ]
    if "basin" in rec:
        b = rec["basin"]
        lines.append(
            f"basin: train loss {_g(b['base_loss'])}, flat radius {_g(b['flat_radius'])} "
            f"(first radius where the mean loss reaches {_g(b['rise_level'])})"
        )
    if "hessian" in rec:
        h = rec["hessian"]
        note = "" if h["converged"] else " (not converged)"
        lines.append(f"top Hessian eigenvalue {_g(h['top_eigenvalue'])}{note}")
    return "\n".join(lines)


def format_weight_symmetry(layers: list[dict]) -> list[str]:
    """Per layer of units: pairing defect and outgoing mismatches, each with its init level."""
    lines = [
        f"{'weight symmetry':<16}{'alive':>8}{'inputs used/mixed/off':>23}"
        f"{'pairing (init)':>22}{'outgoing (init)':>22}{'unsigned (init)':>22}"
    ]
    for w in layers:
        used = f"{w['input_used']}/{w['input_mixed']}/{w['input_inactive']}"
        cells = [
            f"{_g(w[key])} ({_g(w['init_' + key])})"
            for key in ("pairing_defect", "outgoing_mismatch", "outgoing_mismatch_matched")
        ]
        note = "  trivial: no odd input" if w["trivial"] else ""
        lines.append(
            f"{w['name']:<16}{w['alive']:>4}/{w['units']:<3}{used:>23}"
            + "".join(f"{c:>22}" for c in cells)
            + note
        )
    return lines + ["", *format_invariant_symmetry(layers)]


def format_invariant_symmetry(layers: list[dict]) -> list[str]:
    """Per layer of units: the rescale-invariant direction pairing and outgoing match, each
    with its init level, and the median movement of a unit's weights from init."""
    lines = [
        f"{'rescale-invariant':<18}{'direction pairing (init)':>24}"
        f"{'outgoing match (init)':>26}{'moved from init':>17}"
    ]
    for w in layers:
        cells = [
            f"{_g(w[key])} ({_g(w['init_' + key])})"
            for key in ("direction_pairing", "outgoing_match")
        ]
        note = "  trivial: no odd input" if w["trivial"] else ""
        lines.append(
            f"{w['name']:<18}" + f"{cells[0]:>24}{cells[1]:>26}" + f"{_g(w['movement']):>17}" + note
        )
    return lines


def _bounded(kind, lo, hi, what: str):
    """An argparse type: a finite number of `kind` in [lo, hi]."""

    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not lo <= v <= hi:  # NaN fails too
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m rflr.analyze", description="Symmetry measurements of rflr checkpoints."
    )
    p.add_argument("checkpoints", nargs="+", type=Path, help="checkpoint files (.safetensors)")
    p.add_argument("--json", action="store_true", help="print one JSON list instead of tables")
    p.add_argument(
        "--threshold",
        type=_bounded(float, 0.0, 1.0, "a fraction in [0, 1]"),
        default=metrics.ACTIVITY_THRESHOLD,
        help="a channel is active at >= this fraction of its layer's largest activity",
    )
    p.add_argument(
        "--tau",
        type=_bounded(float, 0.0, 0.5, "a number in [0, 0.5]"),
        default=metrics.PARITY_TAU,
        help="parity: even when D < tau, odd when D > 1 - tau",
    )
    p.add_argument(
        "--grid-points",
        type=_bounded(int, 3, GRID_POINTS_MAX, f"an integer in [3, {GRID_POINTS_MAX}]"),
        default=DEFAULT_GRID_POINTS,
        help="evaluation grid size (odd)",
    )
    p.add_argument(
        "--basin", action="store_true", help="loss along filter-normalized random directions"
    )
    p.add_argument(
        "--hessian", action="store_true", help="top Hessian eigenvalue by power iteration"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Analyse every readable file; one line per bad one; exit 1 at the end if any failed."""
    args = parse_args(argv)
    records, failed = [], False
    for path in args.checkpoints:
        try:
            ckpt = load(path)
            rec = analyze_checkpoint(
                ckpt, args.threshold, args.tau, args.grid_points, args.basin, args.hessian
            )
        except CheckpointError as e:
            failed = True
            print(f"error: {printable(e.path)}: {printable(e.reason)}", file=sys.stderr)
            records.append({"path": str(path), "error": e.reason})
            continue
        except (ArithmeticError, ValueError, RuntimeError, MemoryError) as e:
            # a file that passed every check and still cannot be analysed: report, go on
            failed = True
            reason = f"analysis failed ({type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''})"
            print(f"error: {printable(path)}: {printable(reason)}", file=sys.stderr)
            records.append({"path": str(path), "error": reason})
            continue
        records.append(rec)
        if not args.json:
            print(format_report(rec) + "\n")
    if args.json:
        print(json.dumps(records, indent=1))
    return 1 if failed else 0


def entry() -> int:
    """`python -m rflr.analyze`: main() on one torch thread."""
    # The models are tiny: one thread is as fast, and far faster on a shared, busy machine
    # where several threads spin waiting for each other.
    torch.set_num_threads(1)
    return main()


if __name__ == "__main__":
    sys.exit(entry())
