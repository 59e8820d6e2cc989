"""The view state and its URL form: everything needed to reopen the same view.

    src=folder|hub   root=<folder>   repo=<USER/NAME>   rev=<revision>
    a=<file of checkpoint A, relative to the root>   b=<file of B, or "none">
    layer=<k>   part=partial|u|h   odd=1   thr=<activity threshold>   shared=0   shown=<n>
    sweep=<summary.csv, relative to the root>   srun=<run id picked in the sweep>
    equiv=1 (depth profile's equivariance)   final=1 (Checkpoints tab: final steps only)
    smooth=<window> (Training tab: train-loss smoothing, one of SMOOTHING)
    runs=<run,run,...> (runs overlaid on the Depth and Symmetry tabs: rflr.views.overlay)
    contains=<text> (Checkpoints tab: runs whose id contains it)

ViewState is the one table of URL-backed settings: each field is a row that says its URL
parameter (the field's name), its default, how its URL text is parsed and checked, and the
session-state key of the widget that holds it (rflr.explorer.url restores, keeps and writes
every row from this table alone). A new setting is one field here.

Only values that differ from the defaults are written. Parsing never raises: a value that
cannot be read is dropped with a note, and the view falls back to its default for it.
Whether a file path is acceptable (inside the root) is decided later, by rflr.views.sources.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from rflr.measure.metrics import ACTIVITY_THRESHOLD
from rflr.views.data import PARTS

SOURCES = ("folder", "upload", "hub", "trained")  # trained: the session's Train tab runs
URL_SOURCES = ("folder", "hub")  # an upload or a session's own runs cannot come from a URL
SMOOTHING = (1, 3, 5, 9, 17)  # train-loss smoothing windows the Training tab offers
SHOWN_STEP = 8  # channels per checkpoint shown at first, and added by "show more": each
# panel costs the browser ~10 ms per redraw on a 2-core machine (benchmarks/browser_latency.py)


@dataclass(frozen=True)
class Setting:
    """How one ViewState field travels between the URL and the page."""

    key: str | None  # session-state key that holds it (a widget's); None: the page derives it
    parse: Callable[[str], Any]  # URL text -> value; a ValueError drops it with a note
    limit: int  # the longest URL text read
    blank: Any  # what the widget holds for None (a text box holds "")
    from_widget: bool  # written to the URL from its key; False: the source picker sets it


def _row(
    default: Any,
    key: str | None,
    parse: Callable[[str], Any],
    limit: int = 1024,
    blank: Any = None,
    from_widget: bool = True,
) -> Any:
    return dataclasses.field(
        default=default, metadata={"setting": Setting(key, parse, limit, blank, from_widget)}
    )


def _text(raw: str) -> str:
    return raw


def _choice(options: Collection[str]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in options:
            raise ValueError(raw)
        return raw

    return parse


def _flag(raw: str) -> bool:
    if raw not in ("0", "1"):
        raise ValueError(raw)
    return raw == "1"


def _number(cast: type, ok: Callable[[Any], bool]) -> Callable[[str], Any]:
    def parse(raw: str) -> Any:
        value = cast(raw)
        if not ok(value):
            raise ValueError(raw)
        return value

    return parse


@dataclass
class ViewState:
    # field: type = _row(default, session-state key, parser, longest URL text, ...)
    src: str = _row("folder", "w_src", _choice(URL_SOURCES), from_widget=False)
    root: str | None = _row(None, "w_root", _text, blank="", from_widget=False)  # None: default
    repo: str | None = _row(None, "w_repo", _text, 200, blank="", from_widget=False)
    rev: str | None = _row(None, "w_rev", _text, 200, blank="", from_widget=False)
    a: str | None = _row(None, None, _text)  # None: the default pair
    b: str | None = _row(None, None, _text)  # None: A's control; "none": no second checkpoint
    layer: int | None = _row(None, "w_layer", _number(int, lambda v: 0 <= v <= 1000), 40)
    part: str = _row("partial", "w_part", _choice(PARTS), 40)
    odd: bool = _row(False, "w_odd", _flag, 8)
    thr: float = _row(
        ACTIVITY_THRESHOLD, "w_thr", _number(float, lambda v: math.isfinite(v) and 0 <= v <= 1), 40
    )
    shared: bool = _row(True, "w_shared", _flag, 8)
    shown: int = _row(SHOWN_STEP, "shown", _number(int, lambda v: 1 <= v <= 100_000), 40)
    sweep: str | None = _row(None, "w_sweep", _text)  # None: the first summary.csv below root
    srun: str | None = _row(None, "sweep_run", _text, 200)  # None: the best run with its file
    equiv: bool = _row(False, "w_equiv", _flag, 8)
    final: bool = _row(False, "f_final", _flag, 8)
    smooth: int = _row(1, "w_smooth", _number(int, lambda v: v in SMOOTHING), 40)  # 1: off
    contains: str = _row("", "f_text", _text, 200, blank="")  # "": every run
    runs: str = _row("", "overlay_runs", _text, 20_000, blank="")  # "": no overlay


# The table's rows by URL parameter (= field name), in the order the URL writes them.
SETTINGS: dict[str, Setting] = {
    f.name: f.metadata["setting"] for f in dataclasses.fields(ViewState)
}
KEYS = tuple(SETTINGS)  # the URL parameters we own
_DEFAULT = ViewState()


def from_query(params: Mapping[str, str | list[str]]) -> tuple[ViewState, list[str]]:
    """The state a URL asks for, and notes about the parameters that were ignored."""
    state, notes = ViewState(), []
    for name, setting in SETTINGS.items():
        raw = params.get(name)
        if isinstance(raw, list):
            raw = raw[-1] if raw else None
        if raw is None or raw == "":
            continue
        if len(raw) > setting.limit or "\x00" in raw:
            notes.append(f"ignored URL parameter {name}: not a usable value")
            continue
        try:
            setattr(state, name, setting.parse(raw))
        except ValueError:
            notes.append(f"ignored URL parameter {name}={raw!r}")
    return state, notes


def to_query(state: ViewState) -> dict[str, str]:
    """The URL parameters of a state: only the values that differ from the defaults, and
    only those a URL can bring back (an uploaded file's source cannot)."""
    out = {}
    for name, setting in SETTINGS.items():
        value = getattr(state, name)
        if value is None or value == getattr(_DEFAULT, name):
            continue
        text = ("1" if value else "0") if isinstance(value, bool) else f"{value}"
        try:
            setting.parse(text)
        except ValueError:
            continue
        out[name] = text
    return out
