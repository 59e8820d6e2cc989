"""End to end in a real browser: `streamlit run streamlit_app.py` on a fixture folder, opened
in headless Chromium (Playwright, the system's /usr/bin/chromium; no browser is downloaded).

Screenshots go to $RFLR_TEST_ARTIFACTS if set, else to pytest's temporary folder; the path
is printed (pytest -s shows it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rflr.core.config import DenseConfig, RFLRConfig, RunConfig
from tests.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    make_folder,
    start_app,
    stop,
    wait_healthy,
    write_checkpoint,
    write_run,
)
from tests.hostile import MARKDOWN_RUN_ID

pytestmark = pytest.mark.browser

CHART_CANVAS = '[data-testid="stVegaLiteChart"] canvas'

if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM}: the browser test needs it", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


EVIL_ID = MARKDOWN_RUN_ID  # an image, a link, an HTML tag with a handler, bold


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser-ckpts")
    make_folder(folder)
    yield from _serve(folder, tmp_path_factory)


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    """A folder whose only RF-LR run has a run id made of markdown and HTML."""
    folder = tmp_path_factory.mktemp("browser-hostile")
    write_run(folder, DenseConfig(width=8, depth=2), steps=(10,))
    cfg = RunConfig(model=RFLRConfig(width=8, depth=2, rank=2), run_id=EVIL_ID)
    write_checkpoint(folder / "evil" / "step-00000010.safetensors", cfg, step=10, grid_points=257)
    yield from _serve(folder, tmp_path_factory)


def _serve(folder: Path, tmp_path_factory):
    port = free_port()
    log = open(tmp_path_factory.mktemp("log") / "streamlit.log", "w+")  # noqa: SIM115
    proc = start_app(port, log, folder)
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_healthy(url, proc):
            log.seek(0)
            pytest.fail(f"streamlit did not start:\n{log.read()}")
        yield url
    finally:
        stop(proc)
        log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def artifacts(tmp_path) -> Path:
    folder = Path(os.environ.get("RFLR_TEST_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_default_view_in_chromium(server, browser, artifacts):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.goto(server)
    # rendered: the layer view's panels, drawn by Vega on a canvas
    page.locator(CHART_CANVAS).nth(1).wait_for(timeout=60_000)
    page.wait_for_timeout(1000)  # let the second chart and the fonts settle
    shot = artifacts / "app-default.png"
    page.screenshot(path=str(shot))
    print(f"screenshot: {shot}")
    body = page.inner_text("body")
    assert "rflr explorer" in body
    assert "rflr-w16-r2-L3-even-s0" in body and "dense-w16-L3-even-s0" in body
    assert "bottleneck.2.z" in body and "hidden.2.u" in body
    assert "Traceback" not in body and "Error" not in body
    assert page.locator(CHART_CANVAS).count() == 2  # one faceted chart in each column
    assert "a=rflr-w16-r2-L3-even-s0" in page.url  # the view is in the URL, to share
    # export: the PNG is rendered by the server only now, on click
    page.get_by_role("button", name="Export").first.click()
    with page.expect_download(timeout=60_000) as download:
        page.get_by_test_id("stDownloadButton").get_by_role(
            "button", name="PNG", exact=True
        ).first.click()
    png = artifacts / "export.png"
    download.value.save_as(png)
    assert png.read_bytes().startswith(b"\x89PNG")
    assert download.value.suggested_filename.endswith("bottleneck.2.z.png")
    page.close()


def test_shared_url_and_refused_path_in_chromium(server, browser, artifacts):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/?layer=1&part=h&b=../../etc/passwd")
    page.get_by_text("bottleneck.1.h").first.wait_for(timeout=60_000)
    page.locator(CHART_CANVAS).first.wait_for(timeout=60_000)
    page.screenshot(path=str(artifacts / "app-url.png"))
    body = page.inner_text("body")
    assert "points outside the checkpoint folder" in body
    assert "hidden.1.h" in body  # B fell back to A's dense control
    page.close()


def test_markdown_in_a_run_id_is_plain_text_and_fetches_nothing(hostile_server, browser, artifacts):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(hostile_server)
    page.locator(CHART_CANVAS).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts / "app-hostile-run-id.png"))
    body = page.inner_text("body").replace("\u2060", "")  # rflr.explorer.escape.md's word joiner
    assert EVIL_ID in body  # shown literally, as typed in the header
    assert page.locator("a[href*='phish']").count() == 0  # no link was made of it
    assert page.locator("img[src*='track'], img[src='x']").count() == 0
    for tab in ("Checkpoints", "Inspector", "Training", "Weights"):
        page.get_by_role("tab", name=tab, exact=True).click()
        page.wait_for_timeout(2500)
        assert page.locator("a[href*='phish']").count() == 0, tab
        assert page.locator("img[src*='track'], img[src='x']").count() == 0, tab
    assert not [u for u in requests if "track.png" in u or "phish" in u], requests
    page.close()


def test_selecting_a_checkpoint_row_opens_it_in_the_layer_view(server, browser, artifacts):
    """Linked views in the browser: a row of the Checkpoints table (its selection box, drawn
    on the grid's canvas) opens that checkpoint as A, on the Layer view tab."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/?tab=Checkpoints")
    grid = page.get_by_test_id("stDataFrame").first
    grid.wait_for(timeout=60_000)
    grid.scroll_into_view_if_needed()  # the verdict strip above can push it below the fold
    page.wait_for_timeout(1500)
    box = grid.bounding_box()
    # the first row below the header; the table is sorted by run then step, so the first row
    # is the dense run's step 0; the selection column is the leftmost
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
    page.wait_for_url("**a=dense-w16-L3-even-s0%2Fstep-00000000.safetensors**", timeout=60_000)
    page.get_by_text("hidden.2.u").first.wait_for(timeout=60_000)
    page.screenshot(path=str(artifacts / "app-row-click.png"))
    assert "tab=" not in page.url  # the Layer view: the default tab
    assert page.get_by_role("tab", name="Layer view").get_attribute("aria-selected") == "true"
    page.close()


def test_play_steps_through_the_snapshots_in_chromium(server, browser, artifacts):
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(server)
    page.locator(CHART_CANVAS).nth(1).wait_for(timeout=60_000)
    header = page.get_by_text("rflr-w16-r2-L3-even-s0 · step", exact=False).first
    assert header.inner_text().endswith("step 100")  # the final snapshot
    seen = [header.inner_text()]
    page.get_by_role("button", name="▶ Play", exact=True).click()
    for _ in range(400):  # at most ~40 s: from the end, play restarts at 0, then 10, 100
        text = header.inner_text()
        if seen[-1] != text:
            seen.append(text)
        if len(seen) > 1 and text.endswith("step 100"):
            break
        page.wait_for_timeout(100)
    steps = [int(t.rsplit(" ", 1)[1]) for t in seen]
    assert steps == [100, 0, 10, 100], seen
    page.get_by_role("button", name="▶ Play", exact=True).wait_for(timeout=30_000)  # stopped
    page.screenshot(path=str(artifacts / "app-played.png"))
    page.close()


LAYOUT = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].map(e => {
  const column = e.closest('[data-testid="stColumn"]') || e.parentElement;
  return [e.getAttribute('aria-label') || '', e.getBoundingClientRect().width,
          column.getBoundingClientRect().width];
})"""


def layout(page, want: str | None = None) -> list:
    """(alt text "N panels, K per row, R rows", chart width, column width) of each layer
    chart; with `want`, waits (up to 15 s) until B's alt text contains it."""
    for _ in range(150):
        charts = page.evaluate(LAYOUT)
        if want is None or (len(charts) > 1 and want in charts[1][0]):
            break
        page.wait_for_timeout(100)
    return charts


