"""The model kinds: one entry each, read by everything that names, builds or draws a model.

A kind's network is the same skeleton for every kind (atoms -> depth - 1 mixing layers ->
readout); what a kind decides is its mixing layer: the tensors of layer k, the products it
takes h_k through, and the values it captures. Everything below follows from that:
checkpoint tensor names, which values are the partial functions, what feeds what (outgoing
weights, weight symmetry), the command line's --model choices and the labels on charts.

A new kind is one entry in KINDS (and its config dataclass in rflr.core.config), plus its
forward pass (rflr.core.model.NETWORKS) and its batched step (rflr.train.stack.BATCHED).

Pure Python: the summary tables and charts read the labels without loading torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rflr.core.config import DenseConfig, ModelConfig, RFLRConfig


@dataclass(frozen=True)
class ModelKind:
    """One model kind. Mixing layer k's names are `{prefix}.{k}.{tensor or value}`."""

    name: str  # the config's `kind`, the checkpoint's "model", the --model choice
    config: type[ModelConfig]  # its config dataclass
    label: str  # how it reads on charts and pages
    choice: str  # what --model NAME means, for the flag's help
    about: str  # its layers in a sentence, formatted with the config's fields
    prefix: str  # name of its mixing layers: "bottleneck" (bottleneck.k.*), "hidden"
    tensors: Callable[[ModelConfig], dict[str, tuple[int, ...]]]  # layer k's, init order
    products: tuple[str, ...]  # layer k's weight matrices, from h_k to u_k
    values: tuple[str, ...]  # what layer k captures, from h_k on; ends with u, h
    partial: str  # the captured value that is layer k's partial function


def _bottleneck(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    n, r = cfg.width, cfg.rank  # type: ignore[attr-defined]
    return {"down": (r, n), "up": (n, r), "bias": (n,)}


def _hidden(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    n = cfg.width
    return {"weight": (n, n), "bias": (n,)}


# In order: the studied model first, then its controls (the --model choices read so).
KINDS: dict[str, ModelKind] = {
    k.name: k
    for k in (
        ModelKind(
            name="rflr",
            config=RFLRConfig,
            label="RF-LR",
            choice="RF-LR (low rank)",
            about="Layers of width {width} talk through rank-{rank} bottlenecks z: "
            "the partial functions.",
            prefix="bottleneck",
            tensors=_bottleneck,
            products=("down", "up"),  # z = D h / sqrt(N), u = U z / sqrt(r) + c
            values=("z", "u", "h"),
            partial="z",
        ),
        ModelKind(
            name="dense",
            config=DenseConfig,
            label="dense",
            choice="the dense MLP control",
            about="Layers of width {width} joined by full {width}×{width} matrices; "
            "the partial functions are the pre-activations u.",
            prefix="hidden",
            tensors=_hidden,
            products=("weight",),  # u = W h / sqrt(N) + c
            values=("u", "h"),
            partial="u",
        ),
    )
}
MODEL_CONFIGS: dict[str, type[ModelConfig]] = {k.name: k.config for k in KINDS.values()}
KIND_LABELS: dict[str, str] = {k.name: k.label for k in KINDS.values()}


def kind_of(cfg: ModelConfig) -> ModelKind:
    """The entry of a model config."""
    return KINDS[cfg.kind]


def model_config(kind: str, values: Mapping[str, Any]) -> ModelConfig:
    """The config of `kind` from named values (flags, a preset): each field of its dataclass
    that `values` holds; the other values (another kind's, e.g. rank for dense) are ignored."""
    cls = KINDS[kind].config
    return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls) if f.name in values})


def describe(cfg: ModelConfig) -> str:
    """The kind's sentence about its layers, for this config."""
    return kind_of(cfg).about.format(**dataclasses.asdict(cfg))
