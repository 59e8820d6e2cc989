"""The Layer view, Depth profile and Training tabs: partial functions and their defects."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from rflr.core.model import layer_name
from rflr.explorer import viewport
from rflr.explorer.cache import channel_table, curves, defect_history, history, loaded, profile
from rflr.explorer.escape import md
from rflr.explorer.export_menu import Export, export_ui, exports_ui
from rflr.explorer.picks import Pick, columns_for, fmt, pick_header
from rflr.explorer.specs import chart_ui
from rflr.measure.metrics import PARITY_TAU
from rflr.views import catalog, charts, data, layer_charts, sources, training_charts
from rflr.views import state as view_state


def layer_controls(depth: int) -> tuple[int, str, bool, float, bool]:
    """Layer index, part, odd-part toggle, activity threshold, shared y axes: above the tabs,
    inside the page's fragment, so that changing one redraws only the view (a sidebar
    widget reruns and redraws the whole page)."""
    ss = st.session_state
    options = list(range(depth + 1))
    if ss.get("w_layer") not in options:
        ss.w_layer = max(depth - 1, 0)  # the deepest partial layer: the headline
    left, mid, right = st.columns([2, 2, 3])
    k = left.selectbox(
        "Layer", options, key="w_layer", format_func=lambda i: data.layer_label(i, depth)
    )
    part = mid.radio(
        "Partial",
        list(data.PARTS),
        key="w_part",
        format_func=data.PARTS.get,
        disabled=k in (0, depth),
        horizontal=True,
        help="Atoms and output have one part each.",
    )
    thr = right.number_input(
        "Activity threshold",
        min_value=0.0,
        max_value=1.0,
        step=1e-4,
        format="%.1e",
        key="w_thr",
        help="A channel is active when its activity (std over the grid × norm of "
        "its outgoing weights) is at least this fraction of the largest in its layer.",
    )
    left, right = st.columns(2)
    odd = left.toggle("Show the odd part o(x) = (z(x) − z(−x))/2", key="w_odd")
    shared = right.toggle("Share y axes across panels and checkpoints", key="w_shared")
    return k, part, odd, float(thr), shared


def layer_view_ui(
    picks: list[Pick],
    k: int,
    part: str,
    odd: bool,
    thr: float,
    shared: bool,
    cat: catalog.Catalog | None = None,
):
    ss = st.session_state
    # first: it measures the width the columns share (a 1440 px window until measured)
    main_width = viewport.main_width(layer_charts.MAIN_WIDTH)
    st.caption(
        "Colour: the channel (orange RF-LR, blue dense); dark dashed: its mirror z(−x)"
        + ("; grey dotted: the odd part o(x)" if odd else "")
        + "; green: the target f* (output layer). Hover a curve for its channel, x, the value, the "
        "mirror value and D. Channels keep their place at every step: those active at the run's "
        f"final snapshot first, most active first (threshold {thr:.1e}). Parity: even when "
        f"D < {PARITY_TAU:g}, odd when D > {1 - PARITY_TAU:g}, mixed between."
    )
    views = []
    for c in picks:
        if c.error:
            views.append(None)
            continue
        name = layer_name(c.ckpt.config.model, k, part)
        if name is None:
            views.append({"name": None})
            continue
        table = channel_table(c.key, name, thr)
        final = _final_table(c, cat, name, thr)
        ordered = data.stable_order(table, final)
        active = table[table["active"]]
        shown = data.drawn_channels(ordered, final, ss.shown)
        cv = curves(c.key, name, tuple(int(i) for i in shown["channel"]))
        views.append({"name": name, "table": table, "active": active, "shown": shown, "curves": cv})
    drawn = [v["curves"] for v in views if v and v.get("name") and not v["shown"].empty]
    y_domain = layer_charts.y_extent(pd.concat(drawn), odd) if shared and drawn else None
    # as many panels to a row as the measured width holds (a first guess until measured)
    per_row, width = layer_charts.panel_layout(main_width, len(picks), y_domain is not None)
    more, exports = False, []
    for c, v, col in zip(picks, views, columns_for(picks), strict=True):
        with col:
            if not pick_header(c):
                continue
            if v["name"] is None:
                st.info(f"This network has no layer {k} (depth {c.row['depth']}).")
                continue
            t, active, shown = v["table"], v["active"], v["shown"]
            inactive = t[~t["active"]]
            st.markdown(  # one element, not three: each costs the browser a redraw per click
                f"**{md(v['name'])}** — {len(active)} of {len(t)} channels active"
                + (f", {len(shown)} shown" if len(shown) < len(active) else "")
                + (
                    f"  \n:small[:gray[{len(inactive)} inactive channel(s) not drawn; their largest "
                    f"activity is {inactive['relative_activity'].max():.1e} of the layer's "
                    "largest.]]"
                    if len(inactive)
                    else ""
                ),
            )
            if shown.empty:
                st.info("No active channel in this layer.")
            else:
                kind = c.row["kind"]
                args = (v["curves"], shown, odd, y_domain, per_row, v["name"], kind, width)
                # a fixed spec with the data beside it: the browser swaps the data of the
                # chart it already has (see layer_charts.layer_panels_spec)
                spec, frame = layer_charts.layer_panels_for_app(*args)
                rows = -(-len(shown) // per_row)
                st.vega_lite_chart(
                    frame, spec, alt=f"{len(shown)} panels, {per_row} per row, {rows} rows"
                )
                exports.append(
                    Export(
                        lambda args=args: layer_charts.layer_panels(*args),
                        v["curves"],
                        f"{c.label} · {v['name']}",
                        c.rel + "layer",
                    )
                )
            more |= len(shown) < len(active)
    tables = [
        (c, v["name"], v["table"]) for c, v in zip(picks, views, strict=True) if v and v["name"]
    ]
    if tables:
        box = st.expander("All channels of this layer", key="all_channels", on_change="rerun")
        if box.open:  # a closed expander draws nothing: the grids are not free
            for c, name, t in tables:
                box.markdown(f"{c.title} · {name}")
                box.dataframe(t, hide_index=True, column_config=_channel_columns())
    left, right = st.columns([1, 5]) if more else (st.container(), None)
    with left:
        exports_ui(exports)
    if right is not None:
        right.button(f"Show {view_state.SHOWN_STEP} more channels", on_click=_show_more, key="more")


def _final_table(c: Pick, cat: catalog.Catalog | None, name: str, thr: float):
    """The channel table of the run's final snapshot (it fixes the channels' order)."""
    if cat is None:
        return None
    final = cat.final_file(c.row["run"])
    if final is None or final == c.rel:
        return channel_table(c.key, name, thr) if final == c.rel else None
    try:
        key = sources.file_key(sources.inside(c.root, final))
    except (OSError, sources.SourceError):
        return None
    if loaded(*key)[2] is not None:
        return None
    return channel_table(key, name, thr)


def _show_more() -> None:
    st.session_state.shown += view_state.SHOWN_STEP


def _channel_columns() -> dict:
    return {
        "D": st.column_config.NumberColumn("D", format="%.2e"),
        "activity": st.column_config.NumberColumn(format="%.2e"),
        "relative_activity": st.column_config.NumberColumn("relative activity", format="%.1e"),
        "oscillations": st.column_config.NumberColumn(
            help="peaks and valleys (rflr.measure.channels.oscillation_count); -1: not computed"
        ),
    }


def depth_ui(picks: list[Pick], thr: float) -> None:
    st.subheader("Depth profile: output is not enough")
    ok = [c for c in picks if not c.error]
    for c in picks:
        if c.error:
            st.error(f"{md(c.rel)}: {md(c.error)}")
    if not ok:
        return
    equiv = st.toggle(
        "Also measure the equivariance of hidden features (Hungarian matching of units)",
        key="w_equiv",
    )
    profs, outs = [], []
    for c in ok:
        prof, out_d = profile(c.key, thr, equiv)
        profs.append(prof.assign(checkpoint=c.label, kind=c.row["kind"]))
        outs.append({"checkpoint": c.label, "kind": c.row["kind"], "output_defect": out_d})
    prof, outs = pd.concat(profs, ignore_index=True), pd.DataFrame(outs)
    cols = st.columns(len(ok))
    for col, c, o in zip(cols, ok, outs["output_defect"], strict=True):
        head = prof[(prof["checkpoint"] == c.label) & (prof["part"] == "partial")].iloc[-1]
        col.metric(f"{md(c.label)}: output D", fmt(o))
        col.metric("deepest partial layer D (active mean)", fmt(head["defect_mean"]))
    st.caption(
        "Solid: mean D over the active channels of each partial layer (z for RF-LR, u for "
        "dense); dotted: hidden features h"
        + ("; dash-dot: the equivariance defect of h" if equiv else "")
        + ". Horizontal rules: each network's output defect D(y). Two networks can fit an even "
        f"target equally well while their insides differ. D is clipped at {charts.LOG_FLOOR:g} "
        f"for the log scale; activity threshold {thr:.1e}."
    )
    chart = charts.depth_chart(prof, outs)
    st.altair_chart(chart)
    export_ui(chart, prof, "depth profile", "depth")
    st.dataframe(
        prof[
            [
                "checkpoint",
                "layer",
                "defect_mean",
                "defect_median",
                "defect_max",
                "active",
                "channels",
                "even",
                "odd",
                "mixed",
                *(["equivariance"] if equiv else []),
            ]
        ],
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.2e")
            for c in ("defect_mean", "defect_median", "defect_max", "equivariance")
        },
    )
    if equiv:
        st.caption(
            "equivariance: how far the reflection is from permuting the units of h "
            "(rflr.measure.channels.equivariance); a layer can be equivariant while its units are not."
        )


def _labelled_runs(picks: list[Pick], cat: catalog.Catalog) -> list[tuple[Pick, tuple]]:
    """Each usable checkpoint with the file key of its run's final snapshot (which carries
    the whole loss history)."""
    out = []
    for c in picks:
        try:
            last = sources.inside(c.root, cat.final_file(c.row["run"]))
            out.append((c, sources.file_key(last)))
        except (OSError, TypeError, sources.SourceError):
            continue
    return out


def _histories(runs: list[tuple[Pick, tuple]]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The loss histories of the runs in one long table, and A's plateaus and drops."""
    frames, shading = [], None
    for i, (c, key) in enumerate(runs):
        hist, shade = history(key)
        if not hist.empty:
            frames.append(hist.assign(checkpoint=c.label, kind=c.row["kind"]))
        if i == 0:
            shading = shade
    if not frames:
        return pd.DataFrame(columns=["step", "series", "value", "checkpoint", "kind"]), shading
    return pd.concat(frames, ignore_index=True), shading