def test_layer_panels_fill_the_column_and_reflow_with_the_window(server, browser, artifacts):
    """Defect 5: panels at a fixed size, two per row, ~45% of the column empty. The page
    measures its width (rflr.explorer.viewport) and lays the panels out to fill each column:
    3 to a row beside B and 4 alone at 1440 px, 4 at 1920, 2 at 1100, again when the
    window is resized, never wider than the column."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(server)
    page.locator(CHART_CANVAS).nth(1).wait_for(timeout=60_000)
    for width, per_row in ((1440, 3), (1920, 4), (1100, 2), (1440, 3)):
        page.set_viewport_size({"width": width, "height": 1000})
        charts = layout(page, f"{per_row} per row")
        label, chart, column = charts[1]
        assert label.startswith("8 panels, ") and f"{per_row} per row" in label, (width, label)
        assert 0.85 * column < chart <= column + 1, (width, chart, column)  # fills, fits
    page.screenshot(path=str(artifacts / "app-panels-1440.png"))
    page.goto(f"{server}/?a=dense-w16-L3-even-s0/step-00000100.safetensors&b=none")
    page.locator(CHART_CANVAS).first.wait_for(timeout=60_000)
    for _ in range(150):
        (label, chart, column), *_ = page.evaluate(LAYOUT)
        if "4 per row" in label:
            break
        page.wait_for_timeout(100)
    assert "4 per row" in label and 0.85 * column < chart <= column + 1, (label, chart, column)
    page.screenshot(path=str(artifacts / "app-panels-alone.png"))
    page.close()


@pytest.fixture(scope="module")
def sweep_server(tiny_sweep, tmp_path_factory):
    """The tiny sweep's folder: summary.csv beside the runs' checkpoints."""
    folder, _, _ = tiny_sweep
    yield from _serve(folder, tmp_path_factory)


def test_clicking_a_sweep_point_opens_its_run_in_the_layer_view(
    sweep_server, tiny_sweep, browser, artifacts
):
    """Linked views in the browser: a point of the Sweep tab's scatter (an SVG symbol that
    Vega picks on click) opens that run's checkpoint as A, on the Layer view tab, with the
    sidebar following (the click lands in the page's fragment, which asks for a full rerun)."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(f"{sweep_server}/?tab=Sweep")
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    charts.first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    runs = set(tiny_sweep[1]["run_id"])
    points = {}  # run id -> centre of its point in the scatter (test MSE vs headline defect)
    for i in range(charts.count()):
        symbols = charts.nth(i).locator("g.mark-symbol path")
        for j in range(symbols.count()):
            label = symbols.nth(j).get_attribute("aria-label") or ""
            if "headline defect:" in label and "test MSE:" in label:
                run = label.split("run: ", 1)[1].split(";", 1)[0]  # the tooltip's "run" field
                points[run] = symbols.nth(j)
    assert set(points) == runs, "the scatter has one point per run"
    boxes = {}
    for run, el in points.items():
        el.scroll_into_view_if_needed()
        box = el.bounding_box()
        boxes[run] = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    def isolation(run: str) -> float:
        x, y = boxes[run]
        return min(((x - u) ** 2 + (y - v) ** 2) ** 0.5 for r, (u, v) in boxes.items() if r != run)

    clicked = max(runs, key=isolation)  # the point no other one overlaps
    points[clicked].click(force=True)
    page.wait_for_url("**a=**", timeout=60_000)
    page.get_by_role("tab", name="Layer view").wait_for(timeout=60_000)
    page.locator(CHART_CANVAS).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts / "app-sweep-click.png"))
    page.wait_for_url(f"**a={clicked}%2F**", timeout=60_000)
    run = clicked
    assert page.get_by_role("tab", name="Layer view").get_attribute("aria-selected") == "true"
    # checkpoint A in the sidebar and the first column's header are the clicked run
    box_a = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first
    assert box_a.locator("input").first.input_value() == run
    page.get_by_test_id("stMain").get_by_text(run, exact=True).first.wait_for(timeout=30_000)
    page.close()


