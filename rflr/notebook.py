"""The notebook API: a checkpoint, or a sweep, in a few calls (docs/notebook.md).

    run = rflr.open("checkpoints/rflr-w128-r2-L4-even-s0")   # a run's final snapshot
    run.defects(3)                                          # D and parity of each channel
    rflr.open_sweep("checkpoints/poster")                    # summary.csv as a DataFrame

Every number comes from the functions the trainer, `rflr analyze` and the explorer use
(rflr.measure.evaluate, rflr.measure.metrics, and rflr.views.data's tables), with the same names: a layer is
addressed as in the explorer, by its depth index k (0 the atoms, 1 .. L-1 the mixing layers,
L the output) and a part ("partial", "u" or "h"), or by its captured name
("bottleneck.3.z", "hidden.3.u", "atoms.h", "readout.y"); see docs/measurements.md.

Sources go through rflr.hub.locate: a local file or folder, or a Hub repo USER/NAME[/path].
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rflr.core.config import RunConfig
from rflr.core.kinds import KIND_LABELS
from rflr.core.model import layer_name
from rflr.files import checkpoint, paths
from rflr.files.names import printable
from rflr.hub import locate
from rflr.measure.metrics import ACTIVITY_THRESHOLD, PARITY_TAU
from rflr.measure.record import Metrics
from rflr.sweep import summary
from rflr.views import catalog, data

if TYPE_CHECKING:
    from rflr.measure.weight_symmetry import LayerWeightSymmetry

SWEEP_COLUMNS = ("run_id", "model", "status", "test_mse", "headline_defect", "symmetric")


@dataclass(eq=False)
class Run:
    """One snapshot of one training run, loaded and checked (rflr.files.checkpoint.load)."""

    ckpt: checkpoint.Checkpoint = field(repr=False)
    snapshot_files: dict[int, Path] = field(repr=False)  # step -> file of the same run
    _weight_symmetry: dict = field(default_factory=dict, init=False, repr=False)

    # --- what the header says ---------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self.ckpt.path

    @property
    def config(self) -> RunConfig:
        """Model, target and training protocol (rflr.core.config.RunConfig)."""
        return self.ckpt.config

    @property
    def step(self) -> int:
        return self.ckpt.step

    @property
    def metrics(self) -> Metrics:
        """The metrics record stored with the file (test MSE, output and headline defects, ...;
        rflr.measure.record): run.metrics.test_mse, run.metrics.layers[-1].defect_mean."""
        return self.ckpt.metrics

    @property
    def status(self) -> str:
        return self.ckpt.status

    @property
    def kind(self) -> str:
        """The model kind: "rflr" or "dense"."""
        return self.config.model.kind

    @property
    def label(self) -> str:
        """How the explorer names this checkpoint: kind · run · step."""
        return f"{KIND_LABELS.get(self.kind, self.kind)} · {self.config.run_id} · step {self.step}"

    @cached_property
    def history(self) -> pd.DataFrame:
        """The logged losses up to this step: step, train_loss, test_mse (NaN where missing)."""
        long = data.history_frame(self.ckpt.history)
        if long.empty:
            return pd.DataFrame(columns=["step", "train_loss", "test_mse"])
        wide = long.pivot_table(index="step", columns="series", values="value", sort=True)
        wide = wide.rename(columns={"train loss": "train_loss", "test MSE": "test_mse"})
        wide = wide.reindex(columns=["train_loss", "test_mse"]).reset_index()
        return wide.rename_axis(None, axis=1).astype({"step": "int64"})

    def plateaus(self) -> pd.DataFrame:
        """Plateaus and sharp drops of the logged test MSE: kind, start, end, loss (rflr.measure.plateaus)."""
        return data.plateau_frame(self.ckpt.history)

    # --- snapshots of the same run ----------------------------------------------------------

    @property
    def steps(self) -> list[int]:
        """The steps of this run's snapshots found beside this file."""
        return sorted(self.snapshot_files)

    def at(self, step: int) -> Run:
        """The snapshot of the same run at `step` (one of `steps`)."""
        if step not in self.snapshot_files:
            raise paths.PathError(
                f"{self.config.run_id} has no snapshot at step {step}: {self.steps}"
            )
        if step == self.step:
            return self
        return Run(checkpoint.load(self.snapshot_files[step]), self.snapshot_files)

    # --- measurements on the symmetric grid ----------------------------------------------------

    @cached_property
    def evaluated(self) -> data.Partials:
        """Every captured layer evaluated on the symmetric grid the metrics were measured on."""
        return data.compute_partials(self.ckpt)

    @property
    def layers(self) -> list[str]:
        """The captured layers, in depth order (atoms.h ... readout.y)."""
        return list(self.evaluated.z)

    def layer(self, layer: int | str, part: str = "partial") -> str:
        """A layer's captured name from its depth index k and part, or checked as given."""
        if isinstance(layer, str):
            name = layer
        elif isinstance(layer, int | np.integer) and not isinstance(layer, bool):
            if part not in data.PARTS:
                raise ValueError(f"part must be one of {', '.join(data.PARTS)}, not {part!r}")
            name = layer_name(self.config.model, int(layer), part)
        else:
            raise TypeError(f"a layer is a depth index k or a name, not {layer!r}")
        if name not in self.evaluated.z:
            depth = self.config.model.depth
            raise ValueError(
                f"{layer!r} is not a layer of this depth-{depth} network: use k = 0..{depth} "
                f"or one of {', '.join(self.evaluated.z)}"
            )
        return name

    def partials(self, layer: int | str, part: str = "partial") -> pd.DataFrame:
        """The layer's channels on the grid: index x (coordinate 0), one column per channel."""
        name = self.layer(layer, part)
        z = self.evaluated.z[name]
        frame = pd.DataFrame(z.T, index=pd.Index(self.evaluated.x0, name="x"))
        frame.columns.name = name
        return frame

    def defects(
        self,
        layer: int | str,
        part: str = "partial",
        threshold: float = ACTIVITY_THRESHOLD,
        tau: float = PARITY_TAU,
    ) -> pd.DataFrame:
        """One row per channel: D, parity, activity, relative_activity, active, oscillations;
        active channels first, most active first (the explorer's channel table)."""
        return data.channel_frame(self.evaluated, self.layer(layer, part), threshold, tau)

    def depth_profile(self, threshold: float = ACTIVITY_THRESHOLD) -> pd.DataFrame:
        """Active defect of every partial layer ("partial") and hidden layer ("h") by k."""
        return data.depth_profile(self.evaluated, threshold, PARITY_TAU)

    def weight_symmetry(
        self,
        layer: int | str | None = None,
        threshold: float = ACTIVITY_THRESHOLD,
        tau: float = PARITY_TAU,
    ) -> pd.DataFrame | LayerWeightSymmetry:
        """Mirror pairing of the units of each layer (rflr.measure.weight_symmetry): pairing and
        identity defects, outgoing mismatches, their rescale-invariant versions
        (direction_pairing, outgoing_match; docs/measurements.md), each beside its value at
        random init (init_*), and `movement`: the median unit's relative change from init.

        Without `layer`: one row per layer of units (atoms.h, then bottleneck.k.h or
        hidden.k.h), indexed by name. With `layer` (k = 0 .. L-1, or a name): that layer's
        record, with the permutations `perm` and `direction_perm` (-1 for units that are not
        alive)."""
        from rflr.measure.weight_symmetry import (
            weight_symmetry_of,  # draws the run's initial weights
        )

        key = (threshold, tau)
        if key not in self._weight_symmetry:
            grid = data.metrics_grid(self.ckpt)
            records = weight_symmetry_of(
                self.config, self.ckpt.params, self.evaluated.z, grid, threshold, tau
            )
            self._weight_symmetry[key] = {r.name: r for r in records}
        by_name = self._weight_symmetry[key]
        if layer is None:
            return pd.DataFrame([r.record() for r in by_name.values()]).set_index("name")
        name = layer if isinstance(layer, str) else layer_name(self.config.model, int(layer), "h")
        if name not in by_name:
            raise ValueError(
                f"{layer!r} is not a layer of units of this network: use k = 0.."
                f"{self.config.model.depth - 1} or one of {', '.join(by_name)}"
            )
        return by_name[name]

    @property
    def output_defect(self) -> float:
        """D(y), the odd fraction of the network's output."""
        return data.output_defect(self.evaluated)

    def __repr__(self) -> str:
        m = self.metrics
        return (
            f"<rflr.Run {self.label}: test MSE {summary.format_number(m.test_mse)}, "
            f"headline defect {summary.format_number(m.headline_defect)}, "
            f"status {self.status}; {self.path}>"
        )


