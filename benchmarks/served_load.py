"""Many visitors at once on one served explorer: Chromium, or the server alone (issue 22).

    python benchmarks/served_load.py                          # Chromium, V = 1, 2, 4; 10 changes
    python benchmarks/served_load.py --clients protocol --visitors 1,2,4,8,16 --changes 22 \
        --saturate 8 --json load.json                         # the server alone, and its ceiling

Starts one `streamlit run streamlit_app.py` with RFLR_SERVE=1 (the Space's served mode, the
shipped checkpoints/) on a loopback port (--port, else a free one), its session timeout
(Streamlit's server.disconnectedSessionTTL, 120 s by default) shortened to --session-ttl by
STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL so that "RSS after" can be read soon. One untimed
visitor warms the server first (its time and server CPU are printed as the cold first page).
Then, for each V, V visitors open the page together and, once every first page has settled,
make N changes each, cycling layer, step and A (each visitor walks the runs from its own
offset, so visitors read different files), with a pause between changes.

Two kinds of visitor (--clients chromium|protocol|both):
- chromium: one headless Debian Chromium (Playwright, /usr/bin/chromium; nothing is
  downloaded), a browser context per visitor. A change is timed from the click to settled
  charts, with browser_latency's rule (same WATCH hooks, BUSY test and quiet window); bytes
  are the websocket frames the page received (CDP Network.webSocketFrameReceived). Chromium
  shares the cores with the server: on a 2-core machine its own CPU (about ten times the
  server's per change, issue 22) is most of what slows the page past V = 2.
- protocol: protocol_client.Session, Streamlit's websocket protocol spoken from Python (no
  browser: the server alone). A change is timed from sending its rerun_script BackMsg to the
  run's script_finished ForwardMsg; bytes are the ForwardMsgs received for it. A first page is
  the websocket and its first run only: a browser also fetches ~136 static files (4.2 MB) over
  HTTP, which the chromium rows' CPU per session includes and these do not.

Per V it prints:
- p50 and p95 of the changes' times (a change that did not end within TIMEOUT_S is counted as
  stuck and left out);
- first page: the median over visitors;
- server CPU (utime + stime of the server process, /proc/PID/stat) per new session (the
  first-page phase / V) and per change (the change phase / V N; it includes the idle pauses
  and the pages' 3 s polls, which cost the server little);
- the server's peak RSS so far (VmHWM: it never falls, so a row shows the peak of this V or an
  earlier one) and its RSS after the visitors left and the session timeout passed;
- bytes and messages received per change; the protocol client also splits the bytes by
  element type (which charts dominate).
With --saturate V, V protocol visitors then change with no pause for --saturate-s seconds: the
server's ceiling in changes/s, and the cores it used (CPU seconds per second).

The machine may be shared: prefer the CPU seconds and bytes to the latencies, and read each
row's load1 (os.getloadavg) beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

# One home for the settled rule: browser_latency's hooks, busy test and timings.
from browser_latency import BUSY, POLL_MS, QUIET_MS, TIMEOUT_S, WATCH  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_app, stop, wait_healthy  # noqa: E402
from protocol_client import STREAM, SUBPROTOCOL, Session, next_change  # noqa: E402

CHART = '[data-testid="stVegaLiteChart"]'
KINDS = ("layer", "step", "A")  # the changes each visitor cycles through


@dataclass
class Visitor:
    """One visitor's page and what it measured."""

    index: int
    page: object = None  # its Chromium page, or its protocol_client.Session
    first_ms: float = math.nan
    changes_ms: list[float] = field(default_factory=list)
    timeouts: int = 0  # changes that did not settle within TIMEOUT_S (left out of p50/p95)
    frames: int = 0  # websocket frames received, running total (CDP)
    bytes: int = 0  # their payload bytes, running total
    frames_per_change: list[int] = field(default_factory=list)
    bytes_per_change: list[int] = field(default_factory=list)
    by_kind: collections.Counter = field(default_factory=collections.Counter)  # protocol only

    def on_frame(self, event: dict) -> None:
        resp = event.get("response", {})
        payload = resp.get("payloadData", "")
        # opcode 2: binary (Streamlit's protobuf), reported base64-encoded
        n = len(payload) * 3 // 4 - payload.count("=") if resp.get("opcode") == 2 else len(payload)
        self.frames += 1
        self.bytes += n


