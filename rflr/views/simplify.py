"""Ramer–Douglas–Peucker on many function graphs at once: the fewest points of each curve
whose polyline stays within a tolerance of every point (the layer view sends curves so:
rflr.views.layer_charts). Pure numpy, vectorised over the curves."""

from __future__ import annotations

import numpy as np


def simplified(x: np.ndarray, ys: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """Ramer–Douglas–Peucker on the graphs of functions over one grid `x` (increasing): for
    each row of `ys`, the mask of the fewest points (ends, and where it splits) whose polyline
    is within tol[row] (vertical distance) of every point. Every row at once: each pass keeps,
    in every stretch between kept points, the point farthest from the chord, if it is farther
    than tol. A piecewise-linear curve keeps its ends and a point at each kink. Non-finite
    values and their neighbours are kept (the line breaks there as before)."""
    rows, n = ys.shape
    bad = ~np.isfinite(ys)
    keep = bad.copy()
    keep[:, 1:] |= bad[:, :-1]  # and their neighbours: the chords never touch them
    keep[:, :-1] |= bad[:, 1:]
    keep[:, [0, -1]] = True
    at = np.arange(n)
    limit = np.repeat(np.asarray(tol, dtype=float), n).reshape(rows, n)
    base = (n * np.arange(rows))[:, None]
    safe = np.where(keep, 0.0, ys)
    while True:
        left = np.maximum.accumulate(np.where(keep, at, 0), axis=1)
        right = np.minimum.accumulate(np.where(keep, at, n - 1)[:, ::-1], axis=1)[:, ::-1]
        xl, xr = x[left], x[right]
        yl, yr = np.take_along_axis(ys, left, 1), np.take_along_axis(ys, right, 1)
        chord = yl + (yr - yl) * (x - xl) / np.where(xr > xl, xr - xl, 1.0)
        err = np.where(keep, 0.0, np.abs(safe - chord))
        err = np.where(np.isfinite(err), err, 0.0)
        farthest = np.zeros(rows * n)
        np.maximum.at(farthest, (base + left).ravel(), err.ravel())
        new = (err > limit) & (err == farthest[base + left])
        if not new.any():
            return keep
        keep |= new
