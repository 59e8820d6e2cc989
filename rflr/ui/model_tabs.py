"""The Weights, Architecture, Inspector, Checkpoints and Sweep tabs."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from rflr import checkpoint
from rflr.app import catalog, charts, data, sources
from rflr.model import layer_name
from rflr.ui.cache import atoms
from rflr.ui.common import Pick, columns_for, export_ui, fmt, pick_header
from rflr.ui.sweep_tab import sweep_view

MAX_POINTS = 5000  # points per scatter sent to the browser (SVG slows down beyond)


def weights_ui(picks: list[Pick]) -> None:
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
            m1.metric("alive atoms", f"{frames.alive} / {len(frames.atoms)}")
            m2.metric("pairing defect", fmt(frames.pairing_defect))
            m3.metric("outgoing mismatch", fmt(frames.outgoing_mismatch))
            a = charts.atoms_chart(frames.atoms, frames.links)
            st.altair_chart(a)
            export_ui(a, frames.atoms, f"{c.label} · atoms", c.rel + "atoms")
            out = frames.outgoing
            if len(out) > MAX_POINTS:  # a dense layer feeds N x N weights: draw an even sample
                out = out.iloc[:: -(-len(out) // MAX_POINTS)]
                st.caption(f"Drawn: {len(out):,} of {len(frames.outgoing):,} weight pairs.")
            o = charts.outgoing_chart(out)
            st.altair_chart(o)
            export_ui(o, frames.outgoing, f"{c.label} · outgoing", c.rel + "outgoing")


def architecture_ui(picks: list[Pick], k: int, part: str) -> None:
    st.subheader("Architecture")
    for c, col in zip(picks, columns_for(picks), strict=True):
        with col:
            st.markdown(c.title)
            if c.ckpt is None:
                st.error(f"{c.rel}: {c.error}")
                continue
            cfg = c.ckpt.config.model
            st.graphviz_chart(charts.architecture_dot(cfg, layer_name(cfg, k, part)))
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
            h = ckpt.history or {}
            st.caption(f"rflr.history: {len(h.get('step') or [])} logged steps. File: {c.rel}")


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
        st.dataframe(
            catalog.visible(shown),
            hide_index=True,
            column_config={
                c: st.column_config.NumberColumn(format="%.2e")
                for c in ("test_mse", "headline_defect", "output_defect")
            },
        )
    if not errors.empty:
        st.markdown(f"**{len(errors)} file(s) could not be read**")
        st.dataframe(errors, hide_index=True)


def sweep_ui(root: Path) -> None:
    """A sweep's reruns at once (rflr.ui.sweep_tab); a picked run opens in the layer view."""
    st.subheader("Sweep: many controlled reruns")
    found = sorted(
        p for p in root.rglob("summary.csv") if not checkpoint.is_hidden(p.relative_to(root))
    )
    if not found:
        st.info(
            f"No sweep summary (summary.csv) below {root}. `python train.py --preset poster` "
            "writes one; the shipped set has checkpoints/poster/summary.csv."
        )
        return
    path = st.selectbox(
        "Summary", found, format_func=lambda p: sources.relative(root, p), key="w_sweep"
    )
    selection = sweep_view(path)
    if selection is not None and selection.path is not None:
        rel = sources.relative(root.resolve(), selection.path.resolve())
        st.button(
            f"Open {selection.run_id} in the layer view",
            on_click=_open_run,
            args=(rel,),
            key="open",
        )


def _open_run(rel: str) -> None:
    # Same route as a shared URL's a= parameter: checked to stay inside the folder.
    st.session_state.url_files = (rel, None)
    st.session_state.tab = "Layer view"
