"""The explorer's figures for notebooks: functions of Runs (rflr.notebook) and sweep tables that
return Altair charts, drawn by the same builders as the app (rflr.views' *_charts modules).

A chart displays itself in Jupyter; `chart.save("fig.png")` writes a file (vl-convert).
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from rflr.files import checkpoint
from rflr.measure.metrics import ACTIVITY_THRESHOLD, PARITY_TAU
from rflr.notebook import Run
from rflr.views import (
    data,
    depth_charts,
    layer_charts,
    slices,
    style,
    sweep_charts,
    training_charts,
    weight_charts,
)

MAX_CHANNELS = 8  # panels drawn per network by default: the most active channels
# The Sweep tab's charts, by name: (builder, its arguments after the summary table).
SWEEP_CHARTS = {
    "test_mse": (sweep_charts.distribution_chart, ("test_mse", "test MSE")),
    "headline_defect": (
        sweep_charts.distribution_chart,
        ("headline_defect", "headline active partial defect"),
    ),
    "scatter": (sweep_charts.scatter_chart, ()),
    "symmetric": (sweep_charts.symmetric_chart, ()),
    "depth": (sweep_charts.depth_chart, ()),
}


def _runs(runs: Run | Sequence[Run]) -> list[Run]:
    out = [runs] if isinstance(runs, Run) else list(runs)
    if not out or not all(isinstance(r, Run) for r in out):
        raise TypeError("expected a Run (rflr.open) or a list of Runs")
    return out


def layer_chart(
    runs: Run | Sequence[Run],
    layer: int | str,
    part: str = "partial",
    odd: bool = False,
    threshold: float = ACTIVITY_THRESHOLD,
    channels: int = MAX_CHANNELS,
    columns: int | None = None,
) -> alt.FacetChart | alt.HConcatChart:
    """The Layer view: each active channel z(x) solid beside its mirror z(-x) dashed (and the
    odd part o(x) dotted with `odd`), D and parity in each panel's title, most active first.
    Several runs (an RF-LR network and its dense control) are drawn side by side on one
    shared y axis (an hconcat of the runs' charts)."""
    runs = _runs(runs)
    views = []
    for run in runs:
        name = run.layer(layer, part)
        table = run.defects(name, threshold=threshold, tau=PARITY_TAU)
        shown = table[table["active"]].head(channels)
        picked = [int(c) for c in shown["channel"]]
        d = run.config.model.input_dim
        # d >= 2: drawn along x₁ through the origin (the metrics' sample is no curve)
        curves = (
            data.curve_frame(run.evaluated, name, picked)
            if d == 1
            else slices.slice_frame(run.ckpt, name, picked)
        )
        views.append((run, name, shown, curves))
    drawn = [v[3] for v in views if not v[2].empty]
    y_domain = layer_charts.y_extent(pd.concat(drawn), odd) if len(runs) > 1 and drawn else None
    per_row = columns or (2 if len(runs) > 1 else 4)
    panels = [
        layer_charts.layer_panels(
            curves, shown, odd, y_domain, per_row, name, run.kind, x_name=_x_name(run), tag=f"_{i}"
        ).properties(title=f"{run.label} · {name}" + _note(run, shown))
        for i, (run, name, shown, curves) in enumerate(views)
    ]
    if len(panels) == 1:
        return panels[0]
    # a concat's parts carry no usermeta (the canvas renderer is asked for once, on top)
    for p in panels:
        p.usermeta = alt.Undefined
    # each run's colours (orange RF-LR, blue dense): a shared scale would give the second
    # run the first one's range
    return (
        alt.hconcat(*panels)
        .resolve_scale(color="independent", strokeDash="independent", fill="independent")
        .properties(usermeta=style.CANVAS)
    )


def _x_name(run: Run) -> str:
    return slices.axis_name(run.config.model.input_dim)


def _note(run: Run, shown: pd.DataFrame) -> str:
    """What a layer chart's title adds: no channel drawn, or the slice a d >= 2 run is on."""
    if shown.empty:
        return " (no active channel)"
    d = run.config.model.input_dim
    return "" if d == 1 else f" · along x₁, other coordinates 0 (d = {d}; D on the whole sample)"


def depth_chart(*runs: Run, threshold: float = ACTIVITY_THRESHOLD) -> alt.LayerChart:
    """The Depth profile: active defect of each layer against k (log scale), one line per run,
    its output defect D(y) a dashed rule: a good output fit can hide an asymmetric inside."""
    runs = _runs(list(runs))
    profile = pd.concat(
        [r.depth_profile(threshold).assign(checkpoint=r.label, kind=r.kind) for r in runs],
        ignore_index=True,
    )
    outputs = pd.DataFrame(
        {
            "checkpoint": [r.label for r in runs],
            "kind": [r.kind for r in runs],
            "output_defect": [r.output_defect for r in runs],
        }
    )
    return depth_charts.depth_chart(profile, outputs)


def training_chart(run: Run) -> alt.LayerChart:
    """The Training tab: train loss and test MSE against step (log-log) from the run's last
    snapshot, plateaus and drops shaded, this snapshot's step marked."""
    history = checkpoint.read_header(run.snapshot_files[max(run.steps)]).history
    hist = data.history_frame(history).assign(checkpoint=run.label, kind=run.kind)
    return training_charts.loss_chart(hist, data.plateau_frame(history), run.step)


def atoms_chart(run: Run) -> alt.LayerChart:
    """The Weights tab: atoms (w, b), each alive atom joined to the atom matched to its mirror."""
    frames = data.atom_frames(run.ckpt, run.evaluated)
    return weight_charts.atoms_chart(frames.atoms, frames.links, run.kind)


def sweep_chart(sweep: pd.DataFrame, which: str = "scatter") -> alt.LayerChart:
    """One chart of the Sweep tab from rflr.open_sweep's table: "test_mse" and
    "headline_defect" (distributions per model), "scatter" (test MSE against headline defect),
    "symmetric" (fraction of reruns with symmetric active partials), "depth" (defect by layer)."""
    if which not in SWEEP_CHARTS:
        raise ValueError(f"which must be one of {', '.join(SWEEP_CHARTS)}, not {which!r}")
    build, args = SWEEP_CHARTS[which]
    return build(sweep, *args)
