"""rflr.core.targets: f* and grids closed under the reflection."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rflr.core.config import TargetConfig
from rflr.core.targets import symmetric_grid, target_values


@pytest.mark.parametrize("input_dim", [1, 3])
def test_grid_is_closed_under_the_reflection(input_dim):
    grid = symmetric_grid(2.0, 101, input_dim)
    reflected = grid.x.copy()
    reflected[:, 0] *= -1
    np.testing.assert_array_equal(grid.x[grid.mirror], reflected)
    assert np.all(np.abs(grid.x[:, 0]) <= 2.0)
    assert np.array_equal(grid.mirror[grid.mirror], np.arange(len(grid.mirror)))


def test_grid_needs_three_points():
    with pytest.raises(ValueError):
        symmetric_grid(1.0, 2)


def test_target_is_the_sum_of_its_terms_and_even_without_sines():
    target = TargetConfig(cosines=[[1.0, 1.0], [2.0, 0.5]], sines=[[3.0, 0.25]])
    x = torch.linspace(-3, 3, 11, dtype=torch.float64)[:, None]
    t = x[:, 0]
    reference = torch.cos(t) + 0.5 * torch.cos(2 * t) + 0.25 * torch.sin(3 * t)
    torch.testing.assert_close(target_values(target, x), reference)
    even = TargetConfig(cosines=[[1.0, 1.0], [2.0, 0.5]])
    torch.testing.assert_close(target_values(even, x), target_values(even, -x))


@pytest.mark.parametrize("input_dim", [2, 3])
def test_transverse_target_is_exactly_even_under_the_reflection_and_uses_every_coordinate(
    input_dim,
):
    target = TargetConfig(transverse=[[1.0, 1.0, 0.5], [2.0, 3.0, -0.25]])
    gen = torch.Generator().manual_seed(input_dim)
    for dtype in (torch.float32, torch.float64):
        x = (torch.rand(2000, input_dim, generator=gen, dtype=dtype) * 2 - 1) * 3
        rx = x.clone()
        rx[:, 0] = -rx[:, 0]
        assert torch.equal(target_values(target, rx), target_values(target, x))  # bit for bit
        for k in range(1, input_dim):  # f moves when only x_k moves: not a function of x_1
            moved = x.clone()
            moved[:, k] = moved[:, k] + 0.5
            change = (target_values(target, moved) - target_values(target, x)).abs()
            assert change.max() > 0.1
    # not separable: f(x) - f(x_1, 0...) depends on x_1 (w != 0 couples x_1 to s)
    x = torch.tensor([[0.0] + [0.4] * (input_dim - 1), [1.5] + [0.4] * (input_dim - 1)])
    x0 = x.clone()
    x0[:, 1:] = 0
    single = TargetConfig(transverse=[[1.0, 1.0, 0.5]])
    extra = target_values(single, x) - target_values(single, x0)
    assert abs(extra[0] - extra[1]) > 0.1


def test_transverse_target_by_hand():
    """f(0.5, 0.3, -0.1) with cosines 1:1 and transverse 2:3:0.5, computed with math only."""
    target = TargetConfig(cosines=[[1, 1.0]], transverse=[[2, 3, 0.5]])
    x = torch.tensor([[0.5, 0.3, -0.1]], dtype=torch.float64)
    s = 0.3 + -0.1
    expected = math.cos(0.5) + 0.5 * math.cos(2 * 0.5) * math.sin(3 * s)
    assert target_values(target, x).item() == pytest.approx(expected, rel=1e-14)
    # d = 2: s is x_2 alone; a 1D target ignores every coordinate but x_1
    x2 = torch.tensor([[0.5, 0.3]], dtype=torch.float64)
    expected2 = math.cos(0.5) + 0.5 * math.cos(1.0) * math.sin(0.9)
    assert target_values(target, x2).item() == pytest.approx(expected2, rel=1e-14)
    plain = TargetConfig(cosines=[[1, 1.0]])
    assert target_values(plain, x).item() == pytest.approx(math.cos(0.5), rel=1e-14)
