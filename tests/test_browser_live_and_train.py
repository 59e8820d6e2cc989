"""Runs being written, and the Train tab, in headless Chromium: a run train.py starts is named on
the open page, Open follows it as its snapshots land, an idle page does not rerun; served
mode's private runs, its cap and Cancel, and a page that stays fast while a job trains. The
server and browser fixtures are tests/conftest.py's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rflr.core.config import DenseConfig
from tests.conftest import (
    CHART_CANVAS,
    make_folder,
    serve,
    skip_without_chromium,
    write_run,
    written_long_ago,
)

pytestmark = pytest.mark.browser

skip_without_chromium()


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory):
    """An open page on an empty folder that train.py is about to write into."""
    folder = tmp_path_factory.mktemp("browser-live")
    for url in serve(folder, tmp_path_factory):  # the server lives while this fixture does
        yield folder, url


def test_a_run_train_py_starts_is_named_on_the_open_page_within_10_s(empty_server, browser):
    """Issue 23: train.py writes into the folder of an open page; the run's name appears on
    that page, with no reload, within 10 s of its first file."""
    import subprocess
    import sys
    import time

    folder, url = empty_server
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(url, timeout=60_000)
    page.wait_for_selector("text=No readable rflr checkpoints", timeout=60_000)
    argv = [sys.executable, "train.py", "--model", "rflr", "--width", "16", "--rank", "1"]
    argv += ["--depth", "2", "--seeds", "0", "--steps", "100000", "--snapshots", "log"]
    train = subprocess.Popen(
        [*argv, "--out", str(folder), "--no-progress"],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(folder.rglob("step-*.safetensors")) and time.monotonic() < deadline:
            time.sleep(0.2)  # the run's first file (start-up can take a while on a busy CI)
        first = time.monotonic()
        page.wait_for_selector("text=training: rflr-w16-r1-L2-even-s0", timeout=15_000)
        assert time.monotonic() - first <= 10
    finally:
        train.kill()
        train.wait()
        page.close()


# --- live view: Open, extend as snapshots land, quiet when idle (issue 23, item 1) ----------


def _count_runs(page) -> dict[str, int]:
    """Script runs of the page, counted from the server's websocket messages: a new_session
    message starts every run; a full run names no fragment, a fragment run names its own."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    counts = {"full": 0, "fragment": 0}

    def received(payload) -> None:
        if isinstance(payload, str):
            return
        msg = ForwardMsg.FromString(payload)
        if msg.WhichOneof("type") == "new_session":
            counts["fragment" if msg.metadata.run.fragment_ids else "full"] += 1

    page.on("websocket", lambda ws: ws.on("framereceived", received))
    return counts


# A one-snapshot run has no slider: its last index is 0.
_STEP_MAX = (
    "() => Number(document.querySelector("
    "'[data-testid=stMain] [data-testid=stSlider] input[type=range]')?.max ?? 0)"
)
# Whether the step slider is at its last index (a run without a slider is at its one step).
_STEP_AT_END = (
    "() => { const s = document.querySelector("
    "'[data-testid=stMain] [data-testid=stSlider] input[type=range]');"
    " return !s || Number(s.value) === Number(s.max); }"
)


