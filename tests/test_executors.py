"""rflr.sweep.executors: a task trained on a Ray worker is bitwise the task trained here; a
failing task is retried once, then reported (never raised, never dropped)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from rflr.core.config import DenseConfig, RFLRConfig, RunConfig, TrainConfig
from rflr.sweep import executors, runner
from rflr.train.trainer import Job, TrainOptions


def _jobs(out: Path, snapshots: str = "final") -> list[Job]:
    train = TrainConfig(steps=200, lr=0.02)
    opts = TrainOptions(out=out, snapshots=snapshots, progress=False)
    return [
        Job(RunConfig(RFLRConfig(width=8, rank=1, depth=2), train=train), [0, 1, 2], opts),
        Job(RunConfig(DenseConfig(width=8, depth=2), train=train), [0, 1], opts),
    ]


def same_file(a: Path, b: Path) -> bool:
    """Every tensor bit for bit (raw bytes) and every metadata entry equal. (The files' bytes
    can differ: safetensors writes the metadata keys in a per-process hash order.)"""
    with safe_open(str(a), "pt") as fa, safe_open(str(b), "pt") as fb:
        if fa.metadata() != fb.metadata() or set(fa.keys()) != set(fb.keys()):
            return False
        return all(
            fa.get_tensor(k).view(torch.uint8).equal(fb.get_tensor(k).view(torch.uint8))
            for k in fa.keys()
        )


def _finals(out: Path) -> dict[str, Path]:
    return {p.relative_to(out).as_posix(): p for p in sorted(out.glob("*/step-*.safetensors"))}


# --- local: retry once, then failed ----------------------------------------------------------


def test_a_task_that_fails_once_is_retried(tmp_path, monkeypatch):
    calls = []
    real = executors.run_task

    def flaky(job, threads):
        calls.append(job.config.model.kind)
        if calls.count(job.config.model.kind) == 1 and job.config.model.kind == "dense":
            raise RuntimeError("worker lost")
        return real(job, threads)

    monkeypatch.setattr(executors, "run_task", flaky)
    df, timings = runner.run_sweep(_jobs(tmp_path), tmp_path, threads=1, progress=False)
    assert calls == ["rflr", "dense", "dense"]
    assert (df["status"] == "ok").all() and len(df) == 5
    assert [t["status"] for t in timings] == ["ok", "ok"]


def test_a_task_that_fails_twice_is_reported_failed_not_dropped(tmp_path, monkeypatch):
    calls = []
    real = executors.run_task

    def broken(job, threads):
        calls.append(job.config.model.kind)
        if job.config.model.kind == "dense":
            raise RuntimeError("out of memory\nsecond line")
        return real(job, threads)

    monkeypatch.setattr(executors, "run_task", broken)
    df, timings = runner.run_sweep(_jobs(tmp_path), tmp_path, threads=1, progress=False)
    assert calls == ["rflr", "dense", "dense"]
    assert len(df) == 5  # every run has its row
    dense = df[df["model"] == "dense"]
    assert (dense["status"] == "failed").all() and dense["checkpoint"].isna().all()
    assert dense["run_id"].tolist() == ["dense-w8-L2-even-s0", "dense-w8-L2-even-s1"]
    assert (df.loc[df["model"] == "rflr", "status"] == "ok").all()
    assert timings[1]["status"] == "failed" and timings[1]["error"] == "RuntimeError: second line"
    assert executors.one_line(ValueError("")) == "ValueError"


# --- Ray: the same bits from a worker ------------------------------------------------------------


@pytest.mark.ray
def test_a_run_trained_by_a_ray_worker_is_bitwise_the_local_run(tmp_path):
    pytest.importorskip("ray")
    here, there = tmp_path / "local", tmp_path / "ray"
    jobs_here = _jobs(here)
    bad = Job(jobs_here[0].config, [7], TrainOptions(out=there, snapshots="bogus"))
    # the same seed blocks both ways, so that only the executor differs: weights, metrics and
    # logged losses then agree bit for bit (a seed's bits no longer depend on the size of its
    # stack either: tests/test_stack.py)
    local, _ = runner.run_sweep(jobs_here, here, threads=1, progress=False, seeds_per_task=2)
    remote, timings = runner.run_sweep(
        [*_jobs(there), bad],
        there,
        threads=1,
        progress=False,
        executor=executors.RayExecutor(num_cpus=2),  # a local instance on 2 CPUs
        seeds_per_task=2,
    )
    assert len(timings) == 4  # rflr in blocks [0, 1], [2]; dense [0, 1]; the bad task
    a, b = _finals(here), _finals(there)
    assert set(a) <= set(b) and len(a) == 5
    assert all(same_file(a[k], b[k]) for k in a)
    cols = ["run_id", "test_mse", "headline_defect", "checkpoint"]
    assert remote[cols].iloc[:5].equals(local[cols])
    # a task that fails on the worker (bad options) is retried by Ray, then reported
    assert remote["status"].iloc[5] == "failed" and timings[3]["status"] == "failed"
    assert "bogus" in timings[3]["error"]


def test_same_file_can_fail(tmp_path):
    """The equality check above sees a one-bit change in a tensor."""
    from safetensors.torch import save_file

    x = torch.zeros(3)
    save_file({"w": x}, tmp_path / "a.safetensors", metadata={"k": "v"})
    y = x.clone()
    y.view(torch.int32)[1] = 1  # the smallest positive float32: a single bit
    save_file({"w": y}, tmp_path / "b.safetensors", metadata={"k": "v"})
    assert not same_file(tmp_path / "a.safetensors", tmp_path / "b.safetensors")
    assert same_file(tmp_path / "a.safetensors", tmp_path / "a.safetensors")


def test_make_executor():
    assert isinstance(executors.make_executor("local"), executors.LocalExecutor)
    ray_ex = executors.make_executor("ray", "auto")
    assert isinstance(ray_ex, executors.RayExecutor) and ray_ex._init_args()["address"] == "auto"
    with pytest.raises(ValueError):
        executors.make_executor("local", "auto")
    with pytest.raises(ValueError):
        executors.make_executor("slurm")
