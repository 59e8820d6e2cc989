"""Shared fixtures: tiny configs, hand-built networks, the one checkpoint factory, AppTest page
readers, ports, an isolated Hugging Face Hub, the explorer served to headless Chromium (the
browser tests, tests/test_browser_*.py)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

import pandas as pd
import pytest
import torch

from rflr.core.config import DenseConfig, RFLRConfig, RunConfig, TargetConfig, TrainConfig
from rflr.core.model import init_params
from rflr.core.targets import DEFAULT_GRID_POINTS
from rflr.files import checkpoint, paths
from rflr.measure.evaluate import checkpoint_metrics
from rflr.sweep import runner, summary
from rflr.train.trainer import Job, TrainOptions

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

# The models under test are tiny: a second intra-op thread only adds synchronization, which
# is very costly on a busy 2-core machine (see rflr.train.trainer.auto_threads).
torch.set_num_threads(1)


@pytest.fixture
def tiny_rflr() -> RunConfig:
    return RunConfig(RFLRConfig(width=16, rank=2, depth=3), train=TrainConfig(steps=200, lr=0.02))


@pytest.fixture
def tiny_dense() -> RunConfig:
    return RunConfig(DenseConfig(width=16, depth=3), train=TrainConfig(steps=200, lr=0.02))


def mirror_paired_params(cfg: RFLRConfig | DenseConfig, seed: int = 0) -> dict[str, torch.Tensor]:
    """A network whose atoms come in exact mirror pairs (w, b) and (-w, b) with equal
    outgoing columns: every later layer is then an exactly even function of x."""
    from rflr.core.model import init_params

    p = init_params(cfg, torch.Generator().manual_seed(seed), torch.float64)
    half = cfg.width // 2
    p["atoms.weight"][half:] = -p["atoms.weight"][:half]
    p["atoms.bias"][half:] = p["atoms.bias"][:half]
    nxt = "bottleneck.1.down" if isinstance(cfg, RFLRConfig) else "hidden.1.weight"
    if cfg.depth == 1:
        nxt = "readout.weight"
    p[nxt][:, half:] = p[nxt][:, :half]
    return p


def chart_frames(at) -> list[pd.DataFrame]:
    """The data of every Vega-Lite chart an AppTest page shows (its default dataset, else
    its first named one), read back from the Arrow bytes the browser would get."""
    import pyarrow as pa

    out = []
    for e in at.get("vega_lite_chart"):
        raw = e.proto.data.data or (e.proto.datasets[0].data.data if e.proto.datasets else b"")
        out.append(pa.ipc.open_stream(raw).read_pandas() if raw else pd.DataFrame())
    return out


def layer_columns(at) -> list[pd.DataFrame]:
    """The layer view's panels of each checkpoint column (A, then B), each column's one-panel
    charts joined into one table (rflr.views.layer_charts.panel_frame's): a column's panels
    are numbered from 0, in the order the page draws them."""
    columns: list[list[pd.DataFrame]] = []
    for frame in chart_frames(at):
        if "panel" not in frame or frame.empty:
            continue
        if frame["panel"].iloc[0] == 0 or not columns:
            columns.append([])
        columns[-1].append(frame)
    return [pd.concat(c, ignore_index=True) for c in columns]


def panel_titles(frame: pd.DataFrame) -> list[str]:
    """The panel titles of a layer chart's data (rflr.views.layer_charts.panel_frame), in order."""
    drawn = frame[~frame["bound"]]
    return list(drawn.groupby("panel", sort=True)["title"].first())


def texts(at: AppTest) -> str:
    """Every piece of visible text of the page, joined: markdown, captions, alerts, titles;
    backslash escapes removed (file-provided text is escaped: rflr.explorer.escape.md)."""
    parts = []
    for kind in ("markdown", "caption", "warning", "error", "info", "subheader", "title"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [str(e.value) for e in at.sidebar.error] + [str(e.value) for e in at.sidebar.caption]
    return re.sub(r"\\(.)", r"\1", "\n".join(parts))


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.get("vega_lite_chart")]


def open_tab(at: AppTest, label: str) -> AppTest:
    at.session_state["tab"] = label
    return at.run()


def free_port() -> int:
    """A TCP port nobody listens on right now (for a local server or an unreachable URL)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def isolated_hub(tmp_path, monkeypatch):
    """No token, online mode, and every Hugging Face file under tmp_path, whatever the machine has."""
    from huggingface_hub import constants  # here only: huggingface_hub is optional (rflr[hub])

    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr(
        constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf-home" / "stored_tokens")
    )
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-home" / "hub"))


@pytest.fixture
def api(monkeypatch):
    """The HfApi instance rflr.hub.sync will build, with HfApi's real method signatures."""
    from huggingface_hub import HfApi

    from rflr.hub import sync

    instance = mock.create_autospec(HfApi, instance=True)
    monkeypatch.setattr(
        sync, "HfApi", mock.Mock(return_value=instance)
    )  # tests see it as sync.HfApi
    return instance


ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright never downloads one
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def app(folder, monkeypatch):
    """The explorer as an AppTest on the shared `folder` (streamlit imported here only: this
    module is also loaded where streamlit is not installed)."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv(paths.ENV_VAR, str(folder))
    return AppTest.from_file(APP, default_timeout=60)


def start_app(
    port: int,
    log,
    folder: Path | None = None,
    script: Path = ROOT / "streamlit_app.py",
    processes: int = 1,
) -> subprocess.Popen:
    """`streamlit run` of the explorer (or `script`) on 127.0.0.1:`port`, headless, without
    a file watcher, showing `folder` (default: the app's own default); output to `log`. With
    `processes` > 1, that command run by rflr.explorer.serve: N processes behind its proxy."""
    env = dict(os.environ)
    if folder is not None:
        env[paths.ENV_VAR] = str(folder)
    argv = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true"]
    argv += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    argv += ["--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    if processes > 1:
        serve = [sys.executable, "-m", "rflr.explorer.serve", "--processes", str(processes)]
        argv = [*serve, "--", *argv]
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 90) -> bool:
    """Wait until the server at `url` answers its health check; False if it exited or did
    not answer within `timeout_s`."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        if proc.poll() is not None:
            return False
        time.sleep(0.3)
    return False


def stop(proc: subprocess.Popen) -> None:
    """End a server a test started: terminate, then kill if it does not exit in 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


CHART_CANVAS = '[data-testid="stVegaLiteChart"] canvas'  # a chart Vega drew, in Chromium


def skip_without_chromium() -> None:
    """Skip the calling browser test module, at its import, where Chromium or Playwright is
    missing (CI installs Debian's chromium; elsewhere it may not be there)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: the browser tests need it", allow_module_level=True
        )
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


def serve(folder: Path, tmp_path_factory, processes: int = 1, **env: str) -> Iterator[str]:
    """The explorer on `folder` for as long as the caller's fixture lives: its URL. `env`:
    variables the server starts with (this process's environment is left as it was);
    `processes` > 1: that many behind rflr.explorer.serve's proxy."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("log") / "streamlit.log", "w+")  # noqa: SIM115
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        proc = start_app(port, log, folder, processes=processes)  # it copies the environment
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.update({k: v})
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_healthy(url, proc, 90 * processes):
            log.seek(0)
            pytest.fail(f"streamlit did not start:\n{log.read()}")
        yield url
    finally:
        stop(proc)
        log.close()


def written_long_ago(folder: Path, seconds: float = 600) -> None:
    """Move the mtimes of everything below `folder` back: runs the tests wrote a moment ago
    are then finished runs, not runs being written (rflr.views.live.LIVE_WINDOW_S), and the
    page shows no live notice above its charts."""
    for p in [folder, *folder.rglob("*")]:
        os.utime(p, (p.stat().st_mtime - seconds,) * 2)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The explorer on make_folder's two runs (finished runs), for a browser test module."""
    folder = tmp_path_factory.mktemp("browser-ckpts")
    make_folder(folder)
    written_long_ago(folder)
    yield from serve(folder, tmp_path_factory)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (the system's, by Playwright), for a browser test module."""
    from playwright.sync_api import sync_playwright  # here only: browser modules skip without it

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def artifacts(tmp_path) -> Path:
    """Where a browser test saves its screenshots: $RFLR_TEST_ARTIFACTS, else a temporary folder."""
    folder = Path(os.environ.get("RFLR_TEST_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def fake_history(step: int) -> dict:
    """A plateau, a sharp drop, another plateau: log-spaced steps up to `step`."""
    steps = [s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if s <= step]
    loss = [1.0 if s < 20 else 1e-3 for s in steps]
    return {"step": steps, "train_loss": loss, "test_mse": loss}


def write_checkpoint(
    path: Path,
    cfg: RunConfig,
    params: dict[str, torch.Tensor] | None = None,
    step: int = 7,
    history: dict | None = None,
    grid_points: int = DEFAULT_GRID_POINTS,
) -> Path:
    """THE test checkpoint: real params (init from cfg.seed unless given), the metrics the
    trainer would store, a fake loss history; written by rflr.files.checkpoint.save."""
    if params is None:
        params = init_params(cfg.model, torch.Generator().manual_seed(cfg.seed))
    metrics = replace(checkpoint_metrics(cfg, params, grid_points=grid_points), status="ok")
    history = fake_history(step) if history is None else history
    return checkpoint.save(path, cfg, params, step, metrics, history)


def write_run(root: Path, model, seed: int = 0, steps=(0, 10, 100), target=None) -> RunConfig:
    """One run's snapshots at `steps` below root (a different init per snapshot)."""
    cfg = RunConfig(model=model, target=target or TargetConfig(), seed=seed)
    for i, step in enumerate(steps):
        params = init_params(model, torch.Generator().manual_seed(100 * seed + i))
        path = checkpoint.snapshot_path(root, cfg, step)
        write_checkpoint(path, cfg, params, step, grid_points=257)
    return cfg


def make_folder(root: Path, width: int = 16, depth: int = 3) -> tuple[RunConfig, RunConfig]:
    """An RF-LR run and its dense control (same target and seed), three snapshots each."""
    a = write_run(root, RFLRConfig(width=width, depth=depth, rank=2))
    b = write_run(root, DenseConfig(width=width, depth=depth))
    return a, b


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """make_folder's RF-LR run and dense control in a folder shared by a module's tests."""
    root = tmp_path_factory.mktemp("ckpts")
    make_folder(root)
    return root


def tiny_sweep_jobs(out: Path) -> list[Job]:
    train = TrainConfig(steps=300, lr=0.02)
    opts = TrainOptions(out=out, snapshots="log", snapshot_seeds=1, progress=False)
    return [
        Job(RunConfig(RFLRConfig(width=16, rank=1, depth=3), train=train), [0, 1, 2], opts),
        Job(RunConfig(DenseConfig(width=16, depth=3), train=train), [0, 1], opts),
    ]


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory) -> tuple[Path, pd.DataFrame, list[dict]]:
    """A tiny sweep (width 16, 300 steps, 3 RF-LR + 2 dense reruns), trained once per session."""
    out = tmp_path_factory.mktemp("sweep")
    df, timings = runner.run_sweep(tiny_sweep_jobs(out), out, threads=1, progress=False)
    df.to_csv(out / summary.SUMMARY_NAME, index=False)
    (out / summary.SWEEP_NAME).write_text(json.dumps({"command": "test", "jobs": timings}))
    return out, df, timings


def _run_study(root: Path, preset: str) -> tuple[Path, Path]:
    from rflr.cli.train import main

    out, ship = root / "runs", root / "ship"
    argv = ["--preset", preset, "--out", str(out), "--ship", str(ship), "--no-progress"]
    assert main(argv) == 0
    return out, ship


@pytest.fixture(scope="session")
def quick_study(tmp_path_factory) -> tuple[Path, Path]:
    """`train.py --preset beyond-quick` into a temporary folder (~40-70 s on a busy 2-core
    machine): the study folder and the folder its summary was shipped to."""
    return _run_study(tmp_path_factory.mktemp("beyond-quick"), "beyond-quick")


def mini_preset():
    """A two-part study preset ("mini": the quick study's base and weight-decay parts at
    width 8, depth 2, 150 steps), for a test to register as PRESETS["mini"] while it runs."""
    from rflr.sweep.presets import PRESETS, Preset, StudyPart

    small = {"--width=16": "--width=8", "--depth=3": "--depth=2", "--steps=400": "--steps=150"}
    parts = tuple(
        StudyPart(p.name, p.question, tuple(small.get(a, a) for a in p.args))
        for p in PRESETS["beyond-quick"].study
        if p.name in ("base", "weight-decay")
    )
    return Preset("test study", [], study=parts, out="runs/mini")


@pytest.fixture(scope="session")
def mini_study(tmp_path_factory) -> tuple[Path, Path]:
    """The "mini" study (mini_preset) trained once per session: a few seconds."""
    from rflr.sweep.presets import PRESETS

    PRESETS["mini"] = mini_preset()
    try:
        return _run_study(tmp_path_factory.mktemp("mini-study"), "mini")
    finally:
        del PRESETS["mini"]
