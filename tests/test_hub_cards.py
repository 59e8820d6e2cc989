"""rflr.hub.cards: the generated Space README front matter and Dockerfile.

The streamlit test starts the generated Dockerfile's command on a loopback port.
"""

import json
import os
import shlex
import subprocess
import sys
import time
import urllib.request

from huggingface_hub import SpaceCard

from rflr.hub import cards
from rflr.hub.plan import PROJECT_ROOT
from tests.conftest import free_port, stop


def test_space_front_matter_configures_a_docker_streamlit_space():
    readme = cards.space_readme()
    data = SpaceCard(readme).data

    assert data.sdk == "docker"
    assert data.app_port == 8501
    assert data.title and data.emoji and data.colorFrom and data.colorTo
    assert data.pinned is False
    assert 0 < len(data.short_description) <= 60  # the Hub's limit


def test_dockerfile_builds_the_app_as_uid_1000_and_serves_streamlit():
    lines = [line.strip() for line in cards.DOCKERFILE.splitlines() if line.strip()]

    assert lines[0].startswith("FROM python:3.11")
    assert any("useradd" in line and "1000" in line for line in lines)
    assert "USER user" in lines
    installs = [line for line in lines if line.startswith("RUN pip install")]
    # the CPU-only torch build first, from PyTorch's CPU index, at requirements.txt's pin
    assert "--index-url https://download.pytorch.org/whl/cpu" in installs[0]
    pin = next(
        r
        for r in (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
        if r.startswith("torch==")
    )
    assert pin in installs[0].split() and "--no-cache-dir" in installs[0]
    assert "-r requirements.txt" in installs[1] and "--no-cache-dir" in installs[1]
    assert "RFLR_SERVE=1" in cards.DOCKERFILE  # served mode: no folder input, no ?root=
    assert "EXPOSE 8501" in lines
    command = dockerfile_command()
    assert command[:3] == ["streamlit", "run", "streamlit_app.py"]
    assert option(command, "--server.port") == "8501"
    assert option(command, "--server.address") == "0.0.0.0"
    assert option(command, "--server.headless") == "true"


def dockerfile_command() -> list[str]:
    (cmd,) = [line for line in cards.DOCKERFILE.splitlines() if line.startswith("CMD ")]
    text = cmd.removeprefix("CMD ")
    return json.loads(text) if text.startswith("[") else shlex.split(text)


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_dockerfile_command_serves_a_streamlit_app(tmp_path):
    (tmp_path / "streamlit_app.py").write_text('import streamlit as st\nst.write("ok")\n')
    command = dockerfile_command()
    port = free_port()
    command[command.index("--server.port") + 1] = str(port)
    command[command.index("--server.address") + 1] = "127.0.0.1"  # loopback only in tests
    assert command[0] == "streamlit"
    command[:1] = [sys.executable, "-m", "streamlit"]  # the streamlit of this interpreter
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    log = (tmp_path / "streamlit.log").open("w")
    server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        answer = None
        while answer != "ok":
            assert server.poll() is None, (tmp_path / "streamlit.log").read_text()
            assert time.monotonic() < deadline, "no health answer within 60 s"
            try:
                url = f"http://127.0.0.1:{port}/_stcore/health"
                with urllib.request.urlopen(url, timeout=2) as response:
                    answer = response.read().decode()
            except OSError:
                time.sleep(0.2)
    finally:
        stop(server)
        log.close()
