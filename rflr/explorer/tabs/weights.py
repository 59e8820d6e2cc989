"""The Weights tab: the weight symmetry of every layer of units beside its random-init level,
and the first layer's atoms with their mirror pairs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rflr.explorer import viewport
from rflr.explorer.cache import atoms, weight_symmetry
from rflr.explorer.escape import md
from rflr.explorer.export_menu import export_ui
from rflr.explorer.picks import Pick, TabInput, columns_for, fmt, pick_header
from rflr.explorer.specs import chart_ui
from rflr.views import data, layer_charts, weight_charts

NAME = "Weights"
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


def draw(t: TabInput) -> None:
    """Every layer's weight symmetry, then the first layer's atoms and their mirror pairs."""
    picks = t.picks
    layer_symmetry_ui(picks)
    st.subheader("Weights: mirror-paired atoms")
    st.caption(
        "Each atom (first-layer unit) is a point (w, b), w its input weight on x₁ (the "
        "coordinate the mirror negates); its mirror is (−w, b). Lines join each "
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
            args = (frames.atoms, frames.links, c.row["kind"], c.ckpt.config.model.input_dim)
            _chart_with_export(weight_charts.atoms_chart, args, c, frames.atoms, "atoms")
            out = frames.outgoing
            if len(out) > MAX_POINTS:  # a dense layer feeds N x N weights: draw an even sample
                out = out.iloc[:: -(-len(out) // MAX_POINTS)]
                st.caption(f"Drawn: {len(out):,} of {len(frames.outgoing):,} weight pairs.")
            _chart_with_export(
                weight_charts.outgoing_chart, (out, c.row["kind"]), c, frames.outgoing, "outgoing"
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
        "left out). The measures hold for every copy of the same function, so ReLU's "
        "rescaling (a unit's weights by c > 0, what it feeds by 1/c) cannot move them. "
        "**Direction pairing**: how far the units' directions are from coming in mirror "
        "pairs (0: exact pairs). **Outgoing match**: how far matched units, each scaled by its "
        "norm, are from feeding the next layer alike (anti-alike for its odd channels). "
        "Filled: the trained network; grey ring: the same measure on its seed's random init. "
        "A value no lower than its init level is no better than chance. **Movement from "
        "init**: the median unit's relative change of its incoming weights; read a "
        '"no change" beside it (docs/measurements.md).'
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
    keys = tuple((c.key, c.label) for c in picks)  # they name the frame
    row = viewport.main_width(layer_charts.MAIN_WIDTH)  # the column this chart must fit
    chart_ui(weight_charts.invariant_symmetry_chart, keys, frame, row)
    trivial = frame[frame["trivial"]]
    if len(trivial):
        st.caption(
            "Not drawn (trivial: no kept input channel is odd, so the map is the identity and "
            "both pairings are 0 by construction): "
            + ", ".join(
                md(f"{r.checkpoint.split(' · ')[0]} {r.layer}") for r in trivial.itertuples()
            )
        )
    export_ui(
        lambda: weight_charts.invariant_symmetry_chart(frame),
        frame,
        f"{picks[0].label} · weight symmetry",
        "wsym",
    )
    raw = st.expander(
        "The SPEC's raw defects (not rescale-invariant)", key="wsym_raw", on_change="rerun"
    )
    if raw.open:  # built only when asked for
        raw.caption(
            "Pairing defect and outgoing mismatch on the raw stored weights, as the SPEC "
            "defines them: they change when a unit is rescaled, though the function does not."
        )
        chart_ui(weight_charts.weight_symmetry_chart, keys, frame, row, where=raw)
    box = st.expander("The numbers", key="wsym_numbers", on_change="rerun")
    if box.open:
        box.dataframe(
            frame.drop(columns=["kind"]),
            hide_index=True,
            column_config={
                c: st.column_config.NumberColumn(format="%.2e")
                for c in data.WEIGHT_COLUMNS
                if any(w in c for w in ("defect", "mismatch", "pairing", "match", "movement"))
            },
        )
