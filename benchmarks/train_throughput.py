"""Seed-steps per second: the batched many-seed trainer against a plain one-seed loop.

Both are measured in the same run, interleaved, with the same model and config
(RF-LR N=256, r=2, L=4 and the dense control, batch size one, SGD), because these
machines are noisy; each side gets its best thread count. The baseline is what a
user would write: one nn.Module (rflr.core.model), autograd, torch.optim.SGD.

    python benchmarks/train_throughput.py            # 149 seeds, both models
    python benchmarks/train_throughput.py --quick    # fewer steps (CI smoke)

The last line is `speedup: <number>x` for RF-LR.

With --device, it measures the trainer's own step runner (rflr.train.steps: CUDA graphs on a
GPU) for 149, 1,000 and 10,000 stacked seeds of RF-LR N=128, r=1, L=4 and the dense
N=128, L=4 control, and the same run's CPU figure (the stack the CPU trainer would use):

    python benchmarks/train_throughput.py --device cuda
    python benchmarks/train_throughput.py --device cpu --sizes 149,300 --steps 128  # smoke

Per size it prints: seed-steps/s end to end (per-seed CPU draws of the sample chunks
included, overlapped with the GPU), with the samples already on the device ("compute"),
the CPU time to draw one chunk of 1024 steps for all seeds, and the ratio to the CPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import traceback
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install

from rflr.core import seeds as seedlib
from rflr.core.config import DenseConfig, RFLRConfig, RunConfig, TrainConfig
from rflr.core.model import build
from rflr.train.stack import SeedStack
from rflr.train.steps import draw_chunk, make_runner, resolve_device
from rflr.train.trainer import seed_block_size


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


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def runner_throughput(
    cfg: RunConfig, n_seeds: int, device: str, compute_steps: int, steps: int
) -> dict:
    """The trainer's runner on `device`: seed-steps/s over `compute_steps` updates with the
    sample chunk already loaded ("compute"); then end to end over `steps` updates (runs of
    64 crossing sample chunks, so the per-seed draws are included; skipped if 0); and the
    CPU time of drawing one chunk for every seed."""
    cfgs = {s: replace(cfg, seed=s, run_id="") for s in range(n_seeds)}
    seeds = list(cfgs)
    stack = SeedStack(
        cfg, [seedlib.initial_params(cfgs[s], torch.float32) for s in seeds], torch.float32, device
    )
    runner = make_runner(stack, cfgs, seeds, {s: seedlib.train_set(cfgs[s]) for s in seeds})
    for a, b in ((0, 64), (64, 72), (72, 73), (73, 128)):  # loads chunk 0, captures the graphs
        runner.run(a, b)
    _sync(device)
    t = time.perf_counter()
    for a in range(128, 128 + compute_steps, 64):
        runner.run(a, a + 64)
    _sync(device)
    out = {"compute": n_seeds * compute_steps / (time.perf_counter() - t)}
    if steps:
        t = time.perf_counter()
        for a in range(1024, 1024 + steps, 64):
            runner.run(a, a + 64)
        _sync(device)
        out["end_to_end"] = n_seeds * steps / (time.perf_counter() - t)
    draws = torch.empty(n_seeds, seedlib.CHUNK * cfg.train.batch_size, dtype=torch.long)
    t = time.perf_counter()
    draw_chunk(cfgs, seeds, 7, draws)
    out["draw_s"] = time.perf_counter() - t
    return out


def device_main(args) -> None:
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    print(f"device: {device} ({name}), torch {torch.__version__}", flush=True)
    train = TrainConfig(lr=0.005, batch_size=1)
    models = {
        "rflr N=128 r=1 L=4": RunConfig(RFLRConfig(width=128, rank=1, depth=4), train=train),
        "dense N=128 L=4": RunConfig(DenseConfig(width=128, depth=4), train=train),
    }
    sizes = [int(s) for s in args.sizes.split(",")]
    goal = None
    for name, cfg in models.items():
        threads = 1 if cfg.model.kind == "rflr" else 2  # as the CPU trainer picks them
        for n in sizes:
            torch.set_num_threads(threads)
            try:
                r = runner_throughput(cfg, n, device, 896, args.steps)
            except Exception:  # report and go on: one run on a GPU should say everything
                print(f"{name} | seeds {n:6d} | FAILED", flush=True)
                traceback.print_exc()
                continue
            line = (
                f"{name} | seeds {n:6d} | {device} {r['end_to_end']:10.3e} seed-steps/s "
                f"(compute {r['compute']:.3e}) | draws {r['draw_s']:.3f} s/chunk "
                f"(alone {n * seedlib.CHUNK / r['draw_s']:.2e} seed-steps/s)"
            )
            if device == "cuda" and not args.no_cpu:
                # The CPU trainer's own stack: all RF-LR seeds, cache-sized dense blocks.
                block = seed_block_size(cfg, n, "cpu")
                cpu = runner_throughput(cfg, block, "cpu", 64, 0)
                ratio = r["end_to_end"] / cpu["compute"]
                line += f" | cpu x{block} ({threads} thr) {cpu['compute']:.3e} -> {ratio:.1f}x"
            print(line, flush=True)
            if n == max(sizes) and cfg.model.kind == "rflr":
                goal = r["end_to_end"]
    if goal is not None:
        print(f"rflr N=128 r=1 L=4 with {max(sizes)} seeds: {goal / 1e6:.2f} M seed-steps/s")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--seeds", type=int, default=149)
    p.add_argument(
        "--repeats", type=int, default=3, help="interleaved repeats; the median is reported"
    )
    p.add_argument("--quick", action="store_true", help="fewer steps per measurement")
    p.add_argument(
        "--device",
        choices=["cpu", "cuda", "auto"],
        default=None,
        help="measure the trainer's runner on this device at --sizes stacked seeds instead",
    )
    p.add_argument("--sizes", default="149,1000,10000", help="with --device: stacked seeds")
    p.add_argument(
        "--steps", type=int, default=2048, help="with --device: timed updates (multiple of 64)"
    )
    p.add_argument("--no-cpu", action="store_true", help="with --device cuda: skip the CPU figure")
    args = p.parse_args()
    if args.device is not None:
        if args.steps < 64 or args.steps % 64:
            p.error("--steps must be a positive multiple of 64")
        try:
            device_main(args)
        except ValueError as e:
            p.error(str(e))
        return
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
