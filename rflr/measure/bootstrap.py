"""Seeded percentile-bootstrap intervals and Spearman's rank correlation (numpy only).

Every interval of the sweep statistics (rflr.sweep.stats) comes from here, with a fixed seed,
so a regenerated report gives the same numbers. Percentiles are order statistics
(`inverted_cdf`), never interpolations, because a flat basin's radius can be inf.
"""

from __future__ import annotations

import numpy as np

BOOTSTRAP = 2000  # resamples of every bootstrap interval
BOOTSTRAP_SEED = 0
LEVEL = 0.95


def bootstrap_median(
    values, n_boot: int = BOOTSTRAP, seed: int = BOOTSTRAP_SEED, level: float = LEVEL
) -> tuple[float, float, float]:
    """(median, low, high): the sample median and the percentile bootstrap interval.
    NaN values are dropped (inf kept: a basin that never rose is wider than any radius)."""
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (np.nan, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    meds = np.median(x[rng.integers(0, x.size, size=(n_boot, x.size))], axis=1)
    a = (1 - level) / 2
    # inverted_cdf: an order statistic, never an interpolation (which turns inf into NaN)
    lo, hi = np.quantile(meds, [a, 1 - a], method="inverted_cdf")
    return (float(np.median(x)), float(lo), float(hi))


def _average_ranks(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their average rank."""
    _, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + ends - 1) / 2 + 1)[inverse]


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.unique(x).size < 2 or np.unique(y).size < 2:
        return np.nan
    return float(np.corrcoef(_average_ranks(x), _average_ranks(y))[0, 1])


def _pairs(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def spearman(x, y) -> float:
    """Spearman rank correlation (average ranks for ties); pairs with NaN or inf dropped."""
    return _rho(*_pairs(x, y))


def bootstrap_spearman(
    x, y, n_boot: int = BOOTSTRAP, seed: int = BOOTSTRAP_SEED, level: float = LEVEL
) -> tuple[float, float, float]:
    """(rho, low, high): Spearman's rho and its percentile bootstrap interval over pairs."""
    xs, ys = _pairs(x, y)
    rho = _rho(xs, ys)
    if np.isnan(rho):
        return (np.nan, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    reps = np.array([_rho(xs[i], ys[i]) for i in rng.integers(0, len(xs), (n_boot, len(xs)))])
    reps = reps[~np.isnan(reps)]
    q = (1 - level) / 2
    lo, hi = np.quantile(reps, [q, 1 - q], method="inverted_cdf")
    return (rho, float(lo), float(hi))
