"""rflr.cli.commands: the `rflr` command hands each subcommand to the module that owns it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from rflr.cli import analyze, commands
from rflr.files import paths
from rflr.hub import locate

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "checkpoints" / "rflr-w128-r2-L4-even-s0" / "step-00030000.safetensors"


def test_help_lists_every_command(capsys):
    assert commands.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in commands.COMMANDS:
        assert f"  {name} " in out
    assert commands.main([]) == 2  # no command: the same help, as a usage error


def test_unknown_command_is_one_line(capsys):
    assert commands.main(["trian"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "rflr: error: unknown command 'trian': choose one of train, analyze, hub, app"


def test_train_help_is_train_py_help_under_its_own_name(capsys):
    with pytest.raises(SystemExit) as done:
        commands.main(["train", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: rflr train") and "--preset" in out and "--width" in out


def test_train_errors_name_the_command(capsys):
    with pytest.raises(SystemExit) as done:
        commands.main(["train", "--width", "0"])
    assert done.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("rflr train: error:")


# runpy warns that the module is already imported: only here, where the tests imported it.
RERUN = pytest.mark.filterwarnings("ignore:'rflr.*' found in sys.modules:RuntimeWarning")


@RERUN
def test_analyze_is_python_m_rflr_analyze(capsys):
    assert commands.main(["analyze", str(SHIPPED), "--json"]) == 0
    out = capsys.readouterr().out
    assert analyze.main([str(SHIPPED), "--json"]) == 0
    assert out == capsys.readouterr().out and '"headline_defect"' in out


@RERUN
def test_analyze_failure_keeps_its_exit_code(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"")
    assert commands.main(["analyze", str(bad)]) == 1
    assert "the file is empty" in capsys.readouterr().err


@RERUN
def test_hub_usage_errors_keep_their_exit_code(capsys):
    assert commands.main(["hub", "pull", "not a repo"]) == 2
    assert capsys.readouterr().err.startswith("rflr.hub: error:")


def test_a_missing_extra_names_it(monkeypatch, capsys):
    def missing(module, argv):
        raise ModuleNotFoundError("No module named 'huggingface_hub'", name="huggingface_hub")

    monkeypatch.setattr(commands, "run_module", missing)
    assert commands.main(["hub", "pull", "user/name"]) == 1
    assert "pip install 'rflr[hub]'" in capsys.readouterr().err


# --- rflr app ----------------------------------------------------------------------------------


def test_app_flags_are_the_streamlit_config():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    flags = commands.streamlit_flags()
    pairs = dict(zip(flags[::2], flags[1::2], strict=True))
    assert len(pairs) == sum(len(v) for v in config.values()) > 0
    assert pairs["--server.maxUploadSize"] == "50"
    assert pairs["--client.showErrorDetails"] == "false"


def test_app_command_runs_the_packaged_page_on_the_folder(tmp_path):
    argv, env = commands.app_command(tmp_path, 8777)
    assert argv[1:5] == ["-m", "streamlit", "run", str(commands.PAGE)]
    assert commands.PAGE.is_file() and argv[5:7] == ["--server.port", "8777"]
    assert env[paths.ENV_VAR] == str(tmp_path)
    assert str(paths.PROJECT_ROOT) in env["PYTHONPATH"].split(":")  # this checkout's rflr


def test_app_print_command(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert commands.main(["app", str(ROOT / "checkpoints"), "--print-command"]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert first == f"{paths.ENV_VAR}={ROOT / 'checkpoints'}"
    assert f"streamlit run {commands.PAGE}" in second


def test_app_without_checkpoints_says_where_to_get_them(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(paths.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(paths, "PROJECT_ROOT", tmp_path)  # as installed from a wheel
    assert commands.main(["app", "--print-command"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("rflr: error: no checkpoints folder found")
    assert "rflr hub pull USER/NAME" in err and "\n" not in err
    assert commands.main(["app", str(tmp_path / "missing")]) == 1
    assert "is not an existing folder" in capsys.readouterr().err


def test_app_hub_pulls_the_repo(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(locate, "pull", lambda repo, rev=None: tmp_path / f"{repo}@{rev}")
    assert commands.main(["app", "--hub", "user/name", "--revision", "v2", "--print-command"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"{paths.ENV_VAR}={tmp_path}/user/name@v2"
    for bad in (["--hub", "user/name/sub"], ["--hub", "nope"], ["x", "--hub", "user/name"]):
        assert commands.main(["app", *bad, "--print-command"]) == 1
        assert "rflr: error:" in capsys.readouterr().err


def test_python_m_rflr_is_the_command():
    done = subprocess.run(
        [sys.executable, "-m", "rflr", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("usage: rflr COMMAND")
