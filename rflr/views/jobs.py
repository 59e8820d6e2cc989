"""Training jobs started from the explorer: a queue, slots, caps, and each session's private
folder (the Train tab, rflr.explorer.tabs.train).

A job is one or more `python -m rflr train ...` processes (the same entry as `python
train.py`, one per model kind, run side by side), so the files are exactly train.py's and a
cancel is a kill. The processes run at a lower CPU priority (NICE) and in their own process
group, so a kill takes everything they started and other visitors' clicks stay fast.

The manager (one per server process, shared by its sessions):

- at most `slots` jobs run at once (RFLR_TRAIN_SLOTS); the others wait first in, first out,
  and know their place in the queue; a session has one job at a time. A server of several
  processes (rflr.explorer.serve) holds the count across them: a job starts only with one of
  the server's slot files (rflr.views.slots), and its place is in its own process's queue;
- a job over the work cap (steps x batch x seeds x width^2) is refused in one line naming the numbers;
  a running job is killed after `wall_s`;
- a session's page polls (`poll`); a job whose session has not polled for `idle_s` is
  cancelled, and so is every job of a session that ends (`end_session`);
- each session trains into its own folder, made by tempfile.mkdtemp (mode 0700, a fresh
  unpredictable name) inside a folder of the manager's own; a folder goes `keep_s` after its
  session last used it, or when the session ends. The manager deletes only folders it made.

The limits are read when they are used (rflr.views.budget.train_limits), so a Space owner's
environment variables apply without a restart. A daemon thread ticks while jobs exist, so
jobs whose pages went away are still stopped. Pure Python: no Streamlit, no training code.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rflr.views import budget, slots

NICE = 10  # the training processes' niceness: the page's own threads go first
TICK_S = 1.0  # the manager's background check, while jobs exist
TAIL_LINES = 20  # output lines kept per process: the reason a failed job gives
PACKAGE_PARENT = Path(__file__).resolve().parents[2]  # where `python -m rflr` finds rflr
# tqdm's counter ("  5%|▌   | 1024/20000 [...") and train.py's own lines
_COUNTER = re.compile(r"(\d+)/(\d+) \[")

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
ENDED = (DONE, FAILED, CANCELLED)


class JobRefused(Exception):
    """A job the manager will not take; the message is one line."""


@dataclass
class Process:
    """One `rflr train` process of a job, and what its output said so far."""

    argv: list[str]
    total: int  # its steps
    popen: subprocess.Popen | None = None
    reader: threading.Thread | None = None  # follows its output (_read_output)
    step: int = 0  # the newest step its progress bar showed
    tail: deque = field(default_factory=lambda: deque(maxlen=TAIL_LINES))


@dataclass
class Job:
    """A session's training job: its processes, where it stands, and why it ended."""

    id: int
    session: str
    folder: Path  # its --out: job-<id> inside the session's folder
    processes: list[Process]
    work: int
    state: str = QUEUED
    slot: slots.Slot | None = None  # the server's slot while it runs (several processes)
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    ended: float | None = None
    reason: str = ""  # why it failed or was cancelled (one line)

    @property
    def progress(self) -> float:
        """The fraction of every process's steps done, 0 .. 1."""
        total = sum(p.total for p in self.processes)
        return min(1.0, sum(p.step for p in self.processes) / total) if total else 1.0

    @property
    def step(self) -> int:
        """The slowest process's step: the job is at least this far."""
        return min(p.step for p in self.processes)

    @property
    def steps(self) -> int:
        return max(p.total for p in self.processes)


@dataclass
class Session:
    """A page's registration: its private folder and when it last polled."""

    id: str
    folder: Path
    seen: float = field(default_factory=time.monotonic)


def train_command(argv: Sequence[str]) -> list[str]:
    """The process that trains `argv` (train.py's flags): this interpreter, `-m rflr train`."""
    return [sys.executable, "-m", "rflr", "train", *argv]


