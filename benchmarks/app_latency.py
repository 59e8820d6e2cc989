"""Server-side latency of the Streamlit explorer (budget: 300 ms per widget change; 2 s to
list 1,000 checkpoint files from their headers).

    python benchmarks/app_latency.py                  # checkpoints/ if it has files, else a
                                                      # generated width-64 depth-4 pair
    python benchmarks/app_latency.py --folder DIR

Each interaction is a headless AppTest rerun after changing one widget, timed end to end:
the script, every cached and uncached computation, chart serialization. AppTest compiles
the script again on every run, which the real server does once; that compile is cached
here so that the numbers are the server's work per rerun. The browser's rendering is not
included. "first" is a value never shown before (cold caches for that layer or step),
"again" the same change repeated (warm caches).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from streamlit.runtime.scriptrunner import script_cache  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from rflr.core.config import DenseConfig, RFLRConfig, RunConfig  # noqa: E402
from rflr.core.model import init_params  # noqa: E402
from rflr.files import checkpoint  # noqa: E402
from rflr.measure.evaluate import checkpoint_metrics  # noqa: E402
from rflr.views import catalog, sources  # noqa: E402
from rflr.views import state as view_state  # noqa: E402
from streamlit_app import TABS  # noqa: E402

BUDGET_MS = 300
LISTING_BUDGET_S = 2.0


def cache_bytecode() -> None:
    """Compile the script once, as the server does (AppTest recompiles on every run)."""
    original = script_cache.ScriptCache.get_bytecode
    memo: dict[str, object] = {}

    def get_bytecode(self, script_path: str):
        if script_path not in memo:
            memo[script_path] = original(self, script_path)
        return memo[script_path]

    script_cache.ScriptCache.get_bytecode = get_bytecode


def make_pair(root: Path, width: int = 64, depth: int = 4, steps=(0, 100, 1000, 10000)) -> None:
    """RF-LR (rank 2) and dense runs at init, saved at several steps with a made-up history."""
    for model in (
        RFLRConfig(width=width, depth=depth, rank=2),
        DenseConfig(width=width, depth=depth),
    ):
        cfg = RunConfig(model=model, seed=0)
        for i, step in enumerate(steps):
            params = init_params(model, torch.Generator().manual_seed(i))
            metrics = replace(checkpoint_metrics(cfg, params), status="ok")
            logged = [s for s in (1, 10, 100, 1000, 10000) if s <= step]
            history = {
                "step": logged,
                "train_loss": [1 / (1 + s) for s in logged],
                "test_mse": [1 / (1 + s) for s in logged],
            }
            checkpoint.save(
                checkpoint.snapshot_path(root, cfg, step), cfg, params, step, metrics, history
            )


def timed(at: AppTest, change=None) -> float:
    if change is not None:
        change(at)
    t = time.perf_counter()
    at.run()
    ms = (time.perf_counter() - t) * 1000
    if at.exception:
        raise SystemExit(f"app raised: {at.exception[0].value}")
    return ms


def interactions(folder: Path) -> list[tuple[str, float, float]]:
    os.environ[sources.ENV_VAR] = str(folder)
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    cold = timed(at)
    print(f"first page load (cold caches, loads both checkpoints): {cold:.0f} ms")
    timed(at)  # settle: the first rerun after a load still fills some caches
    layer = at.selectbox(key="w_layer")
    depth = max(layer.options and range(len(layer.options)))
    steps = list(at.select_slider(key="w_step").options)
    results = []

    def measure(label: str, first, back) -> None:
        a = timed(at, first)
        timed(at, back)
        b = timed(at, first)
        timed(at, back)
        results.append((label, a, b))

    results.append(("rerun, nothing changed", timed(at), timed(at)))
    for k in range(depth + 1):
        if k != depth - 1:
            measure(
                f"layer -> {k}",
                lambda t, k=k: t.selectbox(key="w_layer").set_value(k),
                lambda t: t.selectbox(key="w_layer").set_value(depth - 1),
            )
    for part in ("u", "h"):
        measure(
            f"partial -> {part}",
            lambda t, p=part: t.radio(key="w_part").set_value(p),
            lambda t: t.radio(key="w_part").set_value("partial"),
        )
    measure(
        "toggle odd part",
        lambda t: t.toggle(key="w_odd").set_value(True),
        lambda t: t.toggle(key="w_odd").set_value(False),
    )
    measure(
        "toggle shared y",
        lambda t: t.toggle(key="w_shared").set_value(False),
        lambda t: t.toggle(key="w_shared").set_value(True),
    )
    measure(
        "threshold 1e-3 -> 1e-1",
        lambda t: t.number_input(key="w_thr").set_value(0.1),
        lambda t: t.number_input(key="w_thr").set_value(1e-3),
    )
    if any(b.key == "more" for b in at.button):  # a layer with more active channels than shown
        a = timed(at, lambda t: t.button(key="more").click())
        results.append(
            (
                f"show {view_state.SHOWN_STEP} more channels",
                a,
                timed(at, lambda t: t.button(key="more").click()),
            )
        )
        at.session_state["shown"] = view_state.SHOWN_STEP
        timed(at)
    for s in steps[:-1]:
        measure(
            f"step -> {s}",
            lambda t, s=s: t.select_slider(key="w_step").set_value(s),
            lambda t: t.select_slider(key="w_step").set_value(steps[-1]),
        )
    for tab in list(TABS)[1:]:  # every tab but the layer view, which the rows above measure
        measure(
            f"tab -> {tab}",
            lambda t, tab=tab: t.session_state.__setitem__("tab", tab),
            lambda t: t.session_state.__setitem__("tab", "Layer view"),
        )
    return results


def listing(n: int = 1000) -> tuple[float, float]:
    """(seconds to list n files from headers into the table, seconds for the change signature)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        make_pair(src, width=64, depth=4, steps=(0,))
        files = sorted(src.rglob("*.safetensors"))
        big = Path(tmp) / "many"
        for i in range(n):
            f = files[i % len(files)]
            dst = big / f"run-{i // 10:03d}" / f"step-{i % 10:08d}.safetensors"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, dst)
        t = time.perf_counter()
        found = sources.scan(big)
        table, errors = catalog.catalog(sources.list_folder(found, big)[0], big)
        t_list = time.perf_counter() - t
        assert len(table) == n and errors.empty, (len(table), len(errors))
        t = time.perf_counter()
        sig = sources.signature(found.dirs)  # what a rerun costs: a stat per folder
        t_sig = time.perf_counter() - t
        assert len(sig) == n // 10 + 1
    return t_list, t_sig


