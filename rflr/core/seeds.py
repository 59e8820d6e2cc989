"""Per-seed random streams: initialization, training data, sample order.

Every draw of seed k comes from generators derived from (k, stream, index) alone, so
seed k gives the same run whether it is trained alone or among 149 others, and a
resumed run regenerates exactly the samples it would have drawn. The sample order is
drawn in chunks of CHUNK steps, each chunk from its own generator: resuming at any
step needs no generator state, only the step.
"""

from __future__ import annotations

import numpy as np
import torch

from rflr.core.config import RunConfig
from rflr.core.model import init_params
from rflr.core.targets import target_values

CHUNK = 1024  # steps of samples drawn at once per seed
_STREAMS = {"init": 1, "data": 2, "order": 3, "monitor": 4}


def generator(seed: int, stream: str, index: int = 0) -> torch.Generator:
    """An independent torch generator for (seed, stream, index)."""
    state = np.random.SeedSequence([seed, _STREAMS[stream], index]).generate_state(1, np.uint64)
    return torch.Generator().manual_seed(int(state[0]) & (2**63 - 1))


def initial_params(cfg: RunConfig, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    return init_params(cfg.model, generator(cfg.seed, "init"), dtype)


def uniform_points(cfg: RunConfig, n: int, gen: torch.Generator) -> torch.Tensor:
    """n points i.i.d. uniform on [-A, A]^d, float64."""
    a = cfg.target.domain
    return (torch.rand(n, cfg.model.input_dim, generator=gen, dtype=torch.float64) * 2 - 1) * a


def train_set(cfg: RunConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The seed's training points x [n, d] and targets [n], float64, never symmetrized.

    With online training there is no fixed set; these points then only monitor the loss.
    """
    stream = "monitor" if cfg.train.online else "data"
    x = uniform_points(cfg, cfg.train.n_train, generator(cfg.seed, stream))
    return x, target_values(cfg.target, x)


def chunk_samples(
    cfg: RunConfig, chunk: int, train: tuple[torch.Tensor, torch.Tensor] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples for steps [chunk * CHUNK, (chunk + 1) * CHUNK): x [CHUNK, B, d], f [CHUNK, B].

    Fixed training set: indices drawn uniformly with replacement (SGD's usual sampling).
    Online: fresh points every step.
    """
    b = cfg.train.batch_size
    draw = chunk_draws(cfg, chunk)
    if cfg.train.online:
        x, f = draw, target_values(cfg.target, draw)
    else:
        xs, fs = train if train is not None else train_set(cfg)
        x, f = xs[draw], fs[draw]
    return x.view(CHUNK, b, -1), f.view(CHUNK, b)


def chunk_draws(cfg: RunConfig, chunk: int) -> torch.Tensor:
    """The random draws behind `chunk_samples`: indices into the training set [CHUNK * B]
    (int64), or online the points themselves [CHUNK * B, d] (float64). Kept apart so that
    thousands of seeds can gather their samples in one operation (rflr.train.steps)."""
    gen = generator(cfg.seed, "order", chunk)
    if cfg.train.online:
        return uniform_points(cfg, CHUNK * cfg.train.batch_size, gen)
    return torch.randint(cfg.train.n_train, (CHUNK * cfg.train.batch_size,), generator=gen)
