"""The Weights, Architecture, Inspector and Checkpoints tabs (the Sweep tab: rflr.explorer.sweep_tab)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rflr.core.model import layer_name
from rflr.explorer.cache import atoms, weight_symmetry
from rflr.explorer.escape import md
from rflr.explorer.export_menu import export_ui
from rflr.explorer.picks import Pick, columns_for, fmt, pick_header
from rflr.explorer.specs import chart_ui
from rflr.explorer.sweep_tab import open_in_layer_view
from rflr.explorer.url import set_kept
from rflr.views import catalog, charts, data

MAX_POINTS = 5000  # points per scatter sent to the browser (SVG slows down beyond)
HELP = {
    "atoms": "Atoms: the first layer's units h₁ = act(w·x + b), one per (w, b); an atom is "
    "alive when it is active on the grid.",
    "pairing": "Pairing defect: how far the atoms are from coming in mirror pairs (w, b) and "
    "(−w, b), after the best one-to-one matching (Hungarian); 0 when every atom has its "
    "mirror.",
    "mismatch": "Outgoing mismatch: how differently matched mirror atoms feed the next layer "
    "(relative distance of their outgoing weights); 0 when each pair acts alike.",
}


def weights_ui(picks: list[Pick]) -> None:
    layer_symmetry_ui(picks)
    st.subheader("Weights: mirror-paired atoms")
    st.caption(
        "Each atom (first-layer unit) is a point (w, b); its mirror is (−w, b). Lines join each "
        "alive atom to the atom matched to its mirror (Hungarian matching). Right: the outgoing "
        "weights of matched atoms against each other; mirror pairs that act alike sit on the "
        "diagonal."
    )
    for c, col in zip(picks, columns_for(picks), strict=True):
        with col:
            if not pick_header(c):
                continue
            frames = atoms(c.key)
            m1, m2, m3 = st.columns(3)
            m1.metric("alive atoms", f"{frames.alive} / {len(frames.atoms)}", help=HELP["atoms"])
            m2.metric("pairing defect", fmt(frames.pairing_defect), help=HELP["pairing"])
            m3.metric("outgoing mismatch", fmt(frames.outgoing_mismatch), help=HELP["mismatch"])
            # Charts built once per checkpoint (rflr.explorer.specs); an export builds its own.
            args = (frames.atoms, frames.links, c.row["kind"])
            _chart_with_export(charts.atoms_chart, args, c, frames.atoms, "atoms")
            out = frames.outgoing
            if len(out) > MAX_POINTS:  # a dense layer feeds N x N weights: draw an even sample
                out = out.iloc[:: -(-len(out) // MAX_POINTS)]
                st.caption(f"Drawn: {len(out):,} of {len(frames.outgoing):,} weight pairs.")
            _chart_with_export(
                charts.outgoing_chart, (out, c.row["kind"]), c, frames.outgoing, "outgoing"
            )


def _chart_with_export(build, args: tuple, c: Pick, frame, what: str) -> None:
    """build(*args), built once per checkpoint (rflr.explorer.specs), and its Export menu (which
    builds its own chart, on a click)."""
    chart_ui(build, c.key, *args)
    export_ui(lambda: build(*args), frame, f"{c.label} · {what}", c.rel + what)


def layer_symmetry_ui(picks: list[Pick]) -> None:
    """Weight symmetry of every layer of units, each defect beside its random-init level."""
    st.subheader("Weight symmetry of every layer")
    st.caption(
        "Atoms are the first layer's units; units of a later layer pair under the reflection "
        "acting on their input (each input channel by its parity; mixed and inactive ones are "
        "left out). **Pairing defect**: how far the units are from coming in mirror pairs "
        "(0: exact pairs). **Outgoing mismatch**: how far matched units are from feeding the "
        "next layer alike (anti-alike for its odd channels). Filled: the trained network; "
        "grey ring: the same measure on its seed's random init. A defect no lower than its "
        "init level is no better than chance (docs/measurements.md)."
    )
    frames = [
        weight_symmetry(c.key).assign(checkpoint=c.label, kind=c.row["kind"])
        for c in picks
        if not c.error
    ]
    if not frames:
        return
    frame = pd.concat(frames, ignore_index=True)
    # built once per pair of checkpoints (rflr.explorer.specs): their keys and labels name the frame
    chart_ui(charts.weight_symmetry_chart, tuple((c.key, c.label) for c in picks), frame)
    trivial = frame[frame["trivial"]]
    if len(trivial):
        st.caption(
            "Not drawn (trivial: no kept input channel is odd, so the map is the identity and "
            "both defects are 0 by construction): "
            + ", ".join(
                md(f"{r.checkpoint.split(' · ')[0]} {r.layer}") for r in trivial.itertuples()
            )
        )
    export_ui(
        lambda: charts.weight_symmetry_chart(frame),
        frame,
        f"{picks[0].label} · weight symmetry",
        "wsym",
    )
    box = st.expander("The numbers", key="wsym_numbers", on_change="rerun")
    if box.open:
        box.dataframe(
            frame.drop(columns=["kind"]),
            hide_index=True,
            column_config={
                c: st.column_config.NumberColumn(format="%.2e")
                for c in data.WEIGHT_COLUMNS
                if "defect" in c or "mismatch" in c
            },
        )


def architecture_ui(picks: list[Pick], k: int, part: str) -> None:
    st.subheader("Architecture")
    for c, col in zip(picks, columns_for(picks), strict=True):
        with col:
            st.markdown(c.title)
            if c.ckpt is None:
                st.error(f"{md(c.rel)}: {md(c.error)}")
                continue
            cfg = c.ckpt.config.model
            st.graphviz_chart(charts.architecture_dot(cfg, layer_name(cfg, k, part)))
            nodes = _nodes(cfg.depth)
            st.pills(
                "Open a node in the layer view",
                list(nodes),
                format_func=lambda n, cfg=cfg, nodes=nodes: layer_name(cfg, *nodes[n]) or n,
                key=f"arch_{c.rel}",
                on_change=_open_node,
                args=(f"arch_{c.rel}", nodes),
                help="The drawing itself cannot be clicked (Graphviz); these are its nodes.",
            )
            n_params = sum(int(t.numel()) for t in c.ckpt.params.values())
            st.caption(
                f"{n_params:,} parameters; red: the layer shown in the layer view. "
                + (
                    f"Layers of width {cfg.width} talk through rank-{cfg.rank} bottlenecks z: "
                    "the partial functions."
                    if cfg.kind == "rflr"
                    else f"Layers of width {cfg.width} joined by full {cfg.width}×{cfg.width} "
                    "matrices; the partial functions are the pre-activations u."
                )
            )


def _nodes(depth: int) -> dict[str, tuple[int, str]]:
    """The drawing's nodes a layer view can show: name -> (layer index, part)."""
    out = {"0": (0, "partial")}
    for k in range(1, depth):
        out[f"{k}"] = (k, "partial")
        out[f"{k}h"] = (k, "h")
    out[f"{depth}"] = (depth, "partial")
    return out


