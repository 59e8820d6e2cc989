"""Checkpoint folders for the rflr.hub.sync tests (test_hub, test_hub_plan): real headers, tiny tensors."""

import json
from pathlib import Path

import torch
from safetensors.torch import save_file


def write_checkpoint(path: Path, *, model: str = "rflr", seed: int = 0, step: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "format": "pt",
        "rflr.format_version": "1",
        "rflr.config": json.dumps({"model": model, "width": 8, "rank": 2, "seed": seed}),
        "rflr.step": str(step),
        "rflr.metrics": json.dumps({"status": "ok", "test_mse": 1.5e-5}),
    }
    save_file({"a": torch.zeros(2)}, str(path), metadata=metadata)


def checkpoint_folder(root: Path) -> Path:
    """A folder as rflr writes it, plus files that push must leave behind."""
    folder = root / "runs"
    write_checkpoint(folder / "run-a" / "step-00000000.safetensors", seed=3, step=0)
    write_checkpoint(folder / "run-a" / "step-00000100.safetensors", seed=3, step=100)
    write_checkpoint(
        folder / "run-b" / "step-00000100.safetensors", model="dense", seed=4, step=100
    )
    (folder / "summary.csv").write_text("run_id,seed\nrun-a,3\nrun-b,4\n")
    (folder / "figures").mkdir()
    (folder / "figures" / "loss.png").write_bytes(b"\x89PNG fake")
    (folder / "notes.txt").write_text("not shared")
    (folder / "README.md").write_text("replaced by the generated card")
    write_checkpoint(folder / ".cache" / "huggingface" / "stale.safetensors")
    return folder
