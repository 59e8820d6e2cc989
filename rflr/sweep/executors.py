"""Where a sweep's tasks run: in this process (`local`) or on a Ray cluster (`ray`).

A task is one config trained for one block of seeds (a rflr.train.trainer.Job). `run_task` is a
pure function of it: the files it writes depend on the config, the seeds and the options,
never on the machine, the process or the order the tasks ran in (rflr.core.seeds derives every
draw from the seed alone). So a run trained by a Ray worker is bitwise the run trained
here (tests/test_executors.py checks it).

An executor runs tasks, retries a failed task once, and reports each one as it ends
(`on_done`): the Executor protocol. Each engine is one class in EXECUTORS, with its name,
a few words for --executor's help, and its own command-line flags (EngineFlag), which it
reads itself (`from_flags`); the command line adds those flags and refuses one given with
another engine. A new engine (Dask, SLURM) is one class here. Ray is imported inside
RayExecutor.run only: plain training never needs it.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Protocol

import torch

from rflr.core.config import RunConfig
from rflr.files.paths import PROJECT_ROOT
from rflr.train.trainer import Job, TrainOptions, train

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


def one_line(e: BaseException, typed: bool = True) -> str:
    """An error as one line, never a traceback: an OSError as "FILE: reason" (no errno, no
    quotes), any other its message's last line (where a wrapped error puts its cause).
    `typed`: the exception's name first, as the summary and sweep.json record a failed task;
    without it (a command's error line) a message-less error is its name alone."""
    if isinstance(e, OSError) and e.strerror:
        text = f"{e.filename}: {e.strerror}" if e.filename else e.strerror
    else:
        lines = str(e).strip().splitlines()
        text = lines[-1] if lines else ""
    if not typed:
        return text or type(e).__name__
    return f"{type(e).__name__}: {text}".rstrip(": ")


@dataclass(frozen=True)
class EngineFlag:
    """A command-line flag that only one engine reads (its value: None when not given)."""

    flag: str  # e.g. "--ray-address"
    help: str

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


class Executor(Protocol):
    """Runs a sweep's tasks: each retried once on failure, each reported to `on_done` as
    it ends (in any order), the seed-steps done told to `on_steps(task index, n)` where the
    engine can."""

    name: ClassVar[str]  # the --executor value
    about: ClassVar[str]  # a few words for --executor's help
    flags: ClassVar[tuple[EngineFlag, ...]]  # its own flags

    @classmethod
    def from_flags(cls, values: Mapping[str, Any]) -> Executor:
        """The executor its flags ask for (`values`: every flag by dest)."""
        ...

    def run(
        self,
        tasks: list[Task],
        on_done: Callable[[Outcome], None],
        on_steps: Callable[[int, int], None] | None = None,
    ) -> None: ...


class LocalExecutor:
    """Tasks one after the other in this process; progress per block of steps."""

    name = "local"
    about = "this process"
    flags: tuple[EngineFlag, ...] = ()

    @classmethod
    def from_flags(cls, values: Mapping[str, Any]) -> LocalExecutor:
        return cls()

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
    about = "a Ray cluster"
    flags = (
        EngineFlag(
            "--ray-address",
            "--executor ray: 'auto' or host:port of a running cluster (default: start a "
            "local Ray instance on this machine's cores)",
        ),
    )

    def __init__(self, address: str | None = None, num_cpus: int | None = None):
        self.address, self.num_cpus = address, num_cpus

    @classmethod
    def from_flags(cls, values: Mapping[str, Any]) -> RayExecutor:
        return cls(values.get("ray_address"))

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


# Every engine, by its --executor name: the first is the default.
EXECUTORS: dict[str, type[Executor]] = {e.name: e for e in (LocalExecutor, RayExecutor)}


def engine(name: str) -> type[Executor]:
    """The engine called `name`; ValueError if there is none."""
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r} (expected one of {tuple(EXECUTORS)})")
    return EXECUTORS[name]


def engine_flags() -> dict[str, EngineFlag]:
    """Every engine's own flags, by dest: what a grid spec may neither sweep nor fix."""
    return {f.dest: f for e in EXECUTORS.values() for f in e.flags}


def executor_from_flags(name: str, values: Mapping[str, Any]) -> Executor:
    """`--executor NAME` and the engines' flags (`values` by dest) -> an executor; a flag of
    another engine is a ValueError ("--ray-address needs --executor ray")."""
    chosen = engine(name)
    for other in EXECUTORS.values():
        for f in other.flags if other is not chosen else ():
            if values.get(f.dest) is not None:
                raise ValueError(f"{f.flag} needs --executor {other.name}")
    return chosen.from_flags(values)


def make_executor(name: str, *args: Any, **kwargs: Any) -> Executor:
    """From Python: the engine called `name`, built with its own arguments (e.g.
    make_executor("ray", "auto")); ValueError for an unknown name or arguments it lacks."""
    cls = engine(name)
    try:
        inspect.signature(cls).bind(*args, **kwargs)
    except TypeError as e:
        raise ValueError(f"executor {name}: {e}") from None
    return cls(*args, **kwargs)
