"""rflr.views.budget: the cost of evaluating a checkpoint, the limits of each mode and their
variables, the grid cap, the byte-bounded store and the gate on heavy work (issue 22, case 2)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest
import torch

from rflr.core.config import DenseConfig, RFLRConfig, RunConfig
from rflr.core.model import init_params
from rflr.core.targets import symmetric_grid
from rflr.measure.evaluate import partials_on_grid
from rflr.measure.record import GRID_POINTS_MAX
from rflr.views import budget, sources


@pytest.fixture(autouse=True)
def plain_env(monkeypatch):
    """No served mode and no limit variable, whatever the machine has."""
    for var in (sources.SERVE_VAR, *budget.ENV):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.parametrize(
    "model",
    [
        RFLRConfig(width=16, rank=2, depth=3),
        RFLRConfig(width=12, rank=1, depth=1, input_dim=3),
        DenseConfig(width=16, depth=4),
        DenseConfig(width=8, depth=2, input_dim=2),
    ],
)
def test_cost_bounds_what_an_evaluation_holds(model):
    """The reference: the arrays partials_on_grid really returns, and the weights' entries."""
    cfg = RunConfig(model)
    params = init_params(model, torch.Generator().manual_seed(0))
    grid = symmetric_grid(cfg.target.domain, 65, model.input_dim)
    z = partials_on_grid(cfg, params, grid)
    cost = budget.Cost.of(model, len(grid.x))
    held = sum(a.size for a in z.values())
    assert held <= cost.values <= 2 * held  # an upper bound, and a tight one
    weights = sum(t.numel() for t in params.values() if t.dim() == 2)
    assert cost.weights == weights and cost.multiply_adds == weights * len(grid.x)
    assert cost.matching == model.width**3 * model.depth


def test_the_recipe_of_issue_22_is_refused_in_one_line_naming_the_limit(monkeypatch):
    """Width 4096, depth 64, rank 1: 4.3 GB of layers on 1025 points (a 3 MB upload)."""
    model = RFLRConfig(width=4096, rank=1, depth=64)
    monkeypatch.setenv(sources.SERVE_VAR, "1")
    with pytest.raises(budget.BudgetError) as e:
        budget.check(model, budget.grid_points(1025))
    text = str(e.value)
    assert "\n" not in text and "RFLR_EVAL_MB" in text and "256 MB" in text
    assert "width 4096 × depth 64 × 1025 grid points" in text and "this server's" in text
    monkeypatch.delenv(sources.SERVE_VAR)
    with pytest.raises(budget.BudgetError, match="this explorer's limit of 2.0 GB"):
        budget.check(model, 1025)  # local: generous, still bounded


def test_each_limit_is_checked_and_named():
    cases = [
        (budget.Limits(eval_mb=1), RFLRConfig(width=1024, rank=1, depth=8), 1025, "RFLR_EVAL_MB"),
        (budget.Limits(compute_g=1), DenseConfig(width=1024, depth=3), 1025, "RFLR_COMPUTE_G"),
        (
            budget.Limits(matching_g=1),
            RFLRConfig(width=2048, rank=1, depth=1),
            3,
            "RFLR_MATCHING_G",
        ),
    ]
    for lim, model, points, var in cases:
        cost = budget.Cost.of(model, points)
        reason = budget.refusal(cost, lim)
        assert reason is not None and reason.endswith(f"({var})")
        assert budget.refusal(cost, budget.LOCAL) is None  # only that limit was lowered
    shipped = RFLRConfig(width=128, rank=2, depth=4)  # the poster's networks
    assert budget.refusal(budget.Cost.of(shipped, 1025), budget.SERVED) is None
    assert (
        budget.refusal(budget.Cost.of(DenseConfig(width=128, depth=4), 1025), budget.SERVED) is None
    )


