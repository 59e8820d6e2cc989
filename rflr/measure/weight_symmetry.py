"""Weight symmetry past the atoms (SPEC section 4): mirror pairing of the units of every layer.

The reflection a layer's units see is the one acting on that layer's *input*:

    atoms.h          input x:          x -> R x (coordinate 0 negated, the others kept)
    bottleneck.k.h   input z_k:        each partial channel by its parity (odd: -1, even: +1)
    hidden.k.h       input h_k:        each hidden unit of the layer before by its parity

An input channel takes part only when it is active (rflr.measure.metrics' rule) and even or odd; mixed
and inactive ones are left out of every unit's incoming vector (and counted), never forced to
a sign. A unit i is v_i = (incoming weights on the used channels, bias), its mirror is
(sign * incoming, bias), and units pair under that map exactly as atoms do
(rflr.measure.channels.mirror_match). Outgoing weights of a pair should then be matched for each even
result channel (the next partial layer's channel, or the output) and anti-matched for each
odd one (rflr.measure.channels.outgoing_mismatch with those signs). Every defect is reported beside
its value for the same network at its seed's random init, measured with the same map.

Those raw defects change when a ReLU unit is rescaled (weights by c, what it feeds by 1 / c),
which leaves the function unchanged. The invariant measures read the balanced network
(rflr.measure.rescaling) instead: `direction_pairing` is the same Hungarian pairing on unit
directions (each kept incoming vector scaled to norm 1), `outgoing_match` the signed mismatch
of the balanced outgoing weights under that pairing. `movement` is how far the layer's raw
incoming weights moved from init: the median over units of |theta_i - theta_i^0| / |theta_i^0|.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rflr.core.config import ModelConfig, RunConfig
from rflr.core.kinds import kind_of
from rflr.core.model import layer_name, outgoing_weights
from rflr.core.seeds import initial_params
from rflr.core.targets import Grid
from rflr.measure import channels, metrics, rescaling

X = "x"  # the input layer of the atoms


@dataclass(frozen=True)
class UnitLayer:
    """Where one layer of N units gets its weights, its input and what its result is."""

    name: str  # the units' outputs: "atoms.h", "bottleneck.k.h", "hidden.k.h"
    weight: str  # incoming weights [N, K]: atoms.weight, bottleneck.k.up, hidden.k.weight
    bias: str  # [N]
    input: str  # the K channels the weights act on ("x" for the atoms)
    result: str  # the channels the units feed: the next partial layer, or "readout.y"


def unit_layers(cfg: ModelConfig) -> list[UnitLayer]:
    """The N-unit layers h_1 .. h_L of a model, in depth order."""
    kind = kind_of(cfg)

    def result(k: int) -> str:  # what h_{k+1} feeds: layer k + 1's partial function, or y
        return layer_name(cfg, k + 1) or "readout.y"

    out = [UnitLayer("atoms.h", "atoms.weight", "atoms.bias", X, result(0))]
    for k in range(1, cfg.depth):
        name = f"{kind.prefix}.{k}"
        # The units' weights are the layer's last product; its input, the value before it
        # (z for RF-LR), or h_k itself when the layer is one product (dense).
        if len(kind.products) > 1:
            inp = f"{name}.{kind.values[len(kind.products) - 2]}"
        else:
            inp = "atoms.h" if k == 1 else f"{kind.prefix}.{k - 1}.h"
        weight = f"{name}.{kind.products[-1]}"
        out.append(UnitLayer(f"{name}.h", weight, f"{name}.bias", inp, result(k)))
    return out


# --- pure core -------------------------------------------------------------------------------


def parity_signs(table: channels.ChannelTable) -> np.ndarray:
    """[C] +1 for an active even channel, -1 for an active odd one, 0 (left out) otherwise."""
    sign = np.zeros(len(table.parity))
    sign[table.active & (table.parity == "even")] = 1.0
    sign[table.active & (table.parity == "odd")] = -1.0
    return sign


def input_signs_x(input_dim: int) -> np.ndarray:
    """x -> R x: coordinate 0 is odd, the others even."""
    sign = np.ones(input_dim)
    sign[0] = -1.0
    return sign


@dataclass
class LayerPairing:
    perm: np.ndarray  # [N] int, -1 for units that are not alive
    pairing_defect: float
    identity_defect: float  # the pairing defect if every unit were its own mirror (an upper bound)
    outgoing_mismatch: float  # signed by the result channels' parities, used channels only
    outgoing_mismatch_matched: float  # every result channel matched (the SPEC atom rule)


def layer_pairing(
    weight: np.ndarray,
    bias: np.ndarray,
    in_sign: np.ndarray,
    outgoing: np.ndarray,
    out_sign: np.ndarray,
    alive: np.ndarray,
) -> LayerPairing:
    """Mirror pairing of one layer's units. weight [N, K], bias [N], in_sign [K] in {-1, 0, 1}
    (0: channel left out), outgoing [N, F] (row i: what unit i feeds), out_sign [F] likewise,
    alive [N] bool."""
    w = np.asarray(weight, dtype=np.float64)
    b = np.asarray(bias, dtype=np.float64).reshape(-1, 1)
    in_sign = np.asarray(in_sign, dtype=np.float64)
    used = in_sign != 0
    units = np.concatenate([w[:, used], b], axis=1)
    mirrored = np.concatenate([w[:, used] * in_sign[used], b], axis=1)
    perm, defect = channels.mirror_match(units, mirrored, alive)
    alive = np.asarray(alive, dtype=bool)
    den = np.sum(units[alive] ** 2)
    identity = float(np.sum((units[alive] - mirrored[alive]) ** 2) / den) if den > 0 else np.nan
    o = np.asarray(outgoing, dtype=np.float64).reshape(len(w), -1)
    out_sign = np.asarray(out_sign, dtype=np.float64)
    fed = out_sign != 0
    return LayerPairing(
        perm,
        defect,
        float(identity),
        channels.outgoing_mismatch(o[:, fed], perm, out_sign[fed]),
        channels.outgoing_mismatch(o, perm),
    )


def direction_pairing(
    incoming: np.ndarray,
    in_sign: np.ndarray,
    outgoing: np.ndarray,
    out_sign: np.ndarray,
    alive: np.ndarray,
) -> LayerPairing:
    """layer_pairing on directions: incoming [N, K + 1] (weights, bias last) is cut to the kept
    channels and the bias, each row scaled to norm 1 (a zero row stays 0), then paired by the
    one pairing rule. The pairing defect is then a mean over alive units of |v_j - R v_i|^2."""
    v = np.asarray(incoming, dtype=np.float64)
    used = np.asarray(in_sign) != 0
    kept = np.concatenate([v[:, :-1][:, used], v[:, -1:]], axis=1)
    norm = np.linalg.norm(kept, axis=1, keepdims=True)
    kept = kept / np.where(norm > 0, norm, 1.0)
    w = np.zeros((len(v), len(used)))
    w[:, used] = kept[:, :-1]
    got = layer_pairing(w, kept[:, -1], in_sign, outgoing, out_sign, alive)
    if np.any(np.asarray(in_sign) < 0):
        return got
    # No kept input is odd: the map is the identity, every unit its own mirror. Units whose
    # kept part is only a bias share a direction (+-1), and a matching among equals would be
    # arbitrary (so would its outgoing numbers): take the identity.
    perm = np.where(np.asarray(alive, dtype=bool), np.arange(len(v)), -1)
    o = np.asarray(outgoing, dtype=np.float64).reshape(len(v), -1)
    fed = np.asarray(out_sign) != 0
    return LayerPairing(
        perm,
        got.pairing_defect,
        got.identity_defect,
        channels.outgoing_mismatch(o[:, fed], perm, np.asarray(out_sign, np.float64)[fed]),
        channels.outgoing_mismatch(o, perm),
    )


def median_movement(
    weight: np.ndarray, bias: np.ndarray, weight0: np.ndarray, bias0: np.ndarray
) -> float:
    """Median over units of |theta_i - theta_i^0| / |theta_i^0|, theta_i = (row i, bias i);
    units whose init row is 0 are left out (NaN if all are)."""
    theta = np.concatenate([np.asarray(weight, np.float64), np.reshape(bias, (-1, 1))], axis=1)
    theta0 = np.concatenate([np.asarray(weight0, np.float64), np.reshape(bias0, (-1, 1))], axis=1)
    n0 = np.linalg.norm(theta0, axis=1)
    ok = n0 > 0
    if not ok.any():
        return float("nan")
    return float(np.median(np.linalg.norm(theta - theta0, axis=1)[ok] / n0[ok]))


# --- on a model ------------------------------------------------------------------------------


@dataclass
class LayerWeightSymmetry:
    """Weight symmetry of one layer of units, beside the same measure at random init."""

    name: str
    input: str
    result: str
    units: int
    alive: int
    self_paired: int  # alive units matched to themselves
    trivial: bool  # no kept input channel is odd: the map is the identity, so pairing is 0
    input_channels: int
    input_used: int  # active and even or odd: the channels the incoming vectors keep
    input_mixed: int  # active but mixed: left out
    input_inactive: int  # inactive or flat: left out
    result_channels: int
    result_used: int
    result_mixed: int
    result_inactive: int
    pairing_defect: float
    identity_defect: float  # pairing defect of the identity pairing: 4 x the odd-input weight share
    outgoing_mismatch: float
    outgoing_mismatch_matched: float
    init_pairing_defect: float
    init_identity_defect: float
    init_outgoing_mismatch: float
    init_outgoing_mismatch_matched: float
    # rescale-invariant (rflr.measure.rescaling): pairing of unit directions, signed mismatch
    # of the balanced outgoing weights under it, each beside its init level
    direction_pairing: float
    outgoing_match: float
    init_direction_pairing: float
    init_outgoing_match: float
    movement: float  # median |theta_i - theta_i^0| / |theta_i^0| over units, raw weights
    perm: np.ndarray  # [N] int (original unit indices), -1 for units that are not alive
    direction_perm: np.ndarray  # [N] int: the pairing of the directions, likewise

    def record(self) -> dict:
        """Everything but the permutation, JSON-ready up to NaN."""
        return {k: v for k, v in vars(self).items() if k not in ("perm", "direction_perm")}


def _counts(sign: np.ndarray, table: channels.ChannelTable | None) -> tuple[int, int, int, int]:
    if table is None:  # the input x: every coordinate has a known parity
        return len(sign), len(sign), 0, 0
    mixed = int(np.sum(table.active & (table.parity == "mixed")))
    used = int(np.sum(sign != 0))
    return len(sign), used, mixed, len(sign) - used - mixed


def _signs(
    cfg: ModelConfig,
    p64: dict[str, torch.Tensor],
    partials: dict[str, np.ndarray],
    layer: str,
    mirror: np.ndarray,
    threshold: float,
    tau: float,
) -> tuple[np.ndarray, channels.ChannelTable | None]:
    if layer == X:
        return input_signs_x(cfg.input_dim), None
    o = outgoing_weights(cfg, p64, layer).numpy()
    table = channels.channel_table(partials[layer], o, mirror, threshold, tau)
    return parity_signs(table), table


def _pairing(
    cfg: ModelConfig,
    p64: dict[str, torch.Tensor],
    layer: UnitLayer,
    in_sign: np.ndarray,
    out_sign: np.ndarray,
    alive: np.ndarray,
) -> LayerPairing:
    return layer_pairing(
        p64[layer.weight].numpy(),
        p64[layer.bias].numpy(),
        in_sign,
        outgoing_weights(cfg, p64, layer.name).numpy(),
        out_sign,
        alive,
    )


def weight_symmetry_of(
    cfg: RunConfig,
    params: dict[str, torch.Tensor],
    partials: dict[str, np.ndarray],
    grid: Grid,
    threshold: float = metrics.ACTIVITY_THRESHOLD,
    tau: float = metrics.PARITY_TAU,
    init_params: dict[str, torch.Tensor] | None = None,
) -> list[LayerWeightSymmetry]:
    """Weight symmetry of every layer of units, in depth order.

    `partials` is evaluate.partials_on_grid(cfg, params, grid). The init levels are the same
    defects of the same units (the trained network's alive ones) under the same map (the
    trained network's input and result signs), on the run's own seed-derived initial weights
    (rflr.core.seeds.initial_params, float64) unless `init_params` is given: same measure,
    weights that have not learned anything. (The init network's own alive set would not be
    closed under the trained map, which would inflate the init level.)
    """
    m = cfg.model
    p64 = {k: v.detach().to(torch.float64) for k, v in params.items()}
    init = initial_params(cfg, torch.float64) if init_params is None else init_params
    i64 = {k: v.detach().to(torch.float64) for k, v in init.items()}
    bal, bal0 = rescaling.balanced(m, p64), rescaling.balanced(m, i64)
    out = []
    for layer in unit_layers(m):
        in_sign, in_table = _signs(m, p64, partials, layer.input, grid.mirror, threshold, tau)
        out_sign, out_table = _signs(m, p64, partials, layer.result, grid.mirror, threshold, tau)
        alive = channels.alive_units(m, partials[layer.name])
        trained = _pairing(m, p64, layer, in_sign, out_sign, alive)
        at_init = _pairing(m, i64, layer, in_sign, out_sign, alive)
        b, b0 = bal[layer.name], bal0[layer.name]
        direction = direction_pairing(b.incoming, in_sign, b.outgoing, out_sign, alive)
        direction0 = direction_pairing(b0.incoming, in_sign, b0.outgoing, out_sign, alive)
        moved = median_movement(
            p64[layer.weight].numpy(),
            p64[layer.bias].numpy(),
            i64[layer.weight].numpy(),
            i64[layer.bias].numpy(),
        )
        idx = np.flatnonzero(alive)
        out.append(
            LayerWeightSymmetry(
                layer.name,
                layer.input,
                layer.result,
                len(alive),
                int(alive.sum()),
                int(np.sum(trained.perm[idx] == idx)),
                not bool(np.any(in_sign < 0)),
                *_counts(in_sign, in_table),
                *_counts(out_sign, out_table),
                trained.pairing_defect,
                trained.identity_defect,
                trained.outgoing_mismatch,
                trained.outgoing_mismatch_matched,
                at_init.pairing_defect,
                at_init.identity_defect,
                at_init.outgoing_mismatch,
                at_init.outgoing_mismatch_matched,
                direction.pairing_defect,
                direction.outgoing_mismatch,
                direction0.pairing_defect,
                direction0.outgoing_mismatch,
                moved,
                trained.perm,
                direction.perm,
            )
        )
    return out
