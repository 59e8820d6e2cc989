"""The Train tab's job manager (rflr.views.jobs): queue, slots, caps, cancel, session end,
private folders, cleanup, and files bit for bit those of train.py."""

from __future__ import annotations

import io
import json
import stat
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from rflr.cli.train import main as train_main
from rflr.train.trainer import snapshot_steps
from rflr.views import budget, jobs
from rflr.views.train_form import TrainForm

# A stand-in for `rflr train`: prints a progress bar's counter, then sleeps (or fails).
FAKE = (
    "import sys, time\n"
    "total = int(sys.argv[1])\n"
    "sys.stderr.write(f'\\r 50%|#####     | {total // 2}/{total} [00:01<00:01]')\n"
    "sys.stderr.flush()\n"
    "if sys.argv[2] == 'fail':\n"
    "    print('\\ntrain.py: error: the disk is full', file=sys.stderr)\n"
    "    sys.exit(1)\n"
    "time.sleep(float(sys.argv[2]))\n"
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(jobs, "train_command", lambda argv: [sys.executable, "-c", FAKE, *argv])


def manager(tmp_path: Path, **limits) -> tuple[jobs.JobManager, Clock]:
    clock = Clock()
    lim = budget.TrainLimits(**{"slots": 1, "idle_s": 30, "wall_s": 60, **limits})
    m = jobs.JobManager(lambda: lim, base=None, clock=clock)
    return m, clock


def submit(m: jobs.JobManager, session: str, seconds: str = "60", total: int = 10, work=1):
    return m.submit(session, lambda out: [[str(total), seconds]], [total], work)


def wait_for(cond, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_session_folders_are_private_and_separate(tmp_path):
    m, _ = manager(tmp_path)
    try:
        a, b = m.open_session("a"), m.open_session("b")
        assert a.folder != b.folder and a.folder.parent == b.folder.parent
        for f in (a.folder, a.folder.parent):
            assert stat.S_IMODE(f.stat().st_mode) == 0o700
        assert m.folder("a") == a.folder and m.folder("c") is None
        assert m.open_session("a").folder == a.folder  # the same folder on the next call
    finally:
        m.shutdown()


def test_queue_slots_positions_and_cancel(tmp_path, fake):
    m, _ = manager(tmp_path)
    try:
        ja, jb, jc = (submit(m, s) for s in "abc")
        assert (ja.state, jb.state, jc.state) == (jobs.RUNNING, jobs.QUEUED, jobs.QUEUED)
        assert (m.position(ja), m.position(jb), m.position(jc)) == (0, 1, 2)
        wait_for(lambda: ja.processes[0].step == 5)  # the progress bar's counter, parsed
        assert ja.progress == 0.5
        m.cancel("a")
        assert ja.state == jobs.CANCELLED and ja.processes[0].popen.poll() is not None
        m.tick()
        assert jb.state == jobs.RUNNING and m.position(jc) == 1
        m.cancel("c")  # a queued job leaves the queue
        assert jc.state == jobs.CANCELLED and m.position(jc) == 0
    finally:
        m.shutdown()


def test_two_slots_run_two_jobs(tmp_path, fake):
    m, _ = manager(tmp_path, slots=2)
    try:
        states = [submit(m, s).state for s in "abc"]
        assert states == [jobs.RUNNING, jobs.RUNNING, jobs.QUEUED]
    finally:
        m.shutdown()


def test_one_job_per_session(tmp_path, fake):
    m, _ = manager(tmp_path)
    try:
        submit(m, "a")
        with pytest.raises(jobs.JobRefused, match="has a job already"):
            submit(m, "a")
        m.cancel("a")
        assert submit(m, "a").state == jobs.RUNNING  # after its end, a new one
    finally:
        m.shutdown()


def test_work_cap_refused_in_one_line_naming_the_numbers(tmp_path, fake):
    m, _ = manager(tmp_path, work_m=2000)
    try:
        form = TrainForm(width=128)  # 2 models x 20,000 steps x 8 seeds x 128^2
        with pytest.raises(jobs.JobRefused) as e:
            submit(m, "a", work=form.work)
        text = str(e.value)
        assert "\n" not in text and "5,243 M" in text and "2,000 M" in text
        assert "RFLR_TRAIN_WORK_M" in text
        assert m.poll("a") is None  # nothing queued
        # the batch counts: a job's steps are 1,024 times dearer at batch size 1,024 (issue 22's
        # budgets: a visitor's request is bounded before the work)
        small = TrainForm(width=8, depth=2, steps=30000, seeds=8)
        assert submit(m, "b", work=small.work).state == jobs.RUNNING  # 31 M
        m.cancel("b")
        with pytest.raises(jobs.JobRefused, match="31,457 M"):
            submit(m, "c", work=TrainForm(width=8, steps=30000, seeds=8, batch_size=1024).work)
    finally:
        m.shutdown()


def test_wall_clock_cap_kills(tmp_path, fake):
    m, clock = manager(tmp_path, wall_s=60)
    try:
        job = submit(m, "a")
        clock.now += 30
        assert m.poll("a").state == jobs.RUNNING
        clock.now += 31
        assert m.poll("a").state == jobs.CANCELLED and "60 s" in job.reason
        assert job.processes[0].popen.poll() is not None  # killed
    finally:
        m.shutdown()


def test_a_session_that_stops_polling_is_cancelled(tmp_path, fake):
    m, clock = manager(tmp_path, idle_s=30)
    try:
        job = submit(m, "a")
        submit(m, "b")
        clock.now += 20
        m.poll("b")
        clock.now += 20  # a last polled 40 s ago, b 20 s ago
        m.tick()
        assert job.state == jobs.CANCELLED and "polling" in job.reason
        assert m.poll("b").state == jobs.RUNNING  # a's slot went to b
    finally:
        m.shutdown()


def test_session_end_cancels_and_deletes_its_folder(tmp_path, fake):
    m, _ = manager(tmp_path)
    try:
        job = submit(m, "a")
        folder = m.folder("a")
        (folder / "note.txt").write_text("x")
        m.end_session("a")
        assert job.state == jobs.CANCELLED and not folder.exists()
        assert job.processes[0].popen.poll() is not None
    finally:
        m.shutdown()


def test_cleanup_deletes_only_its_own_folders(tmp_path, fake):
    m, clock = manager(tmp_path, keep_s=100)
    try:
        a = m.open_session("a").folder
        root = a.parent
        stranger = root / "not-ours"
        stranger.mkdir()
        outside = tmp_path / "keep-me"
        outside.mkdir()
        (root / "link").symlink_to(outside)
        clock.now += 50
        m.open_session("b")
        clock.now += 60  # a unused for 110 s, b for 60 s
        m.tick()
        assert not a.exists() and m.folder("a") is None and m.folder("b") is not None
        m.shutdown()
        assert stranger.is_dir() and outside.is_dir()  # never made by the manager: kept
    finally:
        m.shutdown()


def test_a_failed_process_gives_its_last_line(tmp_path, fake):
    m, _ = manager(tmp_path)
    try:
        job = submit(m, "a", seconds="fail")
        wait_for(lambda: m.poll("a").state != jobs.RUNNING)
        assert job.state == jobs.FAILED and job.reason == "train.py: error: the disk is full"
    finally:
        m.shutdown()


def test_zip_holds_the_visible_files_and_has_a_cap(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "step-1.safetensors").write_bytes(b"x" * 100)
    (tmp_path / ".resume").mkdir()
    (tmp_path / ".resume" / "state.safetensors").write_bytes(b"y")
    (tmp_path / "link.safetensors").symlink_to(tmp_path / "run" / "step-1.safetensors")
    names = zipfile.ZipFile(io.BytesIO(jobs.zip_folder(tmp_path, 1))).namelist()
    assert names == ["run/step-1.safetensors"]
    (tmp_path / "run" / "big.safetensors").write_bytes(b"z" * (2 << 20))
    with pytest.raises(jobs.JobRefused, match="1 MB download cap"):
        jobs.zip_folder(tmp_path, 1)


def _files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*.safetensors"))}


def test_job_files_equal_train_py_bit_for_bit(tmp_path):
    """The tab's job runner (a real `python -m rflr train` process) against train.py run
    directly with the same flags: the same files, every tensor's raw bytes and every header
    entry equal."""
    form = TrainForm(width=8, rank=1, depth=2, steps=40, seeds=2, cosines="1:1.0,2:0.5")
    form.check()
    m, _ = manager(tmp_path, wall_s=600, idle_s=600)
    try:
        job = m.submit("a", lambda out: [form.argv(k, out) for k in form.kinds], [40, 40], 1)
        wait_for(lambda: m.poll("a").state != jobs.RUNNING, timeout=300)
        assert job.state == jobs.DONE, job.reason
        direct = tmp_path / "direct"
        for kind in form.kinds:
            assert train_main([*form.argv(kind, direct), "--no-progress"]) == 0
        got, want = _files(job.folder), _files(direct)
        assert len(want) == 2 * 2 * len(snapshot_steps(40, "log:20")) and got.keys() == want.keys()
        for name, path in want.items():
            with safe_open(path, "pt") as w, safe_open(got[name], "pt") as g:
                assert g.metadata() == w.metadata(), name
                assert sorted(g.keys()) == sorted(w.keys())
                for key in w.keys():
                    raw = w.get_tensor(key).view(torch.uint8)
                    assert g.get_tensor(key).view(torch.uint8).equal(raw), (name, key)
                json.loads(w.metadata()["rflr.config"])  # a real header
            # (The files' bytes may differ: safetensors writes the metadata keys in a
            # per-process hash order; see tests/test_executors.py.)
    finally:
        m.shutdown()
