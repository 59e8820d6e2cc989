"""rflr.measure.evaluate: a model on the grid, checked against the model's own forward pass."""

from __future__ import annotations

import numpy as np
import torch

from rflr.core.config import RFLRConfig, RunConfig
from rflr.core.model import build, init_params, partial_layers
from rflr.core.targets import symmetric_grid, target_values
from rflr.measure.evaluate import checkpoint_metrics, partials_on_grid


def test_partials_are_the_forward_pass_in_float64_channels_first():
    cfg = RunConfig(RFLRConfig(width=8, rank=2, depth=3))
    params = init_params(cfg.model, torch.Generator().manual_seed(0), torch.float32)
    grid = symmetric_grid(cfg.target.domain, 33)
    z = partials_on_grid(cfg, params, grid)
    x = torch.from_numpy(grid.x)
    with torch.no_grad():
        y, cache = build(cfg.model, {k: v.double() for k, v in params.items()}).run_with_cache(x)
    np.testing.assert_allclose(z["readout.y"][0], y.numpy())
    for name in partial_layers(cfg.model):
        assert z[name].dtype == np.float64
        np.testing.assert_allclose(z[name], cache[name].numpy().reshape(33, -1).T)


def test_test_mse_in_the_record_is_the_grid_mse():
    cfg = RunConfig(RFLRConfig(width=8, rank=2, depth=2))
    params = init_params(cfg.model, torch.Generator().manual_seed(1), torch.float64)
    rec = checkpoint_metrics(cfg, params, grid_points=65)
    grid = symmetric_grid(cfg.target.domain, 65)
    y = partials_on_grid(cfg, params, grid)["readout.y"][0]
    f = target_values(cfg.target, torch.from_numpy(grid.x)).numpy()
    assert np.isclose(rec.test_mse, np.mean((y - f) ** 2), rtol=1e-12)
    assert len(rec.layers) == len(partial_layers(cfg.model))