def training_ui(picks: list[Pick], cat: catalog.Catalog) -> None:
    st.subheader("Training")
    st.caption(
        "Loss history logged by the trainer (from each run's last snapshot), log-log, A and B "
        "on one chart: test MSE as lines, train loss as hollow dots over them (the two often coincide). Shaded: plateaus and the sharp "
        "drops between them in A's test MSE (rflr.measure.plateaus). The black rule marks the selected "
        "step; change it with the step slider above. Step 0 cannot sit on a log axis."
    )
    runs = _labelled_runs(picks, cat)
    hist, shading = _histories(runs)
    if hist.empty:
        st.info("These checkpoints carry no loss history.")
        return
    window = st.select_slider(
        "Smooth the train loss (rolling geometric mean over logged points)",
        options=list(view_state.SMOOTHING),
        key="w_smooth",
        format_func=lambda w: "off" if w == 1 else f"{w} points",
    )
    shown = data.smooth_series(hist, "train loss", window)
    chart = training_charts.loss_chart(shown, shading, int(picks[0].row["step"]))
    st.altair_chart(chart)
    export_ui(chart, hist, f"{picks[0].label} · training", picks[0].rel + "train")
    if shading is not None and not shading.empty:
        st.caption(f"Plateaus and drops of A's test MSE ({md(picks[0].row['run'])}), whole steps:")
        st.dataframe(
            shading,
            hide_index=True,
            column_config={
                "start": st.column_config.NumberColumn(format="%d"),
                "end": st.column_config.NumberColumn(format="%d"),
                "loss": st.column_config.NumberColumn(format="%.2e"),
            },
        )


