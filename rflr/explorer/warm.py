"""Start a served explorer warm: `python -m rflr.explorer.warm streamlit run streamlit_app.py ...`.

The Space's Dockerfile runs its command through this (ENTRYPOINT; rflr.hub.cards). It starts
the command as a child, waits for the server's health check, and opens one page over
Streamlit's websocket before any visitor comes: that page pays the imports (torch, scipy,
pandas, Altair: ~16 s of a cold first run on the 2-core machine, cProfile) and fills the
shared caches with the default checkpoints, so the first visitor's page costs the server what
any later one does (~0.1 s of CPU instead of ~3.8 s; benchmarks/served_load.py). Then it
waits for the child, passes it SIGTERM and SIGINT, and exits with its status.

With RFLR_PROCESSES above 1 (the Space's switch; rflr.views.slots.processes) the command runs
through rflr.explorer.serve, N processes behind its proxy, and one page is opened on each
process (its proxy cookie chosen by hand), so that each pays its own imports.

Warming is best effort: if it fails (no websockets package, a server that never answers), a
line goes to stderr and the server runs on, cold. The page is the default one (no query
string), over the same protocol as protocol_client in benchmarks/: a `rerun_script` BackMsg
on /_stcore/stream ("streamlit" subprotocol), answered when `script_finished` arrives.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time

from rflr.explorer import serve
from rflr.views import slots

PORT = 8501  # streamlit's default --server.port
WAIT_S = 300  # for the health check, then for the first page (a cold Space is slow)


def port_of(argv: list[str]) -> int:
    """The --server.port of a streamlit command line (`--server.port N` or `=N`)."""
    for i, arg in enumerate(argv):
        if arg == "--server.port" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--server.port="):
            return int(arg.split("=", 1)[1])
    return PORT


async def first_page(url: str, timeout_s: float = WAIT_S, process: int | None = None) -> float:
    """Open one page of the app at `url` over the websocket; seconds to its script_finished.
    `process`: the server process to open it on, behind rflr.explorer.serve's proxy."""
    import websockets  # streamlit's own dependency since its starlette server
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async def run() -> float:
        t0 = time.perf_counter()
        stream = "ws" + url.removeprefix("http") + "/_stcore/stream"
        cookie = {"Cookie": f"rflr_backend={process}"} if process is not None else None
        async with websockets.connect(
            stream, subprotocols=["streamlit"], max_size=None, additional_headers=cookie
        ) as ws:
            msg = BackMsg()
            msg.rerun_script.query_string = ""
            await ws.send(msg.SerializeToString())
            async for data in ws:
                reply = ForwardMsg()
                reply.ParseFromString(data)
                done = reply.WhichOneof("type") == "script_finished"
                if done and reply.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                    return time.perf_counter() - t0
        raise ConnectionError("the server closed the page before it finished")

    return await asyncio.wait_for(run(), timeout_s)


def warm(url: str, child: subprocess.Popen, processes: int = 1) -> None:
    """Open the first page once the server is up (one on each of `processes` behind the
    proxy); a line on stderr either way."""
    if not serve.healthy(url, [child], WAIT_S):
        print("rflr warm: the server did not answer its health check", file=sys.stderr)
        return
    for i in range(processes) if processes > 1 else [None]:
        try:
            seconds = asyncio.run(first_page(url, process=i))
        except Exception as e:  # warming is an optimisation: the server serves anyway
            print(f"rflr warm: skipped ({type(e).__name__}: {e})", file=sys.stderr, flush=True)
            return
        on = "" if i is None else f" on process {i}"
        print(f"rflr warm: first page{on} in {seconds:.1f} s", file=sys.stderr, flush=True)


def served(argv: list[str], processes: int) -> list[str]:
    """The command to run: `argv` itself, or through rflr.explorer.serve for N processes."""
    if processes == 1:
        return argv
    return [sys.executable, "-m", "rflr.explorer.serve", "--processes", str(processes), "--", *argv]


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    processes = slots.processes()
    child = subprocess.Popen(served(argv, processes))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _frame: child.send_signal(s))
    warm(f"http://127.0.0.1:{port_of(argv)}", child, processes)
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
