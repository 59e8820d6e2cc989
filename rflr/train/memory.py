"""What a seed block holds in memory while it trains on the CPU, and what to do when it is
too much.

Samples: a chunk of samples (rflr.core.seeds.CHUNK steps) for a large batch would not fit
(batch 1,000,000: 32 GB per seed), so the CPU runner draws it SAMPLE_BYTES at a time
(`piece_steps`), the same numbers as one draw.

The rest grows with the batch times the width (one step's activations), the parameters,
and the training set: `seed_bytes` estimates it per seed, CPU seed blocks narrow so that
their estimate fits `budget()` (a share of this machine's memory; the seeds' numbers do not
depend on the block), and a run whose one seed does not fit is refused before any work
(`check_fits`), in one line, instead of being killed by the kernel half way.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from rflr.core import seeds as seedlib
from rflr.core.config import RunConfig
from rflr.core.model import param_shapes

SAMPLE_BYTES = 256 << 20  # samples held at once by one CPU seed block
MEMORY_SHARE = 0.75  # of this machine's memory, for one seed block's estimate
RESERVED_BYTES = 1 << 30  # Python, torch, the evaluation grids and metrics: not per seed
EVAL_POINTS = 512  # points per seed in one evaluation product (rflr.train.stack.mse)


class MemoryBudgetError(Exception):
    """One seed of this run needs more memory than this machine has: a one-line reason."""


def sample_bytes(cfg: RunConfig) -> int:
    """Bytes one sample costs while its chunk piece is held: the draw, x and f in float64,
    and their stacked copies in the training dtype."""
    d, e = cfg.model.input_dim, _dtype_bytes(cfg)
    return 8 * d + 8 * (d + 1) + 2 * e * (d + 1)


def piece_steps(cfg: RunConfig, n_seeds: int) -> int:
    """Steps of samples the CPU runner draws at once for `n_seeds` stacked seeds: the whole
    chunk when it fits in SAMPLE_BYTES (one seed: batches up to 6,553; 149 seeds: up to 43),
    else the largest power of two that does, at least one step."""
    per_step = max(n_seeds, 1) * cfg.train.batch_size * sample_bytes(cfg)
    k = seedlib.CHUNK
    while k > 1 and k * per_step > SAMPLE_BYTES:
        k //= 2
    return k


def seed_bytes(cfg: RunConfig) -> int:
    """Rough bytes one seed adds to its block, on the high side: one step's (or one
    evaluation chunk's) activations and gradients, twice (a lone seed runs as two,
    rflr.train.stack._seedwise); its parameters about 12 times (gradient, Adam's two
    buffers, the last finite copy, host and file copies, the metrics' network: measured
    with dense width 2048); its training set (float64, held per seed and stacked)."""
    m, e = cfg.model, _dtype_bytes(cfg)
    rows = max(cfg.train.batch_size, EVAL_POINTS)
    r = m.rank_or_none or m.width
    acts = 2 * rows * (m.width * (m.depth + 3) + r * m.depth + m.input_dim + 2) * e
    params = sum(math.prod(s) for s in param_shapes(m).values()) * 12 * e
    train = 2 * cfg.train.n_train * (m.input_dim + 1) * 8
    return acts + params + train


def budget() -> int:
    """Bytes one seed block may use: MEMORY_SHARE of this machine's memory (or of the
    container's limit, when it has a lower one), less RESERVED_BYTES."""
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()  # "max" if none
    except OSError:
        limit = ""
    if limit.isdigit():
        total = min(total, int(limit))
    return int(total * MEMORY_SHARE) - RESERVED_BYTES


def fitting_seeds(cfg: RunConfig) -> int:
    """How many seeds of `cfg` one CPU block may stack (at least one)."""
    return max(1, budget() // seed_bytes(cfg))


def check_fits(cfg: RunConfig) -> None:
    """MemoryBudgetError when one seed of `cfg` alone exceeds the budget."""
    need, have = seed_bytes(cfg), budget()
    if need > have:
        m = cfg.model
        raise MemoryBudgetError(
            f"one seed needs about {need / 2**30:.1f} GiB (batch {cfg.train.batch_size}, "
            f"width {m.width}, depth {m.depth}, n_train {cfg.train.n_train}); this machine "
            f"allows {max(have, 0) / 2**30:.1f} GiB: use a smaller batch, width or training set"
        )


def _dtype_bytes(cfg: RunConfig) -> int:
    return 8 if cfg.train.dtype == "float64" else 4
