"""The view state and its URL form: everything needed to reopen the same view.

    src=folder|hub   root=<folder>   repo=<USER/NAME>   rev=<revision>
    a=<file of checkpoint A, relative to the root>   b=<file of B, or "none">
    layer=<k>   part=partial|u|h   odd=1   thr=<activity threshold>   shared=0   shown=<n>
    sweep=<summary.csv, relative to the root>   srun=<run id picked in the sweep>
    equiv=1 (depth profile's equivariance)   final=1 (Checkpoints tab: final steps only)
    smooth=<window> (Training tab: train-loss smoothing, one of SMOOTHING)

Only values that differ from the defaults are written. Parsing never raises: a value that
cannot be read is dropped with a note, and the view falls back to its default for it.
Whether a file path is acceptable (inside the root) is decided later, by rflr.views.sources.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

from rflr.measure.metrics import ACTIVITY_THRESHOLD
from rflr.views.data import PARTS

SOURCES = ("folder", "upload", "hub")
SMOOTHING = (1, 3, 5, 9, 17)  # train-loss smoothing windows the Training tab offers
SHOWN_STEP = 8  # channels per checkpoint shown at first, and added by "show more": each
# panel costs the browser ~10 ms per redraw on a 2-core machine (benchmarks/browser_latency.py)


@dataclass
class ViewState:
    src: str = "folder"
    root: str | None = None  # None: RFLR_CHECKPOINTS or the shipped checkpoints/
    repo: str | None = None
    rev: str | None = None
    a: str | None = None  # None: the default pair
    b: str | None = None  # None: A's control; "none": no second checkpoint
    layer: int | None = None  # None: A's deepest partial layer
    part: str = "partial"
    odd: bool = False
    thr: float = ACTIVITY_THRESHOLD
    shared: bool = True
    shown: int = SHOWN_STEP
    sweep: str | None = None  # None: the first summary.csv below the root
    srun: str | None = None  # None: the best run that has its file
    equiv: bool = False
    final: bool = False
    smooth: int = 1  # the Training tab's train-loss smoothing window (1: off)


_DEFAULT = ViewState()
KEYS = tuple(f.name for f in dataclasses.fields(ViewState))  # the URL parameters we own


def from_query(params: Mapping[str, str | list[str]]) -> tuple[ViewState, list[str]]:
    """The state a URL asks for, and notes about the parameters that were ignored."""
    state, notes = ViewState(), []

    def text(key: str, limit: int = 1024) -> str | None:
        v = params.get(key)
        if isinstance(v, list):
            v = v[-1] if v else None
        if v is None or v == "":
            return None
        if len(v) > limit or "\x00" in v:
            notes.append(f"ignored URL parameter {key}: not a usable value")
            return None
        return v

    src = text("src")
    if src is not None:
        if src in SOURCES and src != "upload":  # an upload cannot come back from a URL
            state.src = src
        else:
            notes.append(f"ignored URL parameter src={src!r}")
    state.root, state.repo, state.rev = text("root"), text("repo", 200), text("rev", 200)
    state.a, state.b = text("a"), text("b")
    state.sweep, state.srun = text("sweep"), text("srun", 200)
    for key, cast, ok in (
        ("layer", int, lambda v: 0 <= v <= 1000),
        ("thr", float, lambda v: math.isfinite(v) and 0 <= v <= 1),
        ("shown", int, lambda v: 1 <= v <= 100_000),
        ("smooth", int, lambda v: v in SMOOTHING),
    ):
        raw = text(key, 40)
        if raw is None:
            continue
        try:
            value = cast(raw)
        except ValueError:
            value = None
        if value is None or not ok(value):
            notes.append(f"ignored URL parameter {key}={raw!r}")
        else:
            setattr(state, key, value)
    part = text("part", 40)
    if part is not None:
        if part in PARTS:
            state.part = part
        else:
            notes.append(f"ignored URL parameter part={part!r}")
    for key in ("odd", "shared", "equiv", "final"):
        raw = text(key, 8)
        if raw is not None:
            if raw in ("0", "1"):
                setattr(state, key, raw == "1")
            else:
                notes.append(f"ignored URL parameter {key}={raw!r}")
    return state, notes


def to_query(state: ViewState) -> dict[str, str]:
    """The URL parameters of a state: only the values that differ from the defaults."""
    out = {}
    for f in dataclasses.fields(ViewState):
        value = getattr(state, f.name)
        if value is None or value == getattr(_DEFAULT, f.name):
            continue
        if f.name == "src" and value == "upload":
            continue
        out[f.name] = ("1" if value else "0") if isinstance(value, bool) else f"{value}"
    return out
