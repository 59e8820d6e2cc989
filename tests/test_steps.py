"""Step runners: the CPU loop, the CUDA-graph runner (eagerly on CPU; captured on a GPU).

The CUDA tests skip without a GPU; benchmarks/gpu_check.sh runs them where one exists.
"""

from dataclasses import replace

import pytest
import torch
from test_trainer import CASES, reference_run

from rflr.core import seeds as seedlib
from rflr.core.config import DenseConfig, RFLRConfig, RunConfig, TrainConfig
from rflr.files.checkpoint import load
from rflr.train.stack import SeedStack
from rflr.train.steps import GraphRunner, LoopRunner, make_runner, resolve_device, stacked_chunk
from rflr.train.trainer import TrainOptions, seed_block_size, train

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

# Runs of updates as the trainer cuts them (check points, progress marks), crossing a chunk.
SEGMENTS = [0, 1, 2, 3, 10, 64, 77, 128, 500, 512, 1000, 1024, 1030, 1088, 1100]


def make(cfg: RunConfig, seeds: list[int], device="cpu", runner=None):
    dtype = getattr(torch, cfg.train.dtype)
    cfgs = {s: replace(cfg, seed=s, run_id="") for s in seeds}
    stack = SeedStack(cfg, [seedlib.initial_params(cfgs[s], dtype) for s in seeds], dtype, device)
    sets = {s: seedlib.train_set(cfgs[s]) for s in seeds}
    return stack, (runner or make_runner)(stack, cfgs, list(seeds), sets)


def run_segments(runner, segments=SEGMENTS):
    for a, b in zip(segments, segments[1:], strict=False):
        runner.run(a, b)


def test_resolve_device():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="--device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")


def test_seed_block_on_gpu_is_a_memory_cap_not_a_cache_block():
    dense = RunConfig(DenseConfig(width=128, depth=4))
    assert seed_block_size(dense, 10_000) < 100  # CPU: cache-sized blocks
    assert seed_block_size(dense, 10_000, "cuda") == 10_000
    assert seed_block_size(RunConfig(RFLRConfig(width=128, rank=1)), 10_000, "cuda") == 10_000
    assert seed_block_size(RunConfig(DenseConfig(width=8192, depth=8)), 10_000, "cuda") < 10_000


def test_seed_block_on_cpu_fits_in_this_machines_memory(monkeypatch):
    from rflr.train import memory

    big = RunConfig(RFLRConfig(width=128, rank=1), train=TrainConfig(batch_size=100_000))
    monkeypatch.setattr(memory, "budget", lambda: 200 * memory.seed_bytes(big))
    assert seed_block_size(big, 150) == 150  # all RF-LR seeds at once, while they fit
    monkeypatch.setattr(memory, "budget", lambda: 10 * memory.seed_bytes(big))
    assert seed_block_size(big, 150) == 10
    assert seed_block_size(RunConfig(DenseConfig(width=128, depth=4)), 150) < 100  # cache
    assert seed_block_size(big, 150, "cuda") == 150  # a GPU's blocks: its own cap