def test_an_idle_page_does_not_rerun(server, browser):
    """Nothing written for 15 s: the live notice polls (fragment runs), the page never reruns."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    counts = _count_runs(page)
    page.goto(server, timeout=60_000)
    page.locator(CHART_CANVAS).nth(1).wait_for(timeout=60_000)
    page.wait_for_timeout(3000)  # the first run and its follow-ups (URL, kept widgets) done
    full, polls = counts["full"], counts["fragment"]
    assert full >= 1
    page.wait_for_timeout(15_000)
    assert counts["full"] == full  # no full-page rerun while idle
    assert counts["fragment"] - polls >= 3  # the poll did run, every 3 s
    page.close()


def _wait_for_a(page, run: str, timeout: int) -> None:
    """Until the sidebar's A box holds `run` (the step slider's label no longer names A)."""
    page.wait_for_function(
        "(run) => [...document.querySelectorAll('[data-testid=stSidebar] input')]"
        ".some((i) => i.value === run)",
        arg=run,
        timeout=timeout,
    )


def test_an_opened_live_run_grows_as_its_snapshots_land(empty_server, browser, artifacts):
    """train.py writes into the open folder; Open in its notice makes it A; the step slider's
    maximum grows with each snapshot, with one page rerun per snapshot and no reload, and the
    slider, left at the newest snapshot, moves on to each new one."""
    import subprocess
    import sys

    folder, url = empty_server
    before = write_run(folder, DenseConfig(width=8, depth=2), seed=9, steps=(0, 100))
    written_long_ago(folder)  # not live
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    counts = _count_runs(page)
    page.goto(f"{url}/?a={before.run_id}/step-00000100.safetensors", timeout=60_000)
    _wait_for_a(page, before.run_id, 60_000)
    snaps = ",".join(str(s) for s in range(0, 400_001, 4000))
    argv = [sys.executable, "train.py", "--model", "rflr", "--width", "16", "--rank", "1"]
    argv += ["--depth", "2", "--seeds", "5", "--steps", "400000", "--snapshots", snaps]
    train = subprocess.Popen(
        [*argv, "--out", str(folder), "--no-progress"],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    run = "rflr-w16-r1-L2-even-s5"
    try:
        row = page.get_by_test_id("stHorizontalBlock").filter(has_text=f"training: {run}")
        row.get_by_role("button", name="Open").click(timeout=60_000)
        box_a = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first
        _wait_for_a(page, run, 30_000)
        assert box_a.locator("input").first.input_value() == run
        page.locator(CHART_CANVAS).first.wait_for(timeout=30_000)
        page.evaluate("() => { window.__same_page = true; }")  # gone if the page reloads
        first = int(page.evaluate(_STEP_MAX))  # the step slider's last index
        full = counts["full"]
        for more in (1, 2):  # two more snapshots land and show, without a reload
            page.wait_for_function(f"() => {_STEP_MAX[6:]} >= {first + more}", timeout=60_000)
            page.wait_for_function(_STEP_AT_END, timeout=10_000)  # it followed (TensorBoard)
        # a run already under way when `full` was read can show both snapshots (one CI run,
        # 2026-12-04, snapshots landing faster than the poll): then wait for the next one
        for _ in range(300):
            if counts["full"] > full:
                break
            page.wait_for_timeout(200)
        grown = int(page.evaluate(_STEP_MAX)) - first
        page.screenshot(path=str(artifacts / "app-live-grown.png"))
        assert 1 <= counts["full"] - full <= grown + 1  # a page rerun per snapshot at most
        assert page.evaluate("() => window.__same_page === true")
    finally:
        train.kill()
        train.wait()


# --- Train tab (issue 23): served mode, private runs, the cap, Cancel ----------------------


@pytest.fixture(scope="module")
def train_server(tmp_path_factory):
    """A served-mode explorer (RFLR_SERVE=1: one job at a time, the work cap of 2,000 M)."""
    yield from _served(tmp_path_factory)


@pytest.fixture(scope="module")
def roomy_train_server(tmp_path_factory):
    """Served mode with a work cap of 20,000 M: room for a job that outlasts a few clicks on
    a quiet machine (the served default job takes ~15 s there)."""
    yield from _served(tmp_path_factory, RFLR_TRAIN_WORK_M="20000")


def _served(tmp_path_factory, **env: str):
    folder = tmp_path_factory.mktemp("browser-train")
    make_folder(folder)
    yield from serve(folder, tmp_path_factory, RFLR_SERVE="1", **env)


def _train_page(browser, url: str, **numbers):
    """A new session (its own browser context) on the Train tab, with some numbers typed."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(f"{url}/?tab=Train", timeout=60_000)
    page.get_by_text("Train a run here").wait_for(timeout=60_000)
    for label, value in numbers.items():
        page.get_by_label(label.replace("_", " ")).fill(str(value))
        page.keyboard.press("Enter")
        page.wait_for_timeout(700)
    return page


