"""The Layer view tab: every active channel of one layer, z(x) beside its mirror z(-x), A and
B side by side; and the routes other tabs take to open a checkpoint or a layer in it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import streamlit as st

from rflr.core.model import layer_name
from rflr.explorer import viewport
from rflr.explorer.cache import channel_table, curves, frozen, loaded, plane, slice_curves
from rflr.explorer.escape import md
from rflr.explorer.export_menu import Export, exports_ui
from rflr.explorer.picks import Pick, TabInput, columns_for, pick_header
from rflr.explorer.url import set_kept
from rflr.measure.metrics import PARITY_TAU
from rflr.views import budget, catalog, data, layer_charts, plane_charts, slices, sources, style
from rflr.views import state as view_state
from rflr.views.names import tensor_label

NAME = "Layer view"


@dataclass(frozen=True)
class _Layer:
    """One checkpoint's layer as the view draws it."""

    name: str
    table: pd.DataFrame  # every channel (rflr.views.data.channel_frame)
    active: pd.DataFrame  # the active ones
    shown: pd.DataFrame  # the channels drawn, in their stable order
    curves: pd.DataFrame  # the drawn channels' z(x) and z(-x) (along x₁ on a slice, d >= 2)
    input_dim: int  # d: for d >= 2 the curves are the slice x₂ = … = x_d = 0
    thr: float  # the activity threshold `active` was read with
    y_ranges: tuple  # the curves' (lowest, highest) value without, then with the odd part


def draw(t: TabInput) -> None:
    """The caption, one column of panels per checkpoint, every channel's numbers, and the
    Export and "show more" buttons."""
    c = t.layer
    # first: it measures the width the columns share (a 1440 px window until measured)
    main_width = viewport.main_width(layer_charts.MAIN_WIDTH)
    st.caption(
        "Colour: the channel (orange RF-LR, blue dense); dark dashed: its mirror z(−x)"
        + ("; grey dotted: the odd part o(x)" if c.odd else "")
        + "; green: the target f* (output layer). Hover a curve for its channel, x, the value, the "
        "mirror value and D; every panel marks that x. Ctrl + scroll (or pinch) zooms x, a drag "
        "pans, a double-click resets. Channels keep their place at every step: those active at "
        f"the run's final snapshot first, most active first (threshold {c.thr:.1e}). Parity: "
        f"even when D < {PARITY_TAU:g}, odd when D > {1 - PARITY_TAU:g}, mixed between."
    )
    dims = sorted({p.ckpt.config.model.input_dim for p in t.picks if p.ckpt is not None})
    for d in (d for d in dims if d > 1):  # which slice the panels show, said once per d
        st.caption(slices.slice_caption(d))
    heat = 2 in dims and st.toggle(
        "Heatmaps over the plane: z(x₁, x₂) beside its mirror z(−x₁, x₂) (d = 2)", key="w_plane"
    )
    # None: the checkpoint could not be read (its header says so), or has no layer k
    views = [None if p.error else _layer(p, t.cat, c.k, c.part, c.thr) for p in t.picks]
    drawn = [v.y_ranges[c.odd] for v in views if v and not v.shown.empty]
    y_domain = layer_charts.padded_extent(drawn) if c.shared and drawn else None
    more, exports = False, []
    for p, v, col in zip(t.picks, views, columns_for(t.picks), strict=True):
        with col:
            if not pick_header(p):
                continue
            if v is None:
                st.info(f"This network has no layer {c.k} (depth {p.row['depth']}).")
                continue
            # as many panels to a row as the measured width holds (a first guess until
            # measured), and no more than the column has channels: few channels, wide panels
            per_row, width = layer_charts.panel_layout(main_width, len(t.picks), len(v.shown))
            if heat and v.input_dim == 2:
                layout = plane_charts.plane_layout(main_width, len(t.picks), len(v.shown))
                export = _plane_ui(p, v, *layout)
            else:
                export = _column_ui(p, v, c.odd, y_domain, per_row, width)
            exports += [export] if export else []
            more |= len(v.shown) < len(v.active)
    _all_channels_ui([(p, v) for p, v in zip(t.picks, views, strict=True) if v])
    with st.container(horizontal=True):  # each button as wide as its label: never "Exp…"
        exports_ui(exports)
        if more:
            st.button(
                f"Show {view_state.SHOWN_STEP} more channels", on_click=_show_more, key="more"
            )


