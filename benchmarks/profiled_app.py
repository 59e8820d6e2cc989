"""streamlit_app.py with every script run profiled: `streamlit run benchmarks/profiled_app.py`
with RFLR_PROFILE_DIR set (served_load.py --profile DIR does both).

Each run of the script (a new session's first page, or a change) writes one cProfile stats
file, DIR/run-<n>-<ms>.pstats, n counting runs of this server from 1 and ms the run's wall
time. The first run includes the imports (rflr, torch, pandas, Altair): the cold first page.
Read one with `python -m pstats FILE` (sort cumtime, stats 30). Only the script's own thread
is profiled: the server's event loop (websocket writes, static files) is not.
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

_runs = itertools.count(1)  # the module is run again each time, but sys.modules keeps this


def _profiled() -> None:
    from streamlit_app import main  # inside: the first run's imports are profiled too

    main()


if __name__ == "__main__":
    folder = Path(os.environ["RFLR_PROFILE_DIR"])
    counter = sys.modules.setdefault("_rflr_profile_runs", type(sys)("_rflr_profile_runs"))
    n = counter.__dict__.setdefault("runs", _runs)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    try:
        prof.runcall(_profiled)
    finally:
        ms = (time.perf_counter() - t0) * 1000
        prof.dump_stats(folder / f"run-{next(n):03d}-{ms:.0f}.pstats")
