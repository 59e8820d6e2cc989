"""RF-LR and dense MLP models (SPEC section 2), with one mechanism to capture partial functions.

Parameter names are the checkpoint tensor names (`atoms.weight`, `bottleneck.1.down`, ...),
so `model.state_dict()` is exactly what a checkpoint stores.

`model(x, cache)` fills `cache` with every layer's partial functions by name:

    atoms.u            W_in x / sqrt(d) + b_in          [B, N]  (pre-activation of the atoms)
    atoms.h            s(atoms.u)                       [B, N]  (h_1: the atoms' outputs)
    bottleneck.k.z     D_k h_k / sqrt(N)                [B, r]  (RF-LR partial functions)
    bottleneck.k.u     U_k z_k / sqrt(r) + c_k          [B, N]
    bottleneck.k.h     s(bottleneck.k.u)                [B, N]  (h_{k+1})
    hidden.k.u         W_k h_k / sqrt(N) + c_k          [B, N]  (dense partial functions)
    hidden.k.h         s(hidden.k.u)                    [B, N]  (h_{k+1})
    readout.y          w_out . h_L / sqrt(N) + b_out    [B]

The 1/sqrt(fan_in) divisors apply to the "ntk" and "mf" parameterizations; "mf" (mean field)
divides the readout by N instead of sqrt(N).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rflr.core.config import ModelConfig
from rflr.core.kinds import kind_of

TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}  # config.DTYPES as torch


def as_float64(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached float64 copies: every measurement runs in float64 whatever the training dtype."""
    return {k: v.detach().to(torch.float64) for k, v in params.items()}


Cache = dict[str, torch.Tensor]


