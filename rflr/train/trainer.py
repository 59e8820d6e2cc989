"""Train many seeds of one configuration at once and write their checkpoints.

The loop, per step t (0-based, the update that takes step t to t + 1):

    lr = schedule(t); each seed takes its own sample(s) for step t; one batched update.

Around it: the loss is logged at log-spaced steps (train-set MSE and test MSE on a
symmetric grid), snapshots are written at log-spaced steps and at the end, a seed
whose loss turns NaN/Inf is taken out of the stack and saved as "diverged" (with its
last finite parameters), and a resume file is kept so that a killed run can go on.
"""

from __future__ import annotations

import bisect
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_bytes

from rflr.core import seeds as seedlib
from rflr.core.config import RunConfig, json_safe
from rflr.core.model import TORCH_DTYPES
from rflr.core.targets import DEFAULT_GRID_POINTS, symmetric_grid, target_values
from rflr.files.checkpoint import RESUME_DIR, atomic_write, save, snapshot_path
from rflr.measure.evaluate import checkpoint_metrics
from rflr.measure.record import Metrics
from rflr.train.identity import RunConflict, check_out_folder, hold_runs
from rflr.train.memory import check_fits, fitting_seeds
from rflr.train.stack import BATCHED, SeedStack
from rflr.train.steps import make_runner, resolve_device

BLOCK_BYTES = 4 << 20  # dense seeds per block: about this many bytes of weights (cache-sized)
GPU_BLOCK_BYTES = 4 << 30  # on a GPU: a memory cap, not a cache size (weights, float32 bytes)
PROGRESS_EVERY = 64  # steps between progress updates; the runs between check points end here


@dataclass
class TrainOptions:
    """How to run and what to write; none of it changes the trained numbers."""

    out: Path = Path("runs")
    snapshots: str = "log"  # "log": 0, {1,3} x 10^k from 100, the end; "final"; or "0,500,2000"
    snapshot_seeds: int | None = None  # intermediate snapshots for the first K seeds only
    log_per_decade: int = 10  # history points per decade of steps
    history_grid_points: int = 257  # grid for the logged test MSE, coarser than the metrics'
    metrics_grid_points: int = DEFAULT_GRID_POINTS  # a snapshot's metrics (rflr.core.targets)
    resume: bool = False
    overwrite: bool = False  # replace another run of the same id in `out` (else refuse)
    replace_damaged: bool = False  # retrain over unreadable files and resume states (sweeps)
    resume_every_s: float = 60.0  # also refresh the resume file after this much wall time
    progress: bool = True
    seed_block: int | None = None  # seeds trained together; None: auto (see seed_block_size)
    device: str = "cpu"  # "cpu" | "cuda" | "auto" (cuda when available); cuda: rflr.train.steps
    stop_after: int | None = None  # tests: return after this step as if the process were killed
    on_steps: Callable[[int], None] | None = None  # told the seed-steps done since its last call


@dataclass(frozen=True)
class Job:
    """One configuration trained for several seeds: a preset's or a sweep's unit of work."""

    config: RunConfig
    seeds: list[int]
    options: TrainOptions


@dataclass
class RunResult:
    run_id: str
    seed: int
    status: str
    step: int
    path: Path
    metrics: Metrics = field(default_factory=Metrics)


def log_steps(steps: int, per_decade: int) -> list[int]:
    """0, 1, then `per_decade` log-spaced steps per decade, and the last step."""
    if steps == 0:
        return [0]
    pts = np.logspace(
        0, math.log10(steps), max(2, int(per_decade * math.log10(max(steps, 10))) + 1)
    )
    return sorted({0, steps, *(int(round(p)) for p in pts)})


SNAPSHOTS_MAX = 1000  # "log:N" caps N: a snapshot is a file per seed


