"""Runs being written into a folder right now: which, and how far they have got.

A run counts as live while the trainer keeps writing it: its folder got a snapshot file, or its
block's resume file in `.resume/` was refreshed, in the last LIVE_WINDOW_S. The trainer writes
every file atomically (by rename), so a new file changes its folder's mtime: a poll stats the
folders a listing walked (rflr.views.sources.scan) and their `.resume/`, and reads a header
only from a folder that changed within the window. A finished run (its snapshot at the last
step) is not live: the trainer deletes its resume file then, and nothing more is written.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from rflr.core.config import RunConfig
from rflr.files import checkpoint
from rflr.files.checkpoint import RESUME_DIR

LIVE_WINDOW_S = 30.0  # a run whose newest file is older than this is not being written


@dataclass(frozen=True)
class LiveRun:
    """A run being written: its id, the newest step on disk and the step it trains to."""

    run_id: str
    step: int
    steps: int

    def notice(self) -> str:
        return f"training: {self.run_id}, step {self.step:,} of {self.steps:,}"


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
    return [LiveRun(replace(template, seed=int(s), run_id="").run_id, step, steps) for s in active]


def snapshot_run(path: Path) -> LiveRun:
    """The run of one snapshot file, from its header."""
    h = checkpoint.read_header(path)
    return LiveRun(h.config.run_id, h.step, h.config.train.steps)


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
        newest = _newest(by_dir.get(d, ())) if _fresh(d, now, window_s) else None
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
            if run.step >= run.steps:
                continue  # its final snapshot: done, not training
            old = found.get(run.run_id)
            if old is None or run.step > old.step:
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