def test_limits_follow_the_mode_and_the_variables(monkeypatch, caplog):
    assert budget.limits() == budget.LOCAL
    monkeypatch.setenv(sources.SERVE_VAR, "1")
    assert budget.limits() == budget.SERVED
    assert budget.SERVED.heavy_at_once == 1 and budget.SERVED.eval_mb < budget.LOCAL.eval_mb
    monkeypatch.setenv("RFLR_EVAL_MB", "512")
    monkeypatch.setenv("RFLR_GRID_POINTS_MAX", str(10**9))  # no more than a header may hold
    monkeypatch.setenv("RFLR_HEAVY_AT_ONCE", "-3")  # ignored, with a warning
    monkeypatch.setenv("RFLR_CACHE_MB", "lots")
    lim = budget.limits()
    assert lim.eval_mb == 512 and lim.grid_points == GRID_POINTS_MAX
    assert lim.heavy_at_once == budget.SERVED.heavy_at_once
    assert lim.cache_mb == budget.SERVED.cache_mb
    assert "RFLR_HEAVY_AT_ONCE" in caplog.text and "RFLR_CACHE_MB" in caplog.text


def test_a_header_does_not_choose_the_grid_beyond_the_cap(monkeypatch):
    assert budget.grid_points(None) == budget.grid_points(True) == 1025  # the default
    assert budget.grid_points(GRID_POINTS_MAX) == GRID_POINTS_MAX  # local: the header's
    monkeypatch.setenv(sources.SERVE_VAR, "1")
    assert budget.grid_points(GRID_POINTS_MAX) == budget.SERVED.grid_points
    assert budget.grid_points(257) == 257


def test_nbytes_counts_the_data():
    a = np.zeros((10, 100))
    frame = pd.DataFrame({"x": np.arange(1000.0)})
    value = (a, {"t": torch.zeros(50, dtype=torch.float64)}, [frame], b"1234")
    assert budget.nbytes(value) >= a.nbytes + 400 + 8000 + 4
    assert budget.nbytes(value) < a.nbytes + 400 + 8000 + 4 + 1000


def test_store_is_bounded_by_bytes_least_recently_used_first():
    store = budget.Store(max_bytes=3000)
    for key in "abc":
        store.get(key, lambda: np.zeros(100))  # 800 bytes each
    store.get("a", lambda: pytest.fail("kept: not computed again"))  # a is now the newest
    store.get("d", lambda: np.zeros(100))  # 3200 > 3000: b, the least recently used, goes
    assert "b" not in store and all(k in store for k in "acd") and store.total == 2400
    big = store.get("e", lambda: np.zeros(1000))  # larger than the whole store
    assert big.size == 1000 and "e" not in store and store.total == 2400
    store.resize(1000)
    assert len(store) == 1 and store.total == 800


def test_store_computes_a_key_once_for_concurrent_callers():
    store, calls = budget.Store(max_bytes=10**6), []

    def make():
        calls.append(1)
        time.sleep(0.2)
        return np.ones(3)

    out = []
    threads = [threading.Thread(target=lambda: out.append(store.get("k", make))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and len(out) == 4


def test_a_failed_computation_is_not_kept_and_wakes_the_waiters():
    store = budget.Store(max_bytes=10**6)
    with pytest.raises(ZeroDivisionError):
        store.get("k", lambda: 1 / 0)
    assert store.get("k", lambda: 7) == 7


def test_heavy_work_runs_one_at_a_time_when_served_and_is_reentrant(monkeypatch):
    monkeypatch.setenv(sources.SERVE_VAR, "1")
    running, most, lock = [0], [0], threading.Lock()

    def work():
        with budget.heavy(), budget.heavy():  # an evaluation inside a matching: no deadlock
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert most[0] == 1 and not any(t.is_alive() for t in threads)


def test_heavy_store_values_do_not_deadlock_on_each_other(monkeypatch):
    """A derived value (a matching) needs the loaded checkpoint another thread is loading,
    with one evaluation at a time: both finish."""
    monkeypatch.setenv(sources.SERVE_VAR, "1")
    store = budget.Store(max_bytes=10**6)

    def load():
        time.sleep(0.1)
        return np.ones(4)

    def derived():
        return store.get("loaded", load, heavy_work=True) * 2

    out = {}
    a = threading.Thread(target=lambda: out.update(a=store.get("atoms", derived, True)))
    b = threading.Thread(target=lambda: out.update(b=store.get("loaded", load, True)))
    a.start()
    b.start()
    a.join(10)
    b.join(10)
    assert out["a"].tolist() == [2.0] * 4 and out["b"].tolist() == [1.0] * 4
