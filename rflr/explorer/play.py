"""The step controls: the step slider, ◀ and ▶ (one snapshot back or on), Play / Stop and its
speed. Play steps A (and B with it) through the run's snapshots by moving the slider, one
every PLAY_SECONDS / speed."""

from __future__ import annotations

import time

import streamlit as st

from rflr.explorer.escape import md

PLAY_SECONDS = 1.5  # per snapshot at 1x: time for both columns to draw on a slow machine
SPEEDS = (0.5, 1.0, 2.0, 4.0)  # Play's speed choices; a tick never outruns the drawing (_tick)


def play_step_before_slider(steps: list[int]) -> None:
    """Apply the step the play control asked for (a widget's value can only be set before
    the widget is drawn)."""
    ss = st.session_state
    nxt = ss.pop("play_next", None)
    if nxt in steps:
        ss.w_step = nxt


def step_ui(run_a: str, steps: list[int]) -> int:
    """The step of A: a slider with ◀ ▶, Play and its speed beside it; a run with one
    snapshot gets a line instead (a slider of one value is a lone dot). Returns the step."""
    ss = st.session_state
    with st.container(horizontal=True, vertical_alignment="bottom", key="stepper"):
        if len(steps) < 2:
            ss.playing = False
            st.markdown(f"one snapshot: step {steps[0]}")
            return steps[0]
        step = st.select_slider(
            "Step of A",
            steps,
            key="w_step",
            help=md(
                f"Training step of A ({run_a}), one of its snapshots; B shows its snapshot "
                "at this step or the last one before it."
            ),
        )
        at = steps.index(step)
        st.button(
            "◀",
            key="step_back",
            on_click=_go,
            args=(steps[at - 1],),
            disabled=at == 0,
            help="The previous snapshot",
        )
        play_ui(steps)
        st.button(
            "▶",
            key="step_on",
            on_click=_go,
            args=(steps[min(at + 1, len(steps) - 1)],),
            disabled=at == len(steps) - 1,
            help="The next snapshot",
        )
        if ss.get("w_speed") not in SPEEDS:
            ss.w_speed = 1.0
        st.selectbox(
            "Speed",
            SPEEDS,
            key="w_speed",
            format_func=lambda s: f"{s:g}×",
            width=80,
        )
    return step


def play_ui(steps: list[int]) -> None:
    """A Play / Stop button that steps A (and B with it) through the snapshots."""
    ss = st.session_state
    if ss.get("playing"):
        st.button("■ Stop", key="play", on_click=_stop_playing)
        ss.play_steps, ss.play_at = steps, time.monotonic()
        seconds = PLAY_SECONDS / float(ss.get("w_speed") or 1.0)
        st.fragment(run_every=seconds)(_play_tick)(seconds)
    else:
        st.button(
            "▶ Play",
            key="play",
            on_click=_start_playing,
            args=(steps,),
            help=f"Steps through every snapshot of A: at speed 1×, one every {PLAY_SECONDS:g} s.",
        )


def _go(step: int) -> None:
    """◀ or ▶: the slider's value is set before the slider is drawn again."""
    st.session_state.w_step = step


def _start_playing(steps: list[int]) -> None:
    ss = st.session_state
    ss.playing = True
    if ss.get("w_step") == steps[-1]:  # at the end: start again from the first snapshot
        ss.play_next = steps[0]


def _stop_playing() -> None:
    st.session_state.playing = False


def _play_tick(seconds: float) -> None:
    """A fragment made with run_every=`seconds` (the speed: the browser reruns it at that
    interval, and a new interval replaces the old one). It runs with the page, then on its
    own: each timed run moves the step on by one snapshot and reruns the page, unless the
    page has not been drawn for most of an interval yet (a slow machine is not outrun); at
    the last snapshot, playing stops."""
    ss = st.session_state
    if not ss.get("playing") or time.monotonic() - ss.get("play_at", 0.0) < 0.8 * seconds:
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
