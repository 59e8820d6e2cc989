"""Slots shared by the server's processes: how many of a thing may run at once across every
`streamlit run` process of one server (rflr.explorer.serve starts several behind a proxy).

Each limit that promises "N at once per server" (RFLR_TRAIN_SLOTS, RFLR_HEAVY_AT_ONCE) counts
threads in one process. When the launcher runs N processes it makes a private folder
(tempfile.mkdtemp, mode 0700) and names it in RFLR_SLOTS_DIR; a slot is then an exclusive
`fcntl.flock` on one of the files `<kind>-0 .. <kind>-(size-1)` in it. The kernel releases a
lock when its holder closes the file or dies, so a crashed process never keeps a slot.

How many processes there are is RFLR_PROCESSES (`processes`): the Space's one-line switch,
which the launcher also hands to each process so that the byte caches are divided among them.

Without RFLR_SLOTS_DIR (one process: `streamlit run`, AppTest, the notebook) `folder()` is
None and the callers behave exactly as before: their per-process counts are the server's.
Pure standard library, no Streamlit.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import stat
import time
from pathlib import Path

ENV_VAR = "RFLR_SLOTS_DIR"
PROCESSES_VAR = "RFLR_PROCESSES"  # server processes: the Space's switch, set by the launcher
PROCESSES_MAX = 16
WAIT_S = 0.01  # between tries while every slot is taken
_LOG = logging.getLogger(__name__)
_warned: set[str] = set()


def processes() -> int:
    """How many `streamlit run` processes make up this server: RFLR_PROCESSES, a whole number
    1 .. PROCESSES_MAX (anything else is 1, with a warning). The Space's entry point reads it
    to start the launcher; the launcher sets it in each process's environment, where
    rflr.views.budget divides the byte caches by it."""
    raw = os.environ.get(PROCESSES_VAR, "").strip()
    if not raw:
        return 1
    if raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= PROCESSES_MAX:
        return int(raw)
    if raw not in _warned:
        _warned.add(raw)
        _LOG.warning("ignored %s=%r: not 1 .. %d", PROCESSES_VAR, raw[:40], PROCESSES_MAX)
    return 1


def folder() -> Path | None:
    """The server's slot folder, or None when this process is the whole server. A folder that
    is not a private directory of this user (a link, another owner, readable by others) is
    ignored with a warning: slots there could be held by someone else."""
    raw = os.environ.get(ENV_VAR, "")
    if not raw:
        return None
    try:
        st = os.lstat(raw)
        private = stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077
    except OSError:
        private = False
    if not private:
        if raw not in _warned:
            _warned.add(raw)
            _LOG.warning("ignored %s=%r: not a private folder of this user", ENV_VAR, raw[:80])
        return None
    return Path(raw)


class Slot:
    """One held slot: an open file with its exclusive lock. `release` (or garbage collection
    of the file) frees it."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd, self.path = fd, path

    def release(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)  # closing the file drops its flock
            self.fd = -1


def try_take(where: Path, kind: str, size: int) -> Slot | None:
    """A free slot of `kind` among `size` of them, taken now, or None if all are held."""
    for i in range(size):
        path = where / f"{kind}-{i}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        except BaseException:
            os.close(fd)
            raise
        return Slot(fd, path)
    return None


def take(where: Path, kind: str, size: int) -> Slot:
    """A slot of `kind`, waiting until one of the `size` is free (polled every WAIT_S: the
    work it guards lasts tenths of a second, and a poll is a few system calls)."""
    while True:
        slot = try_take(where, kind, size)
        if slot is not None:
            return slot
        time.sleep(WAIT_S)
