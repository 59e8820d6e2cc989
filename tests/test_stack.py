"""rflr.train.stack: one batched step equals each seed's own autograd step; bookkeeping keeps
each seed's parameters (the long equivalence runs are in tests/test_trainer.py)."""

from __future__ import annotations

import pytest
import torch

from rflr.core.config import DenseConfig, RFLRConfig, RunConfig, TrainConfig
from rflr.core.model import build, init_params
from rflr.train.stack import SeedStack

MODELS = [RFLRConfig(width=8, rank=2, depth=3), DenseConfig(width=8, depth=3)]


def _stack(model, seeds=3, batch=2):
    cfg = RunConfig(model, train=TrainConfig(batch_size=batch))
    params = [
        init_params(model, torch.Generator().manual_seed(s), torch.float64) for s in range(seeds)
    ]
    return SeedStack(cfg, params, torch.float64), params


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.kind)
def test_one_sgd_step_is_each_seeds_own_autograd_step(model):
    stack, params = _stack(model)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 2, 1, generator=gen, dtype=torch.float64)
    f = torch.randn(3, 2, 1, generator=gen, dtype=torch.float64)
    stack.step(x, f, lr=0.1)
    for i, p0 in enumerate(params):
        net = build(model, {k: v.clone() for k, v in p0.items()})
        ((net(x[i]) - f[i, :, 0]) ** 2).mean().backward()
        got = stack.seed_params(i)
        named = dict(net.named_parameters())
        assert set(named) == set(got)
        for k, v in named.items():
            want = v.detach() if v.grad is None else (v - 0.1 * v.grad).detach()
            torch.testing.assert_close(got[k], want, rtol=1e-12, atol=1e-12, msg=k)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.kind)
def test_mse_and_select_keep_each_seed_apart(model):
    stack, params = _stack(model)
    x = torch.linspace(-2, 2, 9, dtype=torch.float64)[None, :, None].expand(3, 9, 1)
    f = torch.zeros(3, 9, dtype=torch.float64)
    mse = stack.mse(x, f)
    for i, p in enumerate(params):
        with torch.no_grad():
            want = (build(model, p)(x[i]) ** 2).mean()
        torch.testing.assert_close(mse[i], want)
    kept = stack.select([2, 0])
    for j, i in enumerate([2, 0]):
        for k, v in kept.seed_params(j).items():
            torch.testing.assert_close(v, params[i][k], msg=k)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.kind)
def test_a_seed_alone_gets_the_bits_it_gets_among_others(model):
    """A stack of one used another GEMM than a stack of two (MKL: from batch size 16 on), so a
    seed retrained alone drifted ~1e-7 from its first run; now its steps and losses are the
    same bits in any stack."""
    cfg = RunConfig(model, train=TrainConfig(batch_size=64))
    params = [init_params(model, torch.Generator().manual_seed(s), torch.float32) for s in (7, 8)]
    gen = torch.Generator().manual_seed(0)
    x, f = torch.randn(5, 2, 64, 1, generator=gen), torch.randn(5, 2, 64, 1, generator=gen)
    grid = torch.linspace(-3, 3, 700, dtype=torch.float64)[None, :, None]
    target = torch.cos(grid[..., 0])
    pair = SeedStack(cfg, params, torch.float32)
    alone = SeedStack(cfg, params[1:], torch.float32)
    for k in range(5):
        pair.step(x[k], f[k], lr=0.01)
        alone.step(x[k, 1:], f[k, 1:], lr=0.01)
    for name, v in alone.seed_params(0).items():
        assert torch.equal(v, pair.seed_params(1)[name]), name
    assert torch.equal(alone.mse(grid, target), pair.mse(grid.expand(2, -1, -1), target)[1:])


def test_mse_takes_fewer_seeds_at_once_never_fewer_points(monkeypatch):
    """Many wide seeds: the evaluation goes seed group by seed group, each seed's points in
    the same chunks as alone, so its loss does not depend on the stack's size."""
    from rflr.train import stack as stacklib

    model = RFLRConfig(width=8, rank=2, depth=3)
    cfg = RunConfig(model, train=TrainConfig())
    params = [init_params(model, torch.Generator().manual_seed(s), torch.float32) for s in range(5)]
    grid = torch.linspace(-3, 3, 1500, dtype=torch.float64)[None, :, None]
    target = torch.sin(3 * grid[..., 0])
    alone = [SeedStack(cfg, [p], torch.float32).mse(grid, target) for p in params]
    monkeypatch.setattr(stacklib, "EVAL_ELEMENTS", 2 * 512 * 8)  # two seeds at once
    many = SeedStack(cfg, params, torch.float32).mse(grid.expand(5, -1, -1), target.expand(5, -1))
    assert torch.equal(many, torch.cat(alone))
