"""Symmetry analysis beyond the layer defect (SPEC section 4): per-channel tables, mirror-paired
atoms, equivariance of hidden features, oscillation counts.

The core of each measurement is a pure function of float64 numpy arrays (channels are rows,
z [C, G], as in rflr.measure.metrics). The `*_of` helpers at the bottom pick the right arrays out of
a model's parameters and its partial functions on the grid (`evaluate.partials_on_grid`), so
that the trainer, the CLI and the app all compute the same numbers the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from rflr.core.config import ModelConfig
from rflr.core.kinds import kind_of
from rflr.core.model import outgoing_weights
from rflr.measure import metrics

OSCILLATION_TOL = 1e-2  # a turn counts once the channel moved back by this fraction of its range


# --- per-channel table of one layer ------------------------------------------------------


@dataclass
class ChannelTable:
    """Per-channel values of one layer, in channel order; `active` is exactly layer_defect's."""

    defect: np.ndarray  # [C] odd fraction D, NaN where the channel is flat
    activity: np.ndarray  # [C] std over the grid x norm of outgoing weights
    active: np.ndarray  # [C] bool
    parity: np.ndarray  # [C] "even" | "odd" | "mixed" | "flat"

    def counts(self) -> dict[str, int]:
        """Parity counts over the active channels (the same as layer_defect's)."""
        kinds = self.parity[self.active]
        return {k: int(np.sum(kinds == k)) for k in ("even", "odd", "mixed")}


def channel_table(
    z: np.ndarray,
    outgoing: np.ndarray,
    mirror: np.ndarray,
    threshold: float = metrics.ACTIVITY_THRESHOLD,
    tau: float = metrics.PARITY_TAU,
) -> ChannelTable:
    """D, activity, active flag and parity of every channel of a layer z [C, G]."""
    d, active = metrics.layer_channels(z, outgoing, mirror, threshold)
    return ChannelTable(d, metrics.channel_activity(z, outgoing), active, metrics.parity(d, tau))


