"""The explorer's first screen in headless Chromium: the default view and its export, a shared
URL, a run id made of markup shown as text, the layout from a phone's width to a desktop's.

Run by `streamlit run streamlit_app.py` on a fixture folder (tests/conftest.py: `server`), in
the system's /usr/bin/chromium through Playwright (no browser is downloaded). Screenshots go
to $RFLR_TEST_ARTIFACTS if set, else to pytest's temporary folder; the path is printed
(pytest -s shows it).
"""

from __future__ import annotations

import pytest

from rflr.core.config import DenseConfig, RFLRConfig, RunConfig
from tests.conftest import (
    CHART_CANVAS,
    serve,
    skip_without_chromium,
    write_checkpoint,
    write_run,
)
from tests.hostile import MARKDOWN_RUN_ID

pytestmark = pytest.mark.browser

skip_without_chromium()

EVIL_ID = MARKDOWN_RUN_ID  # an image, a link, an HTML tag with a handler, bold


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    """A folder whose only RF-LR run has a run id made of markdown and HTML."""
    folder = tmp_path_factory.mktemp("browser-hostile")
    write_run(folder, DenseConfig(width=8, depth=2), steps=(10,))
    cfg = RunConfig(model=RFLRConfig(width=8, depth=2, rank=2), run_id=EVIL_ID)
    write_checkpoint(folder / "evil" / "step-00000010.safetensors", cfg, step=10, grid_points=257)
    yield from serve(folder, tmp_path_factory)


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


# --- Issue 21: the answer on the first screen (layout) -----------------------------------------

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
    window (the Symmetry tab's one linked chart is laid out to the measured width), and the
    Symmetry tab logs no warning."""
    page = browser.new_page(viewport={"width": 390, "height": 900})
    logged: list[str] = []
    page.on("console", lambda m: logged.append(f"{m.type}: {m.text}"))
    for tab, charts in (("Symmetry over training", 1), ("Training", 1), ("Depth profile", 1)):
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