def snapshot_steps(steps: int, policy: str) -> list[int]:
    """The steps a policy writes, always with the last one. Raises ValueError on a bad policy.

    "log": 0, then 1 and 3 x 10^k from 100; "log:N": 0 and N - 1 steps log-spaced from 10 to
    the end at two significant digits (enough frames for Play to animate the mirror forming);
    "final"; or a list of steps "0,500,2000".
    """
    if policy == "final":
        chosen = set()
    elif policy == "log":
        chosen = {0} | {m * 10**k for k in range(2, 12) for m in (1, 3)}
    elif policy.startswith("log:"):
        n = int(policy[4:])
        if not 2 <= n <= SNAPSHOTS_MAX:
            raise ValueError(f"log:N needs 2 <= N <= {SNAPSHOTS_MAX}, got {n}")
        top = math.log10(max(steps, 10))
        chosen = {0} | {int(float(f"{10**e:.2g}")) for e in np.linspace(1, top, n - 1)}
    else:
        chosen = {int(s) for s in policy.split(",") if s.strip()}
    return sorted({s for s in chosen if 0 <= s <= steps} | {steps})


def seed_block_size(template: RunConfig, n_seeds: int, device: str = "cpu") -> int:
    """How many seeds to stack at once.

    RF-LR stacks are small and a step costs about the same for 1 or 149 seeds, so all go
    together. Dense stacks are memory-bound: past a few MB of weights every step streams
    them from memory, so seeds go in blocks that stay in cache, each trained to the end
    before the next (seeds are independent, so the numbers do not change). A GPU has no
    such cache to fit and wants as many seeds at once as its memory holds. On the CPU a
    block also stays within this machine's memory (rflr.train.memory).
    """
    if device != "cuda":
        n_seeds = min(n_seeds, fitting_seeds(template))
    kind = BATCHED[template.model.kind]
    per_seed = kind.seed_bytes(template.model)
    if device == "cuda":
        return max(1, min(n_seeds, GPU_BLOCK_BYTES // per_seed))
    if not kind.cache_blocks:
        return n_seeds
    return max(1, min(n_seeds, BLOCK_BYTES // per_seed))


def auto_threads(cfg: RunConfig, n_stacked: int) -> int:
    """One thread unless the step has real arithmetic in it.

    An RF-LR step is ~40 tiny operations; a second thread mostly adds synchronization, which
    becomes very costly when the machine is busy. Wide dense stacks are memory-bound
    products, where two threads help (benchmarks/train_throughput.py measures both).
    """
    work = n_stacked * BATCHED[cfg.model.kind].product_size(cfg.model)
    return min(2, torch.get_num_threads()) if work >= 2_000_000 else 1


def block_and_threads(
    cfg: RunConfig,
    n_seeds: int,
    seed_block: int | None = None,
    threads: int | None = None,
    device: str = "cpu",
) -> tuple[int, int]:
    """Seeds stacked at once, then torch threads for that stack (explicit values win)."""
    block = seed_block or seed_block_size(cfg, n_seeds, resolve_device(device))
    return block, threads or auto_threads(cfg, block)


def train(template: RunConfig, seeds: list[int], opts: TrainOptions) -> list[RunResult]:
    """Train `template` for every seed; returns one result per seed (final or diverged file).
    The run folders stay locked from the identity check to the last file (a RunConflict if
    another process holds one)."""
    template.validate()
    device = resolve_device(opts.device)
    if device == "cpu":
        check_fits(template)  # a one-line MemoryBudgetError, not the kernel's kill later
    runs = [replace(template, seed=s, run_id="") for s in seeds]
    with hold_runs(runs, opts.out):
        return _train(template, seeds, opts, runs, device)


def _train(
    template: RunConfig, seeds: list[int], opts: TrainOptions, runs: list[RunConfig], device: str
) -> list[RunResult]:
    # A RunConflict if another run is there and may not be replaced; else its files go.
    for path in check_out_folder(runs, opts.out, opts.overwrite, opts.replace_damaged):
        path.unlink(missing_ok=True)
    block = opts.seed_block or seed_block_size(template, len(seeds), device)
    snap_seeds = set(seeds[: opts.snapshot_seeds] if opts.snapshot_seeds is not None else seeds)
    results = []
    for lo in range(0, len(seeds), block):
        if opts.progress and block < len(seeds):
            print(f"seeds {lo + 1}-{min(lo + block, len(seeds))} of {len(seeds)}", flush=True)
        results += _train_block(template, seeds[lo : lo + block], opts, snap_seeds)
        if opts.stop_after is not None and len(results) < min(lo + block, len(seeds)):
            break  # "killed" inside this block
    return results


def resume_states(template: RunConfig, seeds: list[int], opts: TrainOptions) -> list[Path]:
    """The resume file of every seed block of this job (those that exist and those not)."""
    block = opts.seed_block or seed_block_size(template, len(seeds), resolve_device(opts.device))
    groups = [seeds[lo : lo + block] for lo in range(0, len(seeds), block)]
    return [opts.out / RESUME_DIR / f"{_group_id(template, g)}.safetensors" for g in groups]


def _train_block(
    template: RunConfig, seeds: list[int], opts: TrainOptions, snap_seeds: set[int]
) -> list[RunResult]:
    return _Block(template, seeds, opts, snap_seeds).run()


class _Block:
    """Seeds stacked together and trained from step 0 (or a resume point) to the end.

    `active` lists the seeds still in the stack, in stack order; a diverged seed leaves it
    (with its file written) and everything stacked per seed is narrowed to match.
    """

    def __init__(self, template: RunConfig, seeds: list[int], opts: TrainOptions, snap_seeds):
        self.template, self.seeds, self.opts, self.snap_seeds = template, seeds, opts, snap_seeds
        self.cfgs = {s: replace(template, seed=s, run_id="") for s in seeds}
        self.dtype = TORCH_DTYPES[template.train.dtype]
        self.device = torch.device(resolve_device(opts.device))
        self.steps = template.train.steps
        self.logs = set(log_steps(self.steps, opts.log_per_decade))
        self.snaps = set(snapshot_steps(self.steps, opts.snapshots))
        self.resume_path = opts.out / RESUME_DIR / f"{_group_id(template, seeds)}.safetensors"
        self.train_sets = {s: seedlib.train_set(self.cfgs[s]) for s in seeds}

        self.step = 0
        self.active = list(seeds)
        self.histories = {s: {"step": [], "train_loss": [], "test_mse": []} for s in seeds}
        self.results: dict[int, RunResult] = {}
        loaded = self.read_resume() if opts.resume and self.resume_path.exists() else None
        if loaded is not None:
            self.stack, self.step, self.active, self.histories, self.results = loaded
        else:
            inits = [seedlib.initial_params(self.cfgs[s], self.dtype) for s in seeds]
            self.stack = SeedStack(template, inits, self.dtype, self.device)
        self.last_good = self.stack.flat.clone()  # parameters at the last finite check
        self.last_good_step = self.step

        # Evaluation sets, stacked per active seed: its training (or monitor) set, the grid.
        grid = symmetric_grid(
            template.target.domain, opts.history_grid_points, template.model.input_dim
        )
        gx, dev = torch.from_numpy(grid.x), self.device
        self.train_x = torch.stack([self.train_sets[s][0] for s in self.active]).to(dev)
        self.train_f = torch.stack([self.train_sets[s][1] for s in self.active]).to(dev)
        self.grid_x = gx.to(dev).expand(len(self.active), -1, -1)
        self.grid_f = target_values(template.target, gx).to(dev).expand(len(self.active), -1)

    def read_resume(self):
        """The block's resume state; None for a damaged one that a sweep trains over."""
        try:
            return _load_resume(self.resume_path, self.template, self.cfgs, self.dtype, self.device)
        except Exception as e:  # a damaged resume file: safetensors, JSON or shape errors
            if not self.opts.replace_damaged:
                raise RunConflict(
                    f"the resume state {self.resume_path} cannot be read ({type(e).__name__}); "
                    "delete it, or drop --resume to train from the start"
                ) from None
        self.resume_path.unlink(missing_ok=True)
        return None

    def run(self) -> list[RunResult]:
        opts, steps = self.opts, self.steps
        self.bar = _progress(opts, steps, self.step, len(self.active))
        if self.step == 0:
            self.check(0)
        checks = sorted(self.logs | self.snaps)  # always holds `steps`
        runner = make_runner(self.stack, self.cfgs, self.active, self.train_sets)
        last_resume_save = time.monotonic()
        every = PROGRESS_EVERY  # divides seedlib.CHUNK: a run never crosses a sample chunk
        while self.step < steps and self.active:
            # The updates up to the next check point or progress mark go in one run (on a
            # GPU: without waiting for it).
            stop = min(
                checks[bisect.bisect_right(checks, self.step)], (self.step // every + 1) * every
            )
            if opts.stop_after is not None:
                stop = min(stop, max(opts.stop_after, self.step + 1))
            runner.run(self.step, stop)
            self.step = stop
            if self.step % every == 0:
                if self.bar is not None:
                    self.bar.update(every)
                if opts.on_steps is not None:  # e.g. a sweep's progress bar over all its jobs
                    opts.on_steps(every * len(self.active))
            if self.step in self.logs or self.step in self.snaps:
                if self.check(self.step) and self.active:  # seeds left: restack per seed
                    runner = make_runner(self.stack, self.cfgs, self.active, self.train_sets)
                due = time.monotonic() - last_resume_save > opts.resume_every_s
                if (self.step in self.snaps or due) and self.step < steps and self.active:
                    _save_resume(
                        self.resume_path,
                        self.seeds,
                        self.template,
                        self.stack,
                        self.step,
                        self.active,
                        self.histories,
                        self.results,
                    )
                    last_resume_save = time.monotonic()
            if opts.stop_after is not None and self.step >= opts.stop_after:
                self._close()
                return [self.results[s] for s in self.seeds if s in self.results]
        self._close()
        self.resume_path.unlink(missing_ok=True)
        if self.resume_path.parent.is_dir() and not any(self.resume_path.parent.iterdir()):
            self.resume_path.parent.rmdir()
        return [self.results[s] for s in self.seeds]

    def check(self, at: int) -> bool:
        """Between updates: log, drop diverged seeds, snapshot. True if seeds were dropped."""
        train_loss = self.stack.mse(self.train_x, self.train_f).cpu()  # waits for the GPU
        test = self.stack.mse(self.grid_x, self.grid_f).cpu()
        finite = torch.isfinite(train_loss) & torch.isfinite(test)
        bad = [i for i in range(len(self.active)) if not finite[i]]
        # A divergence is always logged, so the history shows it: in the diverged seed's
        # own history only, as each seed's history is a function of its own run.
        self.log(at, train_loss, test, range(len(self.active)) if at in self.logs else bad)
        self.show(train_loss, test, finite)
        if bad:
            self.drop(bad, at)
        if self.active:
            self.last_good.copy_(self.stack.flat)
            self.last_good_step = at
            if at in self.snaps:
                self.snapshot(at)
        return bool(bad)

    def log(
        self, at: int, train_loss: torch.Tensor, test: torch.Tensor, rows: Iterable[int]
    ) -> None:
        """Append step `at`'s losses to the histories of the active seeds at `rows`."""
        for i in rows:
            h = self.histories[self.active[i]]
            h["step"].append(at)
            h["train_loss"].append(float(train_loss[i]))
            h["test_mse"].append(float(test[i]))

    def show(self, train_loss: torch.Tensor, test: torch.Tensor, finite: torch.Tensor) -> None:
        """Mean losses of the finite seeds and the throughput on the progress bar."""
        if self.bar is None:
            return
        self.bar.set_postfix(
            refresh=False,
            train=f"{float(train_loss[finite].mean()):.2e}",
            test=f"{float(test[finite].mean()):.2e}",
            seeds=int(finite.sum()),
            seed_steps_s=f"{(self.bar.format_dict['rate'] or 0.0) * len(self.active):.3g}",
        )

    def snapshot(self, at: int) -> None:
        """Write step `at` for the seeds that keep snapshots (every seed at the last step)."""
        due = [
            (i, s) for i, s in enumerate(self.active) if s in self.snap_seeds or at == self.steps
        ]
        host = self.stack.host_params() if due else {}  # one copy off the device
        for i, s in due:
            self.results[s] = self.write(s, {n: v[i].clone() for n, v in host.items()}, at, "ok")

    def drop(self, bad: list[int], at: int) -> None:
        """Save diverged seeds with their last finite parameters, marked; take them out."""
        if self.bar is not None:
            self.bar.write(
                f"step {at}: seeds {[self.active[i] for i in bad]} diverged (loss not finite)"
            )
        for i in bad:
            params = _params_from_flat(self.stack, self.last_good, i)
            s = self.active[i]
            self.results[s] = self.write(s, params, self.last_good_step, "diverged", at)
        keep = [i for i in range(len(self.active)) if i not in bad]
        self.last_good = _select_flat(self.stack, self.last_good, keep)
        self.active = [self.active[i] for i in keep]
        if keep:
            self.stack = self.stack.select(keep)
            self.train_x, self.train_f = self.train_x[keep], self.train_f[keep]
            self.grid_x, self.grid_f = self.grid_x[keep], self.grid_f[keep]

    def write(self, seed: int, params, step: int, status: str, diverged_at=None) -> RunResult:
        cfg = self.cfgs[seed]
        measured = checkpoint_metrics(cfg, params, grid_points=self.opts.metrics_grid_points)
        metrics = replace(measured, status=status, diverged_at_step=diverged_at)
        path = snapshot_path(self.opts.out, cfg, step)
        save(path, cfg, params, step, metrics, self.histories[seed])
        return RunResult(cfg.run_id, cfg.seed, status, step, path, metrics)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --- helpers --------------------------------------------------------------------------------


def _params_from_flat(stack: SeedStack, flat: torch.Tensor, i: int) -> dict[str, torch.Tensor]:
    saved = stack.flat.clone()
    stack.flat.copy_(flat)
    params = stack.seed_params(i)
    stack.flat.copy_(saved)
    return params


def _select_flat(stack: SeedStack, flat: torch.Tensor, keep: list[int]) -> torch.Tensor:
    """`flat` (in stack's layout) restricted to the seeds at `keep`, in the new stack's layout."""
    parts = [SeedStack._view_like(stack, flat, n)[keep].reshape(-1) for n in stack.trainable]
    return torch.cat(parts) if parts else flat[:0]


def _group_id(template: RunConfig, seeds: list[int]) -> str:
    import hashlib

    d = template.to_dict()
    d.pop("seed"), d.pop("run_id")
    key = json.dumps([d, seeds], sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _save_resume(path, seeds, template, stack, step, active, histories, results) -> None:
    meta = {
        "seeds": json.dumps(seeds),  # with "config": what --resume compares its flags to
        "step": str(step),
        "active": json.dumps(active),
        "adam_t": str(stack.adam_t),
        "histories": json.dumps(json_safe(histories)),
        "finished": json.dumps(
            {str(s): [r.status, r.step, str(r.path)] for s, r in results.items() if s not in active}
        ),
        "config": template.to_json(),
    }
    atomic_write(
        path,
        safetensors_bytes({k: v.contiguous() for k, v in stack.state().items()}, metadata=meta),
    )


def _load_resume(path, template, cfgs, dtype, device):
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    tensors = safetensors_load(path.read_bytes())
    active = json.loads(meta["active"])
    histories = {
        int(k): {kk: [math.nan if v is None else v for v in vv] for kk, vv in h.items()}
        for k, h in json.loads(meta["histories"]).items()
    }
    results = {}
    for s, (status, st, p) in json.loads(meta["finished"]).items():
        results[int(s)] = RunResult(cfgs[int(s)].run_id, int(s), status, st, Path(p))
    inits = [seedlib.initial_params(cfgs[s], dtype) for s in active]
    stack = SeedStack(template, inits, dtype, device)
    stack.load_state(tensors, int(meta["adam_t"]))
    return stack, int(meta["step"]), active, histories, results


def _progress(opts, steps, start, n_seeds):
    if not opts.progress:
        return None
    from tqdm import tqdm

    return tqdm(
        total=steps,
        initial=start,
        unit="step",
        dynamic_ncols=True,
        smoothing=0.05,
        mininterval=0.5,  # a redraw per log step would flood a non-terminal log
        postfix={"seeds": n_seeds},
    )
