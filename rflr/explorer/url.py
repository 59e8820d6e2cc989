"""The view in the URL, and widget values kept across reruns.

The URL is read when a session starts and again whenever it changes under the app (Back,
Forward, an edited address); otherwise the widgets own the values, and every widget value is
kept across reruns in which its widget is not drawn (a hidden tab, another source), so no
interaction changes a setting the user did not touch. All three read one table: the fields
of rflr.views.state.ViewState, each with its URL parameter, parser and session-state key.
"""

from __future__ import annotations

import streamlit as st

from rflr.explorer.escape import md
from rflr.views import sources
from rflr.views import state as view_state

# Widget values that must survive reruns in which their widget is not drawn: Streamlit drops
# the state of an undrawn widget, and the widget would come back at its default (threshold 0).
# Every URL-backed setting's key, and the choices the URL holds as files (a=, b=) or not at all.
KEPT = (
    *(s.key for s in view_state.SETTINGS.values() if s.key),
    "w_run_a",
    "w_run_b",
    "w_step",
    "w_speed",
    "f_kind",
    "f_status",
)
_SHADOW = "kept_"


def keep_widgets() -> None:
    """Remember every kept widget's value, and put back the ones Streamlit dropped."""
    ss = st.session_state
    for key in KEPT:
        if key in ss:
            ss[_SHADOW + key] = ss[key]
        elif _SHADOW + key in ss:
            ss[key] = ss[_SHADOW + key]


def set_kept(key: str, value) -> None:
    """Set a kept widget's value from code (the URL, a click in a chart)."""
    ss = st.session_state
    if value is None:
        ss.pop(key, None)
        ss.pop(_SHADOW + key, None)
    else:
        ss[key] = ss[_SHADOW + key] = value


def _url_view() -> dict:
    return {k: v for k, v in st.query_params.to_dict().items() if k in view_state.KEYS}


def restore_from_url() -> None:
    """Apply the URL's view when the session starts, and when the URL changed under the app
    (Back or Forward: the browser's address is not the one the app last wrote)."""
    ss = st.session_state
    params = _url_view()
    if "restored" in ss and params == ss.get("url_written"):
        return
    vs, notes = view_state.from_query(params)
    ss.restored, ss.url_notes, ss.url_files = True, notes, (vs.a, vs.b)
    ss.hub_autoload = vs.src == "hub" and bool(vs.repo)
    if vs.root and sources.served():
        notes.append("ignored URL parameter root: this server only shows its own checkpoints")
        vs.root = None
    if vs.root:
        try:
            sources.open_root(vs.root)
        except sources.SourceError as e:
            notes.append(f"ignored URL parameter root: {e}; showing the default folder")
            vs.root = None
    if vs.a is None:  # the default pair
        set_kept("w_run_a", None)
        set_kept("w_step", None)
    if vs.b is None:
        set_kept("w_run_b", None)
    for name, setting in view_state.SETTINGS.items():
        if setting.key:
            value = getattr(vs, name)
            set_kept(setting.key, setting.blank if value is None else value)


def show_url_notes() -> None:
    """What the URL asked for but could not get: shown once, on the page the URL opened."""
    for note in st.session_state.pop("url_notes", []):
        st.warning(md(note))


def with_settings(vs: view_state.ViewState) -> view_state.ViewState:
    """`vs` with the view settings the widgets hold (kept even while their widgets are not
    drawn), so that every URL the app writes carries them and Back restores them. The
    source's fields (set by the sidebar for the source shown) and the files are left as
    they are."""
    ss = st.session_state
    for name, setting in view_state.SETTINGS.items():
        if setting.key and setting.from_widget:
            value = ss.get(setting.key)
            if value is not None:
                setattr(vs, name, value)
    return vs


def write_url(vs: view_state.ViewState) -> None:
    """Mirror the view into the URL (only our own keys; the tab is bound by Streamlit). Each
    change of the URL is a browser history entry: values are set in one update, so that an
    entry is always a whole view that Back can restore."""
    want = view_state.to_query(vs)
    have = _url_view()
    changed = {k: v for k, v in want.items() if have.get(k) != v}
    if changed:
        st.query_params.update(changed)
    for key in have:
        if key not in want:
            del st.query_params[key]
    st.session_state.url_written = want
