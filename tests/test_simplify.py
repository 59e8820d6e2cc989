"""rflr.views.simplify: Ramer–Douglas–Peucker on function graphs."""

from __future__ import annotations

import numpy as np

from rflr.views.simplify import simplified


def test_simplified_keeps_the_kinks_of_a_piecewise_linear_curve_and_stays_within_tol():
    x = np.linspace(-np.pi, np.pi, 129)
    kinks = [20, 64, 100]
    relu_sum = sum(np.maximum(0.0, x - x[k]) * (1 + i) for i, k in enumerate(kinks))
    smooth = np.cos(3 * x)
    ys = np.stack([relu_sum, smooth, np.zeros_like(x)])
    keep = simplified(x, ys, np.array([1e-9, 1e-3, 0.0]))
    assert list(np.flatnonzero(keep[0])) == [0, *kinks, 128]  # ends and kinks: exact
    line = np.interp(x, x[keep[1]], smooth[keep[1]])
    assert np.abs(line - smooth).max() <= 1e-3 and keep[1].sum() < 129
    assert list(np.flatnonzero(keep[2])) == [0, 128]  # a flat curve: its two ends
    broken = smooth.copy()
    broken[50] = np.nan  # a non-finite value and its neighbours stay: the line breaks there
    kept = simplified(x, broken[None], np.array([1e-3]))[0]
    assert kept[49:52].all()
