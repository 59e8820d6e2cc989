"""Run the explorer as N `streamlit run` processes behind one proxy, to use N cores.

    python -m rflr.explorer.serve --processes 2 -- streamlit run streamlit_app.py \\
        --server.port 8501 --server.address 0.0.0.0 --server.headless true

The command after `--` is the one a single server would run (the Space's CMD). With
`--processes 1` it is simply executed: nothing changes. With N > 1 the launcher:

- starts the command N times, each on a free loopback port (its own --server.port and
  --server.address replace the command's), in a process group of its own, with RFLR_PROCESSES=N
  (rflr.views.budget gives each process 1/N of the byte caches, RFLR_CACHE_MB, so their sum stays
  the server's) and RFLR_SLOTS_DIR, a private folder (tempfile.mkdtemp, 0700) in which the
  Train tab's slots (RFLR_TRAIN_SLOTS) and the heavy-work gate (RFLR_HEAVY_AT_ONCE) are lock
  files that every process counts (rflr.views.slots);
- waits until every process answers its health check, then listens on the command's own
  address and port with rflr.explorer.proxy, which sends each session's websocket, uploads
  and media to the process that owns it (learnt from the websocket; a cookie as a hint);
- stops on SIGTERM or SIGINT, and as soon as any process exits: it restarts nothing, so a
  failure is seen (a Space restarts its container) rather than hidden. On the way out it
  sends SIGTERM to every process group, SIGKILL after STOP_S, and deletes the slot folder.

The Space's entry point (rflr.explorer.warm) runs this when RFLR_PROCESSES is above 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence

from rflr.explorer.proxy import Proxy
from rflr.views import slots

PORT = 8501  # streamlit's default --server.port
HEALTH_WAIT_S = 300.0  # for every process to answer (a cold Space imports torch twice at once)
STOP_S = 10.0  # after SIGTERM, before SIGKILL
SAME_SITE = {"lax": "Lax", "strict": "Strict", "none": "None"}


def split_command(command: Sequence[str]) -> tuple[list[str], str, int]:
    """The command without its --server.port and --server.address (either `--flag value` or
    `--flag=value`), and their values: the proxy's public address and port."""
    rest: list[str] = []
    found = {"--server.port": str(PORT), "--server.address": ""}
    args = iter(command)
    for arg in args:
        name, eq, value = arg.partition("=")
        if name in found:
            found[name] = value if eq else next(args, "")
        else:
            rest.append(arg)
    if not found["--server.port"].isdigit():
        raise ValueError(f"--server.port is not a port: {found['--server.port']!r}")
    return rest, found["--server.address"], int(found["--server.port"])


def free_port() -> int:
    """A loopback port nobody listens on now (the kernel's pick; the process binds it soon)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the launcher dies, even by SIGKILL (Linux's
    PR_SET_PDEATHSIG; elsewhere the launcher's own cleanup is all there is)."""
    os.setsid()  # a process group of its own: the launcher stops all of it
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def start(command: list[str], port: int, env: dict[str, str]) -> subprocess.Popen:
    argv = [*command, "--server.port", str(port), "--server.address", "127.0.0.1"]
    argv += ["--server.headless", "true"]
    return subprocess.Popen(argv, env=env, preexec_fn=_die_with_parent)  # noqa: PLW1509


def healthy(url: str, children: Sequence[subprocess.Popen], timeout_s: float) -> bool:
    """Whether the server at `url` answered its health check before `timeout_s`; False as
    soon as any of `children` (its processes) has exited. Also the Space's entry point's
    wait (rflr.explorer.warm)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and all(c.poll() is None for c in children):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def stop(children: Sequence[subprocess.Popen]) -> None:
    """SIGTERM to every process group, then SIGKILL to those still there after STOP_S."""
    for c in children:
        if c.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(c.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_S
    for c in children:
        try:
            c.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(c.pid, signal.SIGKILL)
            c.wait()


async def proxy_until_done(
    proxy: Proxy, host: str, port: int, children: Sequence[subprocess.Popen]
) -> int:
    """Serve until SIGTERM or SIGINT (status 0) or until a process exits (its status, or 1)."""
    server = await proxy.start(host, port)
    print(f"rflr serve: listening on {host or '*'}:{port}", file=sys.stderr, flush=True)
    loop = asyncio.get_running_loop()
    signalled = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, signalled.set)
    try:
        while not signalled.is_set():
            ended = [(i, c.poll()) for i, c in enumerate(children) if c.poll() is not None]
            if ended:
                i, code = ended[0]
                print(f"rflr serve: process {i} exited ({code}); stopping", file=sys.stderr)
                return code or 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signalled.wait(), 0.5)
        return 0
    finally:
        server.close()


def serve(command: list[str], processes: int, same_site: str = "Lax") -> int:
    """Run `command` as `processes` servers behind the proxy; the exit status."""
    base, host, port = split_command(command)
    folder = tempfile.mkdtemp(prefix="rflr-slots-")  # 0700, an unpredictable name
    env = {**os.environ, slots.PROCESSES_VAR: str(processes), slots.ENV_VAR: folder}
    ports = [free_port() for _ in range(processes)]
    children: list[subprocess.Popen] = []
    # SIGTERM while starting (a Space stopped early) ends here too, through the finally
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        children = [start(base, p, env) for p in ports]
        if not all(healthy(f"http://127.0.0.1:{p}", children, HEALTH_WAIT_S) for p in ports):
            print("rflr serve: a server process did not start", file=sys.stderr)
            return 1
        proxy = Proxy([("127.0.0.1", p) for p in ports], same_site=same_site)
        return asyncio.run(proxy_until_done(proxy, host, port, children))
    except KeyboardInterrupt:
        return 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop(children)
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--processes",
        type=int,
        default=slots.processes(),
        help="streamlit processes behind the proxy, 1 .. 16 (default RFLR_PROCESSES, else 1; "
        "1 runs the command itself, without a proxy)",
    )
    ap.add_argument(
        "--cookie-samesite",
        choices=sorted(SAME_SITE),
        default=os.environ.get("STREAMLIT_SERVER_XSRF_COOKIE_SAME_SITE", "lax").lower(),
        help="SameSite of the proxy's cookie, as Streamlit's server.xsrfCookieSameSite "
        "(default: that variable, else lax); `none` (with Secure) for an app in a "
        "cross-site iframe served over HTTPS",
    )
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- streamlit run APP [flags]")
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.error("give the command after --, e.g. -- streamlit run streamlit_app.py")
    if not 1 <= args.processes <= slots.PROCESSES_MAX:
        ap.error(f"--processes must be 1 .. {slots.PROCESSES_MAX}")
    if args.cookie_samesite not in SAME_SITE:
        ap.error("--cookie-samesite must be lax, strict or none")
    if args.processes == 1:
        os.execvp(command[0], command)  # today's server, exactly
    try:
        split_command(command)
    except ValueError as e:
        ap.error(str(e))
    return serve(command, args.processes, SAME_SITE[args.cookie_samesite])


if __name__ == "__main__":
    sys.exit(main())
