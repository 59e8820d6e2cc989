"""The Play control: steps A (and B with it) through the run's snapshots, one every
PLAY_SECONDS, by moving the step slider."""

from __future__ import annotations

import time

import streamlit as st

PLAY_SECONDS = 1.5  # per snapshot: time for both columns to draw on a slow machine


def play_step_before_slider(steps: list[int]) -> None:
    """Apply the step the play control asked for (a widget's value can only be set before
    the widget is drawn)."""
    ss = st.session_state
    nxt = ss.pop("play_next", None)
    if nxt in steps:
        ss.w_step = nxt


def play_ui(steps: list[int]) -> None:
    """A Play / Stop button that steps A (and B with it) through the snapshots."""
    ss = st.session_state
    if len(steps) < 2:
        return
    if ss.get("playing"):
        st.button("■ Stop", key="play", on_click=_stop_playing)
        ss.play_steps, ss.play_at = steps, time.monotonic()
        _play_tick()
    else:
        st.button(
            "▶ Play the snapshots",
            key="play",
            on_click=_start_playing,
            args=(steps,),
            help=f"Steps through every snapshot of A, one every {PLAY_SECONDS:g} s.",
        )


def _start_playing(steps: list[int]) -> None:
    ss = st.session_state
    ss.playing = True
    if ss.get("w_step") == steps[-1]:  # at the end: start again from the first snapshot
        ss.play_next = steps[0]


def _stop_playing() -> None:
    st.session_state.playing = False


@st.fragment(run_every=PLAY_SECONDS)
def _play_tick() -> None:
    """Runs with the page, then every PLAY_SECONDS on its own: each timed run moves the
    step on by one snapshot and reruns the page; at the last snapshot, playing stops."""
    ss = st.session_state
    if not ss.get("playing") or time.monotonic() - ss.get("play_at", 0.0) < 0.8 * PLAY_SECONDS:
        return
    steps, now = ss.get("play_steps", []), ss.get("w_step")
    later = [s for s in steps if now is None or s > now]
    if not later:
        ss.playing = False
    else:
        ss.play_next = later[0]
        if len(later) == 1:
            ss.playing = False
    st.rerun()
