"""Plateaus and sharp drops of a loss history (SPEC section 4), by one documented rule.

The rule works on t = log10(step + 1) and l = log10(loss), since training curves are
log-log objects: "flat" means the loss changes little per decade of steps.

1. Keep the points where step >= 0 and loss is finite and > 0 (log10 needs it); NaN, inf
   and zero losses are dropped. step + 1 keeps the step-0 snapshot (t = 0) in the curve.
2. Resample l linearly onto a uniform t grid of spacing `resolution` decades.
3. Smooth with a running median over `window` decades (edges use the nearest value). A
   median keeps a sharp drop sharp, where a moving average would smear it into a slope.
4. Slope per decade s(t) = (l(t + w/2) - l(t - w/2)) / w on the smoothed curve, with w =
   `window` (clipped at both ends of the curve). A drop therefore widens by about w/2 on
   each side and plateaus shrink by as much.
5. Plateau candidates: maximal t ranges where |s| < `flat_slope`. Neighbouring candidates
   are merged when the smoothed loss changes by less than `min_drop` decades across the
   gap between them and the joined range still has a mean |slope| < `flat_slope` (noise can
   split a plateau; it cannot fake a drop, nor chain a slow decline into one plateau).
   Plateaus shorter than `min_length` decades are then discarded.
6. A drop is the range between two consecutive plateaus when the loss falls by more than
   `min_drop` decades from one plateau's level to the next. Its step is where the smoothed
   curve first falls below the middle of the two levels (their geometric mean); its
   steepest slope is the most negative s inside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter

FLAT_SLOPE = 0.15  # |d log10 loss / d log10 step| below this is flat: < x1.41 per decade of steps
MIN_LENGTH = 0.5  # decades of steps a plateau must span (a factor ~3.2 in steps)
MIN_DROP = 0.3  # decades of loss a drop must fall (a factor ~2)
WINDOW = 0.3  # decades of steps in the running median and in the slope
RESOLUTION = 0.01  # decades of steps between resampled points


@dataclass
class Plateau:
    start_step: float  # first step of the range (10**t - 1 of the resampled grid)
    end_step: float  # last step of the range
    loss: float  # median of the logged losses inside the range
    decades: float  # length in decades of (step + 1)


@dataclass
class Drop:
    start_step: float  # end of the plateau before
    end_step: float  # start of the plateau after
    at_step: float  # where the smoothed loss first falls below sqrt(loss_before * loss_after)
    loss_before: float  # level of the plateau before
    loss_after: float  # level of the plateau after
    decades: float  # log10(loss_before / loss_after) > 0
    steepest_slope: float  # most negative d log10 loss / d log10 step inside the drop


@dataclass
class LossShape:
    plateaus: list[Plateau]
    drops: list[Drop]
    t: np.ndarray  # resampled log10(step + 1)
    smoothed: np.ndarray  # smoothed log10 loss on t
    slope: np.ndarray  # d smoothed / d t


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal [start, end] index ranges (inclusive) where mask is True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


def _mergeable(
    left: tuple[int, int],
    right: tuple[int, int],
    t: np.ndarray,
    smoothed: np.ndarray,
    flat_slope: float,
    min_drop: float,
) -> bool:
    """Two flat ranges are one plateau split by noise when the gap changes the loss by less
    than min_drop and the joined range is still flat on average (so that a slow steady
    decline cannot be chained into one long plateau)."""
    gap = abs(smoothed[right[0]] - smoothed[left[1]])
    mean_slope = abs(smoothed[right[1]] - smoothed[left[0]]) / (t[right[1]] - t[left[0]])
    return bool(gap < min_drop and mean_slope < flat_slope)


def _window_slope(smoothed: np.ndarray, resolution: float, window: float) -> np.ndarray:
    """(l(t + w/2) - l(t - w/2)) / w, the window clipped at the ends of the curve.

    A median-filtered curve is locally step-like, so a one-point difference would read
    its small terraces as flat; a difference across the whole window reads the trend.
    """
    n, h = len(smoothed), max(1, round(window / resolution / 2))
    i = np.arange(n)
    lo, hi = np.maximum(i - h, 0), np.minimum(i + h, n - 1)
    return (smoothed[hi] - smoothed[lo]) / np.maximum(hi - lo, 1) / resolution


def _step(t: float) -> float:
    return float(10**t - 1)


def find_plateaus(
    steps: np.ndarray,
    loss: np.ndarray,
    flat_slope: float = FLAT_SLOPE,
    min_length: float = MIN_LENGTH,
    min_drop: float = MIN_DROP,
    window: float = WINDOW,
    resolution: float = RESOLUTION,
) -> LossShape:
    """Plateaus and drops of loss(step) by the rule in the module docstring.

    Fewer than two usable points, or a curve shorter than `min_length` decades, give no
    plateau and no drop (never an error).
    """
    steps = np.asarray(steps, dtype=np.float64).ravel()
    loss = np.asarray(loss, dtype=np.float64).ravel()
    keep = np.isfinite(steps) & (steps >= 0) & np.isfinite(loss) & (loss > 0)
    t_raw, l_raw = np.log10(steps[keep] + 1), np.log10(loss[keep])
    empty = LossShape([], [], np.zeros(0), np.zeros(0), np.zeros(0))
    if np.unique(t_raw).size < 2:
        return empty
    order = np.argsort(t_raw, kind="stable")
    t_raw, l_raw = t_raw[order], l_raw[order]
    t_u, inverse = np.unique(t_raw, return_inverse=True)  # repeated steps: average their losses
    l_u = np.bincount(inverse, weights=l_raw) / np.bincount(inverse)

    t = np.arange(t_u[0], t_u[-1] + resolution / 2, resolution)
    smoothed = median_filter(
        np.interp(t, t_u, l_u), size=2 * round(window / resolution / 2) + 1, mode="nearest"
    )
    slope = _window_slope(smoothed, resolution, window)

    runs = _runs(np.abs(slope) < flat_slope)
    merged: list[tuple[int, int]] = []
    for a, b in runs:
        if merged and _mergeable(merged[-1], (a, b), t, smoothed, flat_slope, min_drop):
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    spans = [(a, b) for a, b in merged if t[b] - t[a] >= min_length - resolution / 2]

    plateaus = []
    for a, b in spans:
        inside = (t_raw >= t[a]) & (t_raw <= t[b])
        level = np.median(l_raw[inside]) if inside.any() else np.median(smoothed[a : b + 1])
        plateaus.append(Plateau(_step(t[a]), _step(t[b]), float(10**level), float(t[b] - t[a])))

    drops = []
    for (_, b0), (a1, _), p0, p1 in zip(spans, spans[1:], plateaus, plateaus[1:], strict=False):
        fall = np.log10(p0.loss / p1.loss)
        if fall > min_drop:
            steepest = b0 + int(np.argmin(slope[b0 : a1 + 1]))
            # the drop's step: where the smoothed curve first crosses the middle (in log)
            middle = (np.log10(p0.loss) + np.log10(p1.loss)) / 2
            below = np.flatnonzero(smoothed[b0 : a1 + 1] <= middle)
            at = t[b0 + below[0]] if below.size else t[steepest]
            drops.append(
                Drop(
                    _step(t[b0]),
                    _step(t[a1]),
                    _step(at),
                    p0.loss,
                    p1.loss,
                    float(fall),
                    float(slope[steepest]),
                )
            )
    return LossShape(plateaus, drops, t, smoothed, slope)


def history_plateaus(history: dict, key: str = "test_mse", **settings) -> LossShape:
    """find_plateaus on a checkpoint's `rflr.history` ({"step": [...], key: [...]}).

    JSON nulls (NaN when saved) are dropped like NaN. A missing key gives an empty shape.
    """
    steps, loss = history.get("step") or [], history.get(key) or []
    n = min(len(steps), len(loss))
    as_float = [np.nan if v is None else v for v in loss[:n]]
    return find_plateaus(
        np.array(steps[:n], dtype=np.float64), np.array(as_float, float), **settings
    )