# --- mirror-paired atoms -------------------------------------------------------------------


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C[i, j] = |a_i - b_j|^2 for rows a [M, K], b [M', K] (clipped at 0 against round-off)."""
    c = np.sum(a**2, 1)[:, None] + np.sum(b**2, 1)[None, :] - 2 * a @ b.T
    return np.maximum(c, 0.0)


def reflect_weights(weight: np.ndarray) -> np.ndarray:
    """R W: the reflection x -> R x acts on an atom's input weights by negating coordinate 0."""
    out = np.array(weight, dtype=np.float64, copy=True)
    out[:, 0] *= -1
    return out


@dataclass
class AtomPairing:
    """Hungarian matching of each alive atom's mirror to an atom (SPEC: weight symmetry).

    perm[i] = j means atom j is matched to mirror(a_i); perm is -1 for dead atoms, which
    take no part. Indices are the original atom indices.
    """

    alive: np.ndarray  # [N] bool: output nonzero somewhere on the grid
    perm: np.ndarray  # [N] int
    pairing_defect: float  # sum |a_perm(i) - mirror(a_i)|^2 / sum |a_i|^2 over alive i
    outgoing_mismatch: float  # sum |O[:, perm(i)] - O[:, i]|^2 / sum |O[:, i]|^2 over alive i
    atoms: np.ndarray  # [N, d + 1] rows (w, b)
    mirrored: np.ndarray  # [N, d + 1] rows (R w, b)
    outgoing: np.ndarray  # [N, F] row i: O[:, i], the weights atom i feeds

    @property
    def alive_count(self) -> int:
        return int(self.alive.sum())

    @property
    def pairs(self) -> np.ndarray:
        """[M, 2] (i, perm[i]) for the alive atoms; a self-mirrored atom appears as (i, i)."""
        i = np.flatnonzero(self.alive)
        return np.stack([i, self.perm[i]], axis=1)

    @property
    def pair_outgoing(self) -> np.ndarray:
        """[M, 2, F]: outgoing weights of atom i and of its match perm[i], per pair."""
        p = self.pairs
        return np.stack([self.outgoing[p[:, 0]], self.outgoing[p[:, 1]]], axis=1)


def mirror_match(
    units: np.ndarray, mirrored: np.ndarray, alive: np.ndarray
) -> tuple[np.ndarray, float]:
    """Hungarian matching of each alive unit's mirror image to a unit, on raw squared distances
    C[i, j] = |v_j - mirror(v_i)|^2 (rows units [N, K], mirrored [N, K], alive [N] bool).

    Returns (perm, pairing defect): perm[i] = j means unit j is matched to mirror(v_i), -1 for
    units that are not alive; pairing defect = sum_i |v_perm(i) - mirror(v_i)|^2 / sum_i |v_i|^2
    over alive i, NaN when no unit is alive or all alive vectors are zero. The one home of the
    weight-pairing rule: the atoms (below) and deeper layers (rflr.measure.weight_symmetry) use it.
    """
    v = np.asarray(units, dtype=np.float64).reshape(len(alive), -1)
    mv = np.asarray(mirrored, dtype=np.float64).reshape(len(alive), -1)
    perm = np.full(len(v), -1, dtype=np.int64)
    idx = np.flatnonzero(np.asarray(alive, dtype=bool))
    if idx.size == 0:
        return perm, float("nan")
    rows, cols = linear_sum_assignment(_sq_dists(mv[idx], v[idx]))  # row: mirror(v_i), col: v_j
    perm[idx[rows]] = idx[cols]
    # recompute the matched distances directly: the expanded cost loses digits near 0
    num = np.sum((v[perm[idx]] - mv[idx]) ** 2)
    den = np.sum(v[idx] ** 2)
    return perm, float(num / den) if den > 0 else float("nan")


def outgoing_mismatch(
    outgoing: np.ndarray, perm: np.ndarray, sign: np.ndarray | None = None
) -> float:
    """sum_i |O[perm(i)] - sign * O[i]|^2 / sum_i |O[i]|^2 over the matched units (perm >= 0).

    outgoing [N, F] (row i: what unit i feeds), sign [F] of +-1 per fed channel (default all
    +1: matched). NaN when nothing is matched, F = 0, or all matched rows are zero.
    """
    o = np.asarray(outgoing, dtype=np.float64).reshape(len(perm), -1)
    idx = np.flatnonzero(perm >= 0)
    if idx.size == 0 or o.shape[1] == 0:
        return float("nan")
    s = np.ones(o.shape[1]) if sign is None else np.asarray(sign, dtype=np.float64)
    num = np.sum((o[perm[idx]] - s * o[idx]) ** 2)
    den = np.sum(o[idx] ** 2)
    return float(num / den) if den > 0 else float("nan")


def atom_pairing(
    weight: np.ndarray, bias: np.ndarray, outgoing: np.ndarray, alive: np.ndarray
) -> AtomPairing:
    """Match atoms to mirrored atoms on raw squared distances C[i, j] = |a_j - mirror(a_i)|^2.

    weight [N, d], bias [N], outgoing [N, F] (row i: what atom i feeds), alive [N] bool.
    Raw (w, b), not normalized: this is the SPEC definition, and for ReLU a rescaled atom
    is a different atom once its outgoing weights are fixed. Defects are NaN when no atom
    is alive (or, for the mismatch, when all alive outgoing weights are zero).
    """
    w = np.asarray(weight, dtype=np.float64)
    b = np.asarray(bias, dtype=np.float64).reshape(-1, 1)
    o = np.asarray(outgoing, dtype=np.float64).reshape(len(w), -1)
    alive = np.asarray(alive, dtype=bool)
    atoms = np.concatenate([w, b], axis=1)
    mirrored = np.concatenate([reflect_weights(w), b], axis=1)
    perm, defect = mirror_match(atoms, mirrored, alive)
    return AtomPairing(alive, perm, defect, outgoing_mismatch(o, perm), atoms, mirrored, o)


# --- equivariance of hidden features -----------------------------------------------------


@dataclass
class Equivariance:
    """How far the reflection is from acting on a layer as a permutation of its units.

    perm[i] = j means h_i(-x) is matched to h_j(x). The per-unit D is kept for contrast: a
    dense layer can be exactly equivariant while every single unit is asymmetric.
    """

    defect: float  # sum_i |h_i(-x) - h_perm(i)(x)|^2 / sum_i |h_i - mean h_i|^2, NaN if flat
    perm: np.ndarray  # [C] int
    unit_defect: np.ndarray  # [C] D of each unit on its own


def equivariance(h: np.ndarray, mirror: np.ndarray) -> Equivariance:
    """Hungarian matching of the reflected units h(-x) to the units h(x), on squared distances
    summed over the grid; h [C, G]. Every unit takes part (flat units pair among themselves).
    """
    h = np.asarray(h, dtype=np.float64)
    hr = metrics.reflect(h, mirror)
    rows, cols = linear_sum_assignment(_sq_dists(hr, h))
    perm = np.empty(len(h), dtype=np.int64)
    perm[rows] = cols
    num = np.sum((hr - h[perm]) ** 2)
    den = np.sum((h - h.mean(axis=1, keepdims=True)) ** 2)
    flat = den <= metrics._ZERO_VARIANCE * h.size
    return Equivariance(
        float("nan") if flat else float(num / den), perm, metrics.odd_fraction(h, mirror)
    )


# --- oscillations --------------------------------------------------------------------------


def oscillation_count(z: np.ndarray, tol: float = OSCILLATION_TOL) -> int:
    """Interior peaks and valleys of a 1D signal on an ordered grid, with hysteresis.

    Walk along z keeping the extreme value reached since the last turn; a turn (one peak or
    one valley) is counted when the signal has moved back from that extreme by more than
    tol * (max z - min z). Extrema smaller than that, such as round-off noise, are ignored.
    The endpoints are never counted: cos(k x) on [-pi, pi] has 2k - 1.
    """
    return int(oscillation_counts(np.asarray(z, dtype=np.float64)[None, :], tol)[0])


def oscillation_counts(z: np.ndarray, tol: float = OSCILLATION_TOL) -> np.ndarray:
    """oscillation_count of every row of z [C, G] -> [C] int."""
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    if z.shape[1] < 2:
        return np.zeros(len(z), dtype=np.int64)
    # Between raw turning points a row is monotone, so the walk only needs the endpoints and
    # the points where the sign of the increment flips: the same count, far fewer steps.
    # Found for all rows at once; zero increments inherit the sign of the last nonzero one.
    sign = np.sign(np.diff(z, axis=1))  # [C, G-1]
    last = np.maximum.accumulate(np.where(sign != 0, np.arange(sign.shape[1]), 0), axis=1)
    carried = np.take_along_axis(sign, last, axis=1)
    flip = np.zeros(sign.shape, dtype=bool)
    flip[:, 1:] = (sign[:, 1:] != 0) & (carried[:, :-1] != 0) & (sign[:, 1:] != carried[:, :-1])
    rows, cols = np.nonzero(flip)  # flip at increment k: z[:, k] is a raw extremum
    turns = np.split(z[rows, cols], np.cumsum(np.bincount(rows, minlength=len(z)))[:-1])
    spans = z.max(axis=1) - z.min(axis=1)
    counts = np.zeros(len(z), dtype=np.int64)
    for c in np.flatnonzero(spans > 0):
        counts[c] = _hysteresis_walk(z[c, 0], turns[c], z[c, -1], tol * spans[c])
    return counts


def _hysteresis_walk(first: float, middle: np.ndarray, final: float, eps: float) -> int:
    count, direction, extreme = 0, 0, first
    for v in [*middle.tolist(), final]:
        if direction == 0:  # no direction yet: wait until the signal leaves the start by eps
            if abs(v - extreme) > eps:
                direction, extreme = (1 if v > extreme else -1), v
        elif direction * (v - extreme) >= 0:
            extreme = v  # still going the same way
        elif abs(v - extreme) > eps:
            count, direction, extreme = count + 1, -direction, v
    return count


def oscillations_median(z: np.ndarray, active: np.ndarray, tol: float = OSCILLATION_TOL) -> float:
    """Median oscillation count over the active channels of a layer (NaN if none is active)."""
    active = np.asarray(active, dtype=bool)
    if not active.any():
        return float("nan")
    return float(np.median(oscillation_counts(np.asarray(z)[active], tol)))


# --- the same measurements on a model -----------------------------------------------------
# `partials` is evaluate.partials_on_grid(cfg, params, grid): name -> [C, G] float64.


def _np64(t: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().to(torch.float64).numpy()
    return np.asarray(t, dtype=np.float64)


def alive_units(cfg: ModelConfig, h: np.ndarray) -> np.ndarray:
    """[N] bool for a hidden layer h [N, G]: ReLU units nonzero somewhere on the grid; tanh: all."""
    if cfg.activation == "relu":
        return np.any(np.asarray(h) > 0, axis=1)
    return np.ones(len(h), dtype=bool)


def alive_atoms(cfg: ModelConfig, partials: dict[str, np.ndarray]) -> np.ndarray:
    """[N] bool: ReLU atoms whose output is nonzero somewhere on the grid; tanh: all."""
    return alive_units(cfg, partials["atoms.h"])


def atom_pairing_of(
    cfg: ModelConfig, params: dict[str, torch.Tensor], partials: dict[str, np.ndarray]
) -> AtomPairing:
    """atom_pairing on a model: O is what the atoms feed (D_1, W_1, or the readout)."""
    p64 = {k: torch.as_tensor(_np64(v)) for k, v in params.items()}
    return atom_pairing(
        p64["atoms.weight"].numpy(),
        p64["atoms.bias"].numpy(),
        outgoing_weights(cfg, p64, "atoms.h").numpy(),
        alive_atoms(cfg, partials),
    )


def hidden_feature_layers(cfg: ModelConfig) -> list[str]:
    """The hidden features h_1 .. h_L (N units each), in depth order."""
    prefix = kind_of(cfg).prefix
    return ["atoms.h"] + [f"{prefix}.{k}.h" for k in range(1, cfg.depth)]


def equivariance_of(
    cfg: ModelConfig, partials: dict[str, np.ndarray], mirror: np.ndarray
) -> dict[str, Equivariance]:
    """Equivariance of every hidden feature layer h_k, by name."""
    return {name: equivariance(partials[name], mirror) for name in hidden_feature_layers(cfg)}
