"""Targets (sums of cosines of x_1, optionally sine terms and, for d > 1, transverse terms
cos(w x_1) sin(v (x_2 + ... + x_d))) and the symmetric evaluation grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rflr.core.config import TargetConfig

DEFAULT_GRID_POINTS = 1025  # odd, so that x = 0 is on the grid


def target_values(target: TargetConfig, x: torch.Tensor) -> torch.Tensor:
    """f*(x) for x [..., d] (rflr.core.config.TargetConfig): the cosine and sine terms read x_1
    (coordinate 0, the reflected one); transverse terms also s = x_2 + ... + x_d."""
    x0 = x[..., 0]
    y = torch.zeros_like(x0)
    for w, a in target.cosines:
        y = y + a * torch.cos(w * x0)
    for w, a in target.sines:
        y = y + a * torch.sin(w * x0)
    if target.transverse:
        s = x[..., 1:].sum(-1)  # exactly the same for x and R x: R leaves these coordinates
        for w, v, a in target.transverse:
            y = y + a * torch.cos(w * x0) * torch.sin(v * s)
    return y


@dataclass(frozen=True)
class Grid:
    """Evaluation points x [G, d] closed under the reflection: x[mirror[i]] = R x[i]."""

    x: np.ndarray  # [G, d] float64
    mirror: np.ndarray  # [G] int: index of the reflected point

    @property
    def x0(self) -> np.ndarray:
        return self.x[:, 0]


def symmetric_grid(domain: float, points: int = DEFAULT_GRID_POINTS, input_dim: int = 1) -> Grid:
    """Evenly spaced grid on [-A, A] for d = 1; for d > 1, random points and their mirrors.

    The reflection R negates coordinate 0. For d = 1 the grid is x_i = -x_{G-1-i}, so mirror
    is the reversed index. For d > 1 a product grid would be too large; instead a fixed
    random sample (seed 0) is closed under R so the same metrics apply unchanged.
    """
    if points < 3:
        raise ValueError(f"grid needs at least 3 points, got {points}")
    if input_dim == 1:
        x = np.linspace(-domain, domain, points)
        x = (x - x[::-1]) / 2  # exactly antisymmetric: linspace alone is off by rounding
        return Grid(x[:, None], np.arange(points)[::-1].copy())
    half = np.random.default_rng(0).uniform(-domain, domain, size=(points // 2, input_dim))
    mirrored = half.copy()
    mirrored[:, 0] *= -1
    x = np.concatenate([half, mirrored])
    n = len(half)
    mirror = np.concatenate([np.arange(n, 2 * n), np.arange(n)])
    return Grid(x, mirror)
