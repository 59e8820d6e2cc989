import numpy as np
import pytest
import torch

from rflr.core.config import DenseConfig, RFLRConfig, RunConfig, TargetConfig
from rflr.core.model import init_params
from rflr.core.targets import symmetric_grid
from rflr.measure import metrics
from rflr.measure.evaluate import checkpoint_metrics, partials_on_grid
from rflr.measure.record import Metrics
from tests.conftest import mirror_paired_params

GRID = symmetric_grid(np.pi, 1025)


def test_odd_fraction_of_known_functions():
    x = GRID.x0
    assert metrics.odd_fraction(np.cos(3 * x), GRID.mirror) < 1e-28
    assert abs(metrics.odd_fraction(np.sin(2 * x), GRID.mirror) - 1) < 1e-14
    # cos + 0.5 sin: energies of the odd and centered parts, computed independently
    z = np.cos(x) + 0.5 * np.sin(x)
    expected = np.sum((0.5 * np.sin(x)) ** 2) / np.sum((z - z.mean()) ** 2)
    assert metrics.odd_fraction(z, GRID.mirror) == pytest.approx(expected, rel=1e-12)
    assert 0 < expected < 1
    assert np.isnan(metrics.odd_fraction(np.full_like(x, 2.0), GRID.mirror))  # constant: undefined


def test_grid_is_exactly_symmetric_and_contains_zero():
    assert np.array_equal(GRID.x0, -GRID.x0[GRID.mirror])
    assert 0.0 in GRID.x0 and len(GRID.x0) % 2 == 1


def test_general_reflection_grid_in_2d():
    g = symmetric_grid(1.0, 101, input_dim=2)
    reflected = g.x.copy()
    reflected[:, 0] *= -1
    assert np.array_equal(g.x[g.mirror], reflected)
    even = np.abs(g.x[:, 0]) + g.x[:, 1] ** 2
    assert metrics.odd_fraction(even, g.mirror) < 1e-28


def test_activity_threshold_and_parity():
    x = GRID.x0
    z = np.stack([np.cos(x), np.sin(x), 1e-5 * np.sin(x), np.zeros_like(x)])
    out = np.ones((4, 3))
    act = metrics.channel_activity(z, out)
    active = metrics.active_mask(act, 1e-3)
    assert active.tolist() == [True, True, False, False]
    assert metrics.parity(metrics.odd_fraction(z, GRID.mirror)).tolist() == [
        "even",
        "odd",
        "odd",
        "flat",
    ]
    layer = metrics.layer_defect(z, out, GRID.mirror)
    assert layer["active"] == 2 and layer["channels"] == 4
    assert layer["defect_mean"] == pytest.approx(0.5) and layer["defect_max"] == pytest.approx(1)
    assert (layer["even"], layer["odd"], layer["mixed"]) == (1, 1, 0)
    # a dead outgoing weight silences a channel however much it varies
    out[1] = 0
    assert metrics.layer_defect(z, out, GRID.mirror)["active"] == 1


@pytest.mark.parametrize(
    "cfg", [RFLRConfig(width=32, rank=3, depth=4), DenseConfig(width=32, depth=3)]
)
def test_exactly_even_network_has_zero_defect(cfg):
    run = RunConfig(cfg)
    p = mirror_paired_params(cfg)
    m = checkpoint_metrics(run, p)
    assert m.output_defect < 1e-24
    for layer in m.layers:
        assert layer.active > 0 and layer.defect_max < 1e-24
    assert m.headline_defect == m.layers[-1].defect_mean
    # the atoms themselves are not even: pairing makes the *sum* symmetric
    z = partials_on_grid(run, p, GRID)
    assert np.nanmax(metrics.odd_fraction(z["atoms.h"], GRID.mirror)) > 0.1


@pytest.mark.parametrize(
    "cfg",
    [
        RFLRConfig(width=32, rank=3, depth=3, activation="tanh"),
        DenseConfig(width=32, depth=3, activation="tanh"),
    ],
)
def test_exactly_odd_network_has_defect_one(cfg):
    """tanh and zero biases: every layer is an odd function of x."""
    p = init_params(cfg, torch.Generator().manual_seed(0), torch.float64)
    for k in p:
        if k.endswith("bias"):
            p[k].zero_()
    m = checkpoint_metrics(RunConfig(cfg), p)
    assert abs(m.output_defect - 1) < 1e-12
    for layer in m.layers:
        assert layer.active > 0 and abs(layer.defect_mean - 1) < 1e-12
        assert layer.odd == layer.active


def test_random_network_is_neither():
    cfg = RFLRConfig(width=64, rank=2, depth=3)
    m = checkpoint_metrics(RunConfig(cfg), init_params(cfg, torch.Generator().manual_seed(5)))
    assert 0.01 < m.headline_defect < 0.99


def test_test_mse_against_target():
    cfg = RunConfig(RFLRConfig(width=8, depth=1), target=TargetConfig(cosines=[[1, 1.0]]))
    p = init_params(cfg.model, torch.Generator().manual_seed(0), torch.float64)
    for k in p:
        p[k].zero_()
    # y == 0, so the MSE is the mean of cos^2 over the grid (close to 1/2)
    assert checkpoint_metrics(cfg, p).test_mse == pytest.approx(
        np.mean(np.cos(GRID.x0) ** 2), rel=1e-12
    )


def test_trainable_volume_counts_runs_ending_with_symmetric_partials():
    def rec(headline, status="ok"):
        return Metrics(status=status, headline_defect=headline)

    runs = [rec(1e-4), rec(5e-4), rec(0.3), rec(None), rec(1e-5, "diverged"), rec(float("nan"))]
    assert [metrics.ends_symmetric(r) for r in runs] == [True, True, False, False, False, False]
    assert metrics.trainable_volume(runs) == pytest.approx(2 / 6)
    assert metrics.trainable_volume(runs, threshold=2e-4) == pytest.approx(1 / 6)
    assert np.isnan(metrics.trainable_volume([]))
    assert metrics.run_status(Metrics()) == "unknown"  # a file the trainer did not write
    assert not metrics.ends_symmetric(Metrics(headline_defect=1e-5))
