"""A d >= 2 network drawn as it is: each channel along x₁ on the line through the origin
(x₂ = … = x_d = 0), beside its mirror, and for d = 2 the channel over the whole plane.

The metrics' grid for d > 1 is a random sample closed under the reflection
(rflr.core.targets.symmetric_grid): right for D, unreadable as a curve, since consecutive
points are far apart. These are separate evaluations on ordered grids, for drawing only; D stays
the sample's (rflr.views.data.channel_frame). Each checks the explorer's budget for its own points
(rflr.views.budget.check) before a tensor is touched.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from rflr.core.targets import Grid, target_values
from rflr.files.checkpoint import Checkpoint
from rflr.measure import metrics
from rflr.measure.evaluate import partials_on_grid
from rflr.views import budget, style

SLICE_POINTS = 129  # points along x₁ (as many as a d = 1 curve draws: data.PLOT_POINTS)
PLANE_SIDE = 41  # the d = 2 heatmap's grid is PLANE_SIDE x PLANE_SIDE


def axis_name(input_dim: int) -> str:
    """The horizontal axis of a layer panel: x for d = 1, x₁ (the reflected coordinate) else."""
    return "x" if input_dim == 1 else "x₁"


def slice_caption(input_dim: int) -> str:
    """Which slice the panels of a d >= 2 network show, in words."""
    rest = "x₂ = 0" if input_dim == 2 else f"x₂ = … = x{style.subscript(input_dim)} = 0"
    return (
        f"d = {input_dim}: each panel shows the channel along x₁ on the line through the "
        f"origin ({rest}), beside its mirror z(−x₁, 0…); D is still measured on the "
        "mirror-closed sample of the whole domain, so a curve can look even on this line "
        "while D is not 0."
    )


def slice_grid(domain: float, input_dim: int, points: int = SLICE_POINTS) -> Grid:
    """`points` evenly spaced values of x₁ on [-A, A], every other coordinate 0: closed
    under the reflection (x₁ -> -x₁), whose partner is the reversed index."""
    x1 = np.linspace(-domain, domain, points)
    x1 = (x1 - x1[::-1]) / 2  # exactly antisymmetric, as the d = 1 grid
    x = np.zeros((points, input_dim))
    x[:, 0] = x1
    return Grid(x, np.arange(points)[::-1].copy())


def slice_frame(ckpt: Checkpoint, name: str, channels: list[int]) -> pd.DataFrame:
    """rflr.views.data.curve_frame's table on the slice x₂ = … = x_d = 0: per channel and
    point, x (= x₁), z(x), z(-x), the odd part o(x), and on the output layer the target."""
    cfg = ckpt.config
    points = min(SLICE_POINTS, budget.limits().grid_points)
    budget.check(cfg.model, points)
    grid = slice_grid(cfg.target.domain, cfg.model.input_dim, points)
    z = partials_on_grid(cfg, ckpt.params, grid)[name][channels]
    n = len(grid.x)
    frame = pd.DataFrame(
        {
            "channel": np.repeat(np.asarray(channels, dtype=int), n),
            "x": np.tile(grid.x0, len(channels)),
            "z(x)": z.ravel(),
            "z(-x)": metrics.reflect(z, grid.mirror).ravel(),
            "o(x)": metrics.odd_part(z, grid.mirror).ravel(),
        }
    )
    if name == "readout.y":
        target = target_values(cfg.target, torch.from_numpy(grid.x)).numpy()
        frame["f*(x)"] = np.tile(target, len(channels))
    return frame


def plane_frame(ckpt: Checkpoint, name: str, channels: list[int]) -> pd.DataFrame:
    """A d = 2 network's channels on a PLANE_SIDE² grid of [-A, A]²: per channel and cell,
    x₁, x₂ (the cell's centre), its half width, z(x₁, x₂) and the mirror z(-x₁, x₂)."""
    cfg = ckpt.config
    if cfg.model.input_dim != 2:
        raise ValueError(f"a plane needs d = 2, not d = {cfg.model.input_dim}")
    side = PLANE_SIDE
    budget.check(cfg.model, side * side)
    axis = np.linspace(-cfg.target.domain, cfg.target.domain, side)
    axis = (axis - axis[::-1]) / 2
    x1, x2 = np.meshgrid(axis, axis, indexing="ij")  # [side, side]: x₁ along the rows
    mirror = np.arange(side * side).reshape(side, side)[::-1].ravel()  # row i <-> row side-1-i
    grid = Grid(np.stack([x1.ravel(), x2.ravel()], axis=1), mirror)
    z = partials_on_grid(cfg, ckpt.params, grid)[name][channels]
    n, half = side * side, float(axis[1] - axis[0]) / 2
    return pd.DataFrame(
        {
            "channel": np.repeat(np.asarray(channels, dtype=int), n),
            "x1": np.tile(grid.x[:, 0], len(channels)),
            "x2": np.tile(grid.x[:, 1], len(channels)),
            "half": half,
            "z": z.ravel(),
            "mirror": metrics.reflect(z, grid.mirror).ravel(),
        }
    )
