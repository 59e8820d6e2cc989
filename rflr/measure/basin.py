"""Basin width around a checkpoint (SPEC section 4): 1D loss profiles along filter-normalized
random directions, and the top Hessian eigenvalue from exact Hessian-vector products.

Both are pure functions of (config, parameters, training set, settings), computed in
float64, with every random draw from a fixed seed: the app can cache them by their
arguments. The loss is the training MSE, mean over the n training points of (y - f*)^2.
Only trainable tensors move: frozen atoms (train_atoms = False) stay put.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import functional_call

from rflr.core import seeds as seedlib
from rflr.core.config import ModelConfig, RunConfig
from rflr.core.model import build, param_shapes

DIRECTIONS = 8  # random directions per profile
RADII = tuple(float(r) for r in np.geomspace(1e-3, 1.0, 13))  # 4 per decade, in filter units
RISE_FACTOR = 2.0  # flat radius: where the mean loss first reaches RISE_FACTOR * L0 + RISE_MARGIN
RISE_MARGIN = 1e-4  # absolute part of that level, so a near-zero L0 is not all noise
BIAS_MODES = ("zero", "norm")


def training_set(cfg: RunConfig, seed: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The run's training set x [n, d], f*(x) [n] in float64, regenerated from its seed.

    This is the trainer's own sample (rflr.core.seeds.train_set; for online training, the set it
    monitors the loss on). Another `seed` draws the same way for that seed instead.
    """
    return seedlib.train_set(cfg if seed is None else dataclasses.replace(cfg, seed=seed))


def trainable_names(cfg: ModelConfig) -> list[str]:
    """The tensors training moves, in checkpoint order."""
    return [n for n in param_shapes(cfg) if cfg.train_atoms or not n.startswith("atoms.")]


def _as64(params: dict) -> dict[str, torch.Tensor]:
    """Tensors or arrays -> detached float64 tensors (the app may pass numpy arrays)."""
    return {
        k: v.detach().to(torch.float64)
        if isinstance(v, torch.Tensor)
        else torch.from_numpy(np.asarray(v, dtype=np.float64))
        for k, v in params.items()
    }


