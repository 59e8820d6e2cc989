"""streamlit_app.py with every script run profiled: `streamlit run benchmarks/profiled_app.py`
with RFLR_PROFILE_DIR set (served_load.py --profile DIR does both).

Each run writes one cProfile stats file, DIR/run-<n>-<kind>-<ms>.pstats: n counts this
server's runs from 1, kind is `full` (a new page, or a change outside a fragment),
`fragment` (a change inside one: the explorer's view is an st.fragment, so most changes are)
or `poll` (a fragment's run_every), and ms is the run's wall time. Run 1 also holds the
imports (rflr, torch, pandas, Altair): the cold first page. Read one with
`python -m pstats FILE` (sort cumtime, stats 30). Only the script's thread is profiled: the
server's event loop (websocket writes, static files) is not.

How: the first run is profiled here, around the import of the app; it then wraps Streamlit's
ScriptRunner._run_script (streamlit 1.67), which every later run, full or fragment, passes
through. The app itself is untouched.
"""

import cProfile
import itertools
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FOLDER = Path(os.environ["RFLR_PROFILE_DIR"])
_STATE = "_rflr_profiled_app"  # kept in sys.modules: this file is executed again every run


def _profiled(kind: str, count, fn, *args) -> None:
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    try:
        prof.runcall(fn, *args)
    finally:
        ms = (time.perf_counter() - t0) * 1000
        prof.dump_stats(FOLDER / f"run-{next(count):03d}-{kind}-{ms:.0f}.pstats")


def _install(count) -> None:
    """Profile every later run where Streamlit starts it (full, fragment or poll)."""
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    plain = ScriptRunner._run_script

    def run_script(self, rerun_data) -> None:
        kind = "full"
        if rerun_data.fragment_id_queue:
            kind = "poll" if rerun_data.is_auto_rerun else "fragment"
        _profiled(kind, count, plain, self, rerun_data)

    ScriptRunner._run_script = run_script


def _first_run() -> None:
    from streamlit_app import main  # inside: the first run's imports are profiled too

    main()


if __name__ == "__main__" and _STATE not in sys.modules:
    sys.modules[_STATE] = type(sys)(_STATE)
    runs = itertools.count(1)
    _install(runs)
    _profiled("full", runs, _first_run)
elif __name__ == "__main__":
    from streamlit_app import main

    main()  # profiled by run_script, around this whole run
