"""Where the updates run: the plain loop on CPU, or CUDA graphs on a GPU.

The trainer asks a runner for the updates between two of its check points (logging,
snapshots, the divergence check: `run(start, stop)`, never across a sample chunk); the
evaluation and the files stay in the trainer.

CPU (`LoopRunner`): one `SeedStack.step` per update with a Python learning rate, the
samples of a chunk stacked per seed: the numbers are those of the plain loop. A chunk too
large for memory (large batches) is drawn a piece at a time (rflr.train.memory).

CUDA (`GraphRunner`): the host never waits for the GPU between check points. The update is
captured in CUDA graphs of 64, 8 and 1 steps that read their samples and step-dependent
numbers (`SeedStack.coefficients`) from static device buffers at a step index held on the
device, so 64 updates are one launch and no `.item()`. The samples are still drawn per
seed from that seed's own CPU generator (rflr.core.seeds), so a seed sees the same samples as on
CPU; only the draws are taken per seed, and one gather on the GPU turns them into samples.
A chunk is drawn while the GPU works through the launches of the one before.
"""

from __future__ import annotations

import torch

from rflr.core import seeds as seedlib
from rflr.core.config import RunConfig
from rflr.core.targets import target_values
from rflr.train.memory import piece_steps
from rflr.train.stack import SeedStack

DEVICES = ("cpu", "cuda", "auto")
GRAPH_SIZES = (64, 8, 1)  # steps per captured graph; a run of n steps uses the largest first


def resolve_device(name: str) -> str:
    """'cpu' | 'cuda' | 'auto' (cuda when available) -> 'cpu' or 'cuda'; ValueError if
    CUDA is asked for and absent."""
    if name not in DEVICES:
        raise ValueError(f"--device must be one of {DEVICES}, got {name!r}")
    cuda = torch.cuda.is_available()
    if name == "cuda" and not cuda:
        raise ValueError("--device cuda: no CUDA device is available (use cpu or auto)")
    return ("cuda" if cuda else "cpu") if name == "auto" else name


def make_runner(stack: SeedStack, cfgs: dict[int, RunConfig], active: list[int], train_sets):
    """The runner for the stack's device: seeds `active` (stack order), their configs and
    training sets (x [n, d], f [n] float64, by seed)."""
    cls = GraphRunner if stack.device.type == "cuda" else LoopRunner
    return cls(stack, cfgs, active, train_sets)


