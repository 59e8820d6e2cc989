"""Generator of hostile checkpoint files and folders (code, not binary blobs).

Every class of bad input from issue 9 is built here from one small valid checkpoint, so
tests (and anyone poking at the app by hand: `python -m tests.hostile DIR`) get the same
files. Each HEADER case is (metadata changes, a fragment the refusal must contain).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from rflr.core.config import RFLRConfig, RunConfig, TrainConfig
from rflr.core.model import init_params
from rflr.files.checkpoint import save
from rflr.measure.record import LayerMetrics, Metrics


def tiny_config(**changes) -> RunConfig:
    return RunConfig(RFLRConfig(width=8, rank=2, depth=2), train=TrainConfig(steps=20), **changes)


def write_valid(path: Path, cfg: RunConfig | None = None, step: int = 20) -> Path:
    """A small, entirely valid checkpoint (metrics and history as the trainer writes them)."""
    cfg = cfg or tiny_config()
    params = init_params(cfg.model, torch.Generator().manual_seed(cfg.seed))
    metrics = Metrics(
        status="ok",
        test_mse=0.5,
        output_defect=0.1,
        headline_defect=0.2,
        grid_points=1025,
        activity_threshold=1e-3,
        parity_tau=1e-2,
        oscillation_tol=0.01,
        atom_pairing_defect=0.3,
        atom_outgoing_mismatch=0.4,
        alive_atoms=8,
        layers=[
            LayerMetrics(
                name="bottleneck.1.z",
                defect_mean=0.2,
                defect_median=0.2,
                defect_max=0.3,
                active=2,
                channels=2,
                even=0,
                odd=0,
                mixed=2,
                oscillations_median=1.0,
            )
        ],
    )
    history = {"step": [0, 10, 20], "train_loss": [1.0, 0.5, None], "test_mse": [1.1, 0.6, 0.4]}
    return save(path, cfg, params, step, metrics, history)


def metadata(path: Path) -> dict[str, str]:
    with safe_open(str(path), "pt") as f:
        return dict(f.metadata())


def rewrite(path: Path, **changes: str | None) -> Path:
    """Replace metadata fields (None removes one); the tensors stay as they are."""
    with safe_open(str(path), "pt") as f:
        meta = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    for k, v in changes.items():
        if v is None:
            meta.pop(k, None)
        else:
            meta[k] = v
    save_file(tensors, str(path), metadata=meta)
    return path


def _config_with(**changes) -> str:
    d = tiny_config().to_dict()
    for key, value in changes.items():
        node = d
        *parents, last = key.split(".")
        for p in parents:
            node = node[p]
        node[last] = value
    return json.dumps(d)


def _nested(levels: int) -> str:
    return "[" * levels + "]" * levels


# A run id names its folder, so "/" is refused; markdown and HTML without it are legal ids
# and must be rendered as plain text (a relative image URL is still fetched by a browser).
MARKDOWN_RUN_ID = (
    "a ![x](track.png) [click](https:phish.example) <img src=x onerror=alert(1)> **b**"
)

# name -> (metadata changes, fragment of the refusal). Keys: C = rflr.config, M = metrics ...
HEADER_CASES: dict[str, tuple[dict[str, str | None], str]] = {
    # wrong JSON types
    "config-list": ({"rflr.config": "[1, 2, 3]"}, "bad rflr.config: expected a JSON object"),
    "config-null": ({"rflr.config": "null"}, "bad rflr.config: expected a JSON object"),
    "target-string": ({"rflr.config": _config_with(target="cos")}, "rflr.config.target"),
    "train-list": ({"rflr.config": _config_with(train=[1])}, "rflr.config.train"),
    "width-string": ({"rflr.config": _config_with(width="8")}, "rflr.config.width"),
    "width-bool": ({"rflr.config": _config_with(width=True)}, "rflr.config.width"),
    "width-float": ({"rflr.config": _config_with(width=8.0)}, "rflr.config.width"),
    "atoms-int": ({"rflr.config": _config_with(train_atoms=1)}, "rflr.config.train_atoms"),
    "lr-string": (
        {"rflr.config": _config_with(**{"train.lr": "0.1"})},
        "rflr.config.train.lr",
    ),
    "cosine-triple": (
        {"rflr.config": _config_with(**{"target.cosines": [[1, 2, 3]]})},
        "rflr.config.target.cosines[0]",
    ),
    "cosine-null-pair": (
        {"rflr.config": _config_with(**{"target.cosines": [None]})},
        "rflr.config.target.cosines[0]",
    ),
    "transverse-string": (
        {"rflr.config": _config_with(**{"target.transverse": "cos"})},
        "rflr.config.target.transverse: expected a list",
    ),
    "transverse-pair": (
        {"rflr.config": _config_with(**{"target.transverse": [[1, 1]]})},
        "rflr.config.target.transverse[0]: expected a [w, v, amplitude] triple",
    ),
    "transverse-quadruple": (
        {"rflr.config": _config_with(**{"target.transverse": [[1, 1, 1, 1]]})},
        "rflr.config.target.transverse[0]",
    ),
    "transverse-bool": (
        {"rflr.config": _config_with(**{"target.transverse": [[True, 1, 1]]})},
        "rflr.config.target.transverse[0][0]: expected a number",
    ),
    "transverse-string-number": (
        {"rflr.config": _config_with(**{"target.transverse": [[1, "2", 1]]})},
        "rflr.config.target.transverse[0][1]",
    ),
    "model-kind-list": ({"rflr.config": _config_with(model=["rflr"])}, "rflr.config.model"),
    "metrics-list": (
        {"rflr.metrics": "[1, 2]"},
        "bad rflr.metrics: expected a JSON object",
    ),
    "metrics-status-int": ({"rflr.metrics": '{"status": 3}'}, "rflr.metrics.status"),
    "metrics-status-other": (
        {"rflr.metrics": '{"status": "pwned"}'},
        "rflr.metrics.status",
    ),
    "metrics-mse-string": (
        {"rflr.metrics": '{"test_mse": "low"}'},
        "rflr.metrics.test_mse",
    ),
    "metrics-layers-dict": (
        {"rflr.metrics": '{"layers": {"a": 1}}'},
        "rflr.metrics.layers",
    ),
    "metrics-layer-int": ({"rflr.metrics": '{"layers": [1]}'}, "rflr.metrics.layers[0]"),
    "metrics-grid-zero": (
        {"rflr.metrics": '{"grid_points": 0}'},
        "rflr.metrics.grid_points",
    ),
    "metrics-grid-huge": (
        {"rflr.metrics": '{"grid_points": 1e9}'},
        "rflr.metrics.grid_points",
    ),
    "metrics-defect-2": ({"rflr.metrics": '{"headline_defect": 2}'}, "headline_defect"),
    "history-hello": ({"rflr.history": '"hello"'}, "bad rflr.history: expected a JSON object"),
    "history-step-string": ({"rflr.history": '{"step": "0,1"}'}, "rflr.history.step"),
    "history-unsorted": ({"rflr.history": '{"step": [5, 1]}'}, "non-decreasing"),
    "history-ragged": (
        {"rflr.history": '{"step": [0, 1], "train_loss": [1]}'},
        "rflr.history.train_loss",
    ),
    "history-too-long": (
        {"rflr.history": json.dumps({"step": [0] * 20_001})},
        "more than 20000",
    ),
    # non-finite numbers where meaningless
    "lr-nan": ({"rflr.config": _config_with(**{"train.lr": float("nan")})}, "NaN is not allowed"),
    "domain-inf": (
        {"rflr.config": _config_with(**{"target.domain": float("inf")})},
        "Infinity is not allowed",
    ),
    "mse-nan-literal": ({"rflr.metrics": '{"test_mse": NaN}'}, "NaN is not allowed"),
    "lr-1e400": (
        {"rflr.config": _config_with(**{"train.lr": 1e308}).replace("1e+308", "1e400")},
        "lr",
    ),
    "transverse-nan": (
        {"rflr.config": _config_with(**{"target.transverse": [[1, 1, float("nan")]]})},
        "NaN is not allowed",
    ),
    "transverse-1e400": (
        {
            "rflr.config": _config_with(**{"target.transverse": [[1, 1, 1e308]]}).replace(
                "1e+308", "1e400"
            )
        },
        "rflr.config.target.transverse[0][2]: expected a finite number",
    ),
    "transverse-frequency-huge": (
        {"rflr.config": _config_with(input_dim=2, **{"target.transverse": [[1e5, 1, 1]]})},
        "transverse w must be a finite number in [-10000, 10000]",
    ),
    "transverse-in-1d": (
        {"rflr.config": _config_with(**{"target.transverse": [[1, 1, 1]]})},
        "transverse target terms need input_dim >= 2",
    ),
    "gamma-negative": ({"rflr.config": _config_with(**{"train.lr_gamma": -1})}, "lr_gamma"),
    # deep nesting and sizes
    "config-deep": ({"rflr.config": _nested(100_000)}, "nested deeper than"),
    "metrics-deep": ({"rflr.metrics": _nested(50)}, "nested deeper than"),
    "history-deep": ({"rflr.history": '{"step": ' + _nested(12) + "}"}, "nested deeper than"),
    "header-huge": ({"padding": "x" * (17 << 20)}, "a header of"),
    "metrics-huge": (
        {"rflr.metrics": json.dumps({"pad": "x" * (5 << 20)})},
        "characters, more than",
    ),
    "depth-1e6": ({"rflr.config": _config_with(depth=10**6)}, "depth must be <= 64"),
    "depth-1e7": ({"rflr.config": _config_with(depth=10**7)}, "depth must be <= 64"),
    "width-1e9": ({"rflr.config": _config_with(width=10**9, rank=1)}, "width must be <= 4096"),
    "rank-over-width": ({"rflr.config": _config_with(rank=9)}, "rank must be"),
    "input-dim-huge": ({"rflr.config": _config_with(input_dim=10**6)}, "input_dim must be <="),
    "many-cosines": (
        {"rflr.config": _config_with(**{"target.cosines": [[1, 1]] * 65})},
        "more than 64",
    ),
    "many-transverse": (
        {"rflr.config": _config_with(input_dim=2, **{"target.transverse": [[1, 1, 1]] * 65})},
        "rflr.config.target.transverse: 65 entries, more than 64",
    ),
    "steps-huge": (
        {"rflr.config": _config_with(**{"train.steps": 10**30})},
        "rflr.config.train.steps",
    ),
    # rflr.step
    "step-1e30": ({"rflr.step": str(10**30)}, "bad rflr.step"),
    "step-float": ({"rflr.step": "1e30"}, "bad rflr.step"),
    "step-negative": ({"rflr.step": "-5"}, "bad rflr.step"),
    "step-past-end": ({"rflr.step": "21"}, "past the run's last step 20"),
    "step-spaces": ({"rflr.step": " 7"}, "bad rflr.step"),
    # identity fields that name folders or get rendered
    "run-id-slash": ({"rflr.config": _config_with(run_id="../../etc")}, "cannot name a folder"),
    "run-id-long": ({"rflr.config": _config_with(run_id="x" * 201)}, "run_id must have"),
    "run-id-newline": ({"rflr.config": _config_with(run_id="a\nb")}, "cannot name a folder"),
    "run-id-int": ({"rflr.config": _config_with(run_id=0)}, "rflr.config.run_id"),
    "seed-bool": ({"rflr.config": _config_with(seed=True)}, "rflr.config.seed"),
    "seed-negative": ({"rflr.config": _config_with(seed=-1)}, "rflr.config.seed"),
    "version-list": ({"rflr.format_version": "[1]"}, "unknown format version"),
    "missing-config": ({"rflr.config": None}, "metadata lacks rflr.config"),
}

# Valid but unusual: must load, and whoever renders them must show them as plain text.
ACCEPTED_CASES: dict[str, dict[str, str | None]] = {
    "run-id-markdown": {"rflr.config": _config_with(run_id=MARKDOWN_RUN_ID)},
    "no-metrics-no-history": {"rflr.metrics": None, "rflr.history": None},
    "unknown-keys": {"rflr.metrics": '{"status": "ok", "future": {"a": [1]}}'},
}


def write_header_case(folder: Path, name: str) -> Path:
    changes = HEADER_CASES[name][0] if name in HEADER_CASES else ACCEPTED_CASES[name]
    return rewrite(write_valid(folder / f"{name}.safetensors"), **changes)


def write_all(folder: Path) -> dict[str, Path]:
    """Every header case, accepted ones included, as files in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return {name: write_header_case(folder, name) for name in [*HEADER_CASES, *ACCEPTED_CASES]}


