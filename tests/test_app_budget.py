"""The explorer under its budget (issue 22, case 2): a checkpoint too large to evaluate is
refused in one line before a tensor is read, a header's grid is capped, and the caches of
loaded checkpoints and evaluated tables are bounded by bytes."""

from __future__ import annotations

import pytest
import torch
from streamlit.testing.v1 import AppTest

from rflr.core.config import RFLRConfig, RunConfig, TrainConfig
from rflr.core.model import init_params
from rflr.explorer import cache
from rflr.files import checkpoint, paths
from rflr.measure.record import GRID_POINTS_MAX, Metrics
from rflr.views import budget, data, sources
from tests.conftest import APP, open_tab, texts, write_checkpoint


@pytest.fixture
def env(folder, monkeypatch):
    """The app on the shared folder, no limit variable set; returns monkeypatch."""
    monkeypatch.setenv(paths.ENV_VAR, str(folder))
    for var in (sources.SERVE_VAR, *budget.ENV):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def the_recipe(path, grid_points: int) -> bytes:
    """Case 2's file, written by rflr's own save: width 4096, depth 64, rank 1, float32 (3 MB)."""
    cfg = RunConfig(RFLRConfig(width=4096, rank=1, depth=64), train=TrainConfig(steps=1))
    params = init_params(cfg.model, torch.Generator().manual_seed(0))
    metrics = Metrics(grid_points=grid_points, status="ok")
    return checkpoint.save(path, cfg, params, 1, metrics, {}).read_bytes()


@pytest.mark.parametrize("serve", ["1", ""])
def test_the_recipe_is_refused_before_anything_is_evaluated(env, tmp_path, serve):
    env.setenv(sources.SERVE_VAR, serve)
    payload = the_recipe(tmp_path / "big.safetensors", GRID_POINTS_MAX)
    assert len(payload) < sources.MAX_UPLOAD_MB * 2**20  # well under the upload cap
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.radio(key="w_src").set_value("upload").run()
    env.setattr(data, "compute_partials", lambda *a: pytest.fail("evaluated"))
    at.file_uploader(key="w_upload").set_value(("big.safetensors", payload, "x")).run()
    assert not at.exception and not at.sidebar.error  # a valid file: the upload is kept
    (refusal,) = [e.value for e in at.error]
    shown = texts(at)
    assert "too large to show here" in shown and "(RFLR_EVAL_MB)" in shown
    points = budget.SERVED.grid_points if serve else GRID_POINTS_MAX
    assert f"width 4096 × depth 64 × {points} grid points" in shown  # the capped grid
    assert "this server's" in shown if serve else "this explorer's" in shown
    for tab in ("Depth profile", "Weights", "Inspector"):  # every tab says why, nothing breaks
        assert not open_tab(at, tab).exception and refusal in [e.value for e in at.error]


def test_a_header_grid_over_the_cap_is_evaluated_on_the_cap(env, tmp_path):
    cfg = RunConfig(RFLRConfig(width=8, rank=1, depth=2))
    path = write_checkpoint(tmp_path / "run" / "fine.safetensors", cfg, grid_points=GRID_POINTS_MAX)
    ckpt = checkpoint.load(path)
    assert len(data.metrics_grid(ckpt).x) == GRID_POINTS_MAX  # local: the header's grid
    env.setenv(sources.SERVE_VAR, "1")
    assert len(data.compute_partials(ckpt).x0) == budget.SERVED.grid_points
    env.setenv(paths.ENV_VAR, str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert f"Measured here on {budget.SERVED.grid_points} of its {GRID_POINTS_MAX}" in texts(at)


def test_the_caches_hold_at_most_their_bytes(env):
    env.setenv("RFLR_CACHE_MB", "1")
    at = AppTest.from_file(APP, default_timeout=60).run()
    for step in at.select_slider(key="w_step").options:
        at.select_slider(key="w_step").set_value(step).run()
        for tab in ("Layer view", "Depth profile", "Weights"):
            open_tab(at, tab)
            assert not at.exception
            store = cache._store()
            assert store.max_bytes == 2**20 and 0 < store.total <= store.max_bytes
