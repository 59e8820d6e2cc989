"""rflr.targets: f* and grids closed under the reflection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rflr.config import TargetConfig
from rflr.targets import symmetric_grid, target_values


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
