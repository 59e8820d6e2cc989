"""Evaluate a model on the symmetric grid: every partial function, then the metrics record."""

from __future__ import annotations

import numpy as np
import torch

from rflr.core.config import RunConfig
from rflr.core.model import as_float64, build, outgoing_weights, partial_layers
from rflr.core.targets import DEFAULT_GRID_POINTS, Grid, symmetric_grid, target_values
from rflr.measure import channels, metrics
from rflr.measure.record import LayerMetrics, Metrics


def partials_on_grid(
    cfg: RunConfig, params: dict[str, torch.Tensor], grid: Grid
) -> dict[str, np.ndarray]:
    """Every captured layer on the grid in float64, channels first: name -> [C, G]."""
    params64 = as_float64(params)
    model = build(cfg.model, params64)
    with torch.no_grad():
        _, cache = model.run_with_cache(torch.from_numpy(grid.x))
    return {k: v.reshape(len(grid.x), -1).T.numpy() for k, v in cache.items()}


def checkpoint_metrics(
    cfg: RunConfig,
    params: dict[str, torch.Tensor],
    grid_points: int = DEFAULT_GRID_POINTS,
    threshold: float = metrics.ACTIVITY_THRESHOLD,
    tau: float = metrics.PARITY_TAU,
) -> Metrics:
    """The `rflr.metrics` record of SPEC section 5 (without the status, which the trainer sets)."""
    grid = symmetric_grid(cfg.target.domain, grid_points, cfg.model.input_dim)
    z = partials_on_grid(cfg, params, grid)
    f = target_values(cfg.target, torch.from_numpy(grid.x)).numpy()
    y = z["readout.y"][0]
    params64 = as_float64(params)
    layers = []
    for name in partial_layers(cfg.model):
        out = outgoing_weights(cfg.model, params64, name).numpy()
        d, active = metrics.layer_channels(z[name], out, grid.mirror, threshold)
        # peaks and valleys need an ordered 1D grid; the d > 1 grid is a random sample
        oscillations = (
            channels.oscillations_median(z[name], active)
            if cfg.model.input_dim == 1
            else float("nan")
        )
        stats = metrics.defect_stats(d, active, tau)
        layers.append(LayerMetrics(name=name, **stats, oscillations_median=oscillations))
    pairing = channels.atom_pairing_of(cfg.model, params64, z)
    return Metrics(
        test_mse=metrics.test_mse(y, f),
        output_defect=float(metrics.odd_fraction(y, grid.mirror)),
        headline_defect=layers[-1].defect_mean,
        grid_points=grid_points,
        activity_threshold=threshold,
        parity_tau=tau,
        oscillation_tol=channels.OSCILLATION_TOL,
        atom_pairing_defect=pairing.pairing_defect,
        atom_outgoing_mismatch=pairing.outgoing_mismatch,
        alive_atoms=pairing.alive_count,
        layers=layers,
    )