class LoopRunner:
    """Eager updates, one `SeedStack.step` each, as the trainer has always done them.

    The samples of steps [lo, hi) are held stacked; a piece is `memory.piece_steps` steps
    (the whole chunk unless the batch is large), drawn on from each seed's order generator.
    """

    def __init__(self, stack: SeedStack, cfgs, active, train_sets):
        self.stack, self.cfgs, self.active, self.train_sets = stack, cfgs, active, train_sets
        self.train_cfg = stack.cfg.train
        self.piece = piece_steps(stack.cfg, len(active))
        self.lo = self.hi = 0  # the steps whose samples are held
        self.chunk = -1  # the chunk of `gens`: each seed's order generator, drawn to `hi`
        self.gens: list[torch.Generator] = []

    def run(self, start: int, stop: int) -> None:
        """Updates start -> stop (stop - start of them), all inside one chunk of samples."""
        c = start // seedlib.CHUNK
        assert (stop - 1) // seedlib.CHUNK == c, "a run never crosses a sample chunk"
        for step in range(start, stop):
            if not self.lo <= step < self.hi:
                self.load(step)
            i = step - self.lo
            self.stack.step(self.xs[i], self.fs[i], self.train_cfg.lr_at(step))

    def load(self, step: int) -> None:
        """Hold the samples of the piece that has `step`."""
        c, i = divmod(step, seedlib.CHUNK)
        lo = c * seedlib.CHUNK + i - i % self.piece
        if c != self.chunk or lo < self.hi:  # another chunk, or back: from its start
            self.gens = [seedlib.generator(self.cfgs[s].seed, "order", c) for s in self.active]
            self.chunk, self.hi = c, c * seedlib.CHUNK
        self.xs = self.fs = None  # let the last piece go before the next is drawn
        while self.hi < lo:  # steps before this piece (a resume mid-chunk): draw and drop
            n = min(self.piece, lo - self.hi)
            for s, g in zip(self.active, self.gens, strict=True):
                seedlib.take_draws(self.cfgs[s], g, n)
            self.hi += n
        self.xs, self.fs = self._draw(min(self.piece, (c + 1) * seedlib.CHUNK - lo))
        self.lo = lo

    def _draw(self, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The next `steps` steps of samples: x [steps, S, B, d], f [steps, S, B, 1]."""
        parts = [
            seedlib.samples(
                self.cfgs[s], seedlib.take_draws(self.cfgs[s], g, steps), self.train_sets[s]
            )
            for s, g in zip(self.active, self.gens, strict=True)
        ]
        self.hi += steps
        xs, fs = zip(*parts, strict=True)
        return _stacked(xs, fs, self.stack.dtype)


def stacked_chunk(cfgs, active, c, train_sets, dtype):
    """Samples of chunk c for the active seeds: x [CHUNK, S, B, d], f [CHUNK, S, B, 1]."""
    xs, fs = zip(*(seedlib.chunk_samples(cfgs[s], c, train_sets[s]) for s in active), strict=True)
    return _stacked(xs, fs, dtype)


def _stacked(xs, fs, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-seed samples x [T, B, d], f [T, B] stacked: [T, S, B, d], [T, S, B, 1]."""
    x = torch.stack(xs, dim=1).to(dtype).contiguous()
    f = torch.stack(fs, dim=1).unsqueeze(-1).to(dtype).contiguous()
    return x, f


def draw_chunk(cfgs, active, c: int, out: torch.Tensor) -> None:
    """Every active seed's draws for chunk c (`seeds.chunk_draws`) into out [S, ...]: the
    per-seed part of a chunk, the only one left on the CPU."""
    for j, s in enumerate(active):
        out[j] = seedlib.chunk_draws(cfgs[s], c)


class GraphRunner:
    """Updates replayed from CUDA graphs (see the module docstring).

    With `graphs=False` the same buffers and indexing run eagerly: that is how the CPU
    tests check everything here except the capture itself.
    """

    def __init__(self, stack: SeedStack, cfgs, active, train_sets, graphs: bool | None = None):
        self.stack, self.cfgs, self.active = stack, cfgs, active
        self.graphs_on = stack.device.type == "cuda" if graphs is None else graphs
        self.template = stack.cfg
        t, dev, chunk = stack.cfg.train, stack.device, seedlib.CHUNK
        S, B, d = stack.S, t.batch_size, stack.model_cfg.input_dim
        self.online = t.online
        if not self.online:  # each seed's training set, gathered from on the device
            self.train_x = torch.stack([train_sets[s][0] for s in active]).to(dev)  # [S, n, d]
            self.train_f = torch.stack([train_sets[s][1] for s in active]).to(dev)  # [S, n]
        # Static buffers the graphs read: samples, per-step numbers, the step index.
        self.xs = torch.zeros(chunk, S, B, d, dtype=stack.dtype, device=dev)
        self.fs = torch.zeros(chunk, S, B, 1, dtype=stack.dtype, device=dev)
        self.coefs = torch.ones(chunk, 3, dtype=stack.dtype, device=dev)
        self.i = torch.zeros(1, dtype=torch.long, device=dev)
        # Draws land in page-locked host memory (two buffers: one may still be copying).
        shape = (S, chunk * B, d) if self.online else (S, chunk * B)
        dtype = torch.float64 if self.online else torch.long
        pin = dev.type == "cuda"
        self.host = [torch.empty(shape, dtype=dtype, pin_memory=pin) for _ in range(2)]
        self.host_coefs = [
            torch.empty(chunk, 3, dtype=stack.dtype, pin_memory=pin) for _ in range(2)
        ]
        self.copied = [None, None]  # CUDA events: the last copy out of each host buffer
        self.chunk_id = -1
        if t.optimizer == "adam":
            stack.ensure_adam()  # graphs capture the Adam buffers, so they must exist first
        self.graphs: dict[int, torch.cuda.CUDAGraph] = {}
        self.pool = None
        self.stream = torch.cuda.Stream(device=dev) if self.graphs_on else None

    def run(self, start: int, stop: int) -> None:
        """Updates start -> stop, all inside one chunk of samples; returns without waiting
        for the GPU."""
        c = start // seedlib.CHUNK
        assert (stop - 1) // seedlib.CHUNK == c, "a run never crosses a sample chunk"
        if c != self.chunk_id:
            self.load(c, start)
        self.i.fill_(start % seedlib.CHUNK)
        n = stop - start
        for size in GRAPH_SIZES:
            while n >= size:
                if self.graphs_on:
                    self._graph(size).replay()
                else:
                    self._body(size)
                n -= size
        if self.template.train.optimizer == "adam":
            self.stack.adam_t += stop - start

    def load(self, c: int, start: int) -> None:
        """Chunk c's samples and per-step numbers into the static buffers (the stack is at
        update `start`)."""
        k = c % 2
        if self.copied[k] is not None:
            self.copied[k].synchronize()  # the copy out of this buffer two chunks ago
        draw_chunk(self.cfgs, self.active, c, self.host[k])
        # Update number t (1-based, Adam's bias corrections) of step s is adam_t + s - start + 1.
        chunk, S = seedlib.CHUNK, self.stack.S
        t0 = self.stack.adam_t - start + 1
        rows = [
            self.stack.coefficients(self.template.train.lr_at(s), max(1, s + t0))
            for s in range(c * chunk, (c + 1) * chunk)
        ]
        self.host_coefs[k].copy_(torch.tensor(rows, dtype=torch.float64))
        # Only asynchronous copies from page-locked memory: a plain one would wait for the GPU.
        draws = self.host[k].to(self.stack.device, non_blocking=True)
        self.coefs.copy_(self.host_coefs[k], non_blocking=True)
        if self.graphs_on:
            self.copied[k] = torch.cuda.Event()
            self.copied[k].record()
        if self.online:
            x, f = draws, target_values(self.template.target, draws)
        else:
            x = torch.gather(self.train_x, 1, draws.unsqueeze(-1).expand(-1, -1, self.xs.shape[-1]))
            f = torch.gather(self.train_f, 1, draws)
        self.xs.copy_(x.view(S, chunk, -1, x.shape[-1]).transpose(0, 1))
        self.fs.copy_(f.view(S, chunk, -1, 1).transpose(0, 1))
        self.chunk_id = c

    def _body(self, n: int) -> None:
        """n updates at the device-held step index (what the graphs capture)."""
        for _ in range(n):
            x = self.xs.index_select(0, self.i).squeeze(0)  # [S, B, d]
            f = self.fs.index_select(0, self.i).squeeze(0)
            coef = self.coefs.index_select(0, self.i).squeeze(0)  # [3]
            self.stack.step_graphable(x, f, coef)
            self.i.add_(1)

    def _graph(self, n: int) -> torch.cuda.CUDAGraph:
        if n in self.graphs:
            return self.graphs[n]
        if not self.graphs:
            self._warm_up()
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g, pool=self.pool, stream=self.stream):
            self._body(n)  # recorded, not run: the state does not move
        self.pool = g.pool()  # all graphs share one memory pool (they never run at once)
        self.graphs[n] = g
        return g

    def _warm_up(self) -> None:
        """One eager update on the capture stream (cuBLAS and the allocator set themselves
        up outside the capture), then the state is put back as it was."""
        st = self.stack
        state = [b for b in (st.flat, st.adam_m, st.adam_v, self.i) if b is not None]
        saved = [b.clone() for b in state]
        self.stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.stream):
            self._body(1)
        torch.cuda.current_stream().wait_stream(self.stream)
        for b, s in zip(state, saved, strict=True):
            b.copy_(s)
