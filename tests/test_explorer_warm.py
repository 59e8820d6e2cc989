"""rflr.explorer.warm: the Space's entrypoint runs the first page before any visitor."""

import os
import subprocess
import sys
import time

from conftest import ROOT, free_port, stop

from rflr.explorer import warm
from rflr.hub import cards


def test_port_of_reads_streamlit_port_flags():
    assert warm.port_of(["streamlit", "run", "a.py", "--server.port", "7860"]) == 7860
    assert warm.port_of(["streamlit", "run", "a.py", "--server.port=9000"]) == 9000
    assert warm.port_of(["streamlit", "run", "a.py"]) == warm.PORT


def test_space_runs_its_command_through_warm():
    lines = cards.DOCKERFILE.splitlines()
    assert 'ENTRYPOINT ["python", "-m", "rflr.explorer.warm"]' in lines
    assert lines.index('ENTRYPOINT ["python", "-m", "rflr.explorer.warm"]') < len(lines) - 1


def test_warm_runs_the_script_once_then_passes_sigterm(tmp_path):
    """No visitor comes, yet the script ran: warm opened its page. SIGTERM to warm ends the
    server too, and warm exits with the server's status."""
    (tmp_path / "app.py").write_text(
        "import pathlib\np = pathlib.Path('runs.txt')\n"
        "p.write_text(p.read_text() + 'x' if p.exists() else 'x')\n"
    )
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    command += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    log = (tmp_path / "warm.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rflr.explorer.warm", *command],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while "rflr warm:" not in (tmp_path / "warm.log").read_text():
            assert proc.poll() is None, (tmp_path / "warm.log").read_text()
            assert time.monotonic() < deadline, "warm said nothing within 90 s"
            time.sleep(0.3)
        assert "rflr warm: first page in" in (tmp_path / "warm.log").read_text()
        assert (tmp_path / "runs.txt").read_text() == "x"  # one page, before any visitor
    finally:
        stop(proc)
        log.close()
    assert proc.returncode == 0  # streamlit's own status: the SIGTERM reached it


def test_processes_run_the_command_through_the_launcher():
    argv = ["streamlit", "run", "a.py", "--server.port", "8501"]
    assert warm.served(argv, 1) == argv
    assert warm.served(argv, 2) == [
        sys.executable, "-m", "rflr.explorer.serve", "--processes", "2", "--", *argv
    ]  # fmt: skip


def test_with_two_processes_warm_opens_a_page_on_each(tmp_path):
    """RFLR_PROCESSES=2, the Space's switch: the launcher serves, and each process ran the
    script once before any visitor (one page each, by the proxy's cookie)."""
    (tmp_path / "app.py").write_text(
        "import os, pathlib\npathlib.Path(f'run-{os.getpid()}').write_text('x')\n"
    )
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    command += ["--server.fileWatcherType", "none"]
    log = (tmp_path / "warm.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rflr.explorer.warm", *command],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "RFLR_PROCESSES": "2"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while (tmp_path / "warm.log").read_text().count("rflr warm:") < 2:
            assert proc.poll() is None, (tmp_path / "warm.log").read_text()
            assert time.monotonic() < deadline, "warm said nothing within 120 s"
            time.sleep(0.3)
        text = (tmp_path / "warm.log").read_text()
        assert "first page on process 0" in text and "first page on process 1" in text
        assert len(list(tmp_path.glob("run-*"))) == 2  # two processes, one run each
    finally:
        stop(proc)
        log.close()
    assert proc.returncode == 0