def test_back_and_forward_restore_the_layer_and_step(server, browser, artifacts):
    """Browser history: each change of the view is one entry; Back returns to the view
    before it (layer and step), Forward to the one after."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(server)
    page.locator(CHART_CANVAS).nth(1).wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    header = page.get_by_text("rflr-w16-r2-L3-even-s0 · step", exact=False).first
    assert header.inner_text().endswith("step 100") and "layer=2" in page.url
    layer = page.get_by_test_id("stSelectbox").filter(
        has=page.get_by_test_id("stWidgetLabel").get_by_text("Layer", exact=True)
    )
    layer.first.click()
    page.get_by_role("option").first.click()  # the atoms, layer 0
    page.wait_for_url("**layer=0**", timeout=60_000)
    page.get_by_text("atoms.h").first.wait_for(timeout=60_000)
    thumb = page.get_by_test_id("stSlider").get_by_role("slider").first
    thumb.focus()
    page.keyboard.press("Home")  # step 0
    page.wait_for_url("**step-00000000**", timeout=60_000)
    header.filter(has_text="step 0").wait_for(timeout=60_000)
    page.go_back()  # the step comes back, the layer stays
    page.wait_for_function("() => !location.href.includes('step-00000000')", timeout=60_000)
    page.get_by_text("rflr-w16-r2-L3-even-s0 · step 100").first.wait_for(timeout=60_000)
    assert "layer=0" in page.url and page.get_by_text("atoms.h").count() > 0
    page.go_back()  # and then the layer
    page.wait_for_url("**layer=2**", timeout=60_000)
    page.get_by_text("bottleneck.2.z").first.wait_for(timeout=60_000)
    page.go_forward()
    page.wait_for_url("**layer=0**", timeout=60_000)
    page.get_by_text("atoms.h").first.wait_for(timeout=60_000)
    page.screenshot(path=str(artifacts / "app-back-forward.png"))
    page.close()


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory):
    """An open page on an empty folder that train.py is about to write into."""
    folder = tmp_path_factory.mktemp("browser-live")
    for url in _serve(folder, tmp_path_factory):  # the server lives while this fixture does
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
    maximum grows with each snapshot, with one page rerun per snapshot and no reload."""
    import subprocess
    import sys

    folder, url = empty_server
    before = write_run(folder, DenseConfig(width=8, depth=2), seed=9, steps=(0, 100))
    for p in folder.rglob("*"):  # written long ago: not live
        os.utime(p, (p.stat().st_mtime - 600,) * 2)
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
        grown = int(page.evaluate(_STEP_MAX)) - first
        page.screenshot(path=str(artifacts / "app-live-grown.png"))
        assert 1 <= counts["full"] - full <= grown + 1  # a page rerun per snapshot at most
        assert page.evaluate("() => window.__same_page === true")
    finally:
        train.kill()
        train.wait()


