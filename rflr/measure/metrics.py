"""Symmetry measurements (SPEC section 4) as pure functions on arrays.

Every function takes float64 numpy arrays whose last axis runs over a grid closed
under the reflection, together with `mirror`, the index of each point's reflection
(for the 1D grid, the reversed index). Channels are rows: z has shape [C, G].
"""

from __future__ import annotations

import numpy as np

from rflr.measure.record import Metrics

ACTIVITY_THRESHOLD = 1e-3  # a channel is active at >= this fraction of its layer's largest activity
PARITY_TAU = 1e-2  # even below tau, odd above 1 - tau, mixed between
_ZERO_VARIANCE = 1e-24  # centered energy per point below which D is undefined


def reflect(z: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """z(-x): the function evaluated at each point's reflection."""
    return z[..., mirror]


def odd_part(z: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """o(x) = (z(x) - z(-x)) / 2."""
    return (z - reflect(z, mirror)) / 2


def odd_fraction(z: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """D(z) = sum o^2 / sum (z - mean z)^2 along the last axis, in [0, 1].

    0: even (mirror symmetric), 1: odd. The odd part is orthogonal to the even part and to
    constants on a symmetric grid, so the ratio cannot exceed 1. NaN where z has (near)
    zero variance: such a channel has no defined parity.
    """
    z = np.asarray(z, dtype=np.float64)
    o = odd_part(z, mirror)
    energy = np.sum((z - z.mean(axis=-1, keepdims=True)) ** 2, axis=-1)
    odd = np.sum(o**2, axis=-1)
    flat = energy <= _ZERO_VARIANCE * z.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(flat, np.nan, odd / np.where(flat, 1.0, energy))
    return np.clip(d, 0.0, 1.0)


def test_mse(y: np.ndarray, target: np.ndarray) -> float:
    """Mean over the grid of (y - f*)^2."""
    return float(np.mean((np.asarray(y, np.float64) - np.asarray(target, np.float64)) ** 2))


def channel_activity(z: np.ndarray, outgoing: np.ndarray) -> np.ndarray:
    """std over the grid of each channel times the norm of its outgoing weights: [C]."""
    z = np.asarray(z, dtype=np.float64)
    out = np.asarray(outgoing, dtype=np.float64).reshape(len(z), -1)
    return z.std(axis=-1) * np.linalg.norm(out, axis=-1)


def active_mask(activity: np.ndarray, threshold: float = ACTIVITY_THRESHOLD) -> np.ndarray:
    """Channels whose activity is at least `threshold` times the largest in the layer."""
    top = np.max(activity) if activity.size else 0.0
    if not top > 0:
        return np.zeros(activity.shape, dtype=bool)
    return activity >= threshold * top


def parity(d: np.ndarray, tau: float = PARITY_TAU) -> np.ndarray:
    """'even' (D < tau), 'odd' (D > 1 - tau), 'mixed', or 'flat' (undefined D)."""
    d = np.asarray(d, dtype=np.float64)
    out = np.full(d.shape, "mixed", dtype=object)
    out[d < tau] = "even"
    out[d > 1 - tau] = "odd"
    out[np.isnan(d)] = "flat"
    return out


def layer_defect(
    z: np.ndarray,
    outgoing: np.ndarray,
    mirror: np.ndarray,
    threshold: float = ACTIVITY_THRESHOLD,
    tau: float = PARITY_TAU,
) -> dict:
    """Active partial defect of one layer: D over its active channels (mean, median, max).

    A channel with undefined D (zero variance) is never active: its activity is 0. With
    no active channel the statistics are NaN (stored as null in JSON).
    """
    return defect_stats(*layer_channels(z, outgoing, mirror, threshold), tau)


def layer_channels(
    z: np.ndarray, outgoing: np.ndarray, mirror: np.ndarray, threshold: float = ACTIVITY_THRESHOLD
) -> tuple[np.ndarray, np.ndarray]:
    """(D, active) per channel: the odd fractions and which channels count. A channel with
    undefined D (zero variance) is never active."""
    d = odd_fraction(z, mirror)
    return d, active_mask(channel_activity(z, outgoing), threshold) & ~np.isnan(d)


def defect_stats(d: np.ndarray, active: np.ndarray, tau: float = PARITY_TAU) -> dict:
    """layer_defect's record from a layer's (D, active)."""
    da = d[active]
    kinds = parity(da, tau)
    return {
        "defect_mean": float(np.mean(da)) if da.size else float("nan"),
        "defect_median": float(np.median(da)) if da.size else float("nan"),
        "defect_max": float(np.max(da)) if da.size else float("nan"),
        "active": int(active.sum()),
        "channels": int(len(d)),
        "even": int(np.sum(kinds == "even")),
        "odd": int(np.sum(kinds == "odd")),
        "mixed": int(np.sum(kinds == "mixed")),
    }


# --- across a sweep ----------------------------------------------------------------------


SYMMETRIC_DEFECT = 1e-3  # headline active partial defect below this: symmetric active partials


def run_status(record: Metrics) -> str:
    """The trainer's "ok" or "diverged"; "unknown" for a record without one (a file the
    trainer did not write): nothing says it trained fine, so it never counts as ok."""
    return "unknown" if record.status is None else record.status


def ends_symmetric(record: Metrics, threshold: float = SYMMETRIC_DEFECT) -> bool:
    """A run ends with symmetric active partials when it did not diverge and its headline
    active partial defect (the deepest partial layer's mean D over active channels) is below
    `threshold`. No active channel (undefined headline): not symmetric."""
    if run_status(record) != "ok":
        return False
    headline = record.headline_defect
    return headline is not None and bool(np.isfinite(headline)) and headline < threshold


def trainable_volume(records: list[Metrics], threshold: float = SYMMETRIC_DEFECT) -> float:
    """Fraction of a sweep's reruns (their final final metrics records, diverged ones
    included) that end with symmetric active partials; NaN for an empty sweep."""
    if not records:
        return float("nan")
    return sum(ends_symmetric(r, threshold) for r in records) / len(records)
