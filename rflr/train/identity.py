"""A run's identity is its whole config: refusing to mix two runs in one folder.

The run id (`rflr-w128-r1-L4-even-s0`) names a folder but does not say everything: two runs
with another lr or number of steps share it. Before the trainer writes into `OUT/<run_id>/`
it reads the headers already there; a file of a *different* config is a conflict (the
caller may pass `overwrite` to replace that run). `--resume` likewise continues only the
exact run it is given; with other flags it lists what differs.

The check and the writes after it are one step for other processes: the trainer holds the
run folder's lock (`hold_runs`) from the check to its last file, so two commands started
at once cannot both pass the check and then mix their files.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from rflr.core.config import RunConfig
from rflr.files.checkpoint import CheckpointError, read_header

_SHOWN = 6  # differences listed in one message
LOCK_NAME = ".lock"  # in a run's folder while a process checks and writes that run
_LOCK_TRIES = 8  # a lock file removed under us by its last holder: open the new one


class RunConflict(Exception):
    """The output folder holds another run, or nothing to resume: a one-line reason."""


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: d}


def differences(saved: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """`key: saved -> given` for every config value that differs (RunConfig.to_dict form)."""
    a, b = _flat(saved), _flat(given)
    return [
        f"{k}: {json.dumps(a.get(k))[:40]} -> {json.dumps(b.get(k))[:40]}"
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k)
    ]


def _summary(diffs: list[str]) -> str:
    more = f" (and {len(diffs) - _SHOWN} more)" if len(diffs) > _SHOWN else ""
    return "; ".join(diffs[:_SHOWN]) + more


def run_files(out: Path, run_id: str) -> list[Path]:
    """The snapshot files a run of this id has in `out` (the names the trainer writes)."""
    folder = out / run_id
    try:
        return sorted(p for p in folder.glob("step-*.safetensors") if p.is_file())
    except OSError:
        return []


def check_out_folder(
    cfgs: Iterable[RunConfig], out: Path, overwrite: bool, replace_damaged: bool = False
) -> list[Path]:
    """Refuse when `out` holds another run under one of these ids; with `overwrite`, return
    that run's files, for the caller to remove before it writes. An unreadable file is
    another run too, unless `replace_damaged` (a sweep, which retrains damaged runs)."""
    doomed: list[Path] = []
    for cfg in cfgs:
        given = cfg.to_dict()
        for path in run_files(out, cfg.run_id):
            try:
                saved = read_header(path).config.to_dict()
                diffs = differences(saved, given)
            except CheckpointError as e:
                if replace_damaged:
                    doomed.append(path)
                    continue
                diffs = [f"an unreadable file ({e.reason[:80]})"]
            if not diffs:
                continue
            if not overwrite:
                raise RunConflict(
                    f"{path.parent} holds a different run with the same id "
                    f"({_summary(diffs)}); use another --out, or --overwrite to replace it"
                )
            doomed.append(path)
    return doomed


@contextmanager
def hold_runs(cfgs: Iterable[RunConfig], out: Path) -> Iterator[None]:
    """Hold the lock of every run folder of `cfgs` in `out` (made if absent) for the body; a
    RunConflict at once if another process holds one of them."""
    with ExitStack() as held:
        for run_id in sorted({cfg.run_id for cfg in cfgs}):
            held.enter_context(_run_lock(out / run_id))
        yield


@contextmanager
def _run_lock(folder: Path) -> Iterator[None]:
    """An exclusive flock on `folder/.lock`, a file made here (never through a link) and
    removed by whoever holds it last, so that no lock file outlives its run."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    for _ in range(_LOCK_TRIES):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunConflict(
                f"{folder} is being written by another process (it holds {LOCK_NAME} there); "
                "wait for that run to end, or use another --out"
            ) from None
        # Its last holder may have removed the file between our open and our lock: then
        # the lock is on a file nobody else sees, and the path's current file is the lock.
        if _same_file(fd, path):
            break
        os.close(fd)
    else:
        raise RunConflict(f"{folder}: its {LOCK_NAME} keeps changing; another process writes it")
    try:
        yield
    finally:
        try:
            path.unlink(missing_ok=True)  # still held: the next process makes a new file
        finally:
            os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def check_resume(template: RunConfig, seeds: list[int], state: Path, resume_dir: Path) -> None:
    """`--resume` of (template, seeds) whose resume file would be `state`: refuse, naming
    the differences from the resume state that is there, or saying there is none."""
    if state.is_file():
        return
    given = _resume_key(template.to_dict(), seeds)
    best: list[str] | None = None
    try:
        others = sorted(resume_dir.glob("*.safetensors"))
    except OSError:
        others = []
    for path in others:
        try:
            from safetensors import safe_open

            with safe_open(str(path), "pt") as f:
                meta = f.metadata() or {}
            saved = _resume_key(json.loads(meta["config"]), json.loads(meta.get("seeds", "null")))
        except Exception:  # a resume file we cannot read tells nothing about this run
            continue
        diffs = differences(saved, given)
        if best is None or len(diffs) < len(best):
            best = diffs
    if best:
        raise RunConflict(
            f"--resume: the run saved in {resume_dir.parent} has other settings "
            f"({_summary(best)}); give the same flags to resume it, or drop --resume"
        )
    raise RunConflict(
        f"--resume: nothing to resume in {resume_dir.parent} (no resume state for this run: "
        "it finished or never started); drop --resume to train from the start"
    )


def _resume_key(config: dict[str, Any], seeds: Any) -> dict[str, Any]:
    """What identifies a resumable group: the config without seed and id, and the seeds."""
    d = {k: v for k, v in config.items() if k not in ("seed", "run_id")}
    d["seeds"] = seeds
    return d