# --- Readable layer panels, d >= 2 drawn as it is (issue 21, items 2, 3, 4, 8) ----------------

# Vega draws the panels on a canvas: record every string it hands to fillText, so that a test
# reads exactly what was drawn (a title cut by Vega is drawn with its "…").
FILL_TEXT_HOOK = """
window.__drawn = [];
const fillText = CanvasRenderingContext2D.prototype.fillText;
CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
  window.__drawn.push(String(text));
  return fillText.call(this, text, ...rest);
};
"""


def _panel_page(browser, url: str, width: int):
    """A page at `url` recording canvas text and console warnings, its charts drawn."""
    page = browser.new_page(viewport={"width": width, "height": 1600})
    page.add_init_script(FILL_TEXT_HOOK)
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.goto(url)
    page.locator(CHART_CANVAS).first.wait_for(timeout=60_000)
    page.wait_for_timeout(2500)  # both columns, then the width report's relayout
    return page, console


@pytest.fixture(scope="module")
def d2_server(tmp_path_factory):
    """A d = 2 RF-LR run and its dense control, one snapshot each."""
    from rflr.core.config import TargetConfig

    folder = tmp_path_factory.mktemp("browser-d2")
    target = TargetConfig(transverse=[[1.0, 1.0, 0.5]])
    write_run(folder, RFLRConfig(width=8, rank=2, depth=2, input_dim=2), steps=(5,), target=target)
    write_run(folder, DenseConfig(width=8, depth=2, input_dim=2), steps=(5,), target=target)
    yield from _serve(folder, tmp_path_factory)


