"""Seed-steps per second: the batched many-seed trainer against a plain one-seed loop.

Both are measured in the same run, interleaved, with the same model and config
(RF-LR N=256, r=2, L=4 and the dense control, batch size one, SGD), because these
machines are noisy; each side gets its best thread count. The baseline is what a
user would write: one nn.Module (rflr.model), autograd, torch.optim.SGD.

    python benchmarks/train_throughput.py            # 149 seeds, both models
    python benchmarks/train_throughput.py --quick    # fewer steps (CI smoke)

The last line is `speedup: <number>x` for RF-LR.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install

from rflr import seeds as seedlib
from rflr.config import DenseConfig, RFLRConfig, RunConfig, TrainConfig
from rflr.model import build
from rflr.stack import SeedStack
from rflr.trainer import seed_block_size


def plain_loop(cfg: RunConfig, steps: int) -> float:
    """Seed-steps/s of the eager one-seed loop."""
    model = build(cfg.model, seedlib.initial_params(cfg, torch.float32))
    opt = torch.optim.SGD(model.parameters(), lr=cfg.train.lr)
    x, f = seedlib.chunk_samples(cfg, 0)
    x, f = x.float(), f.float()

    def step(i: int) -> None:
        opt.zero_grad(set_to_none=True)
        loss = ((model(x[i % len(x)]) - f[i % len(x)]) ** 2).mean()
        loss.backward()
        opt.step()

    for i in range(50):
        step(i)
    t = time.perf_counter()
    for i in range(steps):
        step(i)
    return steps / (time.perf_counter() - t)


def batched(cfg: RunConfig, n_seeds: int, steps: int) -> float:
    """Seed-steps/s of SeedStack over n_seeds seeds."""
    cfgs = [replace(cfg, seed=s, run_id="") for s in range(n_seeds)]
    stack = SeedStack(cfg, [seedlib.initial_params(c, torch.float32) for c in cfgs], torch.float32)
    xs, fs = zip(*(seedlib.chunk_samples(c, 0) for c in cfgs), strict=True)
    x = torch.stack(xs, 1).float().contiguous()  # [CHUNK, S, 1, 1]
    f = torch.stack(fs, 1).unsqueeze(-1).float().contiguous()
    for i in range(20):
        stack.step(x[i], f[i], cfg.train.lr)
    t = time.perf_counter()
    for i in range(steps):
        stack.step(x[i % len(x)], f[i % len(x)], cfg.train.lr)
    return n_seeds * steps / (time.perf_counter() - t)


def best_over_threads(fn, *args) -> tuple[float, int]:
    results = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        results[threads] = fn(*args)
    threads = max(results, key=results.get)
    return results[threads], threads


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--seeds", type=int, default=149)
    p.add_argument(
        "--repeats", type=int, default=3, help="interleaved repeats; the median is reported"
    )
    p.add_argument("--quick", action="store_true", help="fewer steps per measurement")
    args = p.parse_args()
    scale = 0.2 if args.quick else 1.0
    train = TrainConfig(lr=0.005, batch_size=1)
    models = {
        "rflr": RunConfig(RFLRConfig(width=256, rank=2, depth=4), train=train),
        "dense": RunConfig(DenseConfig(width=256, depth=4), train=train),
    }
    speedups = {}
    for name, cfg in models.items():
        base_steps = int(2000 * scale)
        # The trainer stacks dense seeds in cache-sized blocks trained one after another,
        # so a block's throughput is the whole sweep's.
        block = seed_block_size(cfg, args.seeds)
        batch_steps = int(400 * scale)
        base, fast = [], []
        for _ in range(args.repeats):
            b, bt = best_over_threads(plain_loop, cfg, base_steps)
            s, st = best_over_threads(batched, cfg, block, batch_steps)
            base.append(b)
            fast.append(s)
            print(
                f"{name}: plain loop {b:9.0f} seed-steps/s ({bt} thr) | batched x{block} {s:9.0f} seed-steps/s ({st} thr)",
                flush=True,
            )
        b, s = statistics.median(base), statistics.median(fast)
        speedups[name] = s / b
        print(f"{name}: median plain {b:.0f}, batched {s:.0f} seed-steps/s -> {s / b:.1f}x")
    print(f"dense speedup: {speedups['dense']:.1f}x")
    print(f"speedup: {speedups['rflr']:.1f}x")


if __name__ == "__main__":
    main()
