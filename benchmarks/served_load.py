"""Many visitors at once on one served explorer: Chromium, or the server alone (issue 22).

    python benchmarks/served_load.py                          # Chromium, V = 1, 2, 4; 10 changes
    python benchmarks/served_load.py --clients protocol --visitors 1,2,4,8,16 --changes 22 \
        --saturate 8 --churn 50 --json load.json              # the server alone, its ceiling

Starts one `streamlit run streamlit_app.py` with RFLR_SERVE=1 (the Space's served mode, the
shipped checkpoints/) on a loopback port (--port, else a free one), its session timeout
(Streamlit's server.disconnectedSessionTTL, 120 s by default) shortened to --session-ttl by
STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL so that "RSS after" can be read soon. One untimed
visitor warms the server first (its time and server CPU are printed as the cold first page;
with --processes N, one on each process).
Then, for each V, V visitors open the page together and, once every first page has settled,
make N changes each, cycling layer, step and A (each visitor walks the runs from its own
offset, so visitors read different files), with a pause between changes. The V visitors'
changes start together, so each round arrives as a burst of V (the worst case for the tail);
with --stagger each visitor starts at its own offset in [0, pause) (a fixed seed), as
visitors who did not all click in the same millisecond.

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
- server CPU (utime + stime of the server process and those below it, /proc/PID/stat; with
  --processes N, the launcher's proxy and its N streamlit processes) per new session (the
  first-page phase / V) and per change (the change phase / V N; it includes the idle pauses
  and the pages' 3 s polls, which cost the server little);
- the server's peak RSS so far (VmHWM: it never falls, so a row shows the peak of this V or an
  earlier one; summed over the processes, an upper bound of their peak together) and its RSS after the visitors left and the session timeout passed;
- bytes and messages received per change, as the page decodes them (KB/change) and, for the
  protocol client, as they crossed the wire (wire KB: smaller where the server deflates its
  frames, .streamlit/config.toml's enableWebsocketCompression; Chromium's CDP reports frames
  already inflated, so its wire column is "-"); the protocol client also splits the bytes
  by element type (which charts dominate).
With --train, the Train tab's default job (RF-LR + dense, width 64, 8 seeds, 20,000 steps:
its two `rflr train` processes, niced, as rflr.views.jobs starts them) runs throughout the
visitors' rows, started again whenever it ends (issue 23: other visitors' clicks <= 1 s at p95
while a job runs). The jobs are started from this process, not from a visitor's Train tab: what
the server itself adds for a job is its poll thread and the owner's progress fragment.
With --saturate V, V protocol visitors then change with no pause for --saturate-s seconds: the
server's ceiling in changes/s, and the cores it used (CPU seconds per second). With --churn N,
N protocol sessions come one after another (open, one change, leave): the server's RSS growth
per session once their timeout passed. --profile DIR writes a cProfile file per script run
(benchmarks/profiled_app.py).

Modules: served_common (what a visitor records, a row), served_protocol (the protocol
visitors, saturate, churn), protocol_client (the websocket client itself); this file has the
Chromium visitors and the command.

The machine may be shared: prefer the CPU seconds and bytes to the latencies, and read each
row's load1 (os.getloadavg) beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

# One home for the settled rule: browser_latency's hooks, busy test and timings.
from browser_latency import BUSY, POLL_MS, QUIET_MS, TIMEOUT_S, WATCH  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_app, stop, wait_healthy  # noqa: E402
from served_common import (  # noqa: E402
    HEADER,
    Client,
    Row,
    Visitor,
    p95,
    proc_cpu_s,
    proc_mem_mb,
    table_line,
)
from served_protocol import (  # noqa: E402
    Churn,
    Saturation,
    churn,
    protocol_client,
    saturate,
    sweep_sessions,
)

CHART = '[data-testid="stVegaLiteChart"]'
KINDS = ("layer", "step", "A")  # the changes each visitor cycles through


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
        if kind == "step" and not await page.get_by_test_id("stSlider").count():
            kind = "layer"  # A has one snapshot (the shipped seeds 2-3): no step slider
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
                now = await selectbox(page, label).locator("input").first.input_value()
                if option == now:  # a step turned layer change must not pick what is shown
                    option = layer_pair[(turn + 1) % 2]
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


def chromium_client(browser, url: str) -> Client:
    async def close(vis: Visitor) -> None:
        await vis.page.context.close()

    return Client("chromium", lambda vis: open_page(browser, url, vis), make_changes, close)


async def _after(delay_s: float, client: Client, vis: Visitor, args) -> None:
    await asyncio.sleep(delay_s)
    await client.changes(vis, args.changes, args.pause)


async def one_load(client: Client, url: str, pid: int, v: int, args) -> Row:
    """V visitors: first pages together, then their changes together, then close and settle."""
    visitors = [Visitor(i) for i in range(v)]
    cpu0 = proc_cpu_s(pid)
    await asyncio.gather(*(client.open(vis) for vis in visitors))
    cpu1 = proc_cpu_s(pid)
    # --stagger: each visitor's first change after its own offset in [0, pause), drawn from a
    # fixed seed; without it all V click together every round, a burst (the worst case)
    offsets = random.Random(v).sample(range(1000), v)
    await asyncio.gather(
        *(
            _after(o * args.pause / 1000 if args.stagger else 0.0, client, vis, args)
            for o, vis in zip(offsets, visitors, strict=True)
        )
    )
    cpu2 = proc_cpu_s(pid)
    load1 = os.getloadavg()[0]
    peak = proc_mem_mb(pid)["VmHWM"]
    for vis in visitors:
        await client.close(vis)
    await asyncio.sleep(args.settle)
    if args.settle > args.session_ttl:
        await sweep_sessions(url, args.processes)
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
        wire_kb_per_change=(
            sum(b for vis in visitors for b in vis.wire_per_change) / n / 1000
            if any(vis.wire_per_change for vis in visitors)
            else math.nan  # Chromium's CDP frames are already inflated: unknown
        ),
        msgs_per_change=sum(f for vis in visitors for f in vis.frames_per_change) / n,
        load1=load1,
        kb_by_kind={k: round(b / n / 1000, 1) for k, b in by_kind.most_common()},
    )


async def warm_and_load(client: Client, url: str, pid: int, args) -> list[Row]:
    """One untimed visitor per server process first (its page is that process's cold first
    page: each stays open until all are, so the proxy sends each to the process with the
    fewest websockets, a cold one), then each V."""
    warm = [Visitor(-1 - i) for i in range(args.processes)]
    cpu0 = proc_cpu_s(pid)
    for vis in warm:
        await client.open(vis)
    cold_cpu = proc_cpu_s(pid) - cpu0
    for vis in warm:
        await client.close(vis)
    mem = proc_mem_mb(pid)["VmRSS"]
    pages = ", ".join(f"{vis.first_ms:.0f}" for vis in warm)
    print(
        f"{client.name}: cold first page {pages} ms, server CPU {cold_cpu * 1000:.0f} ms, "
        f"RSS after {mem:.0f} MB",
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
        "--stagger",
        action="store_true",
        help="start each visitor's changes at its own offset in [0, pause) (fixed seed), as "
        "visitors who did not arrive together; default: all V change together each round",
    )
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
    ap.add_argument(
        "--churn",
        type=int,
        default=0,
        help="then this many protocol sessions one after another (open, one change, leave): "
        "the server's RSS growth per session once their timeout passed (default 0: not run)",
    )
    ap.add_argument(
        "--train",
        action="store_true",
        help="keep the Train tab's default job running while the visitors' rows are measured",
    )
    ap.add_argument(
        "--processes",
        type=int,
        default=1,
        help="streamlit processes: 1 runs `streamlit run` itself; N > 1 runs rflr.explorer.serve "
        "(N processes behind its sticky proxy), the server's CPU and RSS then summed over the "
        "proxy and every process (default 1)",
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    ap.add_argument("--port", type=int, default=0, help="the server's port (default: a free one)")
    ap.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="profile every script run of the server (cProfile, benchmarks/profiled_app.py) "
        "into this folder, a file per run (full, fragment or poll): run-001 is the cold first page",
    )
    args = ap.parse_args()
    if args.changes < 1 or min(args.visitors) < 1:
        ap.error("--changes and every --visitors value must be at least 1")
    if not 1 <= args.processes <= 16:
        ap.error("--processes must be 1 .. 16")
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
    sat = grown = None
    with tempfile.TemporaryFile("w+") as log:
        proc = start_app(port, log, script=script, processes=args.processes)
        try:
            if not wait_healthy(url, proc):
                raise SystemExit("streamlit did not start")
            with training(args.train) as jobs_run:
                rows = asyncio.run(run(url, proc.pid, args))
            if args.saturate:
                sat = asyncio.run(saturate(url, proc.pid, args.saturate, args.saturate_s))
            if args.churn:
                grown = asyncio.run(churn(url, proc.pid, args.churn, args))
        finally:
            stop(proc)
    report(rows, sat, grown, args)
    if args.train:
        print(f"training throughout: {jobs_run[0]} default Train jobs started, niced")


@contextlib.contextmanager
def training(on: bool):
    """While open, the Train tab's default job runs (a new one whenever the last ends); yields
    [jobs started so far]."""
    started = [0]
    if not on:
        yield started
        return
    from rflr.views import budget, jobs
    from rflr.views.train_form import TrainForm

    form = TrainForm()
    form.check()
    mgr = jobs.JobManager(lambda: budget.TrainLimits(wall_s=3600, idle_s=3600))
    done = threading.Event()

    def keep() -> None:
        while not done.is_set():
            job = mgr.poll("bench")
            if job is None or job.state in jobs.ENDED:
                mgr.submit("bench", lambda out: [form.argv(k, out) for k in form.kinds],
                           [form.steps] * len(form.kinds), form.work)  # fmt: skip
                started[0] += 1
            done.wait(0.5)

    thread = threading.Thread(target=keep, daemon=True)
    thread.start()
    try:
        while started[0] == 0:
            time.sleep(0.1)
        yield started
    finally:
        done.set()
        thread.join()
        mgr.shutdown()


def report(rows: dict[str, list[Row]], sat: Saturation | None, grown: Churn | None, args):
    cores = os.cpu_count()
    for client, client_rows in rows.items():
        print(
            f"\nserved load ({client} visitors, {args.changes} changes per visitor, "
            f"{args.pause} s apart, {cores} cores, session TTL {args.session_ttl} s, "
            f"{args.processes} server process{'es' if args.processes > 1 else ''}):"
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
            f"{sat.p50_ms:.0f} ms, {sat.stuck} stuck, load1 {sat.load1:.2f}"
        )
    if grown:
        print(
            f"churn: {grown.sessions} sessions one after another: RSS {grown.rss_before_mb:.0f} "
            f"-> {grown.rss_after_mb:.0f} MB, {grown.kb_per_session:.0f} KB per session"
        )
    if args.json:
        out = {c: [asdict(r) for r in rs] for c, rs in rows.items()}
        if sat:
            out["saturation"] = asdict(sat)
        if grown:
            out["churn"] = asdict(grown)
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