def test_layer_panel_titles_are_whole_and_the_console_quiet(server, browser, artifacts):
    """Issue 21: "mi…" for the parity at 1440 px, "D = 4.1e-0…" without shared axes, "Exp…"
    at 1100 px; six "Infinite extent" warnings per layer view. At 390, 1100 and 1440 px, with
    shared axes off, no drawn text is cut, every panel's D is drawn, the Export button shows
    its whole label, and the console has no warning of an empty extent."""
    for width in (390, 1100, 1440):
        page, console = _panel_page(browser, f"{server}/?shared=0", width)
        page.screenshot(path=str(artifacts / f"app-panels-titles-{width}.png"), full_page=True)
        drawn = page.evaluate("window.__drawn")
        assert not [t for t in drawn if "…" in t], (width, sorted({t for t in drawn if "…" in t}))
        alts = [chart[0] for chart in page.evaluate(LAYOUT) if " panels" in chart[0]]
        panels = sum(int(a.split(" panels")[0]) for a in alts)
        assert len({t for t in drawn if t.startswith("D = ")}) >= 2 and panels >= 8
        assert sum(t.startswith("D = ") for t in drawn) >= panels, width
        assert not [m for m in console if "Infinite extent" in m], (width, console)
        export = page.get_by_role("button", name="Export").first
        # the button and each part of it (icon, label) hold their content whole: no "Exp…"
        whole = "e => [e, ...e.querySelectorAll('*')].every(c => c.scrollWidth <= c.clientWidth)"
        assert export.evaluate(whole), width
        assert "Export" in export.inner_text().split()
        page.close()


def test_a_d_equal_2_run_is_drawn_along_x1_in_chromium(d2_server, browser, artifacts):
    """Issue 21, item 3: a d = 2 run's layer view draws its channels along an axis named x₁
    on the slice x₂ = 0, says so, and offers the plane as heatmaps beside their mirrors."""
    for width in (390, 1100, 1440):
        page, console = _panel_page(browser, d2_server, width)
        body = page.inner_text("body")
        assert "on the line through the origin (x₂ = 0)" in body
        drawn = page.evaluate("window.__drawn")
        assert "x₁" in drawn and "x" not in drawn  # the axis title, in every panel
        assert not [t for t in drawn if "…" in t]
        page.screenshot(path=str(artifacts / f"app-d2-slice-{width}.png"), full_page=True)
        if width == 1440:
            page.get_by_text("Heatmaps over the plane").click()
            for _ in range(300):  # the alt text says when the heatmaps are drawn
                if any("heatmaps" in chart[0] for chart in page.evaluate(LAYOUT)):
                    break
                page.wait_for_timeout(100)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(artifacts / "app-d2-plane-1440.png"), full_page=True)
            drawn = page.evaluate("window.__drawn")
            assert "x₂" in drawn and any(t.endswith("(−x₁, x₂)") for t in drawn)
        assert not [m for m in console if "Infinite extent" in m], (width, console)
        page.close()


# --- Sweep marks and architecture clicks (issue 21, items 5 and 7) ------------------------------