def _loss_fn(cfg: ModelConfig, params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor):
    """p -> training MSE, with p a dict of (some) tensors overriding `params`."""
    model = build(cfg, params)
    x, y = x.to(torch.float64), y.to(torch.float64)

    def loss(p: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.mean((functional_call(model, {**params, **p}, (x,)) - y) ** 2)

    return loss


def filter_normalized_direction(
    params: dict[str, torch.Tensor],
    names: list[str],
    generator: torch.Generator,
    bias: str = "zero",
) -> dict[str, torch.Tensor]:
    """A Gaussian direction rescaled filter by filter (Li et al. 2018, "Visualizing the Loss
    Landscape of Neural Nets"): each row of a weight matrix (one unit's incoming weights) gets
    the norm of the same row of the parameters. Biases: "zero" leaves them unperturbed, as Li
    et al. do; "norm" rescales the bias direction to the norm of the whole bias vector.
    Tensors not in `names` (frozen) get a zero direction. Draws in checkpoint-name order.
    """
    if bias not in BIAS_MODES:
        raise ValueError(f"bias must be one of {BIAS_MODES}, got {bias!r}")
    out = {}
    for name, theta in params.items():
        d = torch.randn(theta.shape, generator=generator, dtype=torch.float64)
        if name not in names:
            d = torch.zeros_like(d)
        elif theta.dim() >= 2:
            rows = theta.reshape(len(theta), -1).norm(dim=1)
            d_rows = d.reshape(len(d), -1).norm(dim=1).clamp_min(1e-300)
            d = d * (rows / d_rows).reshape(-1, *([1] * (theta.dim() - 1)))
        elif bias == "norm":
            d = d * theta.norm() / d.norm().clamp_min(1e-300)
        else:
            d = torch.zeros_like(d)
        out[name] = d
    return out


@dataclass
class BasinProfile:
    radii: np.ndarray  # [R] step lengths, in units of the filter-normalized direction
    losses: np.ndarray  # [K, 2, R] loss at theta - r d_k (index 0) and theta + r d_k (index 1)
    base_loss: float  # L0: the loss at theta
    mean_loss: np.ndarray  # [R] mean over directions and both signs
    flat_radius: float  # first radius where mean_loss reaches the rise level; inf if never
    rise_level: float  # RISE_FACTOR * L0 + RISE_MARGIN as used


def basin_profile(
    cfg: ModelConfig,
    params: dict,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    radii: tuple[float, ...] | np.ndarray = RADII,
    directions: int = DIRECTIONS,
    seed: int = 0,
    bias: str = "zero",
    rise_factor: float = RISE_FACTOR,
    rise_margin: float = RISE_MARGIN,
) -> BasinProfile:
    """Training loss along `directions` filter-normalized random directions, both signs.

    The flat radius is the smallest radius at which the mean loss reaches
    rise_factor * L0 + rise_margin, interpolated linearly in log radius between the two
    radii that bracket it (the first radius itself if already reached there).
    """
    p = _as64(params)
    radii = np.asarray(radii, dtype=np.float64)
    loss = _loss_fn(cfg, p, x_train, y_train)
    names = trainable_names(cfg)
    g = torch.Generator().manual_seed(seed)
    losses = np.empty((directions, 2, len(radii)))
    with torch.no_grad():
        base = float(loss({}))
        for k in range(directions):
            d = filter_normalized_direction(p, names, g, bias)
            for s, sign in enumerate((-1.0, 1.0)):
                for j, r in enumerate(radii):
                    losses[k, s, j] = float(loss({n: p[n] + sign * r * d[n] for n in names}))
    mean = losses.mean(axis=(0, 1))
    level = rise_factor * base + rise_margin
    return BasinProfile(radii, losses, base, mean, _first_crossing(radii, mean, level), level)


def _first_crossing(radii: np.ndarray, mean: np.ndarray, level: float) -> float:
    above = np.flatnonzero(mean >= level)
    if above.size == 0:
        return math.inf
    j = above[0]
    if j == 0:
        return float(radii[0])
    r0, r1, m0, m1 = np.log(radii[j - 1]), np.log(radii[j]), mean[j - 1], mean[j]
    return float(np.exp(r0 + (level - m0) / (m1 - m0) * (r1 - r0)))


# --- top Hessian eigenvalue --------------------------------------------------------------


@dataclass
class HessianTop:
    eigenvalue: float  # the largest (algebraic) eigenvalue of the training-loss Hessian
    iterations: int  # Hessian-vector products used
    converged: bool


def _flat_loss(cfg: ModelConfig, params: dict, x_train: torch.Tensor, y_train: torch.Tensor):
    """(loss of the flat trainable parameter vector, that vector) for Hessian work."""
    p = _as64(params)
    names = trainable_names(cfg)
    shapes = [p[n].shape for n in names]
    sizes = [p[n].numel() for n in names]
    loss = _loss_fn(cfg, p, x_train, y_train)

    def flat_loss(theta: torch.Tensor) -> torch.Tensor:
        parts = torch.split(theta, sizes)
        return loss({n: t.reshape(s) for n, t, s in zip(names, parts, shapes, strict=True)})

    return flat_loss, torch.cat([p[n].reshape(-1) for n in names])


def power_top_eigenvalue(
    hvp: Callable[[torch.Tensor], torch.Tensor],
    size: int,
    seed: int = 0,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> HessianTop:
    """Top eigenvalue of a symmetric operator given as v -> H v on float64 vectors of `size`.

    Power iteration finds the eigenvalue of largest magnitude. If that one is negative (away
    from a minimum), a second run on H - lambda I finds the top of the spectrum.
    Converged means the Rayleigh quotient changed by less than tol (relative) in one step.
    """
    g = torch.Generator().manual_seed(seed)
    v0 = torch.randn(size, generator=g, dtype=torch.float64)
    lam, n, ok = _power(hvp, v0, 0.0, tol, max_iter)
    if lam < 0:
        mu, n2, ok = _power(hvp, v0, lam, tol, max_iter)
        lam, n = mu + lam, n + n2
    return HessianTop(float(lam), n, ok)


def _power(hvp, v: torch.Tensor, shift: float, tol: float, max_iter: int):
    """Power iteration on H - shift I; the Rayleigh quotient and the products used."""
    v = v / v.norm()
    lam = 0.0
    for i in range(1, max_iter + 1):
        hv = hvp(v) - shift * v
        new = float(v @ hv)
        norm = hv.norm()
        if norm == 0:
            return 0.0, i, True
        v = hv / norm
        if abs(new - lam) <= tol * abs(new):
            return new, i, True
        lam = new
    return lam, max_iter, False


def top_hessian_eigenvalue(
    cfg: ModelConfig,
    params: dict,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    seed: int = 0,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> HessianTop:
    """Top eigenvalue of the training-loss Hessian over the trainable parameters, by
    power_top_eigenvalue on exact Hessian-vector products (double backward, float64).
    """
    flat_loss, theta = _flat_loss(cfg, params, x_train, y_train)
    theta = theta.requires_grad_(True)
    # The gradient's graph is built once and kept; each product differentiates g . v again.
    # (Forward-over-reverse via torch.func.jvp is exact too, but its first call loads
    # TorchScript decompositions for about a second.)
    (g,) = torch.autograd.grad(flat_loss(theta), theta, create_graph=True)

    def hvp(v: torch.Tensor) -> torch.Tensor:
        return torch.autograd.grad(g, theta, grad_outputs=v, retain_graph=True)[0].detach()

    return power_top_eigenvalue(hvp, theta.numel(), seed, tol, max_iter)


def full_hessian(
    cfg: ModelConfig, params: dict, x_train: torch.Tensor, y_train: torch.Tensor
) -> torch.Tensor:
    """The dense Hessian of the training loss over the trainable parameters (tiny models)."""
    flat_loss, theta = _flat_loss(cfg, params, x_train, y_train)
    return torch.autograd.functional.hessian(flat_loss, theta)
