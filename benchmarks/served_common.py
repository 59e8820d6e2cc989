"""What served_load.py's visitors record, and how a row of its table is made: shared by the
Chromium visitors (served_load.py) and the protocol visitors (served_protocol.py)."""

from __future__ import annotations

import collections
import contextlib
import math
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path


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
    wire_per_change: list[int] = field(default_factory=list)  # protocol only: as sent
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
    wire_kb_per_change: float  # on the wire (deflated when the server compresses); NaN: unknown
    msgs_per_change: float
    load1: float  # the machine's 1-minute load average at the end of the changes
    kb_by_kind: dict[str, float] = field(default_factory=dict)  # per change (protocol only)


def tree(pid: int) -> list[int]:
    """`pid` and every process below it (Linux /proc): the server, or with --processes N the
    launcher's proxy and its N streamlit processes. The benchmark's own Train jobs are not
    below it; a visitor's Train job would be."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone since the listing
            continue
        children[int(fields[1])].append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += children.get(found[-1], [])
    return found


def proc_cpu_s(pid: int) -> float:
    """utime + stime of process `pid` and the processes below it, in seconds (Linux /proc)."""
    total = 0
    for p in tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def proc_mem_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of process `pid` and the processes below it, summed, in MB. For
    several processes the summed peaks bound the server's peak from above (each process's
    peak may have come at another moment)."""
    out = {"VmRSS": 0.0, "VmHWM": 0.0}
    for p in tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in out:
                    out[key] += int(value.split()[0]) / 1024
    return out


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile (no interpolation: few samples at small V)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]


@dataclass
class Client:
    """How one kind of visitor opens its page, makes its changes and leaves."""

    name: str
    open: Callable[[Visitor], Awaitable[None]]
    changes: Callable[[Visitor, int, float], Awaitable[None]]
    close: Callable[[Visitor], Awaitable[None]]


HEADER = (
    f"{'V':>3} {'changes':>7} {'stuck':>5} {'p50 ms':>7} {'p95 ms':>7} {'first page ms':>13} "
    f"{'CPU/change ms':>13} {'CPU/session ms':>14} {'peak RSS MB':>11} {'RSS after MB':>12} "
    f"{'KB/change':>9} {'wire KB':>7} {'msgs/change':>11} {'load1':>5}"
)


def table_line(r: Row) -> str:
    return (
        f"{r.visitors:>3} {r.changes:>7} {r.timeouts:>5} {r.p50_ms:>7.0f} {r.p95_ms:>7.0f} "
        f"{r.first_page_ms:>13.0f} {r.cpu_ms_per_change:>13.0f} {r.cpu_ms_per_session:>14.0f} "
        f"{r.peak_rss_mb:>11.0f} {r.rss_after_mb:>12.0f} {r.kb_per_change:>9.0f} "
        f"{_or_dash(r.wire_kb_per_change):>7} {r.msgs_per_change:>11.1f} {r.load1:>5.2f}"
    )


def _or_dash(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.0f}"