def open(  # noqa: A001  (rflr.open reads like the built-in it mirrors)
    source: str | os.PathLike,
    run: str | None = None,
    step: int | None = None,
    revision: str | None = None,
) -> Run:
    """A checkpoint as a Run: a `.safetensors` file, a run folder (its final snapshot), a
    folder of runs with `run=` naming one, or a Hub repo `USER/NAME[/run]` (pulled once,
    offline from the cache). `step=` picks another snapshot of the run."""
    path = locate.local(source, revision)
    if not (path.is_file() or path.is_dir()):  # a FIFO or a device would block a read
        raise paths.PathError(f"{printable(path)}: not a regular file or a folder")
    found = _open_file(path) if path.is_file() else _open_folder(path, run)
    return found if step is None else found.at(step)


def _open_file(path: Path) -> Run:
    ckpt = checkpoint.load(path)
    siblings = {
        item.header.step: item.path
        for item in checkpoint.list_checkpoints(path.parent)
        if item.header is not None
        and item.path.parent == path.parent
        and item.header.config.run_id == ckpt.config.run_id
    }
    return Run(ckpt, {**siblings, ckpt.step: path})


def _open_folder(folder: Path, run: str | None) -> Run:
    cat = catalog.build(checkpoint.list_checkpoints(folder), folder)
    if not cat.runs:
        raise paths.PathError(f"{printable(folder)}: no readable rflr checkpoints in this folder")
    if run is None and len(cat.runs) == 1:
        run = cat.runs[0]
    if run not in cat.runs:
        shown = ", ".join(map(printable, cat.runs[:8])) + (", ..." if len(cat.runs) > 8 else "")
        what = "holds several runs; name one with run=" if run is None else f"has no run {run!r}"
        raise paths.PathError(f"{printable(folder)} {what} (runs: {shown})")
    files = {step: folder / rel for step, rel in cat.files[run].items()}
    ckpt = checkpoint.load(files[max(files)])
    return Run(ckpt, files)


