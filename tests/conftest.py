"""Shared fixtures: tiny configs and hand-built networks."""

from __future__ import annotations

import pytest
import torch

from rflr.config import DenseConfig, RFLRConfig, RunConfig, TrainConfig

# The models under test are tiny: a second intra-op thread only adds synchronization, which
# is very costly on a busy 2-core machine (see rflr.trainer.auto_threads).
torch.set_num_threads(1)


@pytest.fixture
def tiny_rflr() -> RunConfig:
    return RunConfig(RFLRConfig(width=16, rank=2, depth=3), train=TrainConfig(steps=200, lr=0.02))


@pytest.fixture
def tiny_dense() -> RunConfig:
    return RunConfig(DenseConfig(width=16, depth=3), train=TrainConfig(steps=200, lr=0.02))


def mirror_paired_params(cfg: RFLRConfig | DenseConfig, seed: int = 0) -> dict[str, torch.Tensor]:
    """A network whose atoms come in exact mirror pairs (w, b) and (-w, b) with equal
    outgoing columns: every later layer is then an exactly even function of x."""
    from rflr.model import init_params

    p = init_params(cfg, torch.Generator().manual_seed(seed), torch.float64)
    half = cfg.width // 2
    p["atoms.weight"][half:] = -p["atoms.weight"][:half]
    p["atoms.bias"][half:] = p["atoms.bias"][:half]
    nxt = "bottleneck.1.down" if isinstance(cfg, RFLRConfig) else "hidden.1.weight"
    if cfg.depth == 1:
        nxt = "readout.weight"
    p[nxt][:, half:] = p[nxt][:, :half]
    return p