def test_served_train_tab_trains_a_run_only_its_session_sees(train_server, browser, artifacts):
    page = _train_page(browser, train_server, Width_N=8, Depth_L=2, Steps=300, Seeds=1)
    page.get_by_role("button", name="Train", exact=True).click()
    # done: the run opens as A (beside its control), from the session's own folder
    try:
        _wait_for_a(page, "job-1/rflr-w8-r1-L2-even-s0", 180_000)
        page.get_by_text("Download run (zip)").wait_for(timeout=60_000)
    except Exception:
        page.screenshot(path=str(artifacts / "train-timeout.png"), full_page=True)
        raise
    body = page.inner_text("body")
    assert "Trained job-1" in body
    assert "· dense: inside" in body  # the strip: B is its dense control
    assert "job-1" not in page.url  # a session's runs are never in a URL
    shot = artifacts / "train-done.png"
    page.screenshot(path=str(shot))
    print(f"screenshot: {shot}")
    # another session: not in its sources, its listings, nor by URL
    other = browser.new_page(viewport={"width": 1440, "height": 1000})
    file = "job-1/rflr-w8-r1-L2-even-s0/step-00000300.safetensors"
    other.goto(f"{train_server}/?tab=Checkpoints&a={file}", timeout=60_000)
    other.get_by_text("not in this folder").first.wait_for(timeout=60_000)
    seen = other.inner_text("body")
    i = seen.find("Trained here")
    assert i < 0, seen[i - 300 : i + 100]
    assert "rflr-w8-r1-L2" not in seen.replace(file, "")  # only the URL's note names it
    other.close()
    page.close()


def test_served_train_tab_refuses_a_job_over_the_cap_in_one_line(train_server, browser):
    page = _train_page(browser, train_server, Width_N=128)
    page.get_by_role("button", name="Train", exact=True).click()
    alert = page.get_by_text("refused: this job is 5,243 M")
    alert.wait_for(timeout=60_000)
    assert "\n" not in alert.inner_text().strip() and "cap of 2,000 M" in alert.inner_text()
    assert "Cancel" not in page.inner_text("body")  # nothing was queued
    page.close()


def test_served_train_tab_cancel_stops_a_job(train_server, browser):
    page = _train_page(browser, train_server, Steps=30000)
    page.get_by_role("button", name="Train", exact=True).click()
    cancel = page.get_by_role("button", name="Cancel", exact=True)
    cancel.wait_for(timeout=60_000)
    page.get_by_text("Train: job-").wait_for(timeout=60_000)
    cancel.click()
    page.get_by_text("The last job was cancelled").wait_for(timeout=60_000)
    assert page.get_by_role("button", name="Cancel", exact=True).count() == 0


def test_a_layer_change_with_a_job_running_stays_within_budget(
    roomy_train_server, browser, artifacts
):
    """Issue 23: training must not starve the page. One session trains RF-LR + dense, width
    128, depth 6, 8 seeds, 30,000 steps of batch 2 (both `rflr train` processes niced on the two cores, a minute
    or more) while another changes layer; click-to-settled-chart is timed as
    benchmarks/browser_latency.py times it, once the job has made its first steps (its
    start, two processes importing torch, is not timed). Budget: other visitors' clicks
    <= 1 s at p95; of six changes, five (the p95 of so few, one outlier allowed) within it."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import browser_latency as bl

    url = roomy_train_server
    page = bl.new_page(browser)
    page.goto(url, timeout=60_000)
    page.locator(CHART_CANVAS).first.wait_for(timeout=60_000)
    bl.settled(page, 0.0)
    layers = bl.options_of(page, "Layer")[:2]
    # the most the form and the cap allow (2 x 30,000 x 2 x 8 x 128^2 = 15,729 M): 30,000
    # steps of the defaults ended within the six clicks on a faster machine (2026-12-04)
    trainer = _train_page(browser, url, Width_N=128, Depth_L=6, Steps=30000, Seeds=8, Batch_size=2)
    try:
        trainer.get_by_role("button", name="Train", exact=True).click()
        trainer.get_by_text("Train: job-").wait_for(timeout=60_000)  # running, not queued
        # training, not starting: the two processes' first seconds import torch, and clicks
        # then can take 1.3-1.7 s (one CI run); what is timed is the page while a job trains
        trainer.get_by_text(re.compile(r"Train: job-\d+, step [1-9]")).wait_for(timeout=60_000)
        times = [bl.timed_choice(page, "Layer", layers[(k + 1) % 2], "layer") for k in range(6)]
        running = "Train: job-" in trainer.inner_text("body")
        page.screenshot(path=str(artifacts / "app-layer-during-train.png"))
    finally:
        cancel = trainer.get_by_role("button", name="Cancel", exact=True)
        if cancel.count():
            cancel.click()
            trainer.get_by_text("The last job was cancelled").wait_for(timeout=60_000)
        page.close()
        trainer.close()
    print(f"layer changes with a job running: {', '.join(f'{t:.0f}' for t in times)} ms")
    assert running, "the job ended before the changes were timed: the test measured nothing"
    assert sorted(times)[-2] <= 1000, times
