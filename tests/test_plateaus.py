"""Plateau and drop detection on synthetic loss histories."""

import numpy as np
import pytest

from rflr.measure.plateaus import find_plateaus, history_plateaus

LEVELS = (1.0, 1e-2, 1e-4)
DROPS_AT = (300.0, 1e4)


def staircase(noise: float, seed: int = 0, points: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Three plateaus joined by sharp drops (0.02 decades wide), log-spaced steps from 0."""
    steps = np.concatenate([[0.0], np.unique(np.round(np.logspace(0, 6, points)))])
    t = np.log10(steps + 1)
    level = np.zeros_like(t)
    for at, (hi, lo) in zip(DROPS_AT, zip(LEVELS, LEVELS[1:], strict=False), strict=True):
        level += np.log10(lo / hi) / (1 + np.exp(-(t - np.log10(at)) / 0.02))
    rng = np.random.default_rng(seed)
    return steps, 10 ** (level + noise * rng.standard_normal(len(t)))


@pytest.mark.parametrize("seed", range(10))
def test_staircase_plateaus_and_drops(seed):
    steps, loss = staircase(noise=0.03, seed=seed)
    shape = find_plateaus(steps, loss)
    assert len(shape.plateaus) == 3
    for p, level in zip(shape.plateaus, LEVELS, strict=True):
        assert p.loss == pytest.approx(level, rel=0.1)
    assert shape.plateaus[0].start_step < 10  # noise may shave the clipped ends a little
    assert shape.plateaus[-1].end_step > 1e5
    assert len(shape.drops) == 2
    for d, at in zip(shape.drops, DROPS_AT, strict=True):
        assert abs(np.log10(d.at_step / at)) < 0.03
        assert d.start_step < at < d.end_step
        assert d.decades == pytest.approx(2.0, abs=0.1)
        assert d.steepest_slope < -5


def test_drop_boundaries_bracket_the_plateaus():
    shape = find_plateaus(*staircase(noise=0.0))
    assert shape.plateaus[0].start_step == 0.0
    assert shape.plateaus[-1].end_step == pytest.approx(1e6, rel=1e-6)
    for p, d, q in zip(shape.plateaus, shape.drops, shape.plateaus[1:], strict=False):
        assert d.start_step == p.end_step and d.end_step == q.start_step
        assert d.loss_before == p.loss and d.loss_after == q.loss


def test_power_law_decay_has_no_plateau():
    steps = np.logspace(0, 6, 200)
    assert find_plateaus(steps, steps**-0.5).plateaus == []


def test_flat_curve_is_one_plateau_and_no_drop():
    steps = np.logspace(0, 4, 50)
    shape = find_plateaus(steps, np.full(50, 0.3))
    assert len(shape.plateaus) == 1 and shape.drops == []
    assert shape.plateaus[0].loss == pytest.approx(0.3)


@pytest.mark.parametrize(
    "steps, loss",
    [
        ([], []),
        ([0], [1.0]),
        ([10], [1.0]),
        ([0, 1, 2], [np.nan, np.inf, 0.0]),
        ([5, 5, 5], [1.0, 2.0, 3.0]),
    ],
    ids=["empty", "step0-only", "single", "unusable", "one-step"],
)
def test_degenerate_histories_give_nothing(steps, loss):
    shape = find_plateaus(np.array(steps, float), np.array(loss, float))
    assert shape.plateaus == [] and shape.drops == []


def test_nan_points_are_skipped_not_fatal():
    steps, loss = staircase(noise=0.0)
    loss = loss.copy()
    loss[::7] = np.nan
    loss[3] = 0.0
    shape = find_plateaus(steps, loss)
    assert len(shape.plateaus) == 3 and len(shape.drops) == 2


def test_history_with_json_nulls():
    steps, loss = staircase(noise=0.0)
    values = [None if i % 5 == 0 else float(v) for i, v in enumerate(loss)]
    shape = history_plateaus({"step": steps.tolist(), "test_mse": values})
    assert len(shape.drops) == 2
    assert history_plateaus({}).plateaus == []