def _layer(c: Pick, cat: catalog.Catalog, k: int, part: str, thr: float) -> _Layer | None:
    """The channels of layer k (part) of a loaded checkpoint, in the order of the run's final
    snapshot, and the curves of those shown; None if the network has no such layer. A d = 1
    view is kept per content (cache.frozen; ~10 ms of a change's server time): its frames
    are shared, and nothing downstream changes them."""
    name = layer_name(c.ckpt.config.model, k, part)
    if name is None:
        return None
    final, count = _final_key(c, cat), st.session_state.shown
    if c.ckpt.config.model.input_dim > 1:  # not kept: its slice may say why it is not drawn
        return _layer_view(c, name, thr, final, count)
    key = ("layer", c.key, name, thr, final, count)
    return frozen(key, lambda: _layer_view(c, name, thr, final, count))


def _layer_view(c: Pick, name: str, thr: float, final: tuple | None, count: int) -> _Layer:
    table = channel_table(c.key, name, thr)
    final_table = _final_table(final, name, thr)
    ordered = data.stable_order(table, final_table)
    shown = data.drawn_channels(ordered, final_table, count)
    ids, d = tuple(int(i) for i in shown["channel"]), c.ckpt.config.model.input_dim
    # d >= 2: the metrics' grid is a random sample, no curve; draw the slice through 0
    cv = curves(c.key, name, ids) if d == 1 else _slice(c, name, ids)
    ranges = tuple(layer_charts.y_range(cv, odd) for odd in (False, True))
    return _Layer(name, table, table[table["active"]], shown, cv, d, thr, ranges)


def _slice(c: Pick, name: str, ids: tuple[int, ...]) -> pd.DataFrame:
    """The slice curves of a d >= 2 checkpoint, or none (said why) over this explorer's budget."""
    try:
        return slice_curves(c.key, name, ids)
    except budget.BudgetError as e:
        st.info(md(f"The slice through the origin is not drawn: {e}."))
        return data.curve_frame(loaded(*c.key)[1], name, [])


