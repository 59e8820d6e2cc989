"""Click a chart to go to that step: a chart's PICK selection (rflr.views.training_charts)
moves the step slider to A's snapshot nearest the clicked step."""

from __future__ import annotations

import math

import streamlit as st

from rflr.explorer.url import set_kept
from rflr.views.training_charts import PICK


def jump_kwargs(key: str, steps: list[int]) -> dict:
    """st.vega_lite_chart's arguments that make a click on a chart's point (its PICK
    selection) move the step slider to A's snapshot nearest that step (on the log axis)."""
    return {
        "on_select": lambda: _jump(key, steps),
        "selection_mode": PICK,
        "key": key,
    }


def _jump(key: str, steps: list[int]) -> None:
    points = (st.session_state.get(key) or {}).get("selection", {}).get(PICK) or []
    step = points[0].get("step") if points and isinstance(points[0], dict) else None
    if not isinstance(step, int | float) or not steps or not math.isfinite(step):
        return
    near = min(steps, key=lambda s: (abs(math.log1p(max(s, 0)) - math.log1p(max(step, 0))), s))
    set_kept("w_step", near)
