"""What a user waits for in a real browser: click to chart settled, in Debian's Chromium.

    python benchmarks/browser_latency.py                 # the shipped checkpoints/, 5 repeats
    python benchmarks/browser_latency.py --repeats 9 --folder DIR
    python benchmarks/browser_latency.py --screenshots docs/screenshots   # also: every tab
    python benchmarks/browser_latency.py --repeats 0 --screenshots docs/screenshots  # only
    python benchmarks/browser_latency.py --baseline      # and the floor, in the same run

Starts `streamlit run streamlit_app.py` on a free port, opens it in headless Chromium
(Playwright, /usr/bin/chromium; nothing is downloaded) at 1440 x 1000, and times:

- first chart (warm server): a new page, from navigation until its charts have settled;
  the server has served the same view before, so its caches are warm, the browser's not;
  also printed: until the first stroke on a chart's canvas (the first chart drawn);
- layer change, step change, A change: from the click on the chosen option (the menu is opened
  before the clock starts) or the key press, until settled.

Settled: the script has finished (no stale element, no running indicator) and no chart on
the page has changed for QUIET_MS; the time reported is that of the last change, recorded
in the page by hooks on the canvas drawing calls and a MutationObserver (WATCH). Prints each sample and the medians
(goal on a 2-core machine: layer and step changes <= 500 ms, first chart <= 3 s).
The machine's load average is printed alongside: other work on its cores slows everything.
With --baseline the same clicks are then timed on the floor (FLOOR_PAGE: a trivial Streamlit
page with the app's widgets and one small chart per column, not the app with its charts
skipped), and each median is printed beside the app's: what Streamlit and the browser cost
on this machine now, so that a loaded machine's numbers can be read against it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit_app import TABS  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_app, stop, wait_healthy  # noqa: E402

POLL_MS, QUIET_MS, TIMEOUT_S = 50, 1500, 60
GOAL_CHANGE_MS, GOAL_FIRST_MS = 500, 3000

# Installed in every page before its scripts run: records performance.now() of the last
# drawing on a chart's canvas (Vega's canvas renderer) or change inside a chart's DOM (SVG).
# Hooks, not polling: a poller that reads pixels would itself load the cores it measures.
WATCH = """
() => {
  if (window.__watch) return;
  const w = window.__watch = {last: performance.now()};
  const CHART = '[data-testid="stVegaLiteChart"]';
  const P = CanvasRenderingContext2D.prototype;
  for (const f of ['clearRect', 'fillRect', 'stroke', 'fill', 'fillText', 'drawImage']) {
    const original = P[f];
    P[f] = function (...args) {
      if (this.canvas.isConnected && this.canvas.closest(CHART)) {
        w.last = performance.now();
        if (w.drawn === undefined) w.drawn = w.last;  // the first chart's first stroke
      }
      return original.apply(this, args);
    };
  }
  new MutationObserver((records) => {
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (el && el.closest(CHART)) { w.last = performance.now(); return; }
      for (const n of r.addedNodes) {
        if (n.nodeType === 1 && (n.matches(CHART) || n.querySelector(CHART))) {
          w.last = performance.now(); return;
        }
      }
    }
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
}
"""

BUSY = """
() => !!document.querySelector('[data-stale="true"]')
   || !!document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')
   || !!document.querySelector('[data-testid="stSpinner"]')
"""


def settled(page, since: float) -> float:
    """ms from `since` (page clock) to the last chart change, once the page is quiet."""
    deadline = time.time() + TIMEOUT_S
    while time.time() < deadline:
        time.sleep(POLL_MS / 1000)
        now, last = page.evaluate("() => [performance.now(), window.__watch.last]")
        if last > since and now - last >= QUIET_MS and not page.evaluate(BUSY):
            return last - since
    raise TimeoutError("the charts did not settle")


def _cpu_seconds() -> dict[int, float]:
    """utime + stime of every process on the machine, by pid (from /proc)."""
    out, tick = {}, os.sysconf("SC_CLK_TCK")
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
                out[int(d.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
            except (OSError, ValueError, IndexError):
                continue
    return out


def cpu_of(server_pid: int) -> tuple[float, float]:
    """CPU seconds used so far by (the server, the browser: our other descendants)."""
    table = _cpu_seconds()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)

    def tree(root: int) -> set[int]:
        seen, todo = set(), [root]
        while todo:
            pid = todo.pop()
            seen.add(pid)
            todo += children.get(pid, [])
        return seen

    server = tree(server_pid)
    ours = tree(os.getpid()) - server - {os.getpid()}
    return sum(table[p][1] for p in server if p in table), sum(
        table[p][1] for p in ours if p in table
    )


FIRST_DRAWN: list[float] = []  # ms from navigation to the first stroke on a chart's canvas
CPU: dict[str, list[tuple[float, float]]] = {}  # name -> (server, browser) CPU s per sample
SERVER_PID = [0]


def timed(page, action, name: str = "") -> float:
    before = cpu_of(SERVER_PID[0])
    since = page.evaluate("() => performance.now()")
    action()
    ms = settled(page, since)
    after = cpu_of(SERVER_PID[0])
    # the quiet window's idle time is included; what it costs is small and the same for all
    CPU.setdefault(name, []).append((after[0] - before[0], after[1] - before[1]))
    return ms


def first_chart(browser, url: str) -> float:
    page = new_page(browser)
    page.goto(url)
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=TIMEOUT_S * 1000)
    ms = settled(page, 0.0)  # performance.now() counts from navigation
    drawn = page.evaluate("() => window.__watch.drawn")
    if drawn is not None:
        FIRST_DRAWN.append(drawn)
    page.close()
    return ms


def new_page(browser, height: int = 1000):
    page = browser.new_page(viewport={"width": 1440, "height": height})
    page.add_init_script(f"({WATCH})()")
    return page


def selectbox(page, label: str):
    """The select box labelled exactly `label` (in the sidebar or the page)."""
    label_el = page.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True)
    return page.get_by_test_id("stSelectbox").filter(has=label_el).first


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the select box labelled `label`."""
    selectbox(page, label).click()
    page.get_by_role("option", name=option, exact=True).first.click()


def timed_choice(page, label: str, option: str, name: str) -> float:
    """Open the select box, then time from the click on `option` (the user's choice) until
    the charts settle: opening a menu is not what the page makes the user wait for."""
    selectbox(page, label).click()
    item = page.get_by_role("option", name=option, exact=True).first
    item.wait_for()
    return timed(page, item.click, name)


def options_of(page, label: str) -> list[str]:
    selectbox(page, label).click()
    names = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return [n.strip() for n in names]


def step_key(page, key: str) -> None:
    thumb = page.get_by_test_id("stSlider").get_by_role("slider").first
    thumb.focus()
    page.keyboard.press(key)


def small_png(path: Path) -> None:
    """Rewrite a screenshot in 256 colours (a small file) that keep every colour of
    rflr.views.style exact: a plain median cut gives the few pixels of a thin orange RF-LR
    curve the nearest frequent colour, Streamlit's red."""
    from PIL import Image

    from rflr.views import style

    fixed = [
        *style.KIND_COLORS.values(),
        *style.KIND_COLORS_SECOND.values(),
        style.OTHER_COLOR,
        style.MIRROR_COLOR,
        style.ODD_COLOR,
        style.TARGET_COLOR,
        *style.SHADE_COLORS.values(),
    ]
    rgb = Image.open(path).convert("RGB")
    rest = rgb.quantize(256 - len(fixed)).getpalette()[: 3 * (256 - len(fixed))]
    palette = [int(c[i : i + 2], 16) for c in fixed for i in (1, 3, 5)] + rest
    target = Image.new("P", (1, 1))
    target.putpalette(palette)
    rgb.quantize(palette=target, dither=Image.Dither.NONE).save(path, optimize=True)


def screenshots(browser, url: str, folder: Path) -> list[Path]:
    """A PNG of every tab of the default view, 1440 px wide and as tall as the tab, in 256
    colours (small files, small_png)."""
    folder.mkdir(parents=True, exist_ok=True)
    page = new_page(browser)
    page.goto(url)
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=TIMEOUT_S * 1000)
    settled(page, 0.0)
    out = []
    for label in TABS:
        page.set_viewport_size({"width": 1440, "height": 1000})
        since = page.evaluate("() => performance.now()")
        page.get_by_role("tab", name=label, exact=True).click()
        try:
            settled(page, since)
        except TimeoutError:  # a tab without charts never "changes": wait for the script
            page.wait_for_timeout(1500)
        height = page.evaluate(
            "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain] *')]"
            ".slice(0, 1).map(() => document.querySelector('[data-testid=stMain]').scrollHeight))"
        )
        page.set_viewport_size({"width": 1440, "height": min(int(height) + 40, 4000)})
        page.wait_for_timeout(800)
        path = folder / (label.lower().replace(" ", "-") + ".png")
        page.screenshot(path=str(path), type="png")
        small_png(path)
        out.append(path)
    page.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", type=Path, default=None, help="default: the app's own default")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--screenshots", type=Path, default=None, help="save every tab here")
    ap.add_argument(
        "--baseline",
        action="store_true",
        help="also time the floor, in the same run: a trivial Streamlit page with the app's "
        "widgets (FLOOR_PAGE), to print beside the app's numbers",
    )
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        if args.repeats == 0:  # screenshots only
            with served(ROOT / "streamlit_app.py", args.folder) as url:
                for path in screenshots(browser, url, args.screenshots or Path("docs/screenshots")):
                    print(f"screenshot: {path}")
            browser.close()
            return
        with served(ROOT / "streamlit_app.py", args.folder) as url:
            app = measure(browser, url, args.repeats, cold=True)
            if args.screenshots:
                for path in screenshots(browser, url, args.screenshots):
                    print(f"screenshot: {path}")
        floor = None
        if args.baseline:
            with tempfile.TemporaryDirectory() as tmp:
                script = Path(tmp) / "floor.py"
                script.write_text(FLOOR_PAGE)
                with served(script, None) as url:
                    floor = measure(browser, url, args.repeats)
        browser.close()
    report(app, floor)


