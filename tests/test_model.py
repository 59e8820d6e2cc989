import math

import pytest
import torch

from rflr.core.config import DenseConfig, RFLRConfig
from rflr.core.model import (
    build,
    init_params,
    layer_index,
    layer_name,
    outgoing_weights,
    param_shapes,
    partial_layers,
    trainable_names,
)


@pytest.mark.parametrize("param", ["ntk", "standard"])
@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_full_rank_rflr_equals_dense_with_w_equal_ud(param, act):
    """RF-LR at rank r = N is a dense MLP with W_k = U_k D_k (/ sqrt(r) under ntk)."""
    n = 12
    rcfg = RFLRConfig(width=n, rank=n, depth=4, activation=act, parameterization=param)
    dcfg = DenseConfig(width=n, depth=4, activation=act, parameterization=param)
    p = init_params(rcfg, torch.Generator().manual_seed(3), torch.float64)
    scale = 1 / math.sqrt(n) if param == "ntk" else 1.0
    q = {k: v for k, v in p.items() if not k.startswith("bottleneck.")}
    for k in range(1, 4):
        q[f"hidden.{k}.weight"] = p[f"bottleneck.{k}.up"] @ p[f"bottleneck.{k}.down"] * scale
        q[f"hidden.{k}.bias"] = p[f"bottleneck.{k}.bias"]
    x = torch.linspace(-3, 3, 101, dtype=torch.float64)[:, None]
    y_r, cache_r = build(rcfg, p).run_with_cache(x)
    y_d, cache_d = build(dcfg, q).run_with_cache(x)
    torch.testing.assert_close(y_r, y_d, rtol=1e-12, atol=1e-12)
    for k in range(1, 4):
        torch.testing.assert_close(
            cache_r[f"bottleneck.{k}.h"], cache_d[f"hidden.{k}.h"], rtol=1e-12, atol=1e-12
        )
    # and the two are not trivially equal: a different W changes the output
    q["hidden.2.weight"] = q["hidden.2.weight"] + 0.1
    assert not torch.allclose(build(dcfg, q)(x), y_r)


def test_cache_names_and_shapes():
    cfg = RFLRConfig(width=8, rank=3, depth=3, input_dim=2)
    y, cache = build(cfg).run_with_cache(torch.randn(5, 2))
    assert y.shape == (5,)
    assert cache["bottleneck.2.z"].shape == (5, 3)
    assert cache["bottleneck.2.h"].shape == (5, 8)
    assert partial_layers(cfg) == ["bottleneck.1.z", "bottleneck.2.z"]
    assert partial_layers(DenseConfig(width=8, depth=3)) == ["hidden.1.u", "hidden.2.u"]
    assert partial_layers(RFLRConfig(width=8, depth=1)) == ["atoms.h"]


def test_state_dict_names_are_checkpoint_names():
    for cfg in (RFLRConfig(width=8, rank=2, depth=3), DenseConfig(width=8, depth=2)):
        sd = build(cfg).state_dict()
        assert {k: tuple(v.shape) for k, v in sd.items()} == param_shapes(cfg)


def test_forward_matches_formula():
    """ntk: h1 = relu(W x + b); z = D h / sqrt(N); h2 = relu(U z / sqrt(r) + c); y = w.h / sqrt(N) + b."""
    cfg = RFLRConfig(width=6, rank=2, depth=2)
    p = init_params(cfg, torch.Generator().manual_seed(1), torch.float64)
    x = torch.tensor([[0.3], [-1.2]], dtype=torch.float64)
    h1 = torch.relu(x @ p["atoms.weight"].T + p["atoms.bias"])
    z = h1 @ p["bottleneck.1.down"].T / math.sqrt(6)
    h2 = torch.relu(z @ p["bottleneck.1.up"].T / math.sqrt(2) + p["bottleneck.1.bias"])
    y = h2 @ p["readout.weight"][0] / math.sqrt(6) + p["readout.bias"]
    torch.testing.assert_close(build(cfg, p)(x), y)


@pytest.mark.parametrize("model", [RFLRConfig(width=6, rank=2, depth=3), DenseConfig(width=6)])
def test_mean_field_readout_divides_by_width(model):
    """mf: the ntk network with the readout / N instead of / sqrt(N), the same N(0,1) init."""
    from dataclasses import replace

    mf = replace(model, parameterization="mf")
    p = init_params(mf, torch.Generator().manual_seed(2), torch.float64)
    assert all(
        torch.equal(p[k], v)
        for k, v in init_params(model, torch.Generator().manual_seed(2), torch.float64).items()
    )
    x = torch.linspace(-3, 3, 7, dtype=torch.float64)[:, None]
    _, cache = build(model, p).run_with_cache(x)
    h_last = cache[partial_layers(model)[-1].rsplit(".", 1)[0] + ".h"]
    want = h_last @ p["readout.weight"][0] / 6 + p["readout.bias"]
    torch.testing.assert_close(build(mf, p)(x), want)


def test_init_distributions():
    cfg = RFLRConfig(width=512, rank=4, depth=2)
    p = init_params(cfg, torch.Generator().manual_seed(0), torch.float64)
    assert abs(p["bottleneck.1.down"].std().item() - 1) < 0.05  # ntk: N(0, 1)
    s = init_params(
        RFLRConfig(width=512, rank=4, depth=2, parameterization="standard"),
        torch.Generator().manual_seed(0),
    )
    assert s["bottleneck.1.down"].abs().max() <= 1 / math.sqrt(512)  # U(-1/sqrt(fan_in), ..)
    assert s["bottleneck.1.up"].abs().max() <= 1 / math.sqrt(4)
    assert (p["readout.bias"] == 0).all()


def test_frozen_atoms_have_no_grad():
    m = build(RFLRConfig(width=8, depth=2, train_atoms=False))
    assert not m.atoms["weight"].requires_grad
    assert m.readout["weight"].requires_grad


def test_outgoing_weights_rows_are_channels():
    cfg = RFLRConfig(width=8, rank=3, depth=3)
    p = init_params(cfg, torch.Generator().manual_seed(0))
    assert outgoing_weights(cfg, p, "bottleneck.1.z").shape == (3, 8)  # columns of U_1
    assert outgoing_weights(cfg, p, "atoms.h").shape == (8, 3)  # columns of D_1
    assert outgoing_weights(cfg, p, "bottleneck.2.h").shape == (8, 1)  # readout
    d = DenseConfig(width=8, depth=2)
    assert outgoing_weights(d, init_params(d, torch.Generator()), "hidden.1.u").shape == (8, 1)


def test_layer_names_address_the_same_depth_in_both_models():
    r, d = RFLRConfig(width=8, depth=3, rank=2), DenseConfig(width=8, depth=3)
    assert layer_name(r, 2) == "bottleneck.2.z" and layer_name(d, 2) == "hidden.2.u"
    assert layer_name(r, 1, "h") == "bottleneck.1.h" and layer_name(d, 1, "h") == "hidden.1.h"
    assert layer_name(r, 0) == "atoms.h" and layer_name(d, 3) == "readout.y"
    assert layer_name(r, 4) is None
    for k in range(3):  # k = depth is the readout, named without an index
        assert layer_index(layer_name(r, k)) == k and layer_index(layer_name(d, k, "h")) == k


def test_frozen_atoms_are_not_trainable():
    r = RFLRConfig(width=8, depth=3, rank=2)
    assert trainable_names(r) == list(param_shapes(r))
    frozen = trainable_names(RFLRConfig(width=8, depth=3, rank=2, train_atoms=False))
    assert frozen == [n for n in param_shapes(r) if not n.startswith("atoms.")]
