"""The import layers (docs/architecture.md): low modules load nothing above them.

Each check runs in a fresh interpreter, since this test process has imported everything.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

APP_MODULES = [
    "rflr.views.catalog",
    "rflr.views.charts",
    "rflr.views.data",
    "rflr.views.export",
    "rflr.views.sources",
    "rflr.views.state",
    "rflr.views.sweep_charts",
    "rflr.views.style",
    "rflr.views.training_charts",
    "rflr.views.grid_charts",
    "rflr.sweep.stats",
    "rflr.sweep.summary",
    "rflr.explorer.sweep_tab",
    "rflr.hub.sync",
]


def _loaded_after(imports: list[str], watched: list[str]) -> list[str]:
    """Which of `watched` are in sys.modules after importing `imports` in a new process."""
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in imports)
        + f"print(','.join(m for m in {watched!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [m for m in done.stdout.strip().split(",") if m]


def test_checkpoint_io_loads_nothing_scientific():
    assert (
        _loaded_after(
            ["rflr.files.checkpoint"], ["scipy", "rflr.train.trainer", "rflr.measure.evaluate"]
        )
        == []
    )


def test_summary_is_pure_tables():
    assert _loaded_after(["rflr.sweep.summary"], ["torch", "scipy", "rflr.files.checkpoint"]) == []


def test_grid_statistics_are_pure_tables():
    assert _loaded_after(["rflr.sweep.stats"], ["torch", "scipy", "rflr.files.checkpoint"]) == []


def test_the_app_never_loads_the_trainer():
    watched = ["rflr.train.trainer", "rflr.train.stack", "rflr.sweep.runner", "rflr.cli.train"]
    assert _loaded_after(APP_MODULES, watched) == []


def test_the_watch_list_would_see_a_loaded_module():
    """The check above can fail: importing the trainer does show up."""
    assert _loaded_after(["rflr.train.trainer"], ["rflr.train.trainer", "rflr.train.stack"]) == [
        "rflr.train.trainer",
        "rflr.train.stack",
    ]


def test_import_rflr_is_light():
    """`import rflr` and the `rflr` command's dispatcher load nothing heavy; the notebook API
    never loads Streamlit or the trainer."""
    heavy = ["torch", "numpy", "pandas", "altair", "streamlit", "huggingface_hub"]
    assert _loaded_after(["rflr", "rflr.cli.commands", "rflr.files.paths"], heavy) == []
    watched = [
        "streamlit",
        "rflr.train.trainer",
        "rflr.train.stack",
        "rflr.sweep.runner",
        "rflr.cli.train",
        "rflr.hub.sync",
    ]
    assert _loaded_after(["rflr.notebook", "rflr.figures"], watched) == []


def test_training_never_loads_ray():
    """Ray is optional: only --executor ray imports it (inside rflr.sweep.executors.RayExecutor)."""
    modules = [
        "rflr.cli.train",
        "rflr.cli.flags",
        "rflr.cli.grid_jobs",
        "rflr.sweep.runner",
        "rflr.sweep.executors",
        "rflr.sweep.grid",
    ]
    assert _loaded_after(modules, ["ray"]) == []


def test_grid_specs_are_pure():
    assert _loaded_after(["rflr.sweep.grid"], ["torch", "argparse", "rflr.cli.train"]) == []
