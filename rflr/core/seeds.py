"""Per-seed random streams: initialization, training data, sample order.

Every draw of seed k comes from generators derived from (k, stream, index) alone, so
seed k gives the same run whether it is trained alone or among 149 others, and a
resumed run regenerates exactly the samples it would have drawn. The sample order is
drawn in chunks of CHUNK steps, each chunk from its own generator: resuming at any
step needs no generator state, only the step. A chunk may also be drawn a few steps at
a time (`take_draws`: the generator draws element by element, in order), which is how
large batches keep their samples in bounded memory.
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
    return samples(cfg, chunk_draws(cfg, chunk), train)


def samples(
    cfg: RunConfig, draw: torch.Tensor, train: tuple[torch.Tensor, torch.Tensor] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The samples of draws for T steps (`take_draws`): x [T, B, d], f [T, B]."""
    b = cfg.train.batch_size
    if cfg.train.online:
        x, f = draw, target_values(cfg.target, draw)
    else:
        xs, fs = train if train is not None else train_set(cfg)
        x, f = xs[draw], fs[draw]
    return x.view(-1, b, x.shape[-1]), f.view(-1, b)


def chunk_draws(cfg: RunConfig, chunk: int) -> torch.Tensor:
    """The random draws behind `chunk_samples`: indices into the training set [CHUNK * B]
    (int64), or online the points themselves [CHUNK * B, d] (float64). Kept apart so that
    thousands of seeds can gather their samples in one operation (rflr.train.steps)."""
    return take_draws(cfg, generator(cfg.seed, "order", chunk), CHUNK)


def take_draws(cfg: RunConfig, gen: torch.Generator, steps: int) -> torch.Tensor:
    """The draws of the next `steps` steps from a chunk's order generator `gen`. Taking a
    chunk's steps a few at a time gives the numbers of `chunk_draws`, bit for bit."""
    n = steps * cfg.train.batch_size
    if cfg.train.online:
        return uniform_points(cfg, n, gen)
    return torch.randint(cfg.train.n_train, (n,), generator=gen)