# The Vega view behind a chart element, from React's fiber (Streamlit keeps it in a hook's ref):
# its scenegraph has every mark's position and datum, which a canvas does not put in the DOM.
_MARKS_JS = """(param) => {
  const viewOf = (el) => {
    const key = Object.keys(el).find((k) => k.startsWith('__reactFiber'));
    for (let f = el[key], up = 0; f && up < 40; f = f.return, up++) {
      for (let h = f.memoizedState, i = 0; h && i < 60; h = h.next, i++) {
        for (const c of [h.memoizedState, h.memoizedState && h.memoizedState.current]) {
          if (c && typeof c.scenegraph === 'function') return c;
        }
      }
    }
    return null;
  };
  for (const el of document.querySelectorAll('[data-testid="stVegaLiteChart"]')) {
    const view = viewOf(el);
    if (!view || !((param + '_store') in view._runtime.data)) continue;
    el.scrollIntoView({block: 'center', behavior: 'instant'});  // positions: in the viewport
    const host = view.container() || el;  // the canvas or SVG Vega drew on
    const box = (host.querySelector('canvas, svg.marks') || host).getBoundingClientRect();
    const [ox, oy] = view.origin();
    const out = [];
    const walk = (mark, dx, dy) => {
      for (const it of mark.items || []) {
        if (mark.marktype === 'group') {
          for (const m of it.items || []) walk(m, dx + (it.x || 0), dy + (it.y || 0));
        } else if (it.datum && (mark.marktype === 'symbol' || mark.marktype === 'rect')) {
          const d = it.datum;
          out.push({
            x: box.left + ox + dx + it.x + (it.width || 0) / 2,
            y: box.top + oy + dy + it.y + (it.height || 0) / 2,
            marktype: mark.marktype, shape: it.shape || null, opacity: it.opacity,
            run_id: d.run_id || null, file: d.file || null, node: d.node || null,
          });
        }
      }
    };
    walk(view.scenegraph().root, 0, 0);
    return out;
  }
  return null;
}"""


def _marks(page, param: str, timeout_s: float = 60) -> list[dict]:
    """Every symbol and rect of the chart whose selection is `param`, with its page position."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        marks = page.evaluate(_MARKS_JS, param)
        if marks:
            return marks
        page.wait_for_timeout(500)
    pytest.fail(f"no chart with the selection {param!r} was drawn")


@pytest.fixture(scope="module")
def shipped_server(tmp_path_factory):
    """The shipped checkpoints folder: the poster sweep (149 runs, 12 with their file)."""
    folder = Path(__file__).resolve().parents[1] / "checkpoints"
    if not (folder / "poster" / "summary.csv").is_file():
        pytest.skip("no shipped poster sweep")
    yield from _serve(folder, tmp_path_factory)


def test_the_sweep_marks_the_points_a_click_opens(shipped_server, browser, artifacts):
    from rflr.views.sweep_charts import HAS_FILE, NO_FILE

    page = browser.new_page(viewport={"width": 1440, "height": 1400})
    page.goto(f"{shipped_server}/?tab=Sweep&sweep=poster/summary.csv", timeout=60_000)
    points = [m for m in _marks(page, "pick") if m["run_id"] and m["opacity"] > 0]  # drawn
    page.screenshot(path=str(artifacts / "sweep-marks.png"))
    filled = [p for p in points if p["file"] == HAS_FILE]
    rings = [p for p in points if p["file"] == NO_FILE]
    assert len(filled) == 12 and len(rings) > 100  # the shipped runs, and the rest
    assert {p["shape"] for p in filled} == {"circle"}
    assert all(p["shape"] not in (None, "circle") for p in rings)  # the ring's path
    # a click on a ring: one line says why nothing opens
    ring = rings[0]
    page.mouse.click(ring["x"], ring["y"])
    page.get_by_text("this run's checkpoint is not in the folder").wait_for(timeout=30_000)
    assert "tab=Sweep" in page.url
    # a click on a filled point opens its run in the layer view
    point = filled[0]
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url(lambda url: "tab=Sweep" not in url, timeout=30_000)  # the layer view
    assert f"a=poster%2F{point['run_id']}" in page.url or f"a=poster/{point['run_id']}" in page.url
    page.close()


def test_clicking_an_architecture_box_opens_that_layer(server, browser, artifacts):
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    page.goto(f"{server}/?tab=Architecture", timeout=60_000)
    boxes = [m for m in _marks(page, "node") if m["node"] and m["marktype"] == "rect"]
    page.screenshot(path=str(artifacts / "architecture-click.png"))
    h2 = [b for b in boxes if b["node"] == "h2" and b["opacity"] == 0]  # the click targets
    assert h2, boxes
    page.mouse.click(h2[0]["x"], h2[0]["y"])  # A's layer 1 · h₂: layer 1, part h
    page.wait_for_url(lambda url: "layer=1" in url and "part=h" in url, timeout=30_000)
    page.get_by_text("bottleneck.1.h").first.wait_for(timeout=60_000)  # the layer view draws it
    assert "tab=" not in page.url  # the default tab: the layer view


# --- Symmetry, Training and Depth charts: readable at any width (issue 21, items 4, 8, 9) ---

CANVAS_BOXES = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].map(e => {
  const r = (e.querySelector('canvas, svg.marks') || e).getBoundingClientRect();
  return [r.left, r.right];
})"""


