"""What a seed block holds in memory while it trains on the CPU.

Samples: a chunk of samples (rflr.core.seeds.CHUNK steps) for a large batch would not fit
(batch 1,000,000: 32 GB per seed), so the CPU runner draws it SAMPLE_BYTES at a time
(`piece_steps`), the same numbers as one draw.
"""

from __future__ import annotations

from rflr.core import seeds as seedlib
from rflr.core.config import RunConfig

SAMPLE_BYTES = 256 << 20  # samples held at once by one CPU seed block


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


def _dtype_bytes(cfg: RunConfig) -> int:
    return 8 if cfg.train.dtype == "float64" else 4
