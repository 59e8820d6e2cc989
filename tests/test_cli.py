"""train.py: argparse errors are one line; the documented commands write loadable files."""

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from rflr.cli.flags import jobs_from_args, parse_seeds
from rflr.cli.train import main
from rflr.files.checkpoint import CheckpointError, load

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


def test_weight_decay_biases_flag_reaches_the_config():
    _, jobs = jobs_from_args(["--weight-decay", "0.01", "--weight-decay-biases"])
    assert jobs[0].config.train.weight_decay_biases
    _, jobs = jobs_from_args(["--weight-decay", "0.01"])
    assert not jobs[0].config.train.weight_decay_biases


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
        assert c.metrics.status == "ok" and c.metrics.test_mse < 1.0
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
        # and every metadata text, byte for byte: the config, metrics and history as written
        with safe_open(path, "pt") as x, safe_open(shipped / path.relative_to(tmp_path), "pt") as y:
            assert x.metadata() == y.metadata(), path


# --- hostile flags and folders (issue 9) -----------------------------------------------------

TINY = ["--width", "8", "--depth", "2", "--steps", "40", "--snapshots", "final", "--no-progress"]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--cosines", "1:nan"], "bad terms"),
        (["--sines", "inf:1"], "bad terms"),
        (["--domain", "inf"], "expected a finite number"),
        (["--transverse", "1:1"], "bad transverse terms '1:1': use w:v:a triples"),
        (["--transverse", "1:1:nan"], "bad transverse terms"),
        (["--transverse", "1:1:0.5,x"], "bad transverse terms"),
        (["--transverse", "1:1:0.5"], "transverse target terms need input_dim >= 2"),
        (["--transverse", "1e9:1:0.5", "--input-dim", "2"], "transverse w must be"),
        (["--lr", "nan"], "expected a finite number"),
        (["--lr-gamma", "nan"], "expected a finite number"),
        (["--lr-gamma", "-1"], "lr_gamma must be > 0"),
        (["--lr-gamma", "0"], "lr_gamma must be > 0"),
        (["--lr-milestones", "0.5,nan"], "bad list"),
        (["--seeds", "0-99999999999"], "at most 10000 seeds"),
        (["--seeds", "99999999999999999999"], "seeds must be <="),
        (["--width", "100000"], "width must be <= 4096"),
        (["--depth", "1000000"], "depth must be <= 64"),
        (["--log-per-decade", "1000000000"], "--log-per-decade must be in [1, 1000]"),
        (["--log-per-decade", "0"], "--log-per-decade must be in [1, 1000]"),
        (["--threads", "100000"], "--threads must be in [1, 1024]"),
    ],
)
def test_garbage_numbers_are_refused_by_argparse(argv, fragment, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and fragment in err[-1] and err[-1].startswith("train.py: error:")


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("train.py: error: "), err
    return err[0]


def test_out_that_is_a_file_or_not_writable(tmp_path, capsys, monkeypatch):
    f = tmp_path / "file"
    f.write_text("x")
    assert main([*TINY, "--out", str(f)]) == 1
    assert "File exists" in _error_line(capsys) or "Not a directory" in _error_line(capsys)

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied", str(tmp_path / "ro"))

    monkeypatch.setattr("rflr.cli.train.tempfile.TemporaryFile", denied)
    assert main([*TINY, "--out", str(tmp_path / "ro")]) == 1
    assert "Permission denied" in _error_line(capsys)


def test_disk_full_is_one_line_and_leaves_nothing_half_written(tmp_path, capsys, monkeypatch):
    import os

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "runs"
    assert main([*TINY, "--out", str(out)]) == 1
    assert "No space left on device" in _error_line(capsys)
    assert [p for p in out.rglob("*") if p.is_file()] == []  # no temp file, no partial file


def test_resume_refuses_other_flags_and_nothing_to_resume(tmp_path, capsys):
    from dataclasses import replace

    from rflr.train.trainer import train

    out = tmp_path / "runs"
    assert main([*TINY, "--out", str(out), "--resume"]) == 1
    assert "nothing to resume" in _error_line(capsys)
    # a killed run: resume state on disk
    _, [job] = jobs_from_args([*TINY, "--out", str(out), "--seeds", "0-1"])
    cfg, seeds, opts = job.config, job.seeds, job.options
    train(cfg, seeds, replace(opts, stop_after=30, snapshots="0,20"))  # state saved at 20
    assert main([*TINY, "--out", str(out), "--seeds", "0-1", "--resume", "--lr", "0.01"]) == 1
    line = _error_line(capsys)
    assert "train.lr: 0.005 -> 0.01" in line and "other settings" in line
    assert main([*TINY, "--out", str(out), "--seeds", "0-2", "--resume"]) == 1
    assert "seeds: [0, 1] -> [0, 1, 2]" in _error_line(capsys)
    assert main([*TINY, "--out", str(out), "--seeds", "0-1", "--resume"]) == 0  # the same run
    assert load(out / cfg.run_id / "step-00000040.safetensors").step == 40


def test_another_run_with_the_same_id_is_refused_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "runs"
    assert main([*TINY, "--out", str(out), "--snapshots", "0,20"]) == 0
    (run,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    before = sorted(p.name for p in run.iterdir())
    assert main([*TINY, "--out", str(out), "--lr", "0.01"]) == 1
    line = _error_line(capsys)
    assert "different run with the same id" in line and "train.lr: 0.005 -> 0.01" in line
    assert sorted(p.name for p in run.iterdir()) == before  # untouched
    assert main([*TINY, "--out", str(out), "--snapshots", "0,20"]) == 0  # the same run again: fine
    assert main([*TINY, "--out", str(out), "--lr", "0.01", "--overwrite"]) == 0
    files = sorted(run.iterdir())
    assert [p.name for p in files] == ["step-00000040.safetensors"]  # the old run is gone
    assert load(files[0]).config.train.lr == 0.01


def test_a_run_being_written_is_refused_at_once(tmp_path, capsys):
    """Issue 22 #5: while `--lr 0.01` trains into a folder, `--lr 0.02` with the same id
    exits 1 naming the lock (it used to pass the identity check too, and overwrite every
    file). The first run ends untouched."""
    import threading

    from rflr.train.trainer import train

    out = tmp_path / "S"
    _, [job] = jobs_from_args([*TINY, "--lr", "0.01", "--steps", "200", "--out", str(out)])
    inside, refused = threading.Event(), threading.Event()

    def wait_for_the_other(seed_steps: int) -> None:
        inside.set()
        assert refused.wait(60)

    opts = replace(job.options, on_steps=wait_for_the_other)
    first = threading.Thread(target=train, args=(job.config, job.seeds, opts))
    first.start()
    try:
        assert inside.wait(60)
        assert main([*TINY, "--lr", "0.02", "--steps", "200", "--out", str(out)]) == 1
        assert "is being written by another process" in _error_line(capsys)
    finally:
        refused.set()
        first.join()
    files = sorted(out.rglob("*.safetensors"))
    assert files and all(load(p).config.train.lr == 0.01 for p in files)
    assert not list(out.rglob(".lock"))


def test_two_commands_started_at_once_one_exits_1(tmp_path):
    """The recipe itself: two train.py processes, same id, other lr, the same moment."""
    out = tmp_path / "S"
    cmd = [sys.executable, str(ROOT / "train.py"), *TINY, "--steps", "3000", "--out", str(out)]
    procs = [
        subprocess.Popen([*cmd, "--lr", lr], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for lr in ("0.01", "0.02")
    ]
    codes = [p.wait(timeout=300) for p in procs]
    errs = [p.stderr.read() for p in procs]
    assert sorted(codes) == [0, 1], errs
    loser = errs[codes.index(1)].strip().splitlines()[-1]
    assert "being written by another process" in loser or "different run" in loser
    winner = (0.01, 0.02)[codes.index(0)]
    assert all(load(p).config.train.lr == winner for p in out.rglob("*.safetensors"))


def test_the_largest_documented_batch_trains(tmp_path):
    """Issue 22 #6: --batch-size 1000000 (the cap) was killed at 24 GB holding a chunk of
    1024 steps of samples; now it holds a piece of the chunk (~600 MB peak in all)."""
    from rflr.core.config import BATCH_MAX

    out = tmp_path / "big"
    argv = ["--width", "8", "--rank", "2", "--depth", "2", "--batch-size", str(BATCH_MAX)]
    assert main([*argv, "--steps", "1", "--snapshots", "final", "--out", str(out)]) == 0
    (path,) = out.rglob("*.safetensors")
    assert load(path).config.train.batch_size == BATCH_MAX


def test_a_run_too_large_for_memory_is_refused_in_one_line(tmp_path, capsys, monkeypatch):
    """What cannot fit (here: batch 10^6 at width 4096, ~150 GB of activations per step)
    is refused before any work, in one line, instead of being killed half way."""
    from rflr.train import memory

    monkeypatch.setattr(memory, "budget", lambda: 8 << 30)
    out = tmp_path / "huge"
    argv = ["--width", "4096", "--rank", "1", "--batch-size", "1000000", "--out", str(out)]
    assert main([*argv, "--steps", "1", "--no-progress"]) == 1
    line = _error_line(capsys)
    assert "one seed needs about" in line and "this machine allows 8.0 GiB" in line
    assert not list(out.rglob("*.safetensors"))


def test_transverse_flag_trains_a_d2_target_and_is_part_of_the_run_identity(tmp_path, capsys):
    out = tmp_path / "runs"
    d2 = [*TINY, "--input-dim", "2", "--out", str(out)]
    assert main([*d2, "--transverse", "1:1:0.5,2:3:-0.25"]) == 0
    (path,) = out.rglob("step-*.safetensors")
    assert load(path).config.target.transverse == [[1, 1, 0.5], [2, 3, -0.25]]
    capsys.readouterr()
    assert main(d2) == 1  # the same id without the transverse terms is another run
    line = _error_line(capsys)
    assert "different run with the same id" in line and "target.transverse" in line


def test_damaged_resume_state_is_one_line(tmp_path, capsys):
    from rflr.train.trainer import resume_states

    out = tmp_path / "runs"
    _, [job] = jobs_from_args([*TINY, "--out", str(out)])
    cfg, seeds, opts = job.config, job.seeds, job.options
    (state,) = resume_states(cfg, seeds, opts)
    state.parent.mkdir(parents=True)
    state.write_bytes(b'\x08\x00\x00\x00\x00\x00\x00\x00{"a":1}')
    assert main([*TINY, "--out", str(out), "--resume"]) == 1
    assert "cannot be read" in _error_line(capsys)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--grid", "lr"], "use KEY=V1,V2"),
        (["--grid", "learning-rate=0.1,0.2"], "train.py has no flag --learning-rate"),
        (["--grid", "lr=0.1,0.2", "--lr", "0.3"], "--lr is both typed and swept"),
        (["--grid", "seeds=0,1"], "--seeds cannot be swept"),
        (["--grid", "lr=0.1,x"], "argument --lr"),
        (["--grid", "online=yes"], "--online takes true or false"),
        (["--grid", "width=true"], "argument --width: invalid int value"),
        (["--executor", "ray"], "--executor and --seeds-per-task run sweeps"),
        (["--grid", "lr=0.1", "--ray-address", "auto"], "--ray-address needs --executor ray"),
        (["--grid", "lr=0.1", "--seeds-per-task", "0"], "--seeds-per-task must be >= 1"),
        (["--grid", "lr=0.1", "--sweep-spec", "x.toml"], "not both"),
        (["--sweep-spec", "/nonexistent.toml"], "cannot read"),
    ],
)
def test_bad_grid_sweeps_get_a_one_line_error(argv, fragment, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert fragment in err[-1] and err[-1].startswith("train.py: error:")


def test_a_toml_spec_expands_like_grid_flags(tmp_path):
    from rflr.cli.grid_jobs import grid_from_args

    spec = tmp_path / "s.toml"
    spec.write_text(
        'seeds_per_task = 2\n[flags]\nsteps = 50\nseeds = "0-3"\nonline = true\n'
        '[grid]\nlr = [0.01, 0.02]\nmodel = ["rflr", "dense"]\n'
    )
    args, grid, jobs, values, out = grid_from_args(
        ["--sweep-spec", str(spec), "--out", str(tmp_path), "--steps", "70"]
    )
    assert grid.seeds_per_task == 2 and out == tmp_path
    assert [(j.config.train.lr, j.config.model.kind) for j in jobs] == [
        (0.01, "rflr"),
        (0.01, "dense"),
        (0.02, "rflr"),
        (0.02, "dense"),
    ]
    assert all(j.config.train.steps == 70 for j in jobs)  # typed flags win over [flags]
    assert all(j.config.train.online and j.seeds == [0, 1, 2, 3] for j in jobs)
    assert jobs[2].options.out == tmp_path / "lr=0.02_model=rflr"
    assert values[2] == {"lr": 0.02, "model": "rflr"}
    _, _, same, _, _ = grid_from_args(
        ["--grid", "lr=0.01,0.02", "--grid", "model=rflr,dense", "--steps", "70", "--online"]
        + ["--seeds", "0-3", "--out", str(tmp_path)]
    )
    assert [j.config for j in same] == [j.config for j in jobs]


def test_a_grid_multiplies_a_presets_jobs(tmp_path):
    from rflr.cli.grid_jobs import grid_from_args

    _, _, jobs, values, out = grid_from_args(
        ["--preset", "poster-quick", "--grid", "lr=0.05,0.07", "--out", str(tmp_path)]
    )
    assert len(jobs) == 4 and out == tmp_path
    assert [(j.config.model.kind, j.config.train.lr) for j in jobs] == [
        ("rflr", 0.05),
        ("dense", 0.05),
        ("rflr", 0.07),
        ("dense", 0.07),
    ]
    assert values == [{"lr": 0.05}] * 2 + [{"lr": 0.07}] * 2


def _spec_file(tmp_path, text: str) -> str:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        # issue 22, case 9: --help in a spec printed the help and exited 0, training nothing
        (["--grid", "help=1,2"], "--help is not a train.py setting"),
        (["--grid", "h=1,2"], "train.py has no flag --h"),
        (["--sweep-spec", "{dir}/s.toml"], "--help is not a train.py setting"),
        # case 10: two points that train the same runs
        (["--grid", "lr=1e-2,0.01"], "would train the same runs twice"),
        (["--grid", "cosines=1:1;1:1.0"], "would train the same runs twice"),
        (["--grid", "width=8,08", "--rank", "1"], "would train the same runs twice"),
        (["--grid", "rank=1,2", "--model", "dense"], "--rank values mean the same"),
        (["--grid", "part=a,b"], "--part cannot be swept"),
    ],
)
def test_grid_specs_that_would_not_train_as_written_are_refused(tmp_path, argv, fragment, capsys):
    _spec_file(tmp_path, '[flags]\nhelp = "x"\n[grid]\nlr = [0.1]\n')
    argv = [a.format(dir=tmp_path) for a in argv] + ["--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as e:
        main([*argv, "--steps", "1", "--no-progress"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert fragment in err[-1] and err[-1].startswith("train.py: error:")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[flags]\nx = " + "[" * 5000 + "]" * 5000 + "\n[grid]\nlr = [0.1]\n", "nested too deeply"),
        ('[flags]\nout = "a\\u0000b"\n[grid]\nlr = [0.1]\n', "control character"),
        ('[grid]\nwidth = [8, " 8"]\n', "listed twice"),
    ],
)
def test_hostile_sweep_specs_are_one_line(tmp_path, text, fragment, capsys):
    # issue 22: cases 7 and 8 were a RecursionError and a ValueError traceback; 10 trained twice
    spec = _spec_file(tmp_path, text)
    with pytest.raises(SystemExit) as e:
        main(["--sweep-spec", spec, "--steps", "1", "--no-progress"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and fragment in err.strip().splitlines()[-1]