def test_symmetry_training_and_depth_charts_fit_a_phone_without_warnings(
    server, browser, artifacts
):
    """Issue 21 item 4: at 390 px the symmetry chart was ~1,000 px wide (steps 1-40 shown)
    and Vega warned of conflicting scale domains. Every chart of the three tabs now fits the
    window, and the Symmetry tab logs no warning."""
    page = browser.new_page(viewport={"width": 390, "height": 900})
    logged: list[str] = []
    page.on("console", lambda m: logged.append(f"{m.type}: {m.text}"))
    for tab, charts in (("Symmetry over training", 2), ("Training", 1), ("Depth profile", 1)):
        logged.clear()
        page.goto(f"{server}/?tab={tab.replace(' ', '+')}")
        drawn = page.locator('[data-testid="stVegaLiteChart"] :is(canvas, svg.marks)')
        drawn.nth(charts - 1).wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # let Vega finish and log what it would
        boxes = page.evaluate(CANVAS_BOXES)
        assert len(boxes) == charts, (tab, boxes)
        assert all(left >= 0 and right <= 390 for left, right in boxes), (tab, boxes)
        drawn.last.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"app-{tab.split()[0].lower()}-390.png"))
        if tab.startswith("Symmetry"):
            assert not [m for m in logged if m.startswith("warning")], logged
    page.close()


# --- Issue 21: the answer on the first screen (layout, the step controls) ----------------------

FIRST_CHART_TOP = """() => document.querySelector('[data-testid="stVegaLiteChart"]')
  .getBoundingClientRect().top"""
# Widest thing on the page, and each tab label's right edge against its tab list's.
OVERFLOW = """() => {
  const list = document.querySelector('[data-testid="stTabs"] [role="tablist"]');
  const right = list.getBoundingClientRect().right;
  const cut = [...list.querySelectorAll('[role="tab"]')]
    .filter(t => t.getBoundingClientRect().right > right + 1).map(t => t.innerText);
  return [document.documentElement.scrollWidth, cut];
}"""