def main() -> int:
    # AppTest touches session state from the main thread, which Streamlit logs as a warning.
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, help="checkpoint folder (default: checkpoints/)")
    parser.add_argument("--files", type=int, default=1000, help="files in the listing test")
    args = parser.parse_args()
    cache_bytecode()
    folder = args.folder or ROOT / "checkpoints"
    with tempfile.TemporaryDirectory() as tmp:
        if args.folder is None and not any(folder.rglob("*.safetensors")):
            folder = Path(tmp)
            make_pair(folder)
            print(
                f"checkpoints/ is empty: generated a width-64 depth-4 RF-LR/dense pair in {folder}"
            )
        print(f"folder: {folder}")
        results = interactions(folder)
    print(f"\n{'interaction':34s} {'first':>9s} {'again':>9s}   (ms, budget {BUDGET_MS})")
    for label, a, b in results:
        flag = "" if max(a, b) <= BUDGET_MS else "  OVER"
        print(f"{label:34s} {a:9.0f} {b:9.0f}{flag}")
    firsts = [a for _, a, _ in results]
    agains = [b for _, _, b in results]
    print(f"{'median':34s} {statistics.median(firsts):9.0f} {statistics.median(agains):9.0f}")
    print(f"{'max':34s} {max(firsts):9.0f} {max(agains):9.0f}")
    t_list, t_sig = listing(args.files)
    print(
        f"\nlisting {args.files} files from headers: {t_list:.2f} s "
        f"(budget {LISTING_BUDGET_S:.0f} s); change signature (stat only): {t_sig * 1000:.0f} ms"
    )
    over = max(firsts + agains) > BUDGET_MS or t_list > LISTING_BUDGET_S
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
