"""Many visitors at once on one served explorer, in Debian's Chromium (issue 22, "A load benchmark").

    python benchmarks/served_load.py                          # V = 1, 2, 4; 10 changes each
    python benchmarks/served_load.py --visitors 1,2,4,8,16 --changes 22 --json load.json

Starts one `streamlit run streamlit_app.py` with RFLR_SERVE=1 (the Space's served mode, the
shipped checkpoints/) on a free loopback port and opens one headless Chromium (Playwright,
/usr/bin/chromium; nothing is downloaded). One untimed page warms the server first (its time
is printed as the cold first page). Then, for each V, V visitors (one browser context each,
all at once on one asyncio loop) open the page and, once every first page has settled, make
N changes each, cycling layer, step (the slider's arrow keys) and A (each visitor walks the
runs from its own offset, so visitors read different files), with a pause between changes.

Per V it prints:
- click-to-chart p50 and p95 over every visitor's changes, with browser_latency's rule for
  "settled" (same WATCH hooks, BUSY test and quiet window);
- first page: the median over visitors of navigation to settled charts;
- server CPU (utime + stime of the server process, /proc/PID/stat) per new session (the
  first-page phase / V) and per change (the change phase / V N; it includes the idle pauses,
  which cost the server next to nothing);
- the server's peak RSS so far (VmHWM: it never falls, so a row shows the peak of this V or an
  earlier one) and its RSS after the pages closed and `--settle` seconds passed;
- bytes and websocket messages the browser received per change (CDP Network events
  webSocketFrameReceived; a binary frame's base64 payload counts as its decoded length).

Chromium shares the cores with the server: on a 2-core machine, past V = 2 the browser's own
CPU (about ten times the server's per change, issue 22) is most of what slows the page.

Not yet built: the protocol-level client that replays each visitor's recorded websocket
messages without a browser (the "server alone" rows of issue 22); this script measures what
a browser user sees.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

# One home for the settled rule: browser_latency's hooks, busy test and timings.
from browser_latency import BUSY, POLL_MS, QUIET_MS, TIMEOUT_S, WATCH  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_app, stop, wait_healthy  # noqa: E402

CHART = '[data-testid="stVegaLiteChart"]'
KINDS = ("layer", "step", "A")  # the changes each visitor cycles through


@dataclass
class Visitor:
    """One visitor's page and what it measured."""

    index: int
    page: object = None
    first_ms: float = math.nan
    changes_ms: list[float] = field(default_factory=list)
    timeouts: int = 0  # changes that did not settle within TIMEOUT_S (left out of p50/p95)
    frames: int = 0  # websocket frames received, running total (CDP)
    bytes: int = 0  # their payload bytes, running total
    frames_per_change: list[int] = field(default_factory=list)
    bytes_per_change: list[int] = field(default_factory=list)

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


async def one_load(browser, url: str, pid: int, v: int, args) -> Row:
    """V visitors: first pages together, then their changes together, then close and settle."""
    visitors = [Visitor(i) for i in range(v)]
    cpu0 = proc_cpu_s(pid)
    await asyncio.gather(*(open_page(browser, url, vis) for vis in visitors))
    cpu1 = proc_cpu_s(pid)
    await asyncio.gather(*(make_changes(vis, args.changes, args.pause) for vis in visitors))
    cpu2 = proc_cpu_s(pid)
    load1 = os.getloadavg()[0]
    peak = proc_mem_mb(pid)["VmHWM"]
    for vis in visitors:
        await vis.page.context.close()
    await asyncio.sleep(args.settle)
    changes = [ms for vis in visitors for ms in vis.changes_ms] or [math.nan]  # all stuck
    n = sum(len(vis.changes_ms) for vis in visitors) or 1
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


async def run(url: str, pid: int, args) -> list[Row]:
    from playwright.async_api import async_playwright

    rows = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        warm = Visitor(-1)
        cpu0 = proc_cpu_s(pid)
        await open_page(browser, url, warm)
        cold_cpu = proc_cpu_s(pid) - cpu0
        await warm.page.context.close()
        mem = proc_mem_mb(pid)["VmRSS"]
        print(
            f"cold first page: {warm.first_ms:.0f} ms, server CPU {cold_cpu * 1000:.0f} ms, "
            f"RSS after {mem:.0f} MB",
            flush=True,
        )
        print(HEADER, flush=True)
        for v in args.visitors:
            row = await one_load(browser, url, pid, v, args)
            rows.append(row)
            print(table_line(row), flush=True)
        await browser.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--visitors",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 2, 4],
        help="comma-separated numbers of visitors at once, one measurement each (default 1,2,4)",
    )
    ap.add_argument("--changes", type=int, default=10, help="changes per visitor (default 10)")
    ap.add_argument("--pause", type=float, default=1.5, help="s between a visitor's changes")
    ap.add_argument(
        "--settle", type=float, default=5.0, help="s after the pages close before reading RSS"
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = ap.parse_args()
    if args.changes < 1 or min(args.visitors) < 1:
        ap.error("--changes and every --visitors value must be at least 1")
    os.environ["RFLR_SERVE"] = "1"
    os.environ.pop("RFLR_CHECKPOINTS", None)  # served mode on the shipped checkpoints/
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as log:
        proc = start_app(port, log)
        try:
            if not wait_healthy(url, proc):
                raise SystemExit("streamlit did not start")
            rows = asyncio.run(run(url, proc.pid, args))
        finally:
            stop(proc)
    cores = os.cpu_count()
    print(
        f"\nserved load ({args.changes} changes per visitor, {args.pause} s apart, {cores} cores):"
    )
    print(HEADER)
    for r in rows:
        print(table_line(r))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")


if __name__ == "__main__":
    main()
