"""rflr.core.seeds: independent, reproducible random streams per seed."""

from __future__ import annotations

import pytest
import torch

from rflr.core.config import RFLRConfig, RunConfig, TrainConfig
from rflr.core.seeds import (
    CHUNK,
    chunk_draws,
    chunk_samples,
    generator,
    initial_params,
    samples,
    take_draws,
    train_set,
)
from rflr.core.targets import target_values


def test_streams_are_reproducible_and_distinct():
    draw = lambda *key: torch.rand(4, generator=generator(*key))  # noqa: E731
    torch.testing.assert_close(draw(0, "init"), draw(0, "init"))
    assert not torch.equal(draw(0, "init"), draw(1, "init"))
    assert not torch.equal(draw(0, "init"), draw(0, "data"))
    assert not torch.equal(draw(0, "order", 0), draw(0, "order", 1))


def test_initial_params_depend_on_the_seed_only():
    model = RFLRConfig(width=8, rank=2, depth=2)
    a, b = RunConfig(model, seed=0), RunConfig(model, seed=1)
    pa, pb = initial_params(a, torch.float64), initial_params(b, torch.float64)
    torch.testing.assert_close(pa, initial_params(RunConfig(model, seed=0), torch.float64))
    assert any(not torch.equal(pa[k], pb[k]) for k in pa)


def test_samples_come_from_the_training_set_with_their_targets():
    cfg = RunConfig(RFLRConfig(width=8, rank=2, depth=2), train=TrainConfig(n_train=16))
    xs, fs = train_set(cfg)
    assert xs.shape == (16, 1) and xs.abs().max() <= cfg.target.domain
    torch.testing.assert_close(fs, target_values(cfg.target, xs))
    x, f = chunk_samples(cfg, 0, (xs, fs))
    assert x.shape == (CHUNK, cfg.train.batch_size, 1)
    assert set(x.flatten().tolist()) <= set(xs.flatten().tolist())
    torch.testing.assert_close(f, target_values(cfg.target, x))


@pytest.mark.parametrize("online", [False, True])
def test_a_chunk_drawn_a_few_steps_at_a_time_is_the_same_chunk(online):
    """What lets a large batch hold its samples a piece at a time: the order generator
    draws element by element, so pieces of any size give the numbers of one draw."""
    cfg = RunConfig(
        RFLRConfig(width=8, rank=2, depth=2, input_dim=2),
        train=TrainConfig(batch_size=7, online=online, n_train=1000),
    )
    whole = chunk_draws(cfg, 3)
    gen = generator(cfg.seed, "order", 3)
    pieces = [take_draws(cfg, gen, n) for n in (1, 2, 5, 16, 1000)]
    assert torch.equal(torch.cat(pieces), whole)
    x, f = samples(cfg, pieces[2], train_set(cfg))
    assert x.shape == (5, 7, 2) and f.shape == (5, 7)
    assert torch.equal(x, chunk_samples(cfg, 3)[0][3:8])