def test_the_first_chart_starts_on_the_first_screen_and_nothing_overflows(
    server, browser, artifacts
):
    """At 1440 x 900 the first chart's top is within 600 px of the page's top (it was ~840);
    the step slider stays in view while the charts scroll; no tab label is cut and nothing
    is wider than the window at 390, 1100, 1440 or 1920 px."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(server)
    page.locator(CHART_CANVAS).nth(1).wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts / "app-first-screen-1440.png"))
    top = page.evaluate(FIRST_CHART_TOP)
    assert top <= 600, top
    page.mouse.move(900, 700)
    page.mouse.wheel(0, 800)
    page.wait_for_timeout(800)
    slider = page.get_by_test_id("stSlider").first.bounding_box()
    assert page.evaluate(FIRST_CHART_TOP) < top - 400  # scrolled...
    assert slider["y"] >= 0 and slider["y"] + slider["height"] <= 900  # ...the step still shown
    for width in (390, 1100, 1440, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(1500)
        wide, cut = page.evaluate(OVERFLOW)
        assert wide <= width and not cut, (width, wide, cut)
    page.close()


def test_back_and_on_buttons_move_the_step_in_chromium(server, browser, artifacts):
    """◀ and ▶ beside Play move A one snapshot back or on; ◀ is disabled at the first."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(server)
    page.locator(CHART_CANVAS).nth(1).wait_for(timeout=60_000)
    header = page.get_by_text("rflr-w16-r2-L3-even-s0 · step", exact=False).first

    def shows(step: int) -> None:
        for _ in range(300):  # at most ~30 s
            if header.inner_text().endswith(f"step {step}"):
                return
            page.wait_for_timeout(100)
        raise AssertionError(header.inner_text())

    shows(100)
    page.get_by_role("button", name="◀", exact=True).click()
    page.wait_for_url("**step-00000010**", timeout=60_000)
    shows(10)
    page.get_by_role("button", name="◀", exact=True).click()
    page.wait_for_url("**step-00000000**", timeout=60_000)
    shows(0)
    assert page.get_by_role("button", name="◀", exact=True).is_disabled()  # the first one
    page.get_by_role("button", name="▶", exact=True).click()
    page.wait_for_url("**step-00000010**", timeout=60_000)
    shows(10)
    page.screenshot(path=str(artifacts / "app-step-buttons.png"))
    page.close()


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
    log = open(tmp_path_factory.mktemp("log") / "streamlit.log", "w+")  # noqa: SIM115
    env = {"RFLR_SERVE": "1", **env}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        port = free_port()
        proc = start_app(port, log, folder)  # the server copies the environment now
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.update({k: v})
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_healthy(url, proc):
            log.seek(0)
            pytest.fail(f"streamlit did not start:\n{log.read()}")
        yield url
    finally:
        stop(proc)
        log.close()


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


def test_a_click_on_a_symmetry_point_moves_the_step_slider(server, browser, artifacts):
    """Issue 21 item 9: click a chart to jump to that step. The Symmetry chart opens at A's
    final snapshot (step 100); a click near the points of step 10 (the left of the plot: the
    selection takes the nearest point) moves the step slider, and the URL, to step 10."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{server}/?tab=Symmetry+over+training")
    chart = page.locator(CHART_CANVAS).first
    chart.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    page.mouse.click(box["x"] + 0.3 * box["width"], box["y"] + 0.25 * box["height"])
    page.wait_for_url("**step-00000010**", timeout=60_000)
    page.wait_for_function(  # the step slider shows the step clicked
        "() => [...document.querySelectorAll('[data-testid=stSliderThumbValue]')]"
        ".some(e => e.textContent.trim() === '10')",
        timeout=60_000,
    )
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts / "app-symmetry-jump.png"))
    page.close()


def test_a_layer_change_with_a_job_running_stays_within_budget(
    roomy_train_server, browser, artifacts
):
    """Issue 23: training must not starve the page. One session trains RF-LR + dense, width
    128, 8 seeds, 30,000 steps (both `rflr train` processes niced on the two cores, a minute
    or more) while another changes layer; click-to-settled-chart is timed as
    benchmarks/browser_latency.py times it. Budget: other visitors' clicks <= 1 s at p95; of
    six changes, five (the p95 of so few, with one outlier allowed) must be within it."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import browser_latency as bl

    url = roomy_train_server
    page = bl.new_page(browser)
    page.goto(url, timeout=60_000)
    page.locator(CHART_CANVAS).first.wait_for(timeout=60_000)
    bl.settled(page, 0.0)
    layers = bl.options_of(page, "Layer")[:2]
    trainer = _train_page(browser, url, Width_N=128, Steps=30000)
    try:
        trainer.get_by_role("button", name="Train", exact=True).click()
        trainer.get_by_text("Train: job-").wait_for(timeout=60_000)  # running, not queued
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
