"""S independent networks trained at once: parameters stacked along a leading seed axis.

Forward and backward are written by hand with batched matrix products (bmm/baddbmm over
the seed axis). Nothing mixes seeds, so each seed's gradient is exactly its own; the
total loss is the *sum* of per-seed losses (a mean would scale each gradient by 1/S).

Why by hand: for networks this small a step is dominated by per-operation overhead, and
autograd plus an optimizer roughly triples the operation count. Here one step is about
forty tensor operations for all seeds together, and the update is a single operation
because every trainable tensor is a view into one flat buffer (`flat`), with its
gradient at the same offset in `grad`.

Layouts follow the checkpoint names, except that bottleneck `up` matrices are held
transposed ([S, r, N]) so that every product reads contiguous memory; `seed_params`
converts back.

What differs between model kinds is the mixing layer: each kind's batched forward and
backward of it, and what one of its seeds costs, is its entry in BATCHED (keyed like
rflr.core.kinds.KINDS).

The stack may live on a GPU (`device`); whatever leaves it (`seed_params`, `host_params`,
`state`) is a CPU tensor, so checkpoints are written from CPU tensors either way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from rflr.core.config import ModelConfig, RunConfig
from rflr.core.model import param_shapes, readout_scale, scales, trainable_names


def _seedwise(op, *args: torch.Tensor, **kw) -> torch.Tensor:
    """`op` (torch.bmm or torch.baddbmm) over the seed axis, with the same bits for a stack of
    one seed as for that seed among others.

    ATen hands a batch of one to a plain GEMM and a larger batch to the BLAS's batched GEMM,
    whose roundings differ (MKL: ~1e-7 relative from batch size 16 on), so a seed retrained
    alone drifted from its first run. A stack of one runs as two stride-0 views of itself and
    keeps the first: it then costs about what two seeds cost.
    """
    if args[0].shape[0] != 1:
        return op(*args, **kw)
    return op(*(a.expand(2, *a.shape[1:]) for a in args), **kw)[:1]


def _bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return _seedwise(torch.bmm, a, b)


def _baddbmm(bias: torch.Tensor, a: torch.Tensor, b: torch.Tensor, **kw) -> torch.Tensor:
    return _seedwise(torch.baddbmm, bias, a, b, **kw)


def _matmul_add(bias: torch.Tensor, x: torch.Tensor, w: torch.Tensor, alpha: float) -> torch.Tensor:
    """bias + alpha * x @ w over the seed axis; with one input coordinate (d = 1) a broadcast
    multiply-add, several times faster than bmm with an inner dimension of 1."""
    if x.shape[-1] == 1:
        return torch.addcmul(bias, x, w, value=alpha)
    return _baddbmm(bias, x, w, alpha=alpha)


EVAL_ELEMENTS = 1 << 27  # activation elements of one evaluation product (mse): ~0.5 GB


class SeedStack:
    """Parameters and optimizer state of S runs that share a config except the seed."""

    def __init__(
        self,
        cfg: RunConfig,
        params: list[dict[str, torch.Tensor]],
        dtype: torch.dtype,
        device: torch.device | str = "cpu",
    ):
        self.cfg = cfg
        self.device = torch.device(device)
        self.model_cfg = cfg.model
        self.dtype = dtype
        self.S = len(params)
        self.depth = cfg.model.depth
        self.kind = BATCHED[cfg.model.kind]
        self.s_in, self.s_width, self.s_rank = scales(cfg.model)
        self.s_out = readout_scale(cfg.model)
        self.shapes = param_shapes(cfg.model)
        self.trainable = trainable_names(cfg.model)
        self.frozen = [n for n in self.shapes if n not in self.trainable]
        self.transposed = {n for n in self.shapes if n.rpartition(".")[2] in self.kind.transposed}

        # One flat buffer for all trainable tensors, param-major so every view is contiguous.
        sizes = [self.S * math.prod(self.shapes[n]) for n in self.trainable]
        self.flat = torch.empty(sum(sizes), dtype=dtype, device=self.device)
        self.grad = torch.zeros_like(self.flat)
        self.p: dict[str, torch.Tensor] = {}
        self.g: dict[str, torch.Tensor] = {}
        offset = 0
        for name, size in zip(self.trainable, sizes, strict=True):
            shape = self.shapes[name]
            shape = (self.S, *(shape[::-1] if name in self.transposed else shape))
            self.p[name] = self.flat[offset : offset + size].view(shape)
            self.g[name] = self.grad[offset : offset + size].view(shape)
            offset += size
        for name in self.frozen:
            self.p[name] = torch.empty(
                (self.S, *self.shapes[name]), dtype=dtype, device=self.device
            )
        for name in self.shapes:
            stacked = torch.stack([pp[name] for pp in params]).to(dtype)
            self.p[name].copy_(stacked.transpose(1, 2) if name in self.transposed else stacked)

        # Adam state lives in flat buffers of the same layout; allocated on first use.
        self.adam_m: torch.Tensor | None = None
        self.adam_v: torch.Tensor | None = None
        self.adam_t = 0

    # --- forward ------------------------------------------------------------------------

    def forward(
        self, x: torch.Tensor, params: dict[str, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """y [S, B, 1] for x [S, B, d]; also the activations the backward pass needs.
        `params`: slices of the stack's own along the seed axis (default: all of them).

        acts = [h_1, (what layer 1 keeps,) h_2, ..., h_L]: each mixing layer keeps what its
        backward needs besides its input and output (RF-LR: zr_k = D_k h_k, z_k without its
        1/sqrt(N), which is folded into the next product's alpha to save an operation).
        """
        p, act = self.p if params is None else params, self._act
        h = act(
            _matmul_add(
                p["atoms.bias"].unsqueeze(1), x, p["atoms.weight"].transpose(1, 2), self.s_in
            )
        )
        acts = [h]
        for k in range(1, self.depth):
            h = act(self.kind.forward(self, k, h, acts, p))
            acts.append(h)
        y = _baddbmm(
            p["readout.bias"].unsqueeze(1), h, p["readout.weight"].transpose(1, 2), alpha=self.s_out
        )
        return y, acts

    def _act(self, u: torch.Tensor) -> torch.Tensor:
        return torch.relu(u) if self.model_cfg.activation == "relu" else torch.tanh(u)

    def _act_backward(self, g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        # Both use the layer's output h, which the forward kept: relu' = [h > 0], tanh' = 1 - h^2.
        if self.model_cfg.activation == "relu":
            return torch.ops.aten.threshold_backward(g, h, 0.0)
        return torch.ops.aten.tanh_backward(g, h)

    # --- backward -----------------------------------------------------------------------

    def backward(self, x: torch.Tensor, err: torch.Tensor, acts: list[torch.Tensor]) -> None:
        """Fill `grad` with d(sum_s loss_s)/d params for loss_s = mean_b err^2.

        `err` = y - f [S, B, 1]. A running multiplier `m` carries the scalar factors
        (2/B, 1/sqrt(N), 1/sqrt(r)) so that they enter only through alpha arguments: the
        true gradient w.r.t. the current hidden layer is m * G. `acts` is used up from its
        end, layer by layer, down to h_1.
        """
        p, a = self.p, self.s_width
        m = 2.0 / err.shape[1]
        self._weight_grad("readout.weight", err, acts[-1], m * self.s_out)
        self._bias_grad("readout.bias", err, m)
        G = err * p["readout.weight"]  # [S, B, 1] x [S, 1, N]: an outer product, no sum
        m *= self.s_out
        for k in range(self.depth - 1, 0, -1):
            Gu = self._act_backward(G, acts.pop())  # through s: gradient w.r.t. u is m * Gu
            G, m = self.kind.backward(self, k, Gu, acts, m)
            m *= a
        if self.model_cfg.train_atoms:
            Gu = self._act_backward(G, acts[0])
            self._weight_grad("atoms.weight", Gu, x, m * self.s_in)
            self._bias_grad("atoms.bias", Gu, m)

    def _weight_grad(
        self, name: str, left: torch.Tensor, right: torch.Tensor, alpha: float
    ) -> None:
        """grad[name] = alpha * left^T right, summed over the batch: [S, B, i], [S, B, j] -> [S, i, j]."""
        out = self.g[name]
        if left.shape[1] == 1 and out[0].numel() <= 1 << 16:
            # Batch size one: an outer product. bmm with an inner dimension of 1 is several
            # times slower than a broadcast multiply; alpha goes on the smaller factor.
            if left.numel() <= right.numel():
                torch.mul(left.transpose(1, 2) * alpha, right, out=out)
            else:
                torch.mul(left.transpose(1, 2), right * alpha, out=out)
        else:
            if out.shape[0] == 1:  # see _seedwise
                out.copy_(_baddbmm(out, left.transpose(1, 2), right, beta=0, alpha=alpha))
            else:
                torch.baddbmm(out, left.transpose(1, 2), right, beta=0, alpha=alpha, out=out)

    def _bias_grad(self, name: str, G: torch.Tensor, m: float) -> None:
        """grad[name] = m * G summed over the batch."""
        out = self.g[name]
        if G.shape[1] == 1:  # batch size one: no sum needed, just scale
            torch.mul(G.view(out.shape), m, out=out)
        else:
            torch.sum(G, dim=1, out=out.view(G.shape[0], -1))
            out.mul_(m)

    # --- one optimization step --------------------------------------------------------------

    def step(self, x: torch.Tensor, f: torch.Tensor, lr: float) -> None:
        """One update of every seed on its own batch: x [S, B, d], f [S, B, 1]."""
        y, acts = self.forward(x)
        self.backward(x, y.sub_(f), acts)
        t = self.cfg.train
        if t.weight_decay:
            self._decay(1 - lr * t.weight_decay)
        if t.optimizer == "sgd":
            self.flat.add_(self.grad, alpha=-lr)
            return
        # Adam, elementwise exactly as torch.optim.Adam (single-tensor path).
        self.ensure_adam()
        b1, b2 = t.adam_betas
        self.adam_t += 1
        self.adam_m.lerp_(self.grad, 1 - b1)
        self.adam_v.mul_(b2).addcmul_(self.grad, self.grad, value=1 - b2)
        denom = (self.adam_v.sqrt() / math.sqrt(1 - b2**self.adam_t)).add_(t.adam_eps)
        self.flat.addcdiv_(self.adam_m, denom, value=-lr / (1 - b1**self.adam_t))

    def _decay(self, factor: float | torch.Tensor) -> None:
        """Decoupled weight decay (AdamW's order; for SGD the same as coupled L2): weight
        matrices shrink by `factor` = 1 - lr * weight_decay after the gradient is taken;
        biases too only with weight_decay_biases (decay on w alone pulls each atom (w, b)
        toward its own mirror (-w, b), which looks like weight pairing)."""
        biases = self.cfg.train.weight_decay_biases
        for name in self.trainable:
            if biases or not name.endswith("bias"):
                self.p[name].mul_(factor)

    def ensure_adam(self) -> None:
        if self.adam_m is None:
            self.adam_m, self.adam_v = torch.zeros_like(self.flat), torch.zeros_like(self.flat)

    def coefficients(self, lr: float, t: int) -> tuple[float, float, float]:
        """The step-dependent numbers of update number t (1-based) for `step_graphable`:
        SGD (-lr, 1); Adam (-lr / (1 - b1^t), sqrt(1 - b2^t)), the bias corrections; then
        the weight-decay factor 1 - lr * weight_decay."""
        decay = 1 - lr * self.cfg.train.weight_decay
        if self.cfg.train.optimizer == "sgd":
            return -lr, 1.0, decay
        b1, b2 = self.cfg.train.adam_betas
        return -lr / (1 - b1**t), math.sqrt(1 - b2**t), decay

    def step_graphable(self, x: torch.Tensor, f: torch.Tensor, coef: torch.Tensor) -> None:
        """`step` with its step-dependent numbers read from `coef` [3] (see `coefficients`)
        instead of Python floats, which a captured CUDA graph would freeze. The caller
        counts `adam_t`. Same arithmetic as `step` up to rounding (a product by a tensor
        where `step` has an alpha)."""
        y, acts = self.forward(x)
        self.backward(x, y.sub_(f), acts)
        t = self.cfg.train
        if t.weight_decay:
            self._decay(coef[2:3])
        if t.optimizer == "sgd":
            self.flat.addcmul_(self.grad, coef[0:1])
            return
        self.ensure_adam()
        b1, b2 = t.adam_betas
        self.adam_m.lerp_(self.grad, 1 - b1)
        self.adam_v.mul_(b2).addcmul_(self.grad, self.grad, value=1 - b2)
        denom = (self.adam_v.sqrt() / coef[1:2]).add_(t.adam_eps)
        self.flat.addcmul_(self.adam_m / denom, coef[0:1])

    # --- evaluation and bookkeeping ---------------------------------------------------------

    @torch.no_grad()
    def mse(self, x: torch.Tensor, f: torch.Tensor, chunk: int = 512) -> torch.Tensor:
        """Per-seed mean squared error on x [S, P, d], f [S, P] -> [S] float64 (on the
        stack's device)."""
        total = torch.zeros(self.S, dtype=torch.float64, device=self.device)
        # Thousands of stacked seeds: fewer seeds at once, so that the activations stay
        # ~0.5 GB. Never fewer points: a seed's sum, chunk by chunk, is then the same in
        # a stack of any size.
        group = max(1, EVAL_ELEMENTS // (chunk * self.model_cfg.width))
        for a in range(0, self.S, group):
            params = {n: v[a : a + group] for n, v in self.p.items()}
            for lo in range(0, x.shape[1], chunk):
                y, _ = self.forward(x[a : a + group, lo : lo + chunk].to(self.dtype), params)
                err = y[..., 0].double() - f[a : a + group, lo : lo + chunk]
                total[a : a + group] += (err**2).sum(1)
        return total / x.shape[1]

    def seed_params(self, i: int) -> dict[str, torch.Tensor]:
        """Seed i's parameters in checkpoint layout (CPU copies)."""
        out = {}
        for name in self.shapes:
            t = self.p[name][i]
            out[name] = _to_host(t.T if name in self.transposed else t)
        return out

    def host_params(self) -> dict[str, torch.Tensor]:
        """Every seed's parameters in checkpoint layout, [S, ...] CPU copies: one transfer
        per tensor, not one per seed (what snapshots of thousands of GPU seeds need)."""
        return {
            name: _to_host(v.transpose(1, 2) if name in self.transposed else v)
            for name, v in self.p.items()
        }

    def state(self) -> dict[str, torch.Tensor]:
        """Everything needed to resume, as named CPU tensors."""
        st = {"flat": self.flat}
        st.update({f"frozen.{n}": self.p[n] for n in self.frozen})
        if self.adam_m is not None:
            st["adam_m"], st["adam_v"] = self.adam_m, self.adam_v
        return {k: v.cpu() for k, v in st.items()}

    def load_state(self, st: dict[str, torch.Tensor], adam_t: int) -> None:
        self.flat.copy_(st["flat"])
        for n in self.frozen:
            self.p[n].copy_(st[f"frozen.{n}"])
        if "adam_m" in st:
            self.adam_m = st["adam_m"].to(self.device, copy=True)
            self.adam_v = st["adam_v"].to(self.device, copy=True)
        self.adam_t = adam_t

    def select(self, keep: list[int]) -> SeedStack:
        """A new stack with only the seeds at positions `keep` (e.g. dropping diverged ones)."""
        host = self.host_params()
        params = [{n: v[i] for n, v in host.items()} for i in keep]
        new = SeedStack(self.cfg, params, self.dtype, self.device)
        if self.adam_m is not None:
            new.adam_m, new.adam_v = torch.zeros_like(new.flat), torch.zeros_like(new.flat)
            for src, dst in ((self.adam_m, new.adam_m), (self.adam_v, new.adam_v)):
                for n in self.trainable:
                    dst_view = self._view_like(new, dst, n)
                    dst_view.copy_(self._view_like(self, src, n)[keep])
        new.adam_t = self.adam_t
        return new

    @staticmethod
    def _view_like(stack: SeedStack, buf: torch.Tensor, name: str) -> torch.Tensor:
        """The view of `buf` (a flat buffer of stack's layout) that holds tensor `name`."""
        v = stack.p[name]
        return buf[v.storage_offset() - stack.flat.storage_offset() :][: v.numel()].view(v.shape)


def _to_host(t: torch.Tensor) -> torch.Tensor:
    """A contiguous CPU copy (never a view of the stack's buffers)."""
    return torch.empty(t.shape, dtype=t.dtype).copy_(t)


# --- each model kind's mixing layer, batched ---------------------------------------------------


def _bottleneck_forward(
    st: SeedStack, k: int, h: torch.Tensor, acts: list, p: dict[str, torch.Tensor]
) -> torch.Tensor:
    """u_k of RF-LR layer k from h_k [S, B, N] with parameters p (the stack's, or a slice of
    its seeds); keeps zr_k for the backward."""
    zr = _bmm(h, p[f"bottleneck.{k}.down"].transpose(1, 2))  # [S, B, r]
    acts.append(zr)
    return _baddbmm(
        p[f"bottleneck.{k}.bias"].unsqueeze(1),
        zr,
        p[f"bottleneck.{k}.up"],
        alpha=st.s_width * st.s_rank,
    )


def _bottleneck_backward(
    st: SeedStack, k: int, Gu: torch.Tensor, acts: list, m: float
) -> tuple[torch.Tensor, float]:
    """Gradients of RF-LR layer k from m * Gu; returns G w.r.t. h_k and its multiplier
    before the layer's 1/sqrt(N). Takes zr_k off `acts`, whose end is then h_k."""
    p, a = st.p, st.s_width
    zr = acts.pop()
    h_prev = acts[-1]
    name = f"bottleneck.{k}"
    st._bias_grad(f"{name}.bias", Gu, m)
    st._weight_grad(f"{name}.up", zr, Gu, m * a * st.s_rank)  # held as U^T
    Gz = _bmm(Gu, p[f"{name}.up"].transpose(1, 2))  # [S, B, r]
    m *= st.s_rank
    st._weight_grad(f"{name}.down", Gz, h_prev, m * a)
    return _bmm(Gz, p[f"{name}.down"]), m  # [S, B, N]


def _hidden_forward(
    st: SeedStack, k: int, h: torch.Tensor, acts: list, p: dict[str, torch.Tensor]
) -> torch.Tensor:
    """u_k of dense layer k from h_k [S, B, N] with parameters p; nothing kept besides h_k."""
    return _baddbmm(
        p[f"hidden.{k}.bias"].unsqueeze(1),
        h,
        p[f"hidden.{k}.weight"].transpose(1, 2),
        alpha=st.s_width,
    )


def _hidden_backward(
    st: SeedStack, k: int, Gu: torch.Tensor, acts: list, m: float
) -> tuple[torch.Tensor, float]:
    """Gradients of dense layer k from m * Gu; returns G w.r.t. h_k (the end of `acts`)."""
    p, a = st.p, st.s_width
    name = f"hidden.{k}"
    st._bias_grad(f"{name}.bias", Gu, m)
    st._weight_grad(f"{name}.weight", Gu, acts[-1], m * a)
    return _bmm(Gu, p[f"{name}.weight"]), m  # [S, B, N]


@dataclass(frozen=True)
class BatchedKind:
    """A model kind in the stack: its mixing layer's batched forward and backward, the
    tensors it holds transposed, and what one seed costs (rflr.train.trainer sizes its seed
    blocks and threads by it)."""

    # (stack, k, h_k, acts) -> u_k, appending to acts what the backward needs
    forward: Callable[[SeedStack, int, torch.Tensor, list, dict[str, torch.Tensor]], torch.Tensor]
    # (stack, k, Gu, acts, m) -> (G w.r.t. h_k, m), taking its own entries off acts
    backward: Callable[[SeedStack, int, torch.Tensor, list, float], tuple[torch.Tensor, float]]
    transposed: tuple[str, ...]  # layer k's tensors held transposed, e.g. ("up",)
    seed_bytes: Callable[[ModelConfig], int]  # one seed's weights, float32 bytes (about)
    product_size: Callable[[ModelConfig], int]  # entries of one mixing weight: work per sample
    # CPU: a memory-bound kind goes in cache-sized seed blocks; else all seeds at once,
    # since its step costs about the same for 1 or 149 seeds
    cache_blocks: bool


BATCHED: dict[str, BatchedKind] = {
    "rflr": BatchedKind(
        forward=_bottleneck_forward,
        backward=_bottleneck_backward,
        transposed=("up",),
        seed_bytes=lambda m: 4 * 3 * m.width * (m.rank_or_none or 1) * m.depth,
        product_size=lambda m: m.width * (m.rank_or_none or 1),
        cache_blocks=False,
    ),
    "dense": BatchedKind(
        forward=_hidden_forward,
        backward=_hidden_backward,
        transposed=(),
        seed_bytes=lambda m: 4 * (m.width * m.width + 2 * m.width) * max(m.depth - 1, 1),
        product_size=lambda m: m.width * m.width,
        cache_blocks=True,
    ),
}
