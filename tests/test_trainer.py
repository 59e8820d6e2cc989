"""The batched many-seed trainer against a plain one-seed loop, resume, divergence."""

from dataclasses import replace

import pytest
import torch

from rflr.core import seeds as seedlib
from rflr.core.config import DenseConfig, RFLRConfig, RunConfig, TrainConfig
from rflr.core.model import build
from rflr.files.checkpoint import load
from rflr.train.stack import SeedStack
from rflr.train.trainer import TrainOptions, log_steps, snapshot_steps, train


def reference_run(cfg: RunConfig, steps: int) -> dict[str, torch.Tensor]:
    """The plain loop: one nn.Module, autograd, torch.optim, the seed's own samples."""
    model = build(cfg.model, seedlib.initial_params(cfg, torch.float64))
    t = cfg.train
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    bias_decay = t.weight_decay if t.weight_decay_biases else 0.0
    groups = [  # decoupled weight decay on weights only: SGD's L2 equals it, Adam needs AdamW
        {"params": [p for n, p in named if not n.endswith("bias")], "weight_decay": t.weight_decay},
        {"params": [p for n, p in named if n.endswith("bias")], "weight_decay": bias_decay},
    ]
    opt = (
        torch.optim.SGD(groups, lr=t.lr)
        if t.optimizer == "sgd"
        else torch.optim.AdamW(
            groups, lr=t.lr, betas=tuple(t.adam_betas), eps=t.adam_eps, foreach=False
        )
    )
    train_set = seedlib.train_set(cfg)
    for step in range(steps):
        x, f = seedlib.chunk_samples(cfg, step // seedlib.CHUNK, train_set)
        i = step % seedlib.CHUNK
        for group in opt.param_groups:
            group["lr"] = t.lr_at(step)
        opt.zero_grad()
        loss = ((model(x[i]) - f[i]) ** 2).mean()
        loss.backward()
        opt.step()
    return {k: v.detach() for k, v in model.state_dict().items()}


def batched_run(cfg: RunConfig, seeds: list[int], steps: int) -> list[dict[str, torch.Tensor]]:
    dtype = getattr(torch, cfg.train.dtype)
    cfgs = [replace(cfg, seed=s, run_id="") for s in seeds]
    stack = SeedStack(cfg, [seedlib.initial_params(c, dtype) for c in cfgs], dtype)
    sets = [seedlib.train_set(c) for c in cfgs]
    for step in range(steps):
        c = step // seedlib.CHUNK
        if step % seedlib.CHUNK == 0:
            xs, fs = zip(
                *(seedlib.chunk_samples(cc, c, s) for cc, s in zip(cfgs, sets, strict=True)),
                strict=True,
            )
        i = step % seedlib.CHUNK
        x = torch.stack([xx[i] for xx in xs]).to(dtype)
        f = torch.stack([ff[i] for ff in fs]).unsqueeze(-1).to(dtype)
        stack.step(x, f, cfg.train.lr_at(step))
    return [stack.seed_params(i) for i in range(len(seeds))]


CASES = {
    "rflr-sgd": RunConfig(
        RFLRConfig(width=16, rank=2, depth=4), train=TrainConfig(lr=0.05, steps=1100)
    ),
    "dense-sgd": RunConfig(
        DenseConfig(width=16, depth=3), train=TrainConfig(lr=0.05, steps=1100, schedule="cosine")
    ),
    "rflr-adam-batch3": RunConfig(
        RFLRConfig(width=16, rank=3, depth=3),
        train=TrainConfig(optimizer="adam", lr=1e-3, batch_size=3, steps=1100),
    ),
    "rflr-frozen-tanh-standard": RunConfig(
        RFLRConfig(
            width=16,
            rank=2,
            depth=2,
            train_atoms=False,
            activation="tanh",
            parameterization="standard",
        ),
        train=TrainConfig(lr=0.05, steps=1100, online=True),
    ),
    "rflr-mf-sgd-decay": RunConfig(
        RFLRConfig(width=16, rank=2, depth=3, parameterization="mf"),
        train=TrainConfig(lr=0.05, steps=1100, weight_decay=0.1),
    ),
    "dense-adam-decay": RunConfig(
        DenseConfig(width=16, depth=3),
        train=TrainConfig(optimizer="adam", lr=1e-3, steps=1100, weight_decay=0.1),
    ),
    "rflr-sgd-decay-biases": RunConfig(
        RFLRConfig(width=16, rank=2, depth=3),
        train=TrainConfig(lr=0.05, steps=1100, weight_decay=0.1, weight_decay_biases=True),
    ),
    "dense-adam-decay-biases": RunConfig(
        DenseConfig(width=16, depth=3),
        train=TrainConfig(
            optimizer="adam", lr=1e-3, steps=1100, weight_decay=0.1, weight_decay_biases=True
        ),
    ),
    "depth1-d2": RunConfig(
        RFLRConfig(width=16, depth=1, input_dim=2), train=TrainConfig(lr=0.05, steps=1100)
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_batched_equals_plain_one_seed_loop(name):
    """1100 steps cross a sample chunk boundary and (step schedule) both lr milestones."""
    cfg = replace(CASES[name], train=replace(CASES[name].train, dtype="float64"))
    batched = batched_run(cfg, [0, 1, 2], cfg.train.steps)
    for i, seed in enumerate([0, 1, 2]):
        ref = reference_run(replace(cfg, seed=seed, run_id=""), cfg.train.steps)
        for k in ref:
            torch.testing.assert_close(
                batched[i][k], ref[k], rtol=1e-9, atol=1e-9, msg=f"{name} seed {seed} {k}"
            )
    # the seeds really are different runs
    assert not torch.allclose(batched[0]["readout.weight"], batched[1]["readout.weight"])


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_weight_decay_shrinks_weights_and_leaves_biases_to_the_gradient(optimizer):
    base = RunConfig(
        RFLRConfig(width=16, rank=2, depth=3),
        train=TrainConfig(optimizer=optimizer, lr=0.01, steps=50, dtype="float64"),
    )
    decayed = replace(base, train=replace(base.train, weight_decay=5.0))
    plain, shrunk = batched_run(base, [0], 50)[0], batched_run(decayed, [0], 50)[0]
    for k in plain:
        if k.endswith("weight") or k.endswith(("down", "up")):
            assert shrunk[k].norm() < 0.8 * plain[k].norm(), k  # (1 - 0.05)^50 = 0.08
    with pytest.raises(ValueError, match="weight decay"):
        replace(base.train, weight_decay=-1.0).validate()


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_weight_decay_biases_shrinks_the_biases_too(optimizer):
    base = RunConfig(
        RFLRConfig(width=16, rank=2, depth=3),
        train=TrainConfig(
            optimizer=optimizer, lr=0.01, steps=50, dtype="float64", weight_decay=5.0
        ),
    )
    both = replace(base, train=replace(base.train, weight_decay_biases=True))
    plain, shrunk = batched_run(base, [0], 50)[0], batched_run(both, [0], 50)[0]
    for k in plain:
        if k.endswith("bias"):
            assert shrunk[k].norm() < 0.8 * plain[k].norm(), k  # (1 - 0.05)^50 = 0.08


def test_weight_decay_biases_is_stored_only_when_set():
    """A config without it writes the header it wrote before the field existed."""
    cfg = RunConfig(RFLRConfig(width=8), train=TrainConfig(weight_decay=0.1))
    assert "weight_decay_biases" not in cfg.to_dict()["train"]
    on = replace(cfg, train=replace(cfg.train, weight_decay_biases=True))
    assert on.to_dict()["train"]["weight_decay_biases"] is True
    assert RunConfig.from_json(on.to_json()).train.weight_decay_biases is True
    assert RunConfig.from_json(cfg.to_json()).train.weight_decay_biases is False


@pytest.mark.parametrize(
    "model, block, n_seeds",
    [(RFLRConfig(width=32, rank=2, depth=3), None, 150), (DenseConfig(width=32, depth=3), 4, 25)],
)
def test_seed_alone_equals_seed_among_many(tmp_path, model, block, n_seeds):
    """Seed 5 trained alone and among 149 others (all stacked, or in blocks) gives the same
    float32 run."""
    cfg = RunConfig(model, train=TrainConfig(lr=0.05, steps=1500))
    alone = train(cfg, [5], TrainOptions(out=tmp_path / "a", snapshots="final", progress=False))
    opts = TrainOptions(out=tmp_path / "b", snapshots="final", progress=False, seed_block=block)
    many = train(cfg, list(range(n_seeds)), opts)
    assert [r.seed for r in many] == list(range(n_seeds))
    pa = load(alone[0].path).params
    pb = load(next(r for r in many if r.seed == 5).path).params
    for k in pa:
        torch.testing.assert_close(pa[k], pb[k], rtol=0, atol=1e-6)


def test_resume_equals_uninterrupted_run(tmp_path):
    cfg = RunConfig(
        RFLRConfig(width=16, rank=2, depth=3),
        train=TrainConfig(optimizer="adam", lr=3e-3, steps=2500, schedule="cosine"),
    )
    full = train(
        cfg, [0, 1, 2], TrainOptions(out=tmp_path / "full", snapshots="log", progress=False)
    )
    out = tmp_path / "killed"
    opts = TrainOptions(out=out, snapshots="log", progress=False, stop_after=1700)
    train(cfg, [0, 1, 2], opts)  # "killed" at step 1700; last resume point: snapshot 1000
    assert not any(out.rglob("step-00002500.safetensors"))
    assert any((out / ".resume").iterdir())
    resumed = train(cfg, [0, 1, 2], replace(opts, stop_after=None, resume=True))
    for a, b in zip(full, resumed, strict=True):
        ca, cb = load(a.path), load(b.path)
        assert ca.step == cb.step == 2500
        for k in ca.params:
            assert torch.equal(ca.params[k], cb.params[k]), k
        assert ca.history == cb.history
    assert not (out / ".resume").exists()  # cleaned up once finished


def test_diverged_seed_is_marked_and_others_go_on(tmp_path, monkeypatch):
    original = seedlib.initial_params

    def blow_up_seed_1(cfg, dtype):
        p = original(cfg, dtype)
        if cfg.seed == 1:
            p = {k: v * 1e4 for k, v in p.items()}
        return p

    monkeypatch.setattr(seedlib, "initial_params", blow_up_seed_1)
    cfg = RunConfig(
        RFLRConfig(width=16, rank=2, depth=3),
        train=TrainConfig(lr=0.05, steps=3000, schedule="constant"),
    )
    results = {r.seed: r for r in train(cfg, [0, 1, 2], TrainOptions(out=tmp_path, progress=False))}
    assert results[1].status == "diverged"
    assert results[0].status == results[2].status == "ok"
    ck = load(results[1].path)  # saved with finite (last good) parameters, so it loads
    assert ck.status == "diverged" and ck.step < 3000
    assert ck.metrics.diverged_at_step > ck.step
    assert None in ck.history["train_loss"] or any(v != v for v in ck.history["train_loss"])
    assert load(results[0].path).step == 3000


def test_a_divergence_is_logged_in_the_diverged_seeds_history_only(tmp_path, monkeypatch):
    """Seed 1 diverges between two log steps and is caught at a snapshot step: the step
    shows in its own history, and seed 0's history is what seed 0 logs when trained alone."""
    original = seedlib.initial_params

    def blow_up_seed_1(cfg, dtype):
        p = original(cfg, dtype)
        return {k: v * 3 for k, v in p.items()} if cfg.seed == 1 else p  # NaN by step 5

    monkeypatch.setattr(seedlib, "initial_params", blow_up_seed_1)
    cfg = RunConfig(
        RFLRConfig(width=16, rank=2, depth=3),
        train=TrainConfig(lr=0.05, steps=300, schedule="constant"),
    )
    opts = TrainOptions(snapshots="5,50", log_per_decade=1, progress=False)
    pair = {r.seed: r for r in train(cfg, [0, 1], replace(opts, out=tmp_path / "pair"))}
    alone = train(cfg, [0], replace(opts, out=tmp_path / "alone"))[0]
    diverged = load(pair[1].path)
    assert diverged.status == "diverged" and diverged.metrics.diverged_at_step == 5
    assert diverged.history["step"] == [0, 1, 5]
    assert load(pair[0].path).history == load(alone.path).history


def test_log_and_snapshot_steps():
    assert snapshot_steps(100000, "log") == [0, 100, 300, 1000, 3000, 10000, 30000, 100000]
    assert snapshot_steps(500, "final") == [500]
    assert snapshot_steps(500, "0,200,900") == [0, 200, 500]


def test_log_n_snapshots_are_n_log_spaced_steps_at_two_digits():
    steps = snapshot_steps(30000, "log:20")
    assert len(steps) == 20 and steps[:3] == [0, 10, 16] and steps[-1] == 30000
    ratios = [b / a for a, b in zip(steps[1:], steps[2:], strict=False)]
    assert all(1.4 < r < 1.75 for r in ratios)  # log-spaced: 3000^(1/18) = 1.56, rounded
    assert snapshot_steps(5, "log:20") == [0, 5]  # shorter than the first log step
    for bad in ("log:1", "log:1001", "log:x"):
        with pytest.raises(ValueError):
            snapshot_steps(100, bad)
    steps = log_steps(100000, 10)
    assert steps[0] == 0 and steps[-1] == 100000 and 45 <= len(steps) <= 60