@pytest.mark.parametrize("name", ["rflr-sgd", "rflr-adam-batch3"])
def test_loop_runner_in_runs_equals_the_plain_loop(name):
    """The CPU runner, cut into runs as the trainer cuts it, against autograd + torch.optim."""
    cfg = replace(CASES[name], train=replace(CASES[name].train, dtype="float64"))
    stack, runner = make(cfg, [0, 1])
    assert isinstance(runner, LoopRunner)
    run_segments(runner)
    for i in range(2):
        ref = reference_run(replace(cfg, seed=i, run_id=""), 1100)
        for k, v in stack.seed_params(i).items():
            torch.testing.assert_close(v, ref[k], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("online", [False, True])
def test_loop_runner_holding_a_few_steps_of_samples_takes_the_same_steps(online, monkeypatch):
    """A large batch's samples are held a piece of a chunk at a time (rflr.train.memory):
    the same updates, bit for bit, also when a run starts mid-chunk (a resume)."""
    from rflr.train import memory

    cfg = RunConfig(
        RFLRConfig(width=8, rank=2, depth=2),
        train=TrainConfig(batch_size=5, online=online, steps=1100),
    )
    whole, r1 = make(cfg, [3, 1])
    run_segments(r1)
    sample = 2 * 5 * memory.sample_bytes(cfg)  # one step of both seeds
    monkeypatch.setattr(memory, "SAMPLE_BYTES", 16 * sample)
    pieces, r2 = make(cfg, [3, 1])
    assert r2.piece == 16
    run_segments(r2, SEGMENTS[:7])  # to step 77, then as a resume at step 77 would
    resumed = LoopRunner(pieces, r2.cfgs, r2.active, r2.train_sets)
    run_segments(resumed, SEGMENTS[6:])
    assert torch.equal(pieces.flat, whole.flat)


@pytest.mark.parametrize("online", [False, True])
def test_gathered_samples_equal_per_seed_samples(online):
    """One gather over every seed's draws gives each seed exactly its own samples."""
    cfg = RunConfig(
        RFLRConfig(width=8, rank=1, depth=2, input_dim=2),
        train=TrainConfig(batch_size=3, online=online, n_train=50),
    )
    stack, runner = make(cfg, [4, 0, 9], runner=GraphRunner)
    runner.load(1, 1024)
    sets = {s: seedlib.train_set(replace(cfg, seed=s, run_id="")) for s in [4, 0, 9]}
    cfgs = {s: replace(cfg, seed=s, run_id="") for s in [4, 0, 9]}
    x, f = stacked_chunk(cfgs, [4, 0, 9], 1, sets, torch.float32)
    assert torch.equal(runner.xs, x)
    if online:  # the target is evaluated on all seeds' points at once
        torch.testing.assert_close(runner.fs, f, rtol=0, atol=1e-6)
    else:
        assert torch.equal(runner.fs, f)


@pytest.mark.parametrize("name", ["rflr-sgd", "dense-sgd", "rflr-adam-batch3", "depth1-d2"])
def test_graph_runner_eagerly_equals_loop_runner(name):
    """Everything the CUDA runner does but the capture: device-held step index, per-step
    numbers from a table (lr schedule, Adam's bias corrections), gathered samples."""
    cfg = replace(CASES[name], train=replace(CASES[name].train, dtype="float64"))
    loop, r1 = make(cfg, [0, 1, 2])
    run_segments(r1)
    graph, r2 = make(cfg, [0, 1, 2], runner=lambda *a: GraphRunner(*a, graphs=False))
    run_segments(r2)
    assert graph.adam_t == loop.adam_t
    torch.testing.assert_close(graph.flat, loop.flat, rtol=1e-12, atol=1e-12)


def test_trainer_with_the_graph_runner_eagerly(tmp_path, monkeypatch):
    """The trainer's side of the CUDA path on CPU: runs cut at check points, a diverged
    seed leaving the stack (a new runner), resume from a killed run."""
    import rflr.train.trainer

    original = seedlib.initial_params

    def blow_up_seed_1(c, dtype):
        p = original(c, dtype)
        return {k: v * 1e4 for k, v in p.items()} if c.seed == 1 else p

    monkeypatch.setattr(seedlib, "initial_params", blow_up_seed_1)
    cfg = RunConfig(
        RFLRConfig(width=16, rank=2, depth=3),
        train=TrainConfig(lr=0.05, steps=2100),  # float32: seed 1 overflows soon
    )
    ref = train(cfg, [0, 1, 2], TrainOptions(out=tmp_path / "loop", progress=False))
    monkeypatch.setattr(rflr.train.trainer, "make_runner", lambda *a: GraphRunner(*a, graphs=False))
    opts = TrainOptions(out=tmp_path / "graph", progress=False, stop_after=1500)
    train(cfg, [0, 1, 2], opts)
    got = train(cfg, [0, 1, 2], replace(opts, stop_after=None, resume=True))
    assert [r.status for r in got] == [r.status for r in ref] == ["ok", "diverged", "ok"]
    for a, b in zip(ref, got, strict=True):
        ca, cb = load(a.path), load(b.path)
        assert ca.step == cb.step
        for k in ca.params:
            torch.testing.assert_close(cb.params[k], ca.params[k], rtol=1e-4, atol=1e-5)


# --- on a GPU -----------------------------------------------------------------------------


def _train_both(tmp_path, cfg, seeds, **kw):
    out = {}
    for dev in ("cpu", "cuda"):
        opts = TrainOptions(out=tmp_path / dev, progress=False, device=dev, **kw)
        out[dev] = train(cfg, seeds, opts)
    return out


@cuda
@pytest.mark.parametrize("name", list(CASES))
def test_cuda_training_matches_cpu_float64(tmp_path, name):
    cfg = replace(CASES[name], train=replace(CASES[name].train, dtype="float64"))
    res = _train_both(tmp_path, cfg, [0, 1, 2], snapshots="log")
    for a, b in zip(res["cpu"], res["cuda"], strict=True):
        ca, cb = load(a.path), load(b.path)
        assert ca.step == cb.step == cfg.train.steps and cb.status == "ok"
        for k in ca.params:
            assert cb.params[k].device.type == "cpu"
            torch.testing.assert_close(cb.params[k], ca.params[k], rtol=1e-9, atol=1e-9)
        assert ca.history["step"] == cb.history["step"]
        torch.testing.assert_close(
            torch.tensor(cb.history["train_loss"]),
            torch.tensor(ca.history["train_loss"]),
            rtol=1e-7,
            atol=1e-12,
        )


@cuda
def test_cuda_float32_many_seeds_matches_cpu_loosely(tmp_path):
    cfg = RunConfig(RFLRConfig(width=32, rank=1, depth=4), train=TrainConfig(lr=0.02, steps=1200))
    res = _train_both(tmp_path, cfg, list(range(200)), snapshots="final")
    close = 0
    for a, b in zip(res["cpu"], res["cuda"], strict=True):
        pa, pb = load(a.path).params, load(b.path).params
        close += all(torch.allclose(pa[k], pb[k], rtol=1e-3, atol=1e-4) for k in pa)
    assert close >= 0.95 * 200  # float32 rounding differs; a rare seed may drift further


@cuda
def test_cuda_runner_never_waits_for_the_gpu():
    """Between check points (here: 1100 updates crossing a chunk) nothing synchronizes."""
    cfg = replace(
        CASES["rflr-adam-batch3"], train=replace(CASES["rflr-adam-batch3"].train, dtype="float64")
    )
    stack, runner = make(cfg, list(range(20)), device="cuda")
    assert isinstance(runner, GraphRunner)
    run_segments(runner, [0, 64, 72, 73])  # captures the 64-, 8- and 1-step graphs
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        run_segments(runner, [73, 128, 130, 1024, 1100])
    finally:
        torch.cuda.set_sync_debug_mode("default")
    cpu, r = make(cfg, list(range(20)))
    run_segments(r, [0, 64, 1024, 1100])
    torch.testing.assert_close(stack.flat.cpu(), cpu.flat, rtol=1e-9, atol=1e-9)


@cuda
def test_cuda_resume_and_divergence(tmp_path, monkeypatch):
    cfg = RunConfig(
        RFLRConfig(width=16, rank=2, depth=3),
        train=TrainConfig(
            optimizer="adam", lr=3e-3, steps=2500, schedule="cosine", dtype="float64"
        ),
    )
    full = train(cfg, [0, 1, 2], TrainOptions(out=tmp_path / "full", progress=False, device="cuda"))
    opts = TrainOptions(out=tmp_path / "k", progress=False, stop_after=1700, device="cuda")
    train(cfg, [0, 1, 2], opts)
    resumed = train(cfg, [0, 1, 2], replace(opts, stop_after=None, resume=True))
    for a, b in zip(full, resumed, strict=True):
        pa, pb = load(a.path).params, load(b.path).params
        for k in pa:
            torch.testing.assert_close(pa[k], pb[k], rtol=1e-12, atol=1e-12)

    original = seedlib.initial_params

    def blow_up_seed_1(c, dtype):
        p = original(c, dtype)
        return {k: v * 1e4 for k, v in p.items()} if c.seed == 1 else p

    monkeypatch.setattr(seedlib, "initial_params", blow_up_seed_1)
    cfg = RunConfig(
        RFLRConfig(width=16, rank=2, depth=3),
        train=TrainConfig(lr=0.05, steps=3000, schedule="constant"),
    )
    res = {
        r.seed: r
        for r in train(
            cfg, [0, 1, 2], TrainOptions(out=tmp_path / "d", progress=False, device="cuda")
        )
    }
    assert res[1].status == "diverged" and res[0].status == res[2].status == "ok"
    assert load(res[1].path).step < 3000 and load(res[0].path).step == 3000