def symmetry_ui(picks: list[Pick], cat: catalog.Catalog) -> None:
    st.subheader("Symmetry over training: when does the mirror lock in?")
    st.caption(
        "Top: the active partial defect D (mean odd fraction of the active channels) of every "
        "partial layer at every snapshot, log-log; one colour per checkpoint (orange RF-LR, "
        "blue dense), one point shape per layer k. Below, on the same step axis: the test MSE. "
        "Shaded: plateaus and drops of A's test MSE; black rule: the selected step. Read from "
        "the snapshots' headers (rflr.metrics.layers), so at the activity threshold they were "
        "saved with (default 0.001), whatever the sidebar says."
    )
    runs = _labelled_runs(picks, cat)
    frames, snaps = [], ()
    for c, _ in runs:
        keys = _snapshot_keys(c, cat)
        snaps += (keys,)
        d = defect_history(keys)
        if not d.empty:
            frames.append(d.assign(checkpoint=c.label, kind=c.row["kind"]))
    hist, shading = _histories(runs)
    if not frames:
        st.info("No snapshot of these runs stores per-layer defects in its header.")
        return
    defects = pd.concat(frames, ignore_index=True)
    args = (defects, hist, shading, int(picks[0].row["step"]))
    # built once per set of snapshot files (rflr.explorer.specs): the frames are read from them
    chart_ui(training_charts.symmetry_chart, tuple((c.label, k) for c, k in runs) + snaps, *args)
    export_ui(
        lambda: training_charts.symmetry_chart(*args),
        defects,
        f"{picks[0].label} · symmetry over training",
        "symmetry",
    )
    numbers = st.expander("The numbers", key="symmetry_numbers", on_change="rerun")
    if numbers.open:
        numbers.dataframe(
            defects[["checkpoint", "layer", "step", "defect_mean", "active", "channels"]],
            hide_index=True,
            column_config={"defect_mean": st.column_config.NumberColumn(format="%.2e")},
        )


def _snapshot_keys(c: Pick, cat: catalog.Catalog) -> tuple:
    """(path, mtime, size) of every snapshot of the pick's run: the cache key of its
    defect history, which changes when a snapshot is added or replaced."""
    keys = []
    for step in cat.steps.get(c.row["run"], []):
        try:
            keys.append(sources.file_key(sources.inside(c.root, cat.files[c.row["run"]][step])))
        except (OSError, sources.SourceError):
            continue
    return tuple(keys)


# --- the play control --------------------------------------------------------------------------

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
