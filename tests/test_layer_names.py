"""rflr.views.names: one display name per layer, for every model kind."""

from __future__ import annotations

import pytest

from rflr.core.config import DenseConfig, RFLRConfig
from rflr.core.kinds import KINDS
from rflr.core.model import layer_name
from rflr.views import data, names

CONFIGS = {"rflr": RFLRConfig(width=8, depth=4, rank=2), "dense": DenseConfig(width=8, depth=4)}


def test_every_kind_has_a_config_here():
    assert set(CONFIGS) == set(KINDS)


@pytest.mark.parametrize("kind", list(KINDS))
def test_layer_label_names_each_layer_of_every_kind_once(kind):
    cfg = CONFIGS[kind]
    letter = KINDS[kind].partial  # the registry's symbol of the kind's partial function
    assert names.layer_label(kind, 3, cfg.depth) == f"layer 3 · {letter}₃"
    assert names.layer_label(kind, 3, cfg.depth, "h") == "layer 3 · h₄"  # the drawing's h₄
    assert names.layer_label(kind, 0, cfg.depth) == "atoms (h₁)"
    assert names.layer_label(kind, cfg.depth, cfg.depth) == "output y"
    labels = [
        names.layer_label(kind, k, cfg.depth, part)
        for k in range(cfg.depth + 1)
        for part in ("partial", "h")
    ]
    # the tensor name and the display name agree, layer by layer
    for k in range(cfg.depth + 1):
        for part in ("partial", "u", "h"):
            tensor = layer_name(cfg, k, part)
            assert names.tensor_label(tensor, cfg.depth) == names.layer_label(
                kind, k, cfg.depth, part
            )
    assert len(set(labels)) == 2 * (cfg.depth - 1) + 2  # atoms and output have one part


def test_the_examples_of_issue_21():
    assert names.layer_label("rflr", 3, 4) == "layer 3 · z₃"
    assert names.layer_label("dense", 3, 4) == "layer 3 · u₃"
    assert names.tensor_label("bottleneck.3.z") == "layer 3 · z₃"
    assert names.tensor_label("hidden.3.u") == "layer 3 · u₃"
    assert names.tensor_label("something.else") == "something.else"


def test_the_layer_selector_uses_the_same_names_without_a_kind():
    assert [data.layer_label(k, 3) for k in range(4)] == [
        "atoms (h₁)",
        "layer 1",
        "layer 2",
        "output y",
    ]


def test_without_a_kind_a_partial_is_its_index_and_h_its_box():
    """A legend shared by RF-LR and dense (Symmetry over training) names a layer by index;
    u and h are the same letters in every kind."""
    assert names.layer_label(None, 2) == "layer 2"
    assert names.layer_label(None, 3, part="h") == "layer 3 · h₄"
    assert names.layer_label(None, 0) == "atoms (h₁)"