# --- folder-level cases (the listing) ---------------------------------------------------------


def unreadable_file(folder: Path) -> Path:
    """A valid checkpoint with no read permission (root can still read it: tests check)."""
    path = write_valid(folder / "unreadable.safetensors")
    path.chmod(0)
    return path


def symlink_out_of_root(root: Path, outside: Path) -> Path:
    """A valid checkpoint outside `root`, linked from inside it."""
    target = write_valid(outside / "elsewhere.safetensors")
    link = root / "link.safetensors"
    link.symlink_to(target)
    return link


def dangling_symlink(root: Path) -> Path:
    link = root / "dangling.safetensors"
    link.symlink_to(root / "no-such-file")
    return link


def symlink_loop(root: Path) -> Path:
    link = root / "loop.safetensors"
    link.symlink_to(link)
    return link


def hidden_files(root: Path) -> list[Path]:
    """A hidden file and a hidden folder holding valid checkpoints: listings skip both."""
    return [
        write_valid(root / ".hidden.safetensors"),
        write_valid(root / ".resume" / "x.safetensors"),
        write_valid(root / "run" / ".tmp" / "y.safetensors"),
    ]


def folder_named_like_a_checkpoint(root: Path) -> Path:
    path = root / "dir.safetensors"
    path.mkdir()
    return path


def remove_during_listing(doomed: Path) -> Callable[[Path], None]:
    """A hook for read_header: the first call deletes `doomed` (a folder, as the trainer's
    .resume cleanup does), as if another process removed it while the listing ran."""
    import shutil

    def hook(_: Path) -> None:
        if doomed.exists():
            shutil.rmtree(doomed)

    return hook


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile")
    for name, path in write_all(out).items():
        print(f"{name}: {path}")
