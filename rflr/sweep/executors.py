"""Where a sweep's tasks run: in this process (`local`) or on a Ray cluster (`ray`).

A task is one config trained for one block of seeds (a rflr.train.trainer.Job). `run_task` is a
pure function of it: the files it writes depend on the config, the seeds and the options,
never on the machine, the process or the order the tasks ran in (rflr.core.seeds derives every
draw from the seed alone). So a run trained by a Ray worker is bitwise the run trained
here (tests/test_executors.py checks it).

An executor runs tasks, retries a failed task once, and reports each one as it ends
(`on_done`). Ray is imported inside RayExecutor only: plain training never needs it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from rflr.core.config import RunConfig
from rflr.files.paths import PROJECT_ROOT
from rflr.train.trainer import Job, TrainOptions, train

EXECUTORS = ("local", "ray")
RETRIES = 1  # a failed task runs once more before the sweep reports it failed


@dataclass(frozen=True)
class Task:
    """One unit of work: a job (config x seed block) and the torch threads it trains with."""

    index: int
    job: Job
    threads: int


@dataclass
class Outcome:
    """How a task ended: its final files (one per seed, seed order) or its error."""

    index: int
    paths: list[Path] | None
    error: str | None = None
    wall_time_s: float = 0.0


def run_task(job: Job, threads: int) -> tuple[list[str], float]:
    """Train one task; its final files (as strings) and wall time. Pure in (config, seeds)."""
    t0 = time.perf_counter()
    torch.set_num_threads(threads)
    results = train(job.config, job.seeds, job.options)
    return [str(r.path) for r in results], time.perf_counter() - t0


def _run_remote(
    config: RunConfig, seeds: list[int], options: TrainOptions, threads: int
) -> tuple[list[str], float]:
    """A Ray task: run_task with the options Ray resolved from its object store."""
    return run_task(Job(config, seeds, options), threads)


def one_line(e: BaseException) -> str:
    """An error as one line for the summary and sweep.json (never a traceback)."""
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[-1] if text else ''}".rstrip(": ")


class LocalExecutor:
    """Tasks one after the other in this process; progress per block of steps."""

    name = "local"

    def run(
        self,
        tasks: list[Task],
        on_done: Callable[[Outcome], None],
        on_steps: Callable[[int, int], None] | None = None,
    ) -> None:
        for task in tasks:
            on_done(self._run_one(task, on_steps))

    def _run_one(self, task: Task, on_steps: Callable[[int, int], None] | None) -> Outcome:
        job = task.job
        if on_steps is not None:
            tell = lambda n, i=task.index: on_steps(i, n)  # noqa: E731
            job = replace(job, options=replace(job.options, on_steps=tell))
        error = ""
        for _ in range(1 + RETRIES):
            try:
                paths, wall = run_task(job, task.threads)
                return Outcome(task.index, [Path(p) for p in paths], None, wall)
            except Exception as e:  # any failure of a task is reported, never raised
                error = one_line(e)
        return Outcome(task.index, None, error)


class RayExecutor:
    """Tasks as Ray tasks (`@ray.remote`): a cluster at `address`, else a local instance.

    The shared options go to the object store once (`ray.put`); each task carries only its
    config and seeds. Ray schedules the tasks on the cluster's CPUs (each asks for as many
    CPUs as it has torch threads, and one GPU with --device cuda) and retries a failed one once (`max_retries`,
    `retry_exceptions`); `ray.wait` reports them as they finish. With no address Ray starts
    a local instance on this machine's cores (`num_cpus`: at most that many).
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None):
        self.address, self.num_cpus = address, num_cpus

    def run(
        self,
        tasks: list[Task],
        on_done: Callable[[Outcome], None],
        on_steps: Callable[[int, int], None] | None = None,
    ) -> None:
        import ray

        started = not ray.is_initialized()
        if started:
            ray.init(**self._init_args())
        try:
            remote = ray.remote(max_retries=RETRIES, retry_exceptions=True)(_run_remote)
            shared: list[tuple[object, object]] = []  # (options, object ref), one per distinct
            pending = {}
            for task in tasks:
                opts = replace(task.job.options, on_steps=None, progress=False)
                ref = next((r for o, r in shared if o == opts), None)
                if ref is None:
                    ref = ray.put(opts)
                    shared.append((opts, ref))
                gpus = 1 if opts.device == "cuda" else 0  # Ray places it on a GPU node
                call = remote.options(num_cpus=task.threads, num_gpus=gpus).remote(
                    task.job.config, task.job.seeds, ref, task.threads
                )
                pending[call] = task
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for call in ready:
                    task = pending.pop(call)
                    try:
                        paths, wall = ray.get(call)
                        on_done(Outcome(task.index, [Path(p) for p in paths], None, wall))
                    except (
                        Exception
                    ) as e:  # the task failed twice (RayTaskError) or its worker died
                        on_done(Outcome(task.index, None, one_line(getattr(e, "cause", None) or e)))
        finally:
            if started:
                ray.shutdown()

    def _init_args(self) -> dict:
        args: dict = {"include_dashboard": False, "log_to_driver": False}
        if self.address is not None:
            args["address"] = self.address
            return args
        if self.num_cpus is not None:
            args["num_cpus"] = self.num_cpus
        # a local instance's workers import rflr from this checkout, installed or not
        path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
        args["runtime_env"] = {"env_vars": {"PYTHONPATH": path}}
        return args


def make_executor(name: str, address: str | None = None, num_cpus: int | None = None):
    """`--executor NAME` -> an executor (`--ray-address`: 'auto', 'host:port' or None)."""
    if name == "local":
        if address is not None:
            raise ValueError("--ray-address needs --executor ray")
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(address, num_cpus)
    raise ValueError(f"unknown executor {name!r} (expected one of {EXECUTORS})")
