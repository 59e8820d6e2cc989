"""The layer view in headless Chromium: panels that fill their column and reflow with the
window, whole titles and a quiet console, a d = 2 run along x₁; the step controls (Play, ◀ ▶,
the browser's Back and Forward). The server and browser fixtures are tests/conftest.py's."""

from __future__ import annotations

import pytest

from rflr.core.config import DenseConfig, RFLRConfig
from tests.conftest import CHART_CANVAS, serve, skip_without_chromium, write_run

pytestmark = pytest.mark.browser

skip_without_chromium()


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
    yield from serve(folder, tmp_path_factory)


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


# --- The step controls: Play, ◀ and ▶, the browser's history -------------------------------


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


# --- Hover synced across panels, zoom and pan (issue 21, item 9) ------------------------------

# Every stroke and text Vega draws, with its canvas (numbered in the order first drawn on).
DRAWING_HOOK = """
window.__marks = [];
let canvases = 0;
const id = (c) => c.__rflr || (c.__rflr = ++canvases);
const P = CanvasRenderingContext2D.prototype;
const stroke = P.stroke, fillText = P.fillText;
P.stroke = function (...a) {
  window.__marks.push(['stroke', id(this.canvas), String(this.strokeStyle), this.globalAlpha]);
  return stroke.apply(this, a);
};
P.fillText = function (text, ...rest) {
  window.__marks.push(['text', id(this.canvas), String(text), this.textAlign, this.textBaseline]);
  return fillText.call(this, text, ...rest);
};
"""
NUMBER = r"^[−-]?\d+(\.\d+)?$"


def test_hover_marks_every_panel_and_zoom_outlives_a_step_change(server, browser, artifacts):
    """Hovering a curve in one panel marks that x in every panel of its chart (a rule in
    INK_GREY, drawn by no other mark); a bare wheel scrolls the page, Ctrl + wheel zooms x in
    every panel, the zoom outlives a
    step change (the browser keeps the chart and swaps its data), and a double-click resets
    it. B, the dense control, has 8 panels."""
    import re

    from rflr.views import style

    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.add_init_script(DRAWING_HOOK)
    page.goto(server)
    chart = page.locator(CHART_CANVAS).nth(1)
    chart.wait_for(timeout=60_000)
    page.wait_for_timeout(2500)  # both columns, then the width report's relayout
    b = chart.evaluate("c => c.__rflr")

    def drawn(kind: str) -> list[list]:
        return [m[2:] for m in page.evaluate("window.__marks") if m[0] == kind and m[1] == b]

    def x_labels() -> set[str]:  # centred numbers: the x axes' labels (y's are right-aligned)
        return {t for t, align, _ in drawn("text") if align == "center" and re.match(NUMBER, t)}

    def rules() -> int:
        return sum(1 for colour, alpha in drawn("stroke") if colour == style.INK_GREY and alpha)

    assert rules() == 0  # nothing marked before a hover
    first = x_labels()
    assert first
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    page.evaluate("window.__marks = []")
    found = False
    for dx in (80, 100, 60):  # down a column of the first panel until a curve answers
        for dy in range(40, 240, 3):
            page.mouse.move(box["x"] + dx, box["y"] + dy)
            if page.evaluate("!!document.querySelector('#vg-tooltip-element.visible')"):
                found = True
                break
        if found:
            break
    assert found, "no hover point answered"
    page.wait_for_timeout(500)
    assert rules() >= 8, rules()  # a rule in each of B's 8 panels, not only the hovered one
    page.screenshot(path=str(artifacts / "app-hover-synced.png"))

    page.evaluate("window.__marks = []")
    scrolled = "document.querySelector('[data-testid=\"stMain\"]').scrollTop"
    top = page.evaluate(scrolled)
    page.mouse.wheel(0, 300)  # a bare wheel scrolls the page, the panels stay as they were
    page.wait_for_timeout(800)
    assert page.evaluate(scrolled) > top and x_labels() <= first
    box = chart.bounding_box()
    page.mouse.move(box["x"] + 80, box["y"] + 150)
    page.wait_for_timeout(300)
    page.evaluate("window.__marks = []")
    page.keyboard.down("Control")
    page.mouse.wheel(0, -600)  # Ctrl + wheel zooms in on x
    page.keyboard.up("Control")
    page.wait_for_timeout(800)
    zoomed = x_labels()
    assert zoomed and zoomed != first, (first, zoomed)
    page.mouse.move(5, 5)  # off the chart: the hover mark goes
    page.evaluate("window.__marks = []")
    page.get_by_role("button", name="◀", exact=True).click()
    page.wait_for_url("**step-00000010**", timeout=60_000)
    page.get_by_text("dense-w16-L3-even-s0 · step 10", exact=False).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    assert x_labels() == zoomed  # new data, same chart: still zoomed
    page.screenshot(path=str(artifacts / "app-zoom-kept.png"))
    page.evaluate("window.__marks = []")
    page.mouse.dblclick(box["x"] + 80, box["y"] + 150)
    page.wait_for_timeout(800)
    assert x_labels() == first  # reset
    page.close()
