"""What the live notice's poll costs a user: a layer or step change with it vs without it.

    python benchmarks/live_latency.py                     # 9 rounds on the shipped checkpoints/
    python benchmarks/live_latency.py --rounds 15 --folder DIR --port 8611

Two `streamlit run` servers on the same folder: the explorer as it is (its live notice polls
the folder every rflr.explorer.live.POLL_S in a fragment), and the same page with the notice
left out (a wrapper script that replaces rflr.explorer.page.live_ui by a no-op). One browser;
each round takes one sample of each, in alternating order, so that what else the machine does
in those minutes falls on both alike. Timings as in browser_latency.py (click or key press to
every chart settled); prints each page's samples and medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))
import browser_latency as bl  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_app, stop, wait_healthy  # noqa: E402

WITHOUT_LIVE = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import rflr.explorer.page as page
page.live_ui = lambda *args, **kwargs: None  # no notice, no poll: the page as before issue 23
page.main()
"""
MEASURES = ("layer change", "step change")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--folder", type=Path, default=ROOT / "checkpoints")
    ap.add_argument("--port", type=int, default=None, help="serve on PORT, PORT+1 (default: free)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        without = Path(tmp) / "without_live.py"
        without.write_text(WITHOUT_LIVE)
        scripts = {"with poll": ROOT / "streamlit_app.py", "without": without}
        logs = {name: open(os.devnull, "w") for name in scripts}  # noqa: SIM115
        procs, urls = {}, {}
        try:
            for i, (name, script) in enumerate(scripts.items()):
                port = free_port() if args.port is None else args.port + i
                procs[name] = start_app(port, logs[name], args.folder, script)
                urls[name] = f"http://127.0.0.1:{port}"
            for name, url in urls.items():
                if not wait_healthy(url, procs[name]):
                    sys.exit(f"{name}: streamlit did not start")
            bl.SERVER_PID[0] = procs["with poll"].pid  # its CPU accounting reads one tree
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                samples = rounds(browser, urls, args.rounds)
                browser.close()
        finally:
            for name in procs:
                stop(procs[name])
            for log in logs.values():
                log.close()
    load = os.getloadavg()
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    for measure in MEASURES:
        for name, got in samples.items():
            xs = got[measure]
            shown = ", ".join(f"{x:.0f}" for x in xs)
            print(f"{measure:12s} {name:10s} median {statistics.median(xs):6.0f} ms [{shown}]")


def rounds(browser, urls: dict[str, str], n: int) -> dict[str, dict[str, list[float]]]:
    samples = {name: {m: [] for m in MEASURES} for name in urls}
    pages, layers = {}, []
    for name, url in urls.items():
        bl.first_chart(browser, url)  # the server's caches warm, as in browser_latency.py
        page = bl.new_page(browser)
        page.goto(url)
        page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=60_000)
        bl.settled(page, 0.0)
        pages[name] = page
        layers = layers or bl.options_of(page, "Layer")
    pair = [layers[-3], layers[-2]] if len(layers) > 2 else layers[:2]
    for r in range(n):
        order = list(urls)
        for name in order if r % 2 == 0 else order[::-1]:
            page = pages[name]
            page.bring_to_front()
            option = pair[r % 2]
            samples[name]["layer change"].append(bl.timed_choice(page, "Layer", option, ""))
            key = "ArrowLeft" if r % 2 == 0 else "ArrowRight"
            samples[name]["step change"].append(
                bl.timed(page, lambda p=page, k=key: bl.step_key(p, k))
            )
    return samples


if __name__ == "__main__":
    main()
