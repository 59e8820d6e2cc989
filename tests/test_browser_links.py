"""Linked views in headless Chromium: a click on a Checkpoints row, a Sweep point, an
Architecture box or a Symmetry point opens what it names (a run, a layer, a step). The
server and browser fixtures are tests/conftest.py's."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CHART_CANVAS, serve, skip_without_chromium

pytestmark = pytest.mark.browser

skip_without_chromium()


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


@pytest.fixture(scope="module")
def sweep_server(tiny_sweep, tmp_path_factory):
    """The tiny sweep's folder: summary.csv beside the runs' checkpoints."""
    folder, _, _ = tiny_sweep
    yield from serve(folder, tmp_path_factory)


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
    yield from serve(folder, tmp_path_factory)


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


# Vertical strokes Vega draws, with their colour and alpha (rules: a moveTo and a lineTo).
RULES_HOOK = """
window.__rules = [];
const P = CanvasRenderingContext2D.prototype;
const moveTo = P.moveTo, lineTo = P.lineTo, stroke = P.stroke;
P.moveTo = function (x, y) { this.__from = [x, y]; return moveTo.call(this, x, y); };
P.lineTo = function (x, y) { this.__to = [x, y]; return lineTo.call(this, x, y); };
P.stroke = function (...a) {
  const f = this.__from, t = this.__to;
  if (f && t && Math.abs(f[0] - t[0]) < 0.5 && Math.abs(f[1] - t[1]) > 50)
    window.__rules.push([String(this.strokeStyle), this.globalAlpha, f[0]]);
  return stroke.apply(this, a);
};
"""


def test_hovering_the_symmetry_chart_marks_one_snapshot_on_both_charts(server, browser):
    """Issue 21, item 9 (hover synced across charts): the defect chart and the test MSE
    below it are one linked chart, so the snapshot nearest the pointer gets a grey rule on
    both, at the same x; none before the hover."""
    from rflr.views import style

    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.add_init_script(RULES_HOOK)
    page.goto(f"{server}/?tab=Symmetry+over+training")
    chart = page.locator(CHART_CANVAS).first
    chart.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)

    def grey() -> list:
        rules = page.evaluate("window.__rules")
        return [r for r in rules if r[0] == style.INK_GREY and r[1] > 0]

    assert grey() == []
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    page.evaluate("window.__rules = []")
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.2 * box["height"])
    page.wait_for_timeout(800)
    marked = grey()
    assert len(marked) >= 2 and len({round(r[2]) for r in marked}) == 1, marked
    page.close()