@contextlib.contextmanager
def served(script: Path, folder: Path | None):
    """`streamlit run script` on a free port while the block runs; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as log:
        proc = start_app(port, log, folder, script)
        SERVER_PID[0] = proc.pid
        try:
            if not wait_healthy(url, proc):
                raise SystemExit(f"streamlit did not start ({script.name})")
            yield url
        finally:
            stop(proc)


# The floor: the app's widgets, with the same labels, on a trivial page (a sidebar select box
# for A; in a fragment, as in the app, the layer's select box, the step slider and one small
# chart per column whose data they change), measured by the same code as the app. What the
# app takes beyond these numbers is its own work; these are Streamlit's and the browser's.
FLOOR_PAGE = """
import numpy as np, pandas as pd, streamlit as st
st.set_page_config(layout="wide")
RUNS = ["run-a", "run-b"]
run = st.sidebar.selectbox("Checkpoint A: run", RUNS, key="w_run_a")

@st.fragment
def view():
    layer = st.selectbox("Layer", ["layer 0", "layer 1", "layer 2", "layer 3"], index=2)
    step = st.select_slider("Step of A", [0, 10, 100, 1000], value=1000, key="w_step")
    x = np.linspace(-3, 3, 129)
    k = 1 + RUNS.index(run) + int(layer[-1]) + step / 1000  # every choice changes the data
    for column, shift in zip(st.columns(2), (0.0, 0.5)):
        column.vega_lite_chart(
            pd.DataFrame({"x": x, "y": np.cos(x * k + shift)}),
            {"mark": "line", "width": 300, "height": 100, "encoding": {
                "x": {"field": "x", "type": "quantitative"},
                "y": {"field": "y", "type": "quantitative"}}},
        )