def param_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor of a model, in a fixed order (the init draws in this order)."""
    n, d = cfg.width, cfg.input_dim
    kind = kind_of(cfg)
    shapes: dict[str, tuple[int, ...]] = {"atoms.weight": (n, d), "atoms.bias": (n,)}
    for k in range(1, cfg.depth):
        for t, shape in kind.tensors(cfg).items():
            shapes[f"{kind.prefix}.{k}.{t}"] = shape
    shapes["readout.weight"] = (1, n)
    shapes["readout.bias"] = (1,)
    return shapes


def fan_in(cfg: ModelConfig, name: str) -> int:
    """Inputs summed by the product a tensor belongs to: a weight's columns; a bias shares
    its layer's last weight's (the product it is added to)."""
    shapes = param_shapes(cfg)
    layer = name.rpartition(".")[0]
    if name.endswith(".bias"):
        name = [n for n in shapes if n.startswith(f"{layer}.") and n != name][-1]
    return shapes[name][1]


def init_params(
    cfg: ModelConfig, generator: torch.Generator, dtype: torch.dtype = torch.float32
) -> dict[str, torch.Tensor]:
    """Fresh parameters drawn from `generator` (SPEC: ntk N(0,1); standard: PyTorch's Linear init).

    The readout bias starts at 0 in both parameterizations, so that the initial output is
    the network's own function rather than a random offset.
    """
    params = {}
    for name, shape in param_shapes(cfg).items():
        if name == "readout.bias":
            t = torch.zeros(shape, dtype=torch.float64)
        elif cfg.parameterization in ("ntk", "mf"):
            t = torch.randn(shape, generator=generator, dtype=torch.float64)
        else:  # nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias
            bound = 1 / math.sqrt(fan_in(cfg, name))
            t = (torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1) * bound
        params[name] = t.to(dtype)
    return params


def scales(cfg: ModelConfig) -> tuple[float, float, float]:
    """(input, width, rank) divisors as multipliers: 1/sqrt(d), 1/sqrt(N), 1/sqrt(r) or 1s."""
    if cfg.parameterization == "standard":
        return 1.0, 1.0, 1.0
    rank = cfg.rank_or_none or 1
    return 1 / math.sqrt(cfg.input_dim), 1 / math.sqrt(cfg.width), 1 / math.sqrt(rank)


def readout_scale(cfg: ModelConfig) -> float:
    """The readout's divisor as a multiplier: 1/N (mf), 1/sqrt(N) (ntk) or 1 (standard)."""
    if cfg.parameterization == "mf":
        return 1 / cfg.width
    return scales(cfg)[1]


ACTIVATION_FNS = {"relu": torch.relu, "tanh": torch.tanh}


class Network(nn.Module):
    """Shared skeleton: atoms -> (depth - 1) mixing layers -> readout."""

    def __init__(self, cfg: ModelConfig, params: dict[str, torch.Tensor] | None = None):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.act = ACTIVATION_FNS[cfg.activation]
        self.s_in, self.s_width, self.s_rank = scales(cfg)
        self.s_out = readout_scale(cfg)
        if params is None:
            params = init_params(cfg, torch.Generator().manual_seed(0))
        shapes = param_shapes(cfg)
        missing = set(shapes) - set(params)
        if missing:
            raise KeyError(f"missing parameters: {sorted(missing)}")
        # nn.Module forbids dots in parameter names, so nest ParameterDicts: the
        # state_dict keys then come out dotted, exactly the checkpoint names.
        self.atoms = _params("atoms", ("weight", "bias"), params)
        self.atoms.requires_grad_(cfg.train_atoms)  # frozen random features when False
        kind = kind_of(cfg)
        self.mix_prefix = kind.prefix
        mix = nn.ModuleDict()
        for k in range(1, cfg.depth):
            mix[str(k)] = _params(f"{kind.prefix}.{k}", tuple(kind.tensors(cfg)), params)
        setattr(self, kind.prefix, mix)  # registered as "bottleneck" or "hidden"
        self.readout = _params("readout", ("weight", "bias"), params)

    @property
    def mix(self) -> nn.ModuleDict:
        return getattr(self, self.mix_prefix)

    def params(self) -> dict[str, torch.Tensor]:
        """Detached parameters under their checkpoint names."""
        return {k: v.detach() for k, v in self.state_dict().items()}

    def forward(self, x: torch.Tensor, cache: Cache | None = None) -> torch.Tensor:
        """y(x) for x [B, d] -> [B]; fills `cache` (if given) with the partial functions."""
        cache = {} if cache is None else cache
        u = self.s_in * x @ self.atoms["weight"].T + self.atoms["bias"]  # [B, N]
        h = self.act(u)
        cache["atoms.u"], cache["atoms.h"] = u, h
        for k in range(1, self.cfg.depth):
            h = self.mix_layer(k, h, cache)  # [B, N]
        y = self.s_out * h @ self.readout["weight"].T + self.readout["bias"]  # [B, 1]
        cache["readout.y"] = y[:, 0]
        return y[:, 0]

    def mix_layer(self, k: int, h: torch.Tensor, cache: Cache) -> torch.Tensor:
        raise NotImplementedError

    def run_with_cache(self, x: torch.Tensor) -> tuple[torch.Tensor, Cache]:
        cache: Cache = {}
        y = self(x, cache)
        return y, cache


class RFLR(Network):
    """h_{k+1} = s(U_k (D_k h_k / sqrt(N)) / sqrt(r) + c_k)."""

    def mix_layer(self, k: int, h: torch.Tensor, cache: Cache) -> torch.Tensor:
        p = self.mix[str(k)]
        z = self.s_width * h @ p["down"].T  # [B, r]
        u = self.s_rank * z @ p["up"].T + p["bias"]  # [B, N]
        h = self.act(u)
        cache[f"bottleneck.{k}.z"], cache[f"bottleneck.{k}.u"], cache[f"bottleneck.{k}.h"] = z, u, h
        return h


class Dense(Network):
    """h_{k+1} = s(W_k h_k / sqrt(N) + c_k)."""

    def mix_layer(self, k: int, h: torch.Tensor, cache: Cache) -> torch.Tensor:
        p = self.mix[str(k)]
        u = self.s_width * h @ p["weight"].T + p["bias"]  # [B, N]
        h = self.act(u)
        cache[f"hidden.{k}.u"], cache[f"hidden.{k}.h"] = u, h
        return h


def _params(
    prefix: str, names: tuple[str, ...], params: dict[str, torch.Tensor]
) -> nn.ParameterDict:
    return nn.ParameterDict({n: nn.Parameter(params[f"{prefix}.{n}"].clone()) for n in names})


# Each kind's forward pass (rflr.core.kinds has the rest of its entry).
NETWORKS: dict[str, type[Network]] = {"rflr": RFLR, "dense": Dense}


def build(cfg: ModelConfig, params: dict[str, torch.Tensor] | None = None) -> Network:
    """The model for a config, optionally with given parameters (checkpoint names)."""
    return NETWORKS[cfg.kind](cfg, params)


# --- which layers are "partial functions", and what each channel feeds -------------------


def partial_layers(cfg: ModelConfig) -> list[str]:
    """The layers whose defects a checkpoint reports (SPEC section 5), in depth order."""
    if cfg.depth == 1:
        return ["atoms.h"]
    kind = kind_of(cfg)
    return [f"{kind.prefix}.{k}.{kind.partial}" for k in range(1, cfg.depth)]


def layer_name(cfg: ModelConfig, k: int, part: str = "partial") -> str | None:
    """The captured layer at depth index k: 0 the atoms' h, k < depth the k-th partial
    function (`part` "partial") or its u / h, depth the readout; None if absent."""
    if k == 0:
        return "atoms.h"
    if k == cfg.depth:
        return "readout.y"
    if not 0 < k < cfg.depth:
        return None
    kind = kind_of(cfg)
    return f"{kind.prefix}.{k}.{kind.partial if part == 'partial' else part}"


def layer_index(name: str) -> int:
    """k back from a captured layer's name: 0 for atoms.*, k for bottleneck.k.* / hidden.k.*."""
    return 0 if name.startswith("atoms.") else int(name.split(".")[1])


def trainable_names(cfg: ModelConfig) -> list[str]:
    """The parameters SGD updates: all of them, less the atoms when they are frozen."""
    return [n for n in param_shapes(cfg) if cfg.train_atoms or not n.startswith("atoms.")]


def outgoing_weights(cfg: ModelConfig, params: dict[str, torch.Tensor], layer: str) -> torch.Tensor:
    """Row j: the weights through which channel j of `layer` reaches the next product.

    A pre-activation u feeds the next layer through its own activation, so it shares the
    outgoing weights of the hidden features h it becomes.
    """
    if layer == "readout.y":
        return torch.ones(1, 1, dtype=params["readout.weight"].dtype)
    kind = kind_of(cfg)
    part, _, what = layer.rpartition(".")
    inner = kind.values[:-2]  # values inside a mixing layer, before its u and h
    if what in inner:  # e.g. bottleneck.k.z feeds U_k
        return params[f"{part}.{kind.products[inner.index(what) + 1]}"].T  # [r, N]
    k = layer_index(layer)  # h_{k+1} comes out of this layer
    nxt = k + 1
    if nxt < cfg.depth:
        return params[f"{kind.prefix}.{nxt}.{kind.products[0]}"].T  # [N, r or N]
    return params["readout.weight"].T  # [N, 1]
