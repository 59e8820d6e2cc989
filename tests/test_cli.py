"""train.py: argparse errors are one line; the documented commands write loadable files."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rflr.checkpoint import CheckpointError, load
from rflr.cli import jobs_from_args, main, parse_seeds

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--rank", "300", "--width", "256"], "rank must be in [1, width=256]"),
        (["--steps", "-5"], "steps must be >= 0"),
        (["--model", "transformer"], "invalid choice: 'transformer'"),
        (["--seeds", "5-2"], "bad seed list"),
        (["--seeds", "a"], "bad seed list"),
        (["--lr", "-1"], "lr must be a positive number"),
        (["--depth", "0"], "depth must be >= 1"),
        (["--cosines", "1-2"], "bad terms"),
        (["--preset", "nope"], "invalid choice"),
        (["--seed-block", "0"], "--seed-block must be >= 1"),
        (["--weight-decay", "-0.1"], "weight decay must be a number >= 0"),
        (["--weight-decay", "nan"], "weight decay must be a number >= 0"),
    ],
)
def test_nonsense_gets_a_one_line_error(argv, fragment, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "".join(err)
    assert fragment in err[-1] and err[-1].startswith("train.py: error:")


def test_device_flag(capsys):
    _, jobs = jobs_from_args(["--device", "auto"])
    assert jobs[0].options.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert jobs_from_args([])[1][0].options.device == "cpu"  # the default stays bit-reproducible
    if torch.cuda.is_available():
        return
    with pytest.raises(SystemExit) as e:
        main(["--device", "cuda"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("train.py: error:") and "no CUDA device" in err[-1]


def test_seed_ranges():
    assert parse_seeds("0-148") == list(range(149))
    assert parse_seeds("0,3,5-7") == [0, 3, 5, 6, 7]


def test_preset_values_and_overrides():
    _, jobs = jobs_from_args(["--preset", "shipped", "--steps", "123"])
    assert {j.config.model.kind for j in jobs} == {"rflr", "dense"}
    assert all(j.config.train.steps == 123 for j in jobs)  # typed flags win over the preset
    assert all(j.seeds == [0, 1, 2, 3] for j in jobs)


def test_weight_decay_and_mean_field_flags_reach_the_config():
    _, jobs = jobs_from_args(["--weight-decay", "0.01", "--parameterization", "mf"])
    cfg = jobs[0].config
    assert cfg.train.weight_decay == 0.01 and cfg.model.parameterization == "mf"


def test_help_documents_every_flag():
    out = subprocess.run(
        [sys.executable, "train.py", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    for flag in (
        "--model",
        "--width",
        "--rank",
        "--depth",
        "--activation",
        "--cosines",
        "--sines",
        "--optimizer",
        "--lr",
        "--weight-decay",
        "--schedule",
        "--batch-size",
        "--steps",
        "--seeds",
        "--snapshots",
        "--out",
        "--resume",
        "--preset",
        "--seed-block",
        "--threads",
    ):
        assert flag in out


@pytest.mark.parametrize("model", ["rflr", "dense"])
def test_train_py_writes_loadable_checkpoints(model, tmp_path):
    """The issue's command, as a user types it (shorter width for dense to stay fast)."""
    extra = ["--width", "64"] if model == "dense" else []
    proc = subprocess.run(
        [
            sys.executable,
            "train.py",
            "--model",
            model,
            "--seeds",
            "0-3",
            "--steps",
            "2000",
            "--out",
            str(tmp_path),
            "--no-progress",
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    finals = sorted(tmp_path.glob("*/step-00002000.safetensors"))
    assert len(finals) == 4
    for path in finals:
        c = load(path)
        assert c.config.model.kind == model and c.step == 2000
        assert c.metrics["status"] == "ok" and c.metrics["test_mse"] < 1.0
        assert c.history["step"][-1] == 2000 and len(c.history["test_mse"]) == len(
            c.history["step"]
        )
    snaps = sorted(p.name for p in finals[0].parent.iterdir())
    assert snaps[0] == "step-00000000.safetensors" and len(snaps) >= 4
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(finals[0].read_bytes()[:-500])
    with pytest.raises(CheckpointError, match="truncated.safetensors"):
        load(truncated)


@pytest.mark.slow
def test_shipped_preset_regenerates_the_shipped_checkpoints(tmp_path):
    """checkpoints/README.md promises the preset rewrites the shipped files bit for bit."""
    subprocess.run(
        [
            sys.executable,
            "train.py",
            "--preset",
            "shipped",
            "--out",
            str(tmp_path),
            "--no-progress",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=600,
    )
    shipped = ROOT / "checkpoints"
    made = sorted(tmp_path.rglob("*.safetensors"))
    assert len(made) == len([p for p in shipped.glob("*/step-*.safetensors")])
    for path in made:
        a, b = load(path), load(shipped / path.relative_to(tmp_path))
        assert a.config == b.config and a.step == b.step
        for k in a.params:
            assert torch.equal(a.params[k], b.params[k]), (path, k)
