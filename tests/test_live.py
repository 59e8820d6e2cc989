"""rflr.views.live (which runs are being written, from file mtimes and headers) and the
explorer's notice of them (rflr.explorer.live), on tmp folders aged with os.utime."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from pathlib import Path

import torch
from streamlit.testing.v1 import AppTest

from rflr.core.config import RFLRConfig, RunConfig, TrainConfig
from rflr.core.model import init_params
from rflr.files import checkpoint
from rflr.train import trainer
from rflr.train.stack import SeedStack
from rflr.views import live, sources
from tests.conftest import APP, write_checkpoint

logging.getLogger("streamlit").setLevel(logging.ERROR)

CFG = RunConfig(model=RFLRConfig(width=8, depth=2, rank=1), train=TrainConfig(steps=20_000))


def age(path: Path, seconds: float) -> None:
    """Make path (and the folder holding it) look last written `seconds` ago."""
    t = time.time() - seconds
    for p in (path, path.parent):
        os.utime(p, (t, t))


def snapshot(root: Path, step: int, cfg: RunConfig = CFG) -> Path:
    path = checkpoint.snapshot_path(root, cfg, step)
    return write_checkpoint(path, cfg, step=step)


def notices(at: AppTest) -> list[str]:
    """The live notices on the page, their markdown escapes (rflr.explorer.escape) undone."""
    shown = [i.value.replace("\\", "") for i in at.info]
    return [t for t in shown if t.startswith("training")]


def runs(root: Path, now: float | None = None) -> list[live.LiveRun]:
    found = sources.scan(root)
    return live.live_runs(found.dirs, found.files, time.time() if now is None else now)


def test_resume_dir_is_the_trainers():
    assert live.RESUME_DIR == trainer.RESUME_DIR


def test_a_fresh_snapshot_is_live_with_its_newest_step(tmp_path):
    snapshot(tmp_path, 0)
    snapshot(tmp_path, 3000)
    (got,) = runs(tmp_path)
    assert got == live.LiveRun(CFG.run_id, 3000, 20_000)
    assert got.notice() == f"training: {CFG.run_id}, step 3,000 of 20,000"


def test_old_and_finished_runs_are_quiet(tmp_path):
    age(snapshot(tmp_path, 3000), 120)  # last written two minutes ago
    done = replace(CFG, seed=1, run_id="")
    snapshot(tmp_path, 20_000, done)  # its final snapshot: done
    assert runs(tmp_path) == []
    assert runs(tmp_path / "none") == []  # a missing folder


def test_the_window_ends(tmp_path):
    snapshot(tmp_path, 10)
    assert runs(tmp_path)
    assert runs(tmp_path, now=time.time() + live.LIVE_WINDOW_S + 5) == []


def test_headers_are_read_only_from_fresh_folders(tmp_path):
    age(snapshot(tmp_path, 3000), 120)
    read = []
    found = sources.scan(tmp_path)
    live.live_runs(found.dirs, found.files, time.time(), snapshot=read.append, resume=read.append)
    assert read == []


def test_a_fresh_resume_file_names_every_active_seed(tmp_path):
    age(snapshot(tmp_path, 1000), 120)  # a killed run, resumed: its snapshots are old
    seeds = [0, 1]
    cfg = replace(CFG, model=RFLRConfig(width=4, depth=2, rank=1))
    inits = [init_params(cfg.model, torch.Generator().manual_seed(s)) for s in seeds]
    stack = SeedStack(cfg, inits, torch.float32, torch.device("cpu"))
    path = trainer.resume_states(cfg, seeds, trainer.TrainOptions(out=tmp_path))[0]
    path.parent.mkdir()
    trainer._save_resume(path, seeds, cfg, stack, 1500, seeds, {}, {})
    got = runs(tmp_path)
    ids = [replace(cfg, seed=s, run_id="").run_id for s in seeds]
    assert [(r.run_id, r.step, r.steps) for r in got] == [(i, 1500, 20_000) for i in ids]
    age(path, 120)
    assert runs(tmp_path) == []


def test_the_page_names_a_run_being_written_and_not_an_old_one(tmp_path, monkeypatch):
    monkeypatch.setenv(sources.ENV_VAR, str(tmp_path))
    old = replace(CFG, seed=1, run_id="")
    age(snapshot(tmp_path, 0, old), 120)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert notices(at) == []

    snapshot(tmp_path, 3000)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert notices(at) == [f"training: {CFG.run_id}, step 3,000 of 20,000"]


# --- the open run growing (issue 23: extend as snapshots land, quiet when idle) --------------


def rel_files(root: Path) -> list[str]:
    return [sources.relative(root, f) for f in sources.scan(root).files]


def test_a_page_reruns_only_when_its_open_runs_get_a_file(tmp_path):
    snapshot(tmp_path, 0)
    other = replace(CFG, seed=1, run_id="")
    snapshot(tmp_path, 0, other)
    shown = [sources.relative(tmp_path, checkpoint.snapshot_path(tmp_path, CFG, 0))]
    watch = live.watch_of(rel_files(tmp_path), shown)
    assert not live.should_rerun(watch, rel_files(tmp_path), None)  # idle: nothing new
    snapshot(tmp_path, 10, other)  # another run's snapshot: not the page's business
    assert not live.should_rerun(watch, rel_files(tmp_path), None)
    snapshot(tmp_path, 10)  # A's: draw the page again, once
    now = rel_files(tmp_path)
    assert live.should_rerun(watch, now, None)
    assert not live.should_rerun(watch, now, watch.seen(now))  # asked for these already
    assert not live.should_rerun(live.watch_of(now, shown), now, None)  # drawn with it
    assert not live.should_rerun(None, now, None)  # no page drawn yet


def test_a_page_without_runs_reruns_when_the_first_file_lands(tmp_path):
    watch = live.watch_of([], None)
    assert not live.should_rerun(watch, rel_files(tmp_path), None)
    snapshot(tmp_path, 0)
    assert live.should_rerun(watch, rel_files(tmp_path), None)


def test_a_live_run_is_named_as_the_catalog_names_it(tmp_path):
    snapshot(tmp_path / "sweep", 3000)
    (run,) = runs(tmp_path)
    assert run.name(tmp_path) == f"sweep/{CFG.run_id}"
    seeds = [0]
    cfg = replace(CFG, model=RFLRConfig(width=4, depth=2, rank=1), run_id="")
    stack = SeedStack(cfg, [init_params(cfg.model, torch.Generator())], torch.float32, "cpu")
    path = trainer.resume_states(cfg, seeds, trainer.TrainOptions(out=tmp_path))[0]
    path.parent.mkdir()
    trainer._save_resume(path, seeds, cfg, stack, 1500, seeds, {}, {})
    got = {r.run_id: r.name(tmp_path) for r in runs(tmp_path)}
    assert got[cfg.run_id] == cfg.run_id  # its snapshots go to ROOT/<run_id>/


def test_a_first_snapshot_on_its_way_is_waited_for(tmp_path):
    folder = tmp_path / CFG.run_id
    folder.mkdir()
    (folder / ".step-00000000.safetensors.x1y2.tmp").write_bytes(b"")
    (run,) = runs(tmp_path)
    assert run.notice() == f"training: {CFG.run_id}, waiting for the first snapshot"
    assert run.name(tmp_path) == CFG.run_id


def test_a_page_with_a_live_a_grows_and_opens_a_live_run(tmp_path, monkeypatch):
    monkeypatch.setenv(sources.ENV_VAR, str(tmp_path))
    age(snapshot(tmp_path, 0), 120)  # the default A: the first run by name, not live
    new = replace(CFG, seed=1, run_id="")
    snapshot(tmp_path, 0, new)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and at.session_state["w_run_a"] == CFG.run_id
    at.button(key=f"live_open:{new.run_id}").click().run()  # open the live run
    assert not at.exception
    assert at.selectbox(key="w_run_a").value == new.run_id
    # one snapshot: no slider, its step said in words (rflr.explorer.play)
    assert "one snapshot: step 0" in [m.value for m in at.markdown]
    snapshot(tmp_path, 3000, new)  # lands: the next full run shows it, nothing else asked
    at.run()
    assert at.select_slider(key="w_step").options == ["0", "3000"]
    assert "live_asked" not in at.session_state  # the polls asked for no rerun


def test_the_step_follows_a_new_snapshot_only_from_the_newest(tmp_path, monkeypatch):
    """TensorBoard's rule: at A's newest snapshot when another lands, the step moves to it (and
    the URL with it); moved back to an earlier step, it stays there."""
    monkeypatch.setenv(sources.ENV_VAR, str(tmp_path))
    snapshot(tmp_path, 0)
    snapshot(tmp_path, 10)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert at.select_slider(key="w_step").value == 10  # A opens at its newest
    snapshot(tmp_path, 20)
    at.run()  # the full run the poll asks for when A's folder changed
    assert not at.exception
    assert at.select_slider(key="w_step").options == ["0", "10", "20"]
    assert at.select_slider(key="w_step").value == 20  # followed
    assert at.query_params["a"] == f"{CFG.run_id}/step-00000020.safetensors"
    at.select_slider(key="w_step").set_value(10).run()  # the user goes back
    snapshot(tmp_path, 30)
    at.run()
    assert at.select_slider(key="w_step").options == ["0", "10", "20", "30"]
    assert at.select_slider(key="w_step").value == 10  # kept
    at.select_slider(key="w_step").set_value(30).run()  # at the newest again: follows again
    snapshot(tmp_path, 40)
    at.run()
    assert at.select_slider(key="w_step").value == 40


def test_a_new_snapshot_costs_the_listing_one_header(tmp_path, monkeypatch):
    from rflr.explorer import cache

    snapshot(tmp_path, 0)
    snapshot(tmp_path, 10)
    read = []
    list_one = checkpoint.list_one
    monkeypatch.setattr(checkpoint, "list_one", lambda p, top: read.append(p) or list_one(p, top))
    assert cache.listing(tmp_path).steps[CFG.run_id] == [0, 10]
    assert len(read) == 2
    new = snapshot(tmp_path, 3000)
    assert cache.listing(tmp_path).steps[CFG.run_id] == [0, 10, 3000]  # seen: no time-out
    assert read[2:] == [new]  # the unchanged files' headers are not read again


def test_a_page_waiting_for_a_first_snapshot_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv(sources.ENV_VAR, str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert any("No readable rflr checkpoints" in i.value for i in at.info)
    folder = tmp_path / CFG.run_id
    folder.mkdir()
    (folder / ".step-00000000.safetensors.x1y2.tmp").write_bytes(b"")  # being written
    at.run()
    assert not at.exception
    assert "training: waiting for the first snapshot" in notices(at)
    assert not any("No readable rflr checkpoints" in i.value for i in at.info)
