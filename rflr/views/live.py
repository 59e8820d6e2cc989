"""Runs being written into a folder right now: which, and how far they have got.

A run counts as live while the trainer keeps writing it: its folder got a snapshot file, or its
block's resume file in `.resume/` was refreshed, in the last LIVE_WINDOW_S. The trainer writes
every file atomically (by rename), so a new file changes its folder's mtime: a poll stats the
folders a listing walked (rflr.views.sources.scan) and their `.resume/`, and reads a header
only from a folder that changed within the window. A finished run (its snapshot at the last
step) is not live: the trainer deletes its resume file then, and nothing more is written.

When the open run (A or B) is live, the page must grow with it: `Watch` is what the page was
drawn with (the checkpoint files in A's and B's folders), and `should_rerun` tells a poll
whether the files there now differ, so that the whole page is drawn again once per new
snapshot and never while nothing changes.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from rflr.core.config import RunConfig
from rflr.files import checkpoint
from rflr.files.checkpoint import RESUME_DIR

LIVE_WINDOW_S = 30.0  # a run whose newest file is older than this is not being written


@dataclass(frozen=True)
class LiveRun:
    """A run being written: its id, the newest step on disk and the step it trains to
    (step None: its folder is made, its first snapshot not yet readable)."""

    run_id: str
    step: int | None
    steps: int | None
    folder: Path | None = field(default=None, compare=False)  # where its snapshots go

    def notice(self) -> str:
        if self.step is None:
            return f"training: {self.run_id}, waiting for the first snapshot"
        return f"training: {self.run_id}, step {self.step:,} of {self.steps:,}"

    def name(self, root: Path) -> str | None:
        """Its name in the explorer's catalog (rflr.views.catalog.run_name): the folder below
        root when it is named after the run, else the folder and the id."""
        if self.folder is None:
            return None
        rel = PurePosixPath(Path(self.folder).relative_to(root).as_posix(), "_")
        parent = rel.parent.as_posix()
        if parent == ".":
            return self.run_id
        return parent if rel.parent.name == self.run_id else f"{parent}/{self.run_id}"


def _mtime(path: Path) -> float | None:
    try:
        return os.stat(path, follow_symlinks=False).st_mtime
    except OSError:
        return None


def _fresh(path: Path, now: float, window_s: float) -> bool:
    t = _mtime(path)
    return t is not None and now - t <= window_s


def _newest(files: Iterable[Path]) -> Path | None:
    """The most recently modified of `files` (None if none can be stat'ed)."""
    timed = [(t, p) for p in files if (t := _mtime(p)) is not None]
    return max(timed)[1] if timed else None


def resume_runs(path: Path) -> list[LiveRun]:
    """The runs of one resume file (a block of seeds): its config, seeds and step, read from
    the safetensors header only. Run ids follow the trainer's rule (one per seed)."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    template = RunConfig.from_json(meta["config"])
    step = int(meta["step"])
    active = json.loads(meta.get("active", meta["seeds"]))
    steps = template.train.steps
    ids = [replace(template, seed=int(s), run_id="").run_id for s in active]
    # its snapshots go in the run's folder beside `.resume/` (checkpoint.snapshot_path)
    return [LiveRun(i, step, steps, path.parent.parent / i) for i in ids]


def snapshot_run(path: Path) -> LiveRun:
    """The run of one snapshot file, from its header."""
    h = checkpoint.read_header(path)
    return LiveRun(h.config.run_id, h.step, h.config.train.steps, Path(path).parent)


def live_runs(
    dirs: Iterable[Path],
    files: Iterable[Path],
    now: float,
    window_s: float = LIVE_WINDOW_S,
    snapshot: Callable[[Path], LiveRun] = snapshot_run,
    resume: Callable[[Path], list[LiveRun]] = resume_runs,
) -> list[LiveRun]:
    """The runs being written below the walked folders `dirs` (with their checkpoint `files`,
    as rflr.views.sources.scan found them), sorted by run id; at `now` (time.time()).

    Only folders modified within `window_s` are looked into; `snapshot` and `resume` read a
    header (pass cached ones: a poll then reads nothing that has not changed). Unreadable files
    (being replaced, damaged) are skipped: the next poll tries again.
    """
    by_dir: dict[Path, list[Path]] = {}
    for f in files:
        by_dir.setdefault(f.parent, []).append(f)
    found: dict[str, LiveRun] = {}
    for d in dirs:
        candidates: list[LiveRun] = []
        fresh = _fresh(d, now, window_s)
        newest = _newest(by_dir.get(d, ())) if fresh else None
        if fresh and d not in by_dir and _first_snapshot_written(d):
            candidates.append(LiveRun(d.name, None, None, d))
        if newest is not None and _fresh(newest, now, window_s):
            # replaced or damaged since the walk: skipped, the next poll tries again
            with contextlib.suppress(Exception):
                candidates.append(snapshot(newest))
        resumes = d / RESUME_DIR  # a refreshed resume file is renamed in: the folder changes
        for p in _resume_files(resumes) if _fresh(resumes, now, window_s) else ():
            if _fresh(p, now, window_s):
                with contextlib.suppress(Exception):
                    candidates.extend(resume(p))
        for run in candidates:
            if run.step is None:
                found.setdefault(run.run_id, run)
                continue
            if run.step >= run.steps:
                continue  # its final snapshot: done, not training
            old = found.get(run.run_id)
            if old is None or old.step is None or run.step > old.step:
                found[run.run_id] = run
    return [found[k] for k in sorted(found)]


def _resume_files(folder: Path) -> list[Path]:
    """The resume files in a `.resume/` folder (none if it is missing or a link)."""
    if folder.is_symlink() or not folder.is_dir():
        return []
    try:
        return sorted(p for p in folder.iterdir() if p.name.endswith(checkpoint.SUFFIX))
    except OSError:
        return []


def _first_snapshot_written(folder: Path) -> bool:
    """A folder holding only the trainer's temp file of a snapshot (checkpoint.atomic_write
    names it .step-XXXXXXXX.safetensors.<random>.tmp): its first snapshot is on its way."""
    try:
        return any(
            n.startswith(".step-") and n.endswith(".tmp") and checkpoint.SUFFIX in n
            for n in os.listdir(folder)
        )
    except OSError:
        return False


# --- the open run growing ------------------------------------------------------------------


@dataclass(frozen=True)
class Watch:
    """What the page was drawn with: the checkpoint files (relative to the root, as in the
    catalog) in the folders of runs A and B, or in the whole root when it showed no run."""

    folders: frozenset[str] | None  # None: every folder (the page has no run to show yet)
    files: frozenset[str]

    def seen(self, files: Iterable[str]) -> frozenset[str]:
        """Of the files a walk found now, those in the watched folders."""
        if self.folders is None:
            return frozenset(files)
        return frozenset(f for f in files if PurePosixPath(f).parent.as_posix() in self.folders)


def watch_of(listed: Iterable[str], open_files: Iterable[str] | None) -> Watch:
    """The Watch of a page drawn from a listing of `listed` files (readable or not) that
    opened `open_files` (A's and B's; None: no run shown)."""
    if open_files is None:
        return Watch(None, frozenset(listed))
    folders = frozenset(PurePosixPath(f).parent.as_posix() for f in open_files)
    watch = Watch(folders, frozenset())
    return Watch(folders, watch.seen(listed))


def should_rerun(watch: Watch | None, files: Iterable[str], asked: frozenset[str] | None) -> bool:
    """Whether a poll that found `files` below the root should draw the page again: the
    watched folders hold other files than the page was drawn with, and no rerun was asked
    for these same files already (`asked`: a file the listing cannot show, damaged or past
    its bounds, must not rerun the page at every poll)."""
    if watch is None:
        return False
    now = watch.seen(files)
    return now != watch.files and now != asked