view()
"""


@dataclass
class Measured:
    """One page's samples: ms by measurement, CPU (server, browser) s by measurement, and
    the warm first pages' first strokes."""

    samples: dict[str, list[float]]
    cpu: dict[str, list[tuple[float, float]]]
    drawn: list[float]


def measure(browser, url: str, repeats: int, cold: bool = False) -> Measured:
    """The first chart on a warm server, then layer, step and A changes (the same clicks on
    the app and on the floor page). With `cold`, the very first page (a cold server) is
    timed and printed too; without, it only warms the server."""
    CPU.clear()
    first = first_chart(browser, url)
    if cold:
        print(f"first chart, cold server: {first:.0f} ms")
    drawn_from = len(FIRST_DRAWN)
    samples: dict[str, list[float]] = {
        "first chart, warm server": [first_chart(browser, url) for _ in range(repeats)],
        "layer change": [],
        "step change": [],
        "A change": [],
    }
    page = new_page(browser)
    page.goto(url)
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=TIMEOUT_S * 1000)
    settled(page, 0.0)
    layers = options_of(page, "Layer")
    runs = options_of(page, "Checkpoint A: run")
    start_layer, start_run = layers[-2], runs[0]
    other_layer = layers[-3] if len(layers) > 2 else layers[0]
    other_run = runs[1] if len(runs) > 1 else runs[0]
    for i in range(repeats):
        target = other_layer if i % 2 == 0 else start_layer
        samples["layer change"].append(timed_choice(page, "Layer", target, "layer change"))
        key = "ArrowLeft" if i % 2 == 0 else "ArrowRight"
        samples["step change"].append(timed(page, lambda k=key: step_key(page, k), "step change"))
    for i in range(repeats):
        target = other_run if i % 2 == 0 else start_run
        samples["A change"].append(timed_choice(page, "Checkpoint A: run", target, "A change"))
    page.close()
    return Measured(samples, dict(CPU), FIRST_DRAWN[drawn_from:])


def report(app: Measured, floor: Measured | None) -> None:
    """The app's medians against their goals, each with the floor's beside it when measured."""
    load = os.getloadavg()
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    drawn = app.drawn
    if drawn:
        shown = ", ".join(f"{v:.0f}" for v in drawn)
        print(
            f"first chart drawn (its first stroke), warm server: median "
            f"{statistics.median(drawn):.0f} ms [{shown}]"
        )
    for name, values in app.samples.items():
        goal = GOAL_FIRST_MS if name.startswith("first") else GOAL_CHANGE_MS
        shown = ", ".join(f"{v:.0f}" for v in values)
        med = statistics.median(values)
        beside = ""
        if floor is not None:
            floor_ms = statistics.median(floor.samples[name])
            beside = f"; floor (trivial page, same widgets) {floor_ms:.0f} ms"
        print(f"{name}: median {med:.0f} ms (goal <= {goal} ms){beside} [{shown}]")
        cpu = app.cpu.get(name)
        if cpu:
            server = statistics.median(c[0] for c in cpu) * 1000
            browser = statistics.median(c[1] for c in cpu) * 1000
            print(f"  CPU per change (median): server {server:.0f} ms, browser {browser:.0f} ms")


if __name__ == "__main__":
    main()
