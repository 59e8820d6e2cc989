"""served_load.py's protocol visitors (protocol_client.Session: the server alone), and the
measurements only they can make: the server's ceiling (saturate) and its memory over many
sessions one after another (churn)."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass

import websockets
from browser_latency import TIMEOUT_S
from protocol_client import STREAM, SUBPROTOCOL, Session, next_change
from served_common import Client, Visitor, proc_cpu_s, proc_mem_mb


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
        visitor.wire_per_change.append(got.wire)
        visitor.by_kind.update(got.by_kind)
        await asyncio.sleep(pause_s)


async def sweep_sessions(url: str, processes: int = 1) -> None:
    """Connect and leave without a run. Streamlit drops a disconnected session only when its
    session store is next written (a TTLCache, expired lazily): after the timeout, this makes
    it forget those who left, as the next visitor of a real Space would. Behind
    rflr.explorer.serve's proxy, once on each process (its cookie chosen by hand)."""
    for i in range(processes):
        cookie = {"Cookie": f"rflr_backend={i}"} if processes > 1 else None
        ws = await websockets.connect(
            "ws" + url.removeprefix("http") + STREAM,
            subprotocols=[SUBPROTOCOL],
            additional_headers=cookie,
        )
        await ws.close()
    await asyncio.sleep(1.0)


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
    stuck: int = 0  # changes that did not finish within TIMEOUT_S


async def saturate(url: str, pid: int, v: int, seconds: float) -> Saturation:
    visitors = [Visitor(i) for i in range(v)]
    await asyncio.gather(*(protocol_client(url).open(vis) for vis in visitors))
    stop_at = time.perf_counter() + seconds

    async def busy(vis: Visitor) -> None:
        k = 0
        while time.perf_counter() < stop_at:
            widget, value = next_change(vis.page, vis.index, k)
            k += 1
            try:
                vis.changes_ms.append(await vis.page.change(widget, value, TIMEOUT_S) * 1000)
            except TimeoutError:
                vis.timeouts += 1  # reported with the rate, not counted in it

    cpu0, t0 = proc_cpu_s(pid), time.perf_counter()
    await asyncio.gather(*(busy(vis) for vis in visitors))
    cpu, wall = proc_cpu_s(pid) - cpu0, time.perf_counter() - t0
    load1 = os.getloadavg()[0]
    for vis in visitors:
        await vis.page.close()
    done = [ms for vis in visitors for ms in vis.changes_ms]
    stuck = sum(vis.timeouts for vis in visitors)
    return Saturation(
        v, wall, len(done), len(done) / wall, cpu / wall, statistics.median(done), load1, stuck
    )


@dataclass
class Churn:
    """Sessions one after another (open, one change, leave): does the server's memory grow?"""

    sessions: int
    rss_before_mb: float  # after the first such session, its timeout passed
    rss_after_mb: float  # after the last, its timeout passed
    kb_per_session: float  # the growth over the sessions after the first


async def churn(url: str, pid: int, n: int, args) -> Churn:
    async def one(i: int) -> None:
        vis = Visitor(i)
        client = protocol_client(url)
        await client.open(vis)
        widget, value = next_change(vis.page, i, 0)
        await vis.page.change(widget, value, TIMEOUT_S)
        await client.close(vis)

    async def settled_rss() -> float:
        await asyncio.sleep(args.session_ttl + 2)
        await sweep_sessions(url, args.processes)
        return proc_mem_mb(pid)["VmRSS"]

    await one(0)
    before = await settled_rss()
    for i in range(1, n):
        await one(i)
    after = await settled_rss()
    return Churn(n, before, after, (after - before) * 1024 / max(n - 1, 1))