def _column_ui(
    c: Pick, v: _Layer, odd: bool, y_domain: list[float] | None, per_row: int, width: int
) -> Export | None:
    """One checkpoint's column below its header: the layer's line, then its panels; returns
    the panels' Export (None when no channel is drawn)."""
    inactive = v.table[~v.table["active"]]
    st.markdown(  # one element, not three: each costs the browser a redraw per click
        f"{tensor_label(v.name, c.row['depth'])} · **{md(v.name)}** — {len(v.active)} of "
        f"{len(v.table)} channels active"
        + (f", {len(v.shown)} shown" if len(v.shown) < len(v.active) else "")
        + (
            f"  \n:small[:gray[{len(inactive)} inactive channel(s) not drawn; their largest "
            f"activity is {inactive['relative_activity'].max():.1e} of the layer's "
            "largest.]]"
            if len(inactive)
            else ""
        ),
    )
    if v.shown.empty:
        st.info("No active channel in this layer.")
        return None
    x_name = slices.axis_name(v.input_dim)
    args = (v.curves, v.shown, odd, y_domain, per_row, v.name, c.row["kind"], width, x_name)
    # a fixed spec with the data beside it: the browser swaps the data of the chart it
    # already has (see layer_charts.layer_panels_spec)
    spec, table = _panels(c, v, args)
    rows = -(-len(v.shown) // per_row)
    st.vega_lite_chart(table, spec, alt=f"{len(v.shown)} panels, {per_row} per row, {rows} rows")
    return Export(
        lambda args=args: layer_charts.layer_panels(*args),
        v.curves,
        f"{c.label} · {v.name}",
        c.rel + "layer",
    )


def _panels(c: Pick, v: _Layer, args: tuple) -> tuple[dict, pa.Table]:
    """layer_charts.layer_panels_for_app(*args) with its table as Arrow, kept per content: a
    page that comes back to a layer and step it has drawn (Play, stepping back and forth, a
    second visitor) sends the table it sent before. Building it and converting it to Arrow
    were ~23 ms of a change's ~60 ms on the server (py-spy, 2-core machine). The key holds
    all the arguments depend on: the file, the layer, the channels drawn in their order, the
    threshold (titles say "inactive now"), and the arguments that are not frames."""
    ids = tuple(int(i) for i in v.shown["channel"])
    domain = None if args[3] is None else tuple(args[3])
    key = ("panels", c.key, v.name, ids, v.thr, args[2], domain, *args[4:])

    def make() -> tuple[str, pa.Table]:
        spec, frame = layer_charts.layer_panels_for_app(*args)
        return json.dumps(spec), pa.Table.from_pandas(frame)  # as st.vega_lite_chart converts it

    spec, table = frozen(key, make)
    return json.loads(spec), table


def _plane_ui(c: Pick, v: _Layer, per_row: int, width: int) -> Export | None:
    """A d = 2 checkpoint's column as heatmaps over the plane, each channel beside its
    mirror; returns their Export (None when nothing is drawn)."""
    st.markdown(f"**{md(v.name)}** — {len(v.active)} of {len(v.table)} channels active")
    if v.shown.empty:
        st.info("No active channel in this layer.")
        return None
    ids = tuple(int(i) for i in v.shown["channel"])
    try:
        cells = plane(c.key, v.name, ids)
    except budget.BudgetError as e:
        st.info(md(f"The heatmaps are not drawn: {e}."))
        return None
    side, symbol = slices.PLANE_SIDE, style.symbol(v.name)
    args = (cells, v.shown, per_row, width, symbol)
    spec = json.loads(plane_charts.plane_panels_spec(per_row, width, symbol))
    st.vega_lite_chart(
        plane_charts.plane_table(cells, v.shown, symbol),
        spec,
        alt=f"{len(ids)} channels and their mirrors, {side}×{side} heatmaps, {per_row} per row",
    )
    return Export(
        lambda args=args: plane_charts.plane_panels(*args),
        cells,
        f"{c.label} · {v.name} · plane",
        c.rel + "plane",
    )


def _all_channels_ui(layers: list[tuple[Pick, _Layer]]) -> None:
    """Every channel's numbers, A's and B's, in an expander (closed: drawn only on a click)."""
    if not layers:
        return
    box = st.expander("All channels of this layer", key="all_channels", on_change="rerun")
    if box.open:  # a closed expander draws nothing: the grids are not free
        for c, v in layers:
            box.markdown(f"{c.title} · {v.name}")
            box.dataframe(v.table, hide_index=True, column_config=_channel_columns())


def _final_key(c: Pick, cat: catalog.Catalog) -> tuple | None:
    """The file key of the run's final snapshot (it fixes the channels' order): c's own when
    c is it; None when the run has none, or it cannot be read."""
    final = cat.final_file(c.row["run"])
    if final is None or final == c.rel:
        return c.key if final == c.rel else None
    try:
        key = sources.file_key(sources.inside(c.root, final))
    except (OSError, sources.SourceError):
        return None
    return key if loaded(*key)[2] is None else None


def _final_table(key: tuple | None, name: str, thr: float) -> pd.DataFrame | None:
    """The channel table of the final snapshot `key` (_final_key), or None."""
    return None if key is None else channel_table(key, name, thr)


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


# --- routes into the Layer view (a click elsewhere on the page) --------------------------------


def open_checkpoint(rel: str) -> None:
    """Open a file as A: the same route as a shared URL's a= parameter, checked to stay
    inside the folder."""
    st.session_state.url_files = (rel, None)
    st.session_state.tab = NAME


def open_layer(k: int, part: str) -> None:
    """Show layer k (and part) of the chosen checkpoints."""
    set_kept("w_layer", k)
    set_kept("w_part", part)
    st.session_state.tab = NAME
