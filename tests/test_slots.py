"""rflr.views.slots: the server's processes count the Train tab's slots and the heavy-work gate
together (flock files in RFLR_SLOTS_DIR); without that variable nothing changes. Another
process is a real one (a subprocess holding the lock), since flock is per open file."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from test_jobs import FAKE, manager, submit, wait_for

from rflr.views import budget, jobs, slots

# holds slot file argv[1] until its stdin closes: another server process
HOLDER = (
    "import fcntl, os, sys\n"
    "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\n"
    "print('held', flush=True)\n"
    "sys.stdin.read()\n"
)


@pytest.fixture
def shared(monkeypatch) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="rflr-slots-test-"))
    monkeypatch.setenv(slots.ENV_VAR, str(folder))
    yield folder
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()


def hold(path: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def release(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(10)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", 1), ("2", 2), ("16", 16), ("0", 1), ("17", 1), ("-2", 1), ("２", 1), ("2x", 1)],
)
def test_processes_is_a_small_whole_number_else_one(monkeypatch, raw, expected):
    monkeypatch.setenv(slots.PROCESSES_VAR, raw)
    assert slots.processes() == expected


def test_a_folder_that_is_not_private_is_ignored(monkeypatch, tmp_path):
    monkeypatch.delenv(slots.ENV_VAR, raising=False)
    assert slots.folder() is None
    open_folder = tmp_path / "open"
    open_folder.mkdir(mode=0o755)
    open_folder.chmod(0o755)
    link = tmp_path / "link"
    private = Path(tempfile.mkdtemp(dir=tmp_path))
    link.symlink_to(private)
    for bad in (open_folder, link, tmp_path / "missing"):
        monkeypatch.setenv(slots.ENV_VAR, str(bad))
        assert slots.folder() is None
    monkeypatch.setenv(slots.ENV_VAR, str(private))
    assert slots.folder() == private


def test_a_slot_held_by_another_process_is_not_free(shared):
    other = hold(shared / "train-0")
    try:
        assert slots.try_take(shared, "train", 1) is None
        second = slots.try_take(shared, "train", 2)  # a second slot is free
        assert second is not None and second.path.name == "train-1"
        second.release()
    finally:
        release(other)
    mine = slots.try_take(shared, "train", 1)  # its exit freed it
    assert mine is not None
    mine.release()


def test_cache_is_divided_among_the_processes(monkeypatch):
    monkeypatch.setenv("RFLR_SERVE", "1")
    monkeypatch.delenv("RFLR_CACHE_MB", raising=False)
    monkeypatch.delenv(slots.PROCESSES_VAR, raising=False)
    assert budget.limits().cache_mb == budget.SERVED.cache_mb
    monkeypatch.setenv(slots.PROCESSES_VAR, "2")
    assert budget.limits().cache_mb == budget.SERVED.cache_mb // 2
    assert budget.limits().eval_mb == budget.SERVED.eval_mb  # what one checkpoint may cost
    monkeypatch.setenv("RFLR_CACHE_MB", "1000")  # the owner's number is the server's
    assert budget.limits().cache_mb == 500


def test_heavy_work_is_one_at_a_time_per_process_unless_the_owner_says(monkeypatch):
    monkeypatch.setenv("RFLR_SERVE", "1")
    monkeypatch.delenv("RFLR_HEAVY_AT_ONCE", raising=False)
    monkeypatch.delenv(slots.PROCESSES_VAR, raising=False)
    assert budget.limits().heavy_at_once == budget.SERVED.heavy_at_once == 1
    monkeypatch.setenv(slots.PROCESSES_VAR, "2")
    assert budget.limits().heavy_at_once == 2  # one in each process: each has a core
    monkeypatch.setenv("RFLR_HEAVY_AT_ONCE", "1")  # the owner's number is the server's
    assert budget.limits().heavy_at_once == 1
    monkeypatch.setenv("RFLR_HEAVY_AT_ONCE", "0")  # ignored: as if unset
    assert budget.limits().heavy_at_once == 2


def test_heavy_work_waits_for_another_process(shared, monkeypatch):
    monkeypatch.setenv("RFLR_HEAVY_AT_ONCE", "1")
    other = hold(shared / "heavy-0")
    entered = threading.Event()

    def work() -> None:
        with budget.heavy():
            entered.set()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        assert not entered.wait(0.5)  # the other process evaluates: this one waits
    finally:
        release(other)
    assert entered.wait(10)
    thread.join(10)
    with budget.heavy(), budget.heavy():  # still re-entrant, and the slot was given back
        assert slots.try_take(shared, "heavy", 1) is None
    free = slots.try_take(shared, "heavy", 1)
    assert free is not None
    free.release()


def test_a_job_starts_only_with_a_server_slot(shared, tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "train_command", lambda argv: [sys.executable, "-c", FAKE, *argv])
    m, _ = manager(tmp_path, slots=1)
    other = hold(shared / "train-0")  # another process runs the server's one job
    try:
        job = submit(m, "s1", "60")
        time.sleep(0.2)
        m.tick()
        assert job.state == jobs.QUEUED and m.position(job) == 1
    finally:
        release(other)
    m.tick()
    assert job.state == jobs.RUNNING
    assert slots.try_take(shared, "train", 1) is None  # now this process holds it
    m.cancel("s1")
    wait_for(lambda: job.state == jobs.CANCELLED)
    free = slots.try_take(shared, "train", 1)  # the cancel gave it back
    assert free is not None
    free.release()
    m.shutdown()


def test_without_the_folder_slots_are_counted_in_the_process(tmp_path, monkeypatch):
    monkeypatch.delenv(slots.ENV_VAR, raising=False)
    monkeypatch.setattr(jobs, "train_command", lambda argv: [sys.executable, "-c", FAKE, *argv])
    m, _ = manager(tmp_path, slots=1)
    first, second = submit(m, "s1", "60"), submit(m, "s2", "60")
    assert (first.state, second.state) == (jobs.RUNNING, jobs.QUEUED)
    assert first.slot is None
    m.shutdown()