@dataclass
class Row:
    """The measurements of one V."""

    visitors: int
    changes: int  # samples behind p50 / p95
    timeouts: int  # changes that never settled (not in the samples)
    p50_ms: float
    p95_ms: float
    first_page_ms: float
    cpu_ms_per_change: float
    cpu_ms_per_session: float
    peak_rss_mb: float
    rss_after_mb: float
    kb_per_change: float
    msgs_per_change: float
    load1: float  # the machine's 1-minute load average at the end of the changes
    kb_by_kind: dict[str, float] = field(default_factory=dict)  # per change (protocol only)


def proc_cpu_s(pid: int) -> float:
    """utime + stime of process `pid`, in seconds (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_mem_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of process `pid`, in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile (no interpolation: few samples at small V)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]


async def settled(page, since: float) -> float:
    """ms from `since` (page clock) to the last chart change, once the page is quiet
    (browser_latency.settled, awaited so that every visitor polls on one loop)."""
    deadline = time.time() + TIMEOUT_S
    while time.time() < deadline:
        await asyncio.sleep(POLL_MS / 1000)
        now, last = await page.evaluate("() => [performance.now(), window.__watch.last]")
        if last > since and now - last >= QUIET_MS and not await page.evaluate(BUSY):
            return last - since
    raise TimeoutError("the charts did not settle")


def selectbox(page, label: str):
    label_el = page.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True)
    return page.get_by_test_id("stSelectbox").filter(has=label_el).first


async def options_of(page, label: str) -> list[str]:
    await selectbox(page, label).click()
    names = await page.get_by_role("option").all_inner_texts()
    await page.keyboard.press("Escape")
    return [n.strip() for n in names]


async def open_page(browser, url: str, visitor: Visitor) -> None:
    """A new context and page for `visitor`, its frames counted; time to settled charts."""
    context = await browser.new_context(viewport={"width": 1440, "height": 1000})
    page = visitor.page = await context.new_page()
    await page.add_init_script(f"({WATCH})()")
    cdp = await context.new_cdp_session(page)
    cdp.on("Network.webSocketFrameReceived", visitor.on_frame)
    await cdp.send("Network.enable")
    await page.goto(url)
    await page.locator(CHART).first.wait_for(timeout=TIMEOUT_S * 1000)
    visitor.first_ms = await settled(page, 0.0)  # performance.now() counts from navigation


async def make_changes(visitor: Visitor, changes: int, pause_s: float) -> None:
    """`changes` timed changes (layer, step, A in turn), `pause_s` apart."""
    page = visitor.page
    layers = await options_of(page, "Layer")
    runs = await options_of(page, "Checkpoint A: run")
    layer_pair = [layers[-3] if len(layers) > 2 else layers[0], layers[-2]]
    current_run = runs[0]
    for k in range(changes):
        kind = KINDS[k % len(KINDS)]
        turn = k // len(KINDS)
        if kind == "step":
            thumb = page.get_by_test_id("stSlider").get_by_role("slider").first
            await thumb.focus()
            # alternate, but never push against an end: an A change may reset the step
            at = [await thumb.get_attribute(f"aria-value{e}") for e in ("now", "min", "max")]
            back = turn % 2 == 0 if at[1] != at[0] != at[2] else at[0] == at[2]
            key = "ArrowLeft" if back else "ArrowRight"

            async def act(key=key):
                await page.keyboard.press(key)
        else:
            if kind == "layer":
                label, option = "Layer", layer_pair[turn % 2]
            else:  # each visitor its own sequence of runs
                label = "Checkpoint A: run"
                option = runs[(visitor.index + 1 + turn) % len(runs)]
                if option == current_run:
                    option = runs[(runs.index(option) + 1) % len(runs)]
                current_run = option
            # the menu opens before the clock starts, as in browser_latency.timed_choice
            await selectbox(page, label).click()
            item = page.get_by_role("option", name=option, exact=True).first
            await item.wait_for()

            async def act(item=item):
                await item.click()

        frames, received = visitor.frames, visitor.bytes
        since = await page.evaluate("() => performance.now()")
        await act()
        try:
            visitor.changes_ms.append(await settled(page, since))
        except TimeoutError:
            # one stuck page must not lose every other visitor's samples: counted, reported
            what = option if kind != "step" else key
            print(
                f"visitor {visitor.index}, change {k} ({kind}: {what}) did not settle in "
                f"{TIMEOUT_S} s",
                file=sys.stderr,
                flush=True,
            )
            visitor.timeouts += 1
            continue
        visitor.frames_per_change.append(visitor.frames - frames)
        visitor.bytes_per_change.append(visitor.bytes - received)
        await asyncio.sleep(pause_s)


@dataclass
class Client:
    """How one kind of visitor opens its page, makes its changes and leaves."""

    name: str
    open: Callable[[Visitor], Awaitable[None]]
    changes: Callable[[Visitor, int, float], Awaitable[None]]
    close: Callable[[Visitor], Awaitable[None]]


def chromium_client(browser, url: str) -> Client:
    async def close(vis: Visitor) -> None:
        await vis.page.context.close()

    return Client("chromium", lambda vis: open_page(browser, url, vis), make_changes, close)


def protocol_client(url: str) -> Client:
    async def open_session(vis: Visitor) -> None:
        vis.page = Session(url)
        vis.first_ms = await vis.page.open(timeout_s=TIMEOUT_S) * 1000

    async def close(vis: Visitor) -> None:
        await vis.page.close()

    return Client("protocol", open_session, protocol_changes, close)


async def protocol_changes(visitor: Visitor, changes: int, pause_s: float) -> None:
    """`changes` timed changes over the websocket (protocol_client.next_change: the same
    layer, step, A cycle as make_changes), each from send to its script_finished."""
    session = visitor.page
    for k in range(changes):
        widget, value = next_change(session, visitor.index, k)
        session.take()  # the polls' messages during the pause are not this change's
        try:
            visitor.changes_ms.append(await session.change(widget, value, TIMEOUT_S) * 1000)
        except TimeoutError:
            print(
                f"visitor {visitor.index}, change {k} ({widget.label[:30]}: {value}) did "
                f"not finish in {TIMEOUT_S} s",
                file=sys.stderr,
                flush=True,
            )
            visitor.timeouts += 1
            continue
        got = session.take()
        visitor.frames_per_change.append(got.msgs)
        visitor.bytes_per_change.append(got.bytes)
        visitor.by_kind.update(got.by_kind)
        await asyncio.sleep(pause_s)


async def sweep_sessions(url: str) -> None:
    """Connect and leave without a run. Streamlit drops a disconnected session only when its
    session store is next written (a TTLCache, expired lazily): after the timeout, this makes
    it forget those who left, as the next visitor of a real Space would."""
    session = Session(url)
    session.ws = await websockets.connect(
        "ws" + url.removeprefix("http") + STREAM, subprotocols=[SUBPROTOCOL]
    )
    await session.ws.close()
    await asyncio.sleep(1.0)


async def one_load(client: Client, url: str, pid: int, v: int, args) -> Row:
    """V visitors: first pages together, then their changes together, then close and settle."""
    visitors = [Visitor(i) for i in range(v)]
    cpu0 = proc_cpu_s(pid)
    await asyncio.gather(*(client.open(vis) for vis in visitors))
    cpu1 = proc_cpu_s(pid)
    await asyncio.gather(*(client.changes(vis, args.changes, args.pause) for vis in visitors))
    cpu2 = proc_cpu_s(pid)
    load1 = os.getloadavg()[0]
    peak = proc_mem_mb(pid)["VmHWM"]
    for vis in visitors:
        await client.close(vis)
    await asyncio.sleep(args.settle)
    if args.settle > args.session_ttl:
        await sweep_sessions(url)
    changes = [ms for vis in visitors for ms in vis.changes_ms] or [math.nan]  # all stuck
    n = sum(len(vis.changes_ms) for vis in visitors) or 1
    by_kind = sum((vis.by_kind for vis in visitors), collections.Counter())
    return Row(
        visitors=v,
        changes=sum(len(vis.changes_ms) for vis in visitors),
        timeouts=sum(vis.timeouts for vis in visitors),
        p50_ms=statistics.median(changes),
        p95_ms=p95(changes),
        first_page_ms=statistics.median(vis.first_ms for vis in visitors),
        cpu_ms_per_change=(cpu2 - cpu1) * 1000 / n,
        cpu_ms_per_session=(cpu1 - cpu0) * 1000 / v,
        peak_rss_mb=peak,
        rss_after_mb=proc_mem_mb(pid)["VmRSS"],
        kb_per_change=sum(b for vis in visitors for b in vis.bytes_per_change) / n / 1000,
        msgs_per_change=sum(f for vis in visitors for f in vis.frames_per_change) / n,
        load1=load1,
        kb_by_kind={k: round(b / n / 1000, 1) for k, b in by_kind.most_common()},
    )


@dataclass
class Saturation:
    """V protocol visitors changing with no pause: what the one server process gets through."""

    visitors: int
    seconds: float
    changes: int
    changes_per_s: float
    cores: float  # server CPU seconds per second of wall clock
    p50_ms: float
    load1: float


async def saturate(url: str, pid: int, v: int, seconds: float) -> Saturation:
    visitors = [Visitor(i) for i in range(v)]
    await asyncio.gather(*(protocol_client(url).open(vis) for vis in visitors))
    stop_at = time.perf_counter() + seconds

    async def busy(vis: Visitor) -> None:
        k = 0
        while time.perf_counter() < stop_at:
            widget, value = next_change(vis.page, vis.index, k)
            vis.changes_ms.append(await vis.page.change(widget, value, TIMEOUT_S) * 1000)
            k += 1

    cpu0, t0 = proc_cpu_s(pid), time.perf_counter()
    await asyncio.gather(*(busy(vis) for vis in visitors))
    cpu, wall = proc_cpu_s(pid) - cpu0, time.perf_counter() - t0
    load1 = os.getloadavg()[0]
    for vis in visitors:
        await vis.page.close()
    done = [ms for vis in visitors for ms in vis.changes_ms]
    return Saturation(
        v, wall, len(done), len(done) / wall, cpu / wall, statistics.median(done), load1
    )


HEADER = (
    f"{'V':>3} {'changes':>7} {'stuck':>5} {'p50 ms':>7} {'p95 ms':>7} {'first page ms':>13} "
    f"{'CPU/change ms':>13} {'CPU/session ms':>14} {'peak RSS MB':>11} {'RSS after MB':>12} "
    f"{'KB/change':>9} {'msgs/change':>11} {'load1':>5}"
)


def table_line(r: Row) -> str:
    return (
        f"{r.visitors:>3} {r.changes:>7} {r.timeouts:>5} {r.p50_ms:>7.0f} {r.p95_ms:>7.0f} "
        f"{r.first_page_ms:>13.0f} {r.cpu_ms_per_change:>13.0f} {r.cpu_ms_per_session:>14.0f} "
        f"{r.peak_rss_mb:>11.0f} {r.rss_after_mb:>12.0f} {r.kb_per_change:>9.0f} "
        f"{r.msgs_per_change:>11.1f} {r.load1:>5.2f}"
    )


async def warm_and_load(client: Client, url: str, pid: int, args) -> list[Row]:
    """One untimed visitor first (its page is the cold first page), then each V."""
    warm = Visitor(-1)
    cpu0 = proc_cpu_s(pid)
    await client.open(warm)
    cold_cpu = proc_cpu_s(pid) - cpu0
    await client.close(warm)
    mem = proc_mem_mb(pid)["VmRSS"]
    print(
        f"{client.name}: cold first page {warm.first_ms:.0f} ms, server CPU "
        f"{cold_cpu * 1000:.0f} ms, RSS after {mem:.0f} MB",
        flush=True,
    )
    print(HEADER, flush=True)
    rows = []
    for v in args.visitors:
        rows.append(await one_load(client, url, pid, v, args))
        print(table_line(rows[-1]), flush=True)
    return rows


async def run(url: str, pid: int, args) -> dict[str, list[Row]]:
    """Each client's rows (protocol first: it needs no browser on the cores)."""
    rows = {}
    if args.clients in ("protocol", "both"):
        rows["protocol"] = await warm_and_load(protocol_client(url), url, pid, args)
    if args.clients in ("chromium", "both"):
        from playwright.async_api import async_playwright

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            rows["chromium"] = await warm_and_load(chromium_client(browser, url), url, pid, args)
            await browser.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--clients",
        choices=("chromium", "protocol", "both"),
        default="chromium",
        help="Chromium visitors (what a person feels), the protocol-level client (the server "
        "alone: protocol_client.py), or both in turn on one server (default chromium)",
    )
    ap.add_argument(
        "--visitors",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 2, 4],
        help="comma-separated numbers of visitors at once, one measurement each (default 1,2,4)",
    )
    ap.add_argument("--changes", type=int, default=10, help="changes per visitor (default 10)")
    ap.add_argument("--pause", type=float, default=1.5, help="s between a visitor's changes")
    ap.add_argument(
        "--session-ttl",
        type=int,
        default=5,
        help="s the server keeps a session whose visitor left (Streamlit's "
        "server.disconnectedSessionTTL, 120 by default; shortened so that RSS after can be "
        "read soon, default 5)",
    )
    ap.add_argument(
        "--settle",
        type=float,
        default=None,
        help="s after the visitors leave before reading RSS (default: the session TTL + 3)",
    )
    ap.add_argument(
        "--saturate",
        type=int,
        default=0,
        help="then this many protocol visitors change with no pause for --saturate-s: the "
        "server's ceiling in changes/s and cores (default 0: not measured)",
    )
    ap.add_argument("--saturate-s", type=float, default=20.0, help="s of saturation (default 20)")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    ap.add_argument("--port", type=int, default=0, help="the server's port (default: a free one)")
    ap.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="profile every script run of the server (cProfile, benchmarks/profiled_app.py) "
        "into this folder: run-001 is the cold first page, run-002 the first visitor's page",
    )
    args = ap.parse_args()
    if args.changes < 1 or min(args.visitors) < 1:
        ap.error("--changes and every --visitors value must be at least 1")
    if args.settle is None:
        args.settle = args.session_ttl + 3.0
    os.environ["RFLR_SERVE"] = "1"
    os.environ.pop("RFLR_CHECKPOINTS", None)  # served mode on the shipped checkpoints/
    os.environ["STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL"] = str(args.session_ttl)
    script = ROOT / "streamlit_app.py"
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        os.environ["RFLR_PROFILE_DIR"] = str(args.profile.resolve())
        script = ROOT / "benchmarks" / "profiled_app.py"
    port = args.port or free_port()
    url = f"http://127.0.0.1:{port}"
    sat = None
    with tempfile.TemporaryFile("w+") as log:
        proc = start_app(port, log, script=script)
        try:
            if not wait_healthy(url, proc):
                raise SystemExit("streamlit did not start")
            rows = asyncio.run(run(url, proc.pid, args))
            if args.saturate:
                sat = asyncio.run(saturate(url, proc.pid, args.saturate, args.saturate_s))
        finally:
            stop(proc)
    report(rows, sat, args)


def report(rows: dict[str, list[Row]], sat: Saturation | None, args) -> None:
    cores = os.cpu_count()
    for client, client_rows in rows.items():
        print(
            f"\nserved load ({client} visitors, {args.changes} changes per visitor, "
            f"{args.pause} s apart, {cores} cores, session TTL {args.session_ttl} s):"
        )
        print(HEADER)
        for r in client_rows:
            print(table_line(r))
        if client == "protocol" and client_rows:
            top = list(client_rows[0].kb_by_kind.items())[:6]
            print("KB per change by element (V = 1): " + ", ".join(f"{k} {b}" for k, b in top))
    if sat:
        print(
            f"saturation: {sat.visitors} protocol visitors with no pause, {sat.seconds:.0f} s: "
            f"{sat.changes_per_s:.1f} changes/s, server {sat.cores:.2f} cores, p50 "
            f"{sat.p50_ms:.0f} ms, load1 {sat.load1:.2f}"
        )
    if args.json:
        out = {c: [asdict(r) for r in rs] for c, rs in rows.items()}
        if sat:
            out["saturation"] = asdict(sat)
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
