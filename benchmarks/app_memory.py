"""Server memory of the explorer for an uploaded checkpoint (issue 22, case 2).

    python benchmarks/app_memory.py                      # width 4096, depth 64, rank 1, float32
    python benchmarks/app_memory.py --grid-points 16385  # a header asking for the largest grid

Builds the checkpoint with rflr's own save code, starts the explorer as a headless AppTest in
served mode (RFLR_SERVE=1, the shipped checkpoints/ folder), uploads the file, and prints the
process's resident memory (VmRSS) before and after the upload, its peak (VmHWM) and what the
page said about the file. AppTest runs the script in this process, so VmRSS is the server's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from rflr.core.config import RFLRConfig, RunConfig, TrainConfig  # noqa: E402
from rflr.core.model import init_params  # noqa: E402
from rflr.files import checkpoint  # noqa: E402
from rflr.measure.record import Metrics  # noqa: E402


def memory_mb() -> dict[str, float]:
    """VmRSS and VmHWM of this process, in MB (Linux /proc)."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    return out


def build(path: Path, width: int, depth: int, rank: int, grid_points: int) -> Path:
    """A valid RF-LR checkpoint (random init) whose header names `grid_points`."""
    cfg = RunConfig(RFLRConfig(width=width, depth=depth, rank=rank), train=TrainConfig(steps=1))
    params = init_params(cfg.model, torch.Generator().manual_seed(0))
    metrics = Metrics(grid_points=grid_points, status="ok")
    return checkpoint.save(path, cfg, params, 1, metrics, {})


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=int, default=4096)
    p.add_argument("--depth", type=int, default=64)
    p.add_argument("--rank", type=int, default=1)
    p.add_argument("--grid-points", type=int, default=1025)
    args = p.parse_args()
    os.environ["RFLR_SERVE"] = "1"
    os.environ.pop("RFLR_CHECKPOINTS", None)
    with tempfile.TemporaryDirectory() as tmp:
        path = build(
            Path(tmp) / "big.safetensors", args.width, args.depth, args.rank, args.grid_points
        )
        payload = path.read_bytes()
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=1800).run()
        at.radio(key="w_src").set_value("upload").run()
        before = memory_mb()
        t0 = time.perf_counter()
        at.file_uploader(key="w_upload").set_value(
            ("big.safetensors", payload, "application/octet-stream")
        ).run()
        seconds = time.perf_counter() - t0
        after = memory_mb()
        said = [str(e.value) for e in (*at.error, *at.sidebar.error)]
    print(
        f"file {len(payload) / 2**20:.1f} MB (width {args.width}, depth {args.depth}, rank "
        f"{args.rank}, grid_points {args.grid_points}); upload rerun {seconds:.1f} s"
    )
    print(
        f"RSS before {before['VmRSS']:.0f} MB, after {after['VmRSS']:.0f} MB, peak {after['VmHWM']:.0f} MB"
    )
    print(f"exception: {bool(at.exception)}; errors: {said[:3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