def runs(source: str | os.PathLike | None = None, revision: str | None = None) -> pd.DataFrame:
    """Every checkpoint below a folder or Hub repo (headers only): run, step, kind, width,
    rank, depth, seed, test_mse, headline_defect, output_defect, status, target, file.
    Without a source: the default folder (rflr.files.paths.checkpoints_folder)."""
    folder = paths.checkpoints_folder() if source is None else locate.local(source, revision)
    return catalog.visible(catalog.build(checkpoint.list_checkpoints(folder), folder).table)


def open_sweep(source: str | os.PathLike, revision: str | None = None) -> pd.DataFrame:
    """A sweep's summary.csv as a DataFrame (rflr.sweep.summary.read_summary): a CSV file, a folder
    holding one summary.csv (at its top or anywhere below), or a Hub repo."""
    path = locate.local(source, revision)
    if path.is_dir():
        path = _find_summary(path)
    shown = printable(path)
    if not path.is_file():  # a FIFO named summary.csv would block the read forever
        raise paths.PathError(f"{shown}: not a regular file")
    try:
        head = pd.read_csv(path, nrows=0)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise paths.PathError(f"{shown}: not a readable CSV file ({printable(e)})") from None
    missing = [c for c in SWEEP_COLUMNS if c not in head.columns]
    if missing:
        raise paths.PathError(f"{shown}: not a sweep summary: no column {', '.join(missing)}")
    try:
        return summary.read_summary(path)
    except (ValueError, TypeError) as e:
        raise paths.PathError(f"{shown}: bad sweep summary ({printable(e)})") from None


def _find_summary(folder: Path) -> Path:
    """The folder's one summary.csv: at its top, else the only one below; regular files only."""
    top = folder / summary.SUMMARY_NAME
    if top.is_file():
        return top
    found = sorted(
        p
        for p in folder.rglob(summary.SUMMARY_NAME)
        if not checkpoint.is_hidden(p.relative_to(folder)) and p.is_file()
    )
    if len(found) == 1:
        return found[0]
    if not found:
        raise paths.PathError(f"{printable(folder)}: no {summary.SUMMARY_NAME} in this folder")
    names = ", ".join(printable(p.relative_to(folder).as_posix()) for p in found)
    raise paths.PathError(f"{printable(folder)} holds several sweeps; open one of: {names}")
