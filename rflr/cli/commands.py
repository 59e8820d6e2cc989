"""The `rflr` command: one entry point for the installed package.

    rflr train ...                      = python train.py ...
    rflr analyze CHECKPOINT...          = python -m rflr.analyze ...
    rflr hub push|pull|deploy-space ... = python -m rflr.hub ...
    rflr app [FOLDER | --hub USER/NAME] the explorer (streamlit run rflr/explorer/page.py)

Each subcommand hands its arguments to the module that owns them, so flags, help and exit
codes are theirs. Nothing heavy is imported before a subcommand is chosen: `rflr --help`
answers without loading torch.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import runpy
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

from rflr import __version__
from rflr.files import paths
from rflr.hub import locate

PROG = "rflr"
COMMANDS = {
    "train": "train RF-LR networks and dense controls, many seeds at once (see `rflr train --help`)",
    "analyze": "print the symmetry measurements of checkpoint files",
    "hub": "share checkpoints and the explorer through the Hugging Face Hub (push, pull, deploy-space)",
    "app": "start the explorer on a folder of checkpoints or a Hub repo",
}
EXTRAS = {"streamlit": "app", "vl_convert": "app", "huggingface_hub": "hub"}  # module -> extra
UI = Path(__file__).resolve().parents[1] / "explorer"  # the packaged explorer
PAGE = UI / "page.py"
# The explorer's Streamlit settings: packaged beside the page in a wheel (pyproject.toml's
# force-include), at the checkout's root otherwise. Streamlit reads them from the current
# directory only, so `rflr app` passes them as flags.
STREAMLIT_CONFIGS = (
    UI / "streamlit_config.toml",
    paths.PROJECT_ROOT / ".streamlit" / "config.toml",
)


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"usage: {PROG} COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, text in COMMANDS.items()]
    lines += [
        "",
        f"`{PROG} COMMAND --help` shows a command's options. From Python: import rflr; "
        "rflr.open(PATH) (docs/notebook.md).",
    ]
    return "\n".join(lines)


def fail(message: str, code: int = 2) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    if args[0] == "--version":
        print(f"{PROG} {__version__}")
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        return fail(f"unknown command {command!r}: choose one of {', '.join(COMMANDS)}")
    try:
        if command == "train":
            from rflr.cli import train

            return train.main(rest, prog=f"{PROG} train")
        if command == "app":
            return app(rest)
        return run_module(f"rflr.{command}", rest)
    except ModuleNotFoundError as e:  # an optional dependency of this command is missing
        if e.name not in EXTRAS:
            raise
        return fail(f"`{PROG} {command}` needs {e.name}: pip install 'rflr[{EXTRAS[e.name]}]'", 1)


def run_module(module: str, argv: list[str]) -> int:
    """`python -m module argv...` in this process: the module's own parser, output, exit code."""
    saved = sys.argv
    sys.argv = [f"{PROG} {module.rsplit('.', 1)[-1]}", *argv]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=False)
    except SystemExit as e:
        return (
            e.code if isinstance(e.code, int) else (0 if e.code is None else fail(str(e.code), 1))
        )
    finally:
        sys.argv = saved
    return 0


# --- rflr app --------------------------------------------------------------------------------


def app_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{PROG} app",
        description="Start the rflr explorer (Streamlit) on a folder of checkpoints or a Hub "
        f"repo. Without either: {paths.ENV_VAR}, else the checkpoints/ folder of the rflr "
        "checkout you are in.",
    )
    p.add_argument("folder", nargs="?", help="folder of .safetensors checkpoints")
    p.add_argument("--hub", metavar="USER/NAME", help="a Hub repo, pulled first (offline: cached)")
    p.add_argument("--revision", help="with --hub: branch, tag or commit")
    p.add_argument("--port", type=int, default=8501, help="port to serve on (default: 8501)")
    p.add_argument(
        "--print-command",
        action="store_true",
        help="print the environment variable and command that would start it; start nothing",
    )
    return p


def app_folder(args: argparse.Namespace) -> Path:
    """The folder the explorer opens; paths.PathError when there is none."""
    if args.folder and args.hub:
        raise paths.PathError("give a folder or --hub USER/NAME, not both")
    if args.hub:
        repo = paths.hub_repo(args.hub)
        if repo is None or repo[1]:
            raise paths.PathError(f"--hub {args.hub!r} is not a repo id of the form USER/NAME")
        return locate.pull(repo[0], args.revision)
    if args.folder:
        folder = Path(args.folder).expanduser()
        if not folder.is_dir():
            raise paths.PathError(f"{args.folder} is not an existing folder ({paths.HOW_TO_GET})")
        return folder.resolve()
    return paths.checkpoints_folder()


def streamlit_flags() -> list[str]:
    """The explorer's .streamlit/config.toml as `--section.key value` flags."""
    config = next((p for p in STREAMLIT_CONFIGS if p.is_file()), None)
    if config is None:
        return []
    flags = []
    for section, options in tomllib.loads(config.read_text()).items():
        for key, value in options.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            flags += [f"--{section}.{key}", text]
    return flags


def app_command(folder: Path, port: int) -> tuple[list[str], dict[str, str]]:
    """The streamlit command line and the environment variables it needs."""
    argv = [sys.executable, "-m", "streamlit", "run", str(PAGE), "--server.port", str(port)]
    env = {paths.ENV_VAR: str(folder)}
    if paths.is_checkout(paths.PROJECT_ROOT):  # run from a source tree: import this same rflr
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(paths.PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])
        )
    return argv + streamlit_flags(), env


def app(argv: list[str]) -> int:
    args = app_parser().parse_args(argv)
    try:
        folder = app_folder(args)
    except paths.PathError as e:
        return fail(str(e), 1)
    command, env = app_command(folder, args.port)
    if args.print_command:
        print(f"{paths.ENV_VAR}={env[paths.ENV_VAR]}")
        print(" ".join(command))
        return 0
    if importlib.util.find_spec("streamlit") is None:
        return fail(f"`{PROG} app` needs streamlit: pip install 'rflr[app]'", 1)
    print(f"rflr explorer on {folder}: http://localhost:{args.port}", flush=True)
    if os.name == "posix":  # become the server: signals (Ctrl-C, a kill) reach it directly
        os.execve(command[0], command, {**os.environ, **env})
    try:
        return subprocess.call(command, env={**os.environ, **env})
    except KeyboardInterrupt:
        return 130
