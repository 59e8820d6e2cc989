"""rflr.measure.bootstrap: seeded bootstrap medians and Spearman's rho against numpy and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rflr.measure import bootstrap


def test_bootstrap_median_is_seeded_and_brackets_the_median():
    x = np.random.default_rng(1).lognormal(size=41)
    m, lo, hi = bootstrap.bootstrap_median(x)
    assert m == np.median(x) and lo <= m <= hi
    assert bootstrap.bootstrap_median(x) == (m, lo, hi)  # same seed, same interval
    assert lo in x and hi in x  # order statistics of resampled medians (odd n)
    wide = bootstrap.bootstrap_median(x[:5])
    assert wide[2] - wide[1] >= hi - lo  # fewer runs, wider interval


def test_bootstrap_median_drops_nan_and_keeps_inf():
    m, lo, hi = bootstrap.bootstrap_median([1.0, np.nan, np.inf, np.inf, np.inf])
    assert m == np.inf and hi == np.inf and lo >= 1.0
    assert all(np.isnan(v) for v in bootstrap.bootstrap_median([np.nan]))


def test_spearman_matches_scipy():
    rng = np.random.default_rng(0)
    x = rng.integers(2, 9, 40)
    y = x + rng.normal(size=40) * 3
    assert bootstrap.spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
    rho, lo, hi = bootstrap.bootstrap_spearman(x, y)
    assert lo <= rho <= hi
