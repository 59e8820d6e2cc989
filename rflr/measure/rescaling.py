"""A network's representative under ReLU's positive rescaling: the weights that weight
symmetry compares (docs/measurements.md, "Rescale-invariant weight symmetry").

relu(c u) = c relu(u) for c > 0, so scaling a unit's incoming weights and bias by c and the
weights it feeds by 1 / c leaves the function unchanged (Dinh et al. 2017). A weight-space
measure means something only if it gives the same number on every such copy. This module
picks one copy per orbit, the *balanced* network, and the measures read that one:

    unit i of a layer:  row_i = (m * P_i * s_in, c_i)      effective incoming weights on the
                        s_i   = |row_i|                    balanced inputs, bias last
                        v_i   = row_i / s_i                its direction (unit norm)
    what it feeds:      o_i   = column i of the next product's rows, divided by their s
                        (the readout: m_out * r_i * s_i; y itself is never rescaled)

P_i is the unit's row of its layer's last product, m that product's multiplier (1/sqrt(fan_in)
or 1, rflr.core.model.scales), s_in the scales of the channels it reads (1 for x). A linear
channel between two products (RF-LR's bottleneck z) is balanced the same way without a bias,
so rescaling (or negating) a z channel, and its columns of U by the inverse, is absorbed too.
Under a unit's rescaling by c its s_i becomes c s_i and v_i, o_i stay; so does every number
computed from (v, o). A permutation of units permutes the rows. Pure numpy on float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from rflr.core.config import ModelConfig
from rflr.core.kinds import kind_of
from rflr.core.model import fan_in, readout_scale


@dataclass
class BalancedLayer:
    """One layer of units (named as in rflr.measure.weight_symmetry.unit_layers) of the
    balanced network."""

    incoming: np.ndarray  # [N, K + 1] v_i: unit-norm (incoming on the K input channels, bias)
    outgoing: np.ndarray  # [N, F] o_i: what balanced unit i feeds
    scale: np.ndarray  # [N] s_i = |row_i| (0 for a unit whose row is 0)


def _multiplier(cfg: ModelConfig, name: str) -> float:
    """The constant a product's weights are multiplied by in the forward pass."""
    if name == "readout.weight":
        return readout_scale(cfg)
    if cfg.parameterization == "standard":
        return 1.0
    return 1 / math.sqrt(fan_in(cfg, name))


def _products(cfg: ModelConfig) -> list[tuple[str, str | None, str | None]]:
    """(weight, bias or None, the unit layer it makes or None for a linear channel) in
    forward order, from the atoms to the readout."""
    kind = kind_of(cfg)
    out: list[tuple[str, str | None, str | None]] = [("atoms.weight", "atoms.bias", "atoms.h")]
    for k in range(1, cfg.depth):
        name = f"{kind.prefix}.{k}"
        for product in kind.products[:-1]:  # linear channels inside the layer (z)
            out.append((f"{name}.{product}", None, None))
        out.append((f"{name}.{kind.products[-1]}", f"{name}.bias", f"{name}.h"))
    return out


def _unit_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows / |rows|, |rows|), a zero row staying zero."""
    s = np.linalg.norm(rows, axis=1)
    return rows / np.where(s > 0, s, 1.0)[:, None], s


def balanced(cfg: ModelConfig, params: dict[str, torch.Tensor]) -> dict[str, BalancedLayer]:
    """The balanced network's layers of units by name, in depth order."""
    p = {k: v.detach().cpu().to(torch.float64).numpy() for k, v in params.items()}
    s_in = np.ones(cfg.input_dim)  # x is never rescaled
    rows_of: list[tuple[str | None, np.ndarray, np.ndarray]] = []  # (unit layer, v, s)
    for weight, bias, layer in _products(cfg):
        rows = _multiplier(cfg, weight) * p[weight] * s_in[None, :]  # [out, in]
        if bias is not None:
            rows = np.concatenate([rows, p[bias][:, None]], axis=1)
        v, s_in = _unit_rows(rows)
        rows_of.append((layer, v, s_in))
    readout = _multiplier(cfg, "readout.weight") * p["readout.weight"] * s_in[None, :]  # [1, N]
    out = {}
    for j, (layer, v, s) in enumerate(rows_of):
        if layer is None:
            continue
        # What unit i feeds: column i of the next product's balanced rows (no bias column)
        nxt = readout if j + 1 == len(rows_of) else rows_of[j + 1][1][:, : len(s)]
        out[layer] = BalancedLayer(v, np.ascontiguousarray(nxt.T), s)
    return out