def _open_node(key: str, nodes: dict[str, tuple[int, str]]) -> None:
    """A node pill: show that layer (and part) on the Layer view tab."""
    ss = st.session_state
    picked = ss.get(key)
    if picked in nodes:
        k, part = nodes[picked]
        set_kept("w_layer", k)
        set_kept("w_part", part)
        ss.tab = "Layer view"
    ss[key] = None  # a one-shot choice: the pill does not stay selected


def inspector_ui(picks: list[Pick]) -> None:
    st.subheader("Inspector")
    for c, col in zip(picks, columns_for(picks), strict=True):
        with col:
            if not pick_header(c):
                continue
            ckpt = c.ckpt
            st.dataframe(data.tensor_frame(ckpt), hide_index=True)
            st.markdown("**rflr.config**")
            st.json(ckpt.config.to_dict(), expanded=1)
            st.markdown("**rflr.metrics**")
            st.json(ckpt.metrics.to_dict(), expanded=1)
            steps = getattr(ckpt.history, "step", None)  # a History record (rflr.files.header)
            n = len(steps) if isinstance(steps, list | tuple) else 0
            st.caption(f"rflr.history: {n} logged steps. File: {md(c.rel)}")


def checkpoints_ui(cat: catalog.Catalog) -> None:
    st.subheader("Checkpoints")
    table, errors = cat.table, cat.errors
    if not table.empty:
        f1, f2, f3, f4 = st.columns([1, 1, 2, 1])
        kinds = f1.multiselect("Kind", sorted(table["kind"].unique()), key="f_kind")
        statuses = f2.multiselect("Status", sorted(table["status"].unique()), key="f_status")
        text = f3.text_input("Run contains", key="f_text")
        final = f4.toggle("Final steps only", key="f_final")
        shown = catalog.filter_table(table, kinds, statuses, text, final)
        st.caption(f"{len(shown)} of {len(table)} checkpoints (read from headers only).")
        st.session_state.ckpt_files = list(shown["file"])  # what a click on a row opens
        st.dataframe(
            catalog.visible(shown),
            hide_index=True,
            column_config={
                c: st.column_config.NumberColumn(format="%.2e")
                for c in ("test_mse", "headline_defect", "output_defect")
            },
            on_select=_open_row,
            selection_mode="single-row",
            key="ckpt_table",
        )
        st.caption("Select a row to open that checkpoint as A in the layer view.")
    if not errors.empty:
        st.markdown(f"**{len(errors)} file(s) could not be read**")
        st.dataframe(errors, hide_index=True)


def _open_row() -> None:
    ss = st.session_state
    rows = (ss.get("ckpt_table") or {}).get("selection", {}).get("rows") or []
    files = ss.get("ckpt_files", [])
    if rows and 0 <= rows[0] < len(files):
        open_in_layer_view(files[rows[0]])
