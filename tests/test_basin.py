"""Basin profiles along filter-normalized directions, and the top Hessian eigenvalue."""

import math

import numpy as np
import pytest
import torch

from rflr.core import seeds
from rflr.core.config import DenseConfig, RFLRConfig, RunConfig
from rflr.core.model import build, init_params
from rflr.measure import basin


def setup(model, n_train: int = 24, seed: int = 0):
    cfg = RunConfig(model=model, seed=seed)
    cfg.train.n_train = n_train
    params = init_params(model, torch.Generator().manual_seed(seed))
    x, y = basin.training_set(cfg)
    return cfg, params, x, y


def test_training_set_is_deterministic_and_on_the_domain():
    cfg, _, x, y = setup(RFLRConfig(width=4, input_dim=2), n_train=50)
    x2, y2 = basin.training_set(cfg)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert x.shape == (50, 2) and x.dtype == torch.float64
    assert x.abs().max() <= cfg.target.domain
    assert not torch.equal(x, basin.training_set(cfg, seed=1)[0])
    assert torch.equal(x, seeds.train_set(cfg)[0])  # the trainer's own sample


def test_filter_normalized_rows_match_parameter_rows():
    model = RFLRConfig(width=8, rank=2, depth=3, train_atoms=False)
    params = {k: v.double() for k, v in setup(model)[1].items()}
    names = basin.trainable_names(model)
    assert "atoms.weight" not in names
    g = torch.Generator().manual_seed(0)
    d = basin.filter_normalized_direction(params, names, g, bias="zero")
    for name, theta in params.items():
        if name.startswith("atoms.") or theta.dim() == 1:
            assert torch.count_nonzero(d[name]) == 0  # frozen atoms, unperturbed biases
        else:
            torch.testing.assert_close(d[name].norm(dim=1), theta.norm(dim=1))
    d = basin.filter_normalized_direction(params, names, g, bias="norm")
    bias = params["bottleneck.1.bias"]
    assert d["bottleneck.1.bias"].norm() == pytest.approx(float(bias.norm()))
    with pytest.raises(ValueError):
        basin.filter_normalized_direction(params, names, g, bias="other")


def test_basin_profile_is_reproducible_and_rises():
    model = DenseConfig(width=8, depth=2)
    _, params, x, y = setup(model)
    params64 = {k: v.double() for k, v in params.items()}
    a = basin.basin_profile(model, params, x, y, directions=3, seed=7)
    b = basin.basin_profile(model, params, x, y, directions=3, seed=7)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert a.losses.shape == (3, 2, len(basin.RADII))
    with torch.no_grad():
        y_hat = build(model, params64)(x)
    assert a.base_loss == pytest.approx(float(torch.mean((y_hat - y) ** 2)), rel=1e-12)
    # at the smallest radius the loss barely moves; at radius 1 it has clearly risen
    assert a.mean_loss[0] == pytest.approx(a.base_loss, rel=1e-2)
    assert a.mean_loss[-1] > a.base_loss
    assert 1e-3 <= a.flat_radius <= 1.0
    never = basin.basin_profile(model, params, x, y, directions=2, rise_factor=1e9)
    assert math.isinf(never.flat_radius)


def test_flat_radius_interpolates_in_log_radius():
    radii = np.array([0.1, 1.0])
    assert basin._first_crossing(radii, np.array([1.0, 3.0]), 2.0) == pytest.approx(10**-0.5)
    assert basin._first_crossing(radii, np.array([5.0, 6.0]), 2.0) == 0.1


@pytest.mark.parametrize(
    "model",
    [RFLRConfig(width=6, rank=2, depth=3), DenseConfig(width=5, depth=2, activation="tanh")],
    ids=["rflr-relu", "dense-tanh"],
)
def test_power_iteration_matches_the_full_hessian(model):
    _, params, x, y = setup(model, seed=1)
    top = basin.top_hessian_eigenvalue(model, params, x, y, tol=1e-13, max_iter=5000)
    exact = torch.linalg.eigvalsh(basin.full_hessian(model, params, x, y))
    assert top.converged
    assert top.eigenvalue == pytest.approx(float(exact[-1]), rel=1e-6)


def test_power_iteration_finds_the_top_when_a_negative_eigenvalue_dominates():
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(6, 6)))
    h = torch.from_numpy(q @ np.diag([-5.0, -1.0, 0.1, 0.5, 1.0, 2.0]) @ q.T)
    top = basin.power_top_eigenvalue(lambda v: h @ v, 6, tol=1e-14, max_iter=5000)
    assert top.converged
    assert top.eigenvalue == pytest.approx(2.0, rel=1e-6)
