"""The width of the page's main area, as the browser measures it.

Streamlit never tells the server how wide the window is, and a faceted Vega-Lite chart has
fixed panel widths: to fill a column with 3-4 panels to a row, the server needs that width.
A tiny component (st.components.v2: a few lines of JavaScript, no markup, no network) reports
it once it is drawn and again when the window is resized; the report reruns the view.
"""

from __future__ import annotations

import streamlit as st

STEP_PX = 10  # widths are reported to 10 px: a resize reruns the view only when it matters

# Watches its own element, which is as wide as the container it is placed in; reports on
# mount and (debounced) on resize, only a width the server does not have yet (`data.known`).
_JS = f"""
export default function (component) {{
  const {{ parentElement, setStateValue, data }} = component;
  const host = parentElement.host || parentElement;
  let last = data && data.known, timer = null;
  const report = () => {{
    const w = Math.round(host.getBoundingClientRect().width / {STEP_PX}) * {STEP_PX};
    if (w > 0 && w !== last) {{ last = w; setStateValue("width", w); }}
  }};
  const watcher = new ResizeObserver(() => {{ clearTimeout(timer); timer = setTimeout(report, 200); }});
  watcher.observe(host);
  report();
  return () => {{ watcher.disconnect(); clearTimeout(timer); }};
}}
"""
_REPORTER = st.components.v2.component("rflr_main_width", js=_JS)
KEY = "main_width"


def main_width(assumed: int) -> int:
    """The main area's width in px: as last reported, else `assumed` (a new page, or
    AppTest, which runs no JavaScript). The browser reports only a width other than the
    one the page was laid out for, so a right guess costs no rerun. Place it at the top of
    the area it measures; it draws nothing."""
    try:  # the last report, kept by Streamlit under the key (a dict-like, not a dict)
        known = valid_width(st.session_state[KEY]["width"])
    except (KeyError, TypeError, AttributeError):
        known = None
    width = known or assumed
    result = _REPORTER(key=KEY, data={"known": width}, height=0, on_width_change=_ignore)
    return valid_width(getattr(result, "width", None)) or width


def valid_width(value: object) -> int | None:
    """A width the browser reported, if it is one: a number of px in [100, 20000] (a client
    can send anything; anything else counts as not measured)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if 100 <= value <= 20_000 else None


def _ignore() -> None:
    """The report's callback: the rerun it causes is all that is needed."""
