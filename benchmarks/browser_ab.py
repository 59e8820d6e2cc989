"""Two or more versions of the explorer in the same minutes, in Debian's Chromium: A vs B.

    git worktree add /tmp/before <commit>                 # the version to compare against
    python benchmarks/browser_ab.py /tmp/before .         # 9 rounds: first chart, layer, step
    python benchmarks/browser_ab.py --first-only --rounds 15 /tmp/before .

One `streamlit run` per checkout (each its own streamlit_app.py, all on the shipped
checkpoints/ of this one), one browser. Each round takes one sample of every version, in
alternating order, so that what else the machine does in those minutes falls on all of them
alike: on a 2-core machine single runs of browser_latency.py minutes apart differ by more
than most changes do. Timings as in browser_latency.py (click or navigation to every chart
settled); prints each version's samples and median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))
import browser_latency as bl  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_app, stop, wait_healthy  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkouts", nargs="+", type=Path, help="folders with a streamlit_app.py")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--first-only", action="store_true", help="time only the first chart")
    args = ap.parse_args()
    names = [f"{i}:{c.resolve().name}" for i, c in enumerate(args.checkouts)]
    for c in args.checkouts:
        if not (c / "streamlit_app.py").is_file():
            ap.error(f"{c}: no streamlit_app.py there")
    logs = [open(os.devnull, "w") for _ in args.checkouts]  # noqa: SIM115
    procs, urls = [], []
    for c, log in zip(args.checkouts, logs, strict=True):
        port = free_port()
        procs.append(start_app(port, log, ROOT / "checkpoints", c.resolve() / "streamlit_app.py"))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for proc, url in zip(procs, urls, strict=True):
            if not wait_healthy(url, proc):
                sys.exit(f"{url}: streamlit did not start")
        bl.SERVER_PID[0] = procs[0].pid  # its CPU accounting reads one process tree
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            samples = rounds(browser, names, urls, args)
            browser.close()
    finally:
        for proc in procs:
            stop(proc)
        for log in logs:
            log.close()
    load = os.getloadavg()
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    for measure in samples[names[0]]:
        for name in names:
            xs = samples[name][measure]
            shown = ", ".join(f"{x:.0f}" for x in xs)
            print(f"{measure:12s} {name:24s} median {statistics.median(xs):6.0f} ms [{shown}]")


def rounds(browser, names: list[str], urls: list[str], args) -> dict:
    measures = ["first chart"] + ([] if args.first_only else ["layer change", "step change"])
    samples = {n: {m: [] for m in measures} for n in names}
    pages, layers = {}, []
    for name, url in zip(names, urls, strict=True):
        bl.first_chart(browser, url)  # the server's caches warm, as in browser_latency.py
        if not args.first_only:
            page = bl.new_page(browser)
            page.goto(url)
            page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=60_000)
            bl.settled(page, 0.0)
            pages[name] = page
            layers = layers or bl.options_of(page, "Layer")
    pair = [layers[-3], layers[-2]] if len(layers) > 2 else layers[:2]
    for r in range(args.rounds):
        order = list(zip(names, urls, strict=True))
        for name, url in order if r % 2 == 0 else order[::-1]:
            samples[name]["first chart"].append(bl.first_chart(browser, url))
            if args.first_only:
                continue
            page = pages[name]
            page.bring_to_front()
            key = "ArrowLeft" if r % 2 == 0 else "ArrowRight"
            samples[name]["step change"].append(
                bl.timed(page, lambda p=page, k=key: bl.step_key(p, k))
            )
            if len(pair) == 2:
                option = pair[r % 2]
                samples[name]["layer change"].append(bl.timed_choice(page, "Layer", option, ""))
    return samples


if __name__ == "__main__":
    main()