class JobManager:
    """The server's training jobs; every method is safe to call from any session's thread."""

    def __init__(
        self,
        limits: Callable[[], budget.TrainLimits] = budget.train_limits,
        base: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._limits, self._clock = limits, clock
        self._base = base
        self._lock = threading.RLock()
        self._jobs: dict[int, Job] = {}  # every job not yet forgotten, by id
        self._queue: deque[int] = deque()  # queued job ids, first in first out
        self._sessions: dict[str, Session] = {}
        self._made: set[Path] = set()  # folders this manager made: all it ever deletes
        self._ids = itertools.count(1)
        self._ticker: threading.Thread | None = None

    # --- sessions ----------------------------------------------------------------------------

    def open_session(self, session_id: str) -> Session:
        """The session's registration, with its private folder (made on the first call)."""
        with self._lock:
            s = self._sessions.get(session_id)
            if s is not None and s.folder.is_dir():
                s.seen = self._clock()
                return s
            folder = Path(tempfile.mkdtemp(prefix="session-", dir=self._root()))
            self._made.add(folder)
            s = self._sessions[session_id] = Session(session_id, folder, self._clock())
            return s

    def folder(self, session_id: str) -> Path | None:
        """The session's folder, if it has one (never another session's)."""
        with self._lock:
            s = self._sessions.get(session_id)
            return s.folder if s is not None and s.folder.is_dir() else None

    def end_session(self, session_id: str) -> None:
        """The session ended: cancel its job, delete its folder."""
        with self._lock:
            job = self._job_of(session_id)
            if job is not None and job.state not in ENDED:
                self._stop(job, CANCELLED, "the page was closed")
            s = self._sessions.pop(session_id, None)
            if s is not None:
                self._delete(s.folder)

    def _root(self) -> Path:
        """The manager's own folder (mkdtemp, 0700), made again if it went away."""
        if self._base is None or not self._base.is_dir() or self._base.is_symlink():
            self._base = Path(tempfile.mkdtemp(prefix="rflr-train-"))
            self._made.add(self._base)
        return self._base

    def _delete(self, folder: Path) -> None:
        """Delete a folder this manager made (nothing else; links are never followed)."""
        if folder not in self._made:
            return
        self._made.discard(folder)
        if folder.is_symlink():
            folder.unlink(missing_ok=True)
        else:
            shutil.rmtree(folder, ignore_errors=True)

    # --- jobs ----------------------------------------------------------------------------------

    def submit(
        self,
        session_id: str,
        argvs: Callable[[Path], Sequence[Sequence[str]]],
        totals: Sequence[int],
        work: int,
    ) -> Job:
        """Queue a job of one process per argv, `totals` steps each. `argvs(out)` gives
        train.py's flags for the job's own folder `out` (inside the session's). JobRefused
        (one line) over the work cap, or while the session has a job that has not ended."""
        lim = self._limits()
        cap = lim.work_m * 1_000_000
        if work > cap:
            raise JobRefused(
                f"refused: this job is {work / 1e6:,.0f} M steps × batch × seeds × width² "
                f"(over its models), over this server's cap of {lim.work_m:,} M "
                "(RFLR_TRAIN_WORK_M); fewer steps, seeds or a smaller width"
            )
        with self._lock:
            old = self._job_of(session_id)
            if old is not None and old.state not in ENDED:
                raise JobRefused("refused: this page has a job already; cancel it first")
            s = self.open_session(session_id)
            job_id = next(self._ids)
            out = s.folder / f"job-{job_id}"
            out.mkdir(mode=0o700)
            job = Job(
                id=job_id,
                session=session_id,
                folder=out,
                processes=[Process(list(a), t) for a, t in zip(argvs(out), totals, strict=True)],
                work=work,
                submitted=self._clock(),
            )
            if old is not None:
                self._jobs.pop(old.id, None)
            self._jobs[job.id] = job
            self._queue.append(job.id)
            self._tick()
            self._start_ticker()
            return job

    def poll(self, session_id: str) -> Job | None:
        """The session's newest job (None if none); the session is seen alive now."""
        with self._lock:
            s = self._sessions.get(session_id)
            if s is not None:
                s.seen = self._clock()
            self._tick()
            return self._job_of(session_id)

    def position(self, job: Job) -> int:
        """1 for the next job to start, 2 for the one after it...; 0 if not queued."""
        with self._lock:
            return self._queue.index(job.id) + 1 if job.id in self._queue else 0

    def cancel(self, session_id: str, reason: str = "cancelled") -> None:
        with self._lock:
            job = self._job_of(session_id)
            if job is not None and job.state not in ENDED:
                self._stop(job, CANCELLED, reason)

    def _job_of(self, session_id: str) -> Job | None:
        mine = [j for j in self._jobs.values() if j.session == session_id]
        return max(mine, key=lambda j: j.id) if mine else None

    def tick(self) -> None:
        with self._lock:
            self._tick()

    def _tick(self) -> None:
        """Reap ended processes, enforce the caps, start queued jobs, prune old folders."""
        lim, now = self._limits(), self._clock()
        for job in list(self._jobs.values()):
            if job.state == RUNNING:
                self._reap(job)
            if job.state == RUNNING and now - job.started > lim.wall_s:
                self._stop(job, CANCELLED, f"stopped after the wall-clock cap of {lim.wall_s} s")
            s = self._sessions.get(job.session)
            if job.state not in ENDED and (s is None or now - s.seen > lim.idle_s):
                self._stop(job, CANCELLED, f"the page stopped polling for {lim.idle_s} s")
        shared = slots.folder()
        while self._queue and sum(j.state == RUNNING for j in self._jobs.values()) < lim.slots:
            slot = None
            if shared is not None:  # one server of several processes: its slots are files
                slot = slots.try_take(shared, "train", lim.slots)
                if slot is None:
                    break  # another process runs the server's jobs: wait for a later tick
            job = self._jobs[self._queue.popleft()]
            job.slot = slot
            self._launch(job)
        for s in list(self._sessions.values()):
            busy = any(j.session == s.id and j.state not in ENDED for j in self._jobs.values())
            if not busy and now - s.seen > lim.keep_s:
                self._sessions.pop(s.id)
                self._delete(s.folder)
                for j in [j for j in self._jobs.values() if j.session == s.id]:
                    self._jobs.pop(j.id)

    def _launch(self, job: Job) -> None:
        job.state, job.started = RUNNING, self._clock()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for p in job.processes:
            try:
                p.popen = subprocess.Popen(
                    train_command(p.argv),
                    cwd=PACKAGE_PARENT,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: a kill takes all of it
                )
            except OSError as e:
                self._stop(job, FAILED, f"could not start training: {e}")
                return
            # before it has imported torch, so that its threads inherit the priority
            with contextlib.suppress(OSError, AttributeError):
                os.setpriority(os.PRIO_PROCESS, p.popen.pid, NICE)
            p.reader = threading.Thread(target=_read_output, args=(p,), daemon=True)
            p.reader.start()

    def _reap(self, job: Job) -> None:
        codes = [p.popen.poll() if p.popen else 0 for p in job.processes]
        failed = [p for p, c in zip(job.processes, codes, strict=True) if c not in (None, 0)]
        if failed:
            if failed[0].reader is not None:
                failed[0].reader.join(2.0)  # its last lines, read to the end
            last = next((ln for ln in reversed(failed[0].tail) if ln.strip()), "")
            self._stop(job, FAILED, last.strip()[:300] or "training failed")
        elif all(c == 0 for c in codes):
            for p in job.processes:
                p.step = p.total
            job.state, job.ended = DONE, self._clock()
            _release(job)

    def _stop(self, job: Job, state: str, reason: str) -> None:
        for p in job.processes:
            if p.popen is not None and p.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(p.popen.pid, signal.SIGKILL)
                p.popen.wait()
        if job.id in self._queue:
            self._queue.remove(job.id)
        job.state, job.reason, job.ended = state, reason, self._clock()
        _release(job)

    def _start_ticker(self) -> None:
        if self._ticker is None or not self._ticker.is_alive():
            self._ticker = threading.Thread(target=self._tick_while_busy, daemon=True)
            self._ticker.start()

    def _tick_while_busy(self) -> None:
        while True:
            time.sleep(TICK_S)
            with self._lock:
                self._tick()
                if all(j.state in ENDED for j in self._jobs.values()):
                    self._ticker = None
                    return

    def shutdown(self) -> None:
        """Kill every job and delete every session folder (tests, server exit)."""
        with self._lock:
            for job in self._jobs.values():
                if job.state not in ENDED:
                    self._stop(job, CANCELLED, "the server stopped")
            for s in list(self._sessions):
                self.end_session(s)
            if self._base is not None and self._base in self._made:
                with contextlib.suppress(OSError):  # its own folder, only when empty
                    self._base.rmdir()


def _release(job: Job) -> None:
    """Free the server's slot a job held, if any (its processes have ended)."""
    if job.slot is not None:
        job.slot.release()
        job.slot = None


def _read_output(p: Process) -> None:
    """Follow a process's output: the step its progress bar shows, and its last lines. A bar
    redraws from a carriage return and never ends its line, so the pending text counts too."""
    assert p.popen is not None and p.popen.stdout is not None
    buf = b""
    for chunk in iter(lambda: p.popen.stdout.read1(4096), b""):
        *lines, buf = re.split(rb"[\r\n]", buf + chunk)
        for raw in lines:
            line = raw.decode(errors="replace")
            if not _counted(p, line) and line.strip():
                p.tail.append(line)
        _counted(p, buf.decode(errors="replace"))
    if buf.strip() and not _counted(p, buf.decode(errors="replace")):
        p.tail.append(buf.decode(errors="replace"))


def _counted(p: Process, line: str) -> bool:
    """Whether `line` is a progress bar's redraw of this process (its step is then kept)."""
    m = _COUNTER.search(line)
    if m is None or int(m.group(2)) != p.total:
        return False
    p.step = max(p.step, int(m.group(1)))
    return True


def zip_folder(folder: Path, max_mb: int) -> bytes:
    """The visible files below `folder` as a zip built in memory (links never followed, hidden
    files and folders left out: the trainer's .resume/); JobRefused past `max_mb`."""
    root = folder.resolve()
    files = []
    total = 0
    for here, dirs, names in os.walk(root):  # followlinks=False
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(here) / name
            if name.startswith(".") or path.is_symlink() or not path.is_file():
                continue
            total += path.stat().st_size
            if total > max_mb * 2**20:
                raise JobRefused(f"refused: the runs are over the {max_mb} MB download cap")
            files.append(path)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path in files:
            z.write(path, path.relative_to(root).as_posix())
    return out.getvalue()
