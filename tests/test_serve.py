"""rflr.explorer.serve: the command it splits, and the explorer run as two processes behind its
proxy on the shipped checkpoints: two browsers get a page each from different processes, and
an upload reaches the process that owns its session, whatever its cookie says, and without
one (a browser that blocks third-party cookies, in a Space's iframe)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, free_port, start_app, stop, wait_healthy

from rflr.explorer import serve


def test_split_command_takes_out_the_public_address_and_port():
    command = ["streamlit", "run", "app.py", "--server.port", "7860", "--server.headless", "true"]
    rest, host, port = serve.split_command([*command, "--server.address=0.0.0.0"])
    assert rest == ["streamlit", "run", "app.py", "--server.headless", "true"]
    assert (host, port) == ("0.0.0.0", 7860)
    assert serve.split_command(["streamlit", "run", "a.py"]) == (
        ["streamlit", "run", "a.py"], "", serve.PORT)  # fmt: skip
    with pytest.raises(ValueError, match="not a port"):
        serve.split_command(["streamlit", "run", "a.py", "--server.port", "x"])


def test_one_process_runs_the_command_itself(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "rflr.explorer.serve", "--processes", "1", "--",
         sys.executable, "-c", "import os; print(os.environ.get('RFLR_SLOTS_DIR'))"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "None"  # exec'd as it is: no proxy, no slot folder


def test_a_process_that_fails_to_start_stops_the_launcher(tmp_path):
    """Restarting nothing silently: one process failing to start ends the launcher with an
    error, and the slot folder is gone."""
    argv = [sys.executable, "-m", "rflr.explorer.serve", "--processes", "2", "--"]
    argv += [sys.executable, "-c", "import sys; sys.exit(3)", "--server.port", str(free_port())]
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    out = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "did not start" in out.stderr
    assert not list(tmp_path.glob("rflr-slots-*"))


async def page_and_uploads(url: str, backend: int | None, xsrf: str) -> list[int]:
    """A page over the websocket with the proxy's cookie for `backend` (None: no cookie, as a
    browser that blocks it); once its first run finished, and while its socket is still open
    (the session alive), two file PUTs to its upload URL through the proxy: with its own
    cookie, then with the other process's (without a cookie: twice without). The statuses."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    stream = "ws" + url.removeprefix("http") + "/_stcore/stream"
    headers = {"Cookie": f"rflr_backend={backend}"} if backend is not None else {}
    async with websockets.connect(
        stream, subprotocols=["streamlit"], max_size=None, additional_headers=headers
    ) as ws:
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        await ws.send(msg.SerializeToString())
        session = ""
        async for data in ws:
            reply = ForwardMsg()
            reply.ParseFromString(data)
            kind = reply.WhichOneof("type")
            if kind == "new_session":
                session = reply.new_session.initialize.session_id
            if kind == "script_finished":
                assert reply.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY
                break
        assert session
        loop = asyncio.get_running_loop()
        cookies = [None, None] if backend is None else [backend, 1 - backend]
        return [await loop.run_in_executor(None, upload, url, session, c, xsrf) for c in cookies]


def upload(url: str, session: str, backend: int | None, xsrf: str) -> int:
    """PUT a file to a session's upload URL through the proxy, as the page does (the XSRF
    token both as cookie and as header), with the proxy's cookie for `backend` unless None;
    the status."""
    boundary = "rflrboundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
    ).encode()
    cookie = f"_streamlit_xsrf={xsrf}" + (
        f"; rflr_backend={backend}" if backend is not None else ""
    )
    req = urllib.request.Request(
        f"{url}/_stcore/upload_file/{session}/file-1",
        data=body,
        method="PUT",
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Cookie": cookie,
            "X-Xsrftoken": xsrf,
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_two_processes_serve_two_browsers_and_an_upload_lands(tmp_path, monkeypatch):
    monkeypatch.setenv("RFLR_SERVE", "1")
    monkeypatch.delenv("RFLR_CHECKPOINTS", raising=False)  # the shipped checkpoints/
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w+")
    proc = start_app(port, log, processes=2)
    try:
        assert wait_healthy(url, proc, 240), (tmp_path / "serve.log").read_text()
        # the page's first request: its health check sets Streamlit's XSRF cookie (and ours)
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=30) as r:
            cookies = r.headers.get_all("Set-Cookie")
        assert any(c.startswith("rflr_backend=") and "HttpOnly" in c for c in cookies)
        xsrf = next(c for c in cookies if c.startswith("_streamlit_xsrf="))
        xsrf = xsrf.split(";")[0].split("=", 1)[1]

        async def both() -> list[list[int]]:  # two browsers at once, one per process
            pages = [page_and_uploads(url, b, xsrf) for b in (0, 1)]
            return await asyncio.wait_for(asyncio.gather(*pages), 180)

        # the owner takes the file, even when the cookie names the other process (which
        # does not know the session: 400): the proxy learnt the owner from the websocket
        assert asyncio.run(both()) == [[204, 204], [204, 204]]
        # a browser without the proxy's cookie: its websocket went to whichever process the
        # pick gave it, and the pick would send at least one of two uploads to the other
        cookieless = asyncio.wait_for(page_and_uploads(url, None, xsrf), 120)
        assert asyncio.run(cookieless) == [204, 204]
    finally:
        stop(proc)
        log.close()
    assert proc.returncode == 0
    text = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in text, text


@contextlib.contextmanager
def _two_processes(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, list[int]]]:
    """The launcher with 2 processes, answering: (the launcher, its children's pids)."""
    port = free_port()
    log = (tmp_path / "serve.log").open("w+")
    proc = start_app(port, log, processes=2)
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}", proc, 240)
        listed = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text()
        yield proc, [int(pid) for pid in listed.split()]
    finally:
        if proc.poll() is None:
            stop(proc)
        log.close()


def test_sigterm_stops_every_process(tmp_path):
    with _two_processes(tmp_path) as (proc, children):
        assert len(children) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        time.sleep(0.5)
        assert not [c for c in children if os.path.exists(f"/proc/{c}")]


def test_a_process_that_dies_stops_the_server_and_nothing_restarts(tmp_path):
    with _two_processes(tmp_path) as (proc, children):
        first, second = children
        os.kill(first, signal.SIGKILL)
        assert proc.wait(30) != 0  # a failure is seen, not hidden
        time.sleep(0.5)
        assert not os.path.exists(f"/proc/{second}")
        assert "exited (-9); stopping" in (tmp_path / "serve.log").read_text()
