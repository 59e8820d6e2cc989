"""The installable package: build the wheel, install it into a fresh virtual environment (no
dependencies: it sees this environment's torch, streamlit, ...), and run the installed
commands and the notebook walk-through from a directory outside the checkout."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from email.parser import Parser
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.conftest import free_port, stop

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "checkpoints" / "rflr-w128-r2-L4-even-s0" / "step-00030000.safetensors"
ENV_VAR = "RFLR_CHECKPOINTS"

# Run by the installed interpreter (one process: torch and streamlit load once): the docs
# page's code in order, then the explorer's page headless.
INSTALLED = """
import logging, re, sys
from pathlib import Path
import rflr
assert Path(rflr.__file__).is_relative_to(Path(sys.prefix)), rflr.__file__  # the installed one
text = Path(sys.argv[1]).read_text()
namespace = {}
for block in re.findall(r"^```python\\n(.*?)^```", text, flags=re.S | re.M):
    exec(compile(block, sys.argv[1], "exec"), namespace)
print("walkthrough ok:", namespace["rf"].label)

from streamlit.testing.v1 import AppTest
from rflr.cli import commands
logging.getLogger("streamlit").setLevel(logging.ERROR)
at = AppTest.from_file(str(commands.PAGE), default_timeout=120).run()
assert not at.exception, at.exception
print("explorer ok:", at.title[0].value, len(at.tabs), "tabs")
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("rflr-*.whl")
    return path


def see_this_environment(env: Path) -> None:
    """Make the virtual environment `env` see this interpreter's packages, after its own.

    `venv --system-site-packages` is not enough: it shows the base interpreter's packages, so
    when the tests run from a virtual environment (the README's way) torch & co. are missing.
    A .pth line starting with `import` runs at startup; site.addsitedir appends each folder
    and runs its own .pth files, as --system-site-packages does for the base interpreter's.
    """
    folders = list(site.getsitepackages())
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        folders.append(site.getusersitepackages())
    purelib = sysconfig.get_path("purelib", "venv", vars={"base": str(env), "platbase": str(env)})
    # One line, run in a function's scope: map, not a comprehension, to reach `site`.
    line = f"import site; list(map(site.addsitedir, {folders!r}))\n"
    (Path(purelib) / "_rflr_test_outer_env.pth").write_text(line)


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh environment that sees this one's packages, with only the wheel installed.
    Without its own pip (ensurepip takes 20 s): this pip installs into it (pip --python)."""
    env = tmp_path_factory.mktemp("venv")
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120
    )
    python = env / "bin" / "python"
    see_this_environment(env)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
        + ["--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return env


def run(venv: Path, cwd: Path, *argv: str, checkpoints: Path | None = None):
    """A command of the environment, from `cwd`, with nothing pointing at the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", ENV_VAR)}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    if checkpoints is not None:
        env[ENV_VAR] = str(checkpoints)
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def serve(venv: Path, cwd: Path) -> str:
    """Start the installed `rflr app` on the shipped folder; its health check's answer."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", ENV_VAR)}
    proc = subprocess.Popen(
        [str(venv / "bin" / "rflr"), "app", str(ROOT / "checkpoints"), "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/_stcore/health", timeout=2
                ) as r:
                    return r.read().decode()
            except OSError:
                time.sleep(0.5)
        return f"no answer (exit code {proc.poll()})"
    finally:
        stop(proc)  # rflr app became the server (exec): this ends it


def test_the_wheel_holds_the_package_the_page_and_its_settings(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for want in (
        "rflr/__init__.py",
        "rflr/explorer/page.py",
        "rflr/explorer/streamlit_config.toml",
    ):
        assert want in names
    assert not any(n.startswith(("tests/", "checkpoints/")) for n in names)
    assert not any(n.endswith(".safetensors") for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "rflr = rflr.cli.commands:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_installing_next_to_this_environment_needs_nothing_new(wheel):
    """Every core requirement of the wheel is met here (torch 2.13 included): `pip install`
    beside this environment would add nothing but rflr itself."""
    meta = next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith("/METADATA"))
    headers = Parser().parsestr(zipfile.ZipFile(wheel).read(meta).decode())
    core = [Requirement(r) for r in headers.get_all("Requires-Dist") if "extra ==" not in r]
    assert {r.name for r in core} >= {"torch", "safetensors", "numpy", "scipy", "pandas"}
    for req in core:
        try:
            have = version(req.name)
        except PackageNotFoundError:
            pytest.fail(f"{req.name} is required but not installed")
        assert req.specifier.contains(have, prereleases=True), f"{req} vs {have}"
    extras = set(headers.get_all("Provides-Extra"))
    assert extras >= {"app", "hub", "ray", "dev"}


def test_installed_commands_and_walkthrough_run_from_anywhere(venv, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    helped = run(venv, elsewhere, "rflr", "--help")
    assert helped.returncode == 0 and "analyze" in helped.stdout, helped.stderr

    analyzed = run(venv, elsewhere, "rflr", "analyze", str(SHIPPED))
    assert analyzed.returncode == 0, analyzed.stderr
    assert "headline defect" in analyzed.stdout and "bottleneck.3.z" in analyzed.stdout

    # An installed wheel carries no checkpoints: the app says where to get them ...
    nowhere = run(venv, elsewhere, "rflr", "app", "--print-command")
    assert nowhere.returncode == 1 and "rflr hub pull USER/NAME" in nowhere.stderr
    # ... and runs the packaged page, with the packaged settings, on a folder it is given.
    told = run(venv, elsewhere, "rflr", "app", str(ROOT / "checkpoints"), "--print-command")
    where = run(
        venv, elsewhere, "python", "-c", "import rflr, os; print(os.path.dirname(rflr.__file__))"
    )
    page = Path(where.stdout.strip()) / "explorer" / "page.py"
    assert told.returncode == 0 and f"streamlit run {page}" in told.stdout
    assert "--server.maxUploadSize 50" in told.stdout

    served = serve(venv, elsewhere)
    assert served == "ok", served

    doc = str(ROOT / "docs" / "notebook.md")
    done = run(venv, elsewhere, "python", "-c", INSTALLED, doc, checkpoints=ROOT / "checkpoints")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "walkthrough ok: RF-LR" in done.stdout
    assert "explorer ok:" in done.stdout
