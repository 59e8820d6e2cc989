"""The page's few style rules: what Streamlit's layout has no parameter for.

Each rule is here because a measurement in Chromium needed it (tests/test_browser_first_screen.py):
the first chart must start within 600 px of the top of a 1440 x 900 window, the step and
Play must stay in view beside the charts, and the tab labels must all be reachable at any
width. Selectors are Streamlit's test ids and the `st-key-<key>` classes of keyed
containers: stable names, not generated ones.
"""

from __future__ import annotations

import streamlit as st

# Only <style>: st.html then puts it in the page's event container, where it takes no room.
PAGE_CSS = """
<style>
/* Streamlit leaves 6rem above the title; its header bar (3.75rem, the menu) needs less. */
[data-testid="stMainBlockContainer"] { padding-top: 3.5rem; }
/* Less room between the page's rows (masthead, strip, controls, tabs) than Streamlit's 1rem. */
[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"] { gap: 0.6rem; }
/* The title line: the name, the question and the glossary on one row (wrapped on a phone). */
.st-key-masthead { flex-wrap: nowrap; }
@media (max-width: 640px) { .st-key-masthead { flex-wrap: wrap; } }
.st-key-masthead h1 { font-size: 1.6rem; padding: 0; white-space: nowrap; }
/* The verdict strip: the answer, not a card; less padding. */
.st-key-verdict { padding: 0.5rem 0.9rem; gap: 0.3rem; }
/* The controls bar stays in view while the tabs scroll under it: the step and Play beside
   the charts (sticky on its wrapper: the element whose parent is the whole page's column),
   just below Streamlit's header bar. A phone's bar wraps to several rows: it scrolls away. */
[data-testid="stLayoutWrapper"]:has(> .st-key-controls) {
  position: sticky; top: 3.75rem; z-index: 99; background: var(--st-background-color, #fff);
  padding-bottom: 0.35rem; border-bottom: 1px solid rgba(49, 51, 63, 0.12);
}
@media (max-width: 640px) {
  [data-testid="stLayoutWrapper"]:has(> .st-key-controls) { position: static; border-bottom: 0; }
}
/* The bar holds two groups, the layer's and the step's; the step's wraps to a row of its
   own (never narrower than a usable slider) when both do not fit. */
[data-testid="stLayoutWrapper"]:has(> .st-key-stepper) {
  flex: 1 1 24rem; min-width: min(24rem, 100%);
}
.st-key-stepper [data-testid="stSlider"] { padding: 0 0.6rem; }
[data-testid="stTabs"] [role="tabpanel"] { padding-top: 0.5rem; }
/* Tab labels wrap onto a second row instead of hiding behind a scroll arrow. */
[data-testid="stTabs"] [role="tablist"] { flex-wrap: wrap; row-gap: 0.25rem; }
[data-testid="stTabs"] [role="tablist"] button[aria-selected="true"] {
  box-shadow: inset 0 -2px 0 var(--st-primary-color, #ff4b4b);
}
[data-testid="stTabs"] [data-baseweb="tab-highlight"] { display: none; }
</style>
"""


def apply() -> None:
    """Add the page's style rules (once per run; they take no room)."""
    st.html(PAGE_CSS)
