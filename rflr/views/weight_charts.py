"""The Weights tab's charts: the first layer's atoms and their mirror pairs, and the weight
symmetry of every layer beside its random-init level (pure functions of the tables of
rflr.views.data: atom_frames, weight_symmetry_frame)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from rflr.views import style
from rflr.views.names import layer_label

# Tooltips are channel objects, not shorthand strings: Altair resolves each string through a
# schema lookup that costs milliseconds, which adds up on every rerun.


# The weight chart is faceted, where `width` is one cell's (style.LEGEND_LABEL_LIMIT would cut
# labels at 120 px) and containerSize() reads 0 in Streamlit: a fixed limit that fits a 390 px
# window beside the axis column (~95 px) and keeps the run's name at any width
WEIGHT_LEGEND_LIMIT = 250


def atoms_chart(
    atoms: pd.DataFrame, links: pd.DataFrame, kind: str = "rflr", input_dim: int = 1
) -> alt.LayerChart:
    """Atoms as points (w, b), alive ones in the model's colour; each alive atom joined to
    the atom matched to its mirror. A mirror-symmetric first layer looks like segments
    crossing w = 0 horizontally. For d >= 2, w is the weight on x₁, the coordinate the
    mirror negates (the app's name for it everywhere)."""
    seg = (
        alt.Chart(links)
        .mark_line(color=style.GUIDE_GREY, strokeWidth=1)
        .encode(x=alt.X("w:Q"), y=alt.Y("b:Q"), detail=alt.Detail("pair:N"))
    )
    pts = (
        alt.Chart(atoms)
        .mark_circle(size=36)
        .encode(
            x=alt.X("w:Q", title=weight_name(input_dim)),
            y=alt.Y("b:Q", title="bias b"),
            color=alt.Color(
                "alive:N",
                scale=alt.Scale(
                    domain=[True, False], range=[style.kind_color(kind), style.INACTIVE_GREY]
                ),
                legend=alt.Legend(title="alive on the domain", orient="bottom"),
            ),
            tooltip=[alt.Tooltip(f) for f in ("atom", "w", "b", "alive")],
        )
    )
    return alt.LayerChart(layer=[seg, pts], height=300)


def weight_name(input_dim: int) -> str:
    """The atoms chart's horizontal axis: an atom's input weight (on x₁ when d >= 2)."""
    return "input weight w" if input_dim == 1 else "input weight w₁ (on x₁)"


def outgoing_chart(outgoing: pd.DataFrame, kind: str = "rflr") -> alt.LayerChart:
    """Outgoing weights of atom i against those of its mirror match j: on the diagonal when
    matched atoms feed the next layer identically."""
    lo = float(min(outgoing["o_i"].min(), outgoing["o_j"].min())) if len(outgoing) else -1.0
    hi = float(max(outgoing["o_i"].max(), outgoing["o_j"].max())) if len(outgoing) else 1.0
    diag = (
        alt.Chart(pd.DataFrame({"a": [lo, hi], "b": [lo, hi]}))
        .mark_line(color=style.GUIDE_GREY, strokeDash=[4, 4])
        .encode(x=alt.X("a:Q"), y=alt.Y("b:Q"))
    )
    pts = (
        alt.Chart(outgoing)
        .mark_circle(size=20, opacity=0.7, color=style.kind_color(kind))
        .encode(
            x=alt.X("o_i:Q", title="outgoing weight of atom i"),
            y=alt.Y("o_j:Q", title="outgoing weight of its mirror match j"),
            tooltip=[alt.Tooltip(f) for f in ("i", "j", "entry", "o_i", "o_j")],
        )
    )
    return alt.LayerChart(layer=[diag, pts], height=300)


# The SPEC's raw defects, and the rescale-invariant measures (docs/measurements.md)
RAW_MEASURES = {"pairing_defect": "pairing defect", "outgoing_mismatch": "outgoing mismatch"}
INVARIANT_MEASURES = {
    "direction_pairing": "direction pairing",
    "outgoing_match": "outgoing match",
    "movement": "movement from init",
}


ROW_WIDTH = 720  # the facets' row, when the caller does not know its column's width


def weight_symmetry_chart(frame: pd.DataFrame, row_width: int = ROW_WIDTH) -> alt.FacetChart:
    """Per layer of units: the pairing defect and the outgoing mismatch of the trained
    network (filled, its checkpoint's colour) beside the same measure at random init (a grey
    ring, drawn around the dot where the two coincide), joined by a segment: a long drop from grey to colour is symmetry learned. Trivial
    layers (the map is the identity, the defects 0 by construction) are left out.

    frame: checkpoint, kind, and the columns of rflr.views.data.weight_symmetry_frame.
    """
    return _symmetry_chart(frame, RAW_MEASURES, "defect (log)", row_width)


def invariant_symmetry_chart(frame: pd.DataFrame, row_width: int = ROW_WIDTH) -> alt.FacetChart:
    """weight_symmetry_chart's picture of the rescale-invariant measures: direction pairing
    and outgoing match beside their init levels (trivial layers left out), and each layer's
    movement from init (every layer; it has no init level)."""
    return _symmetry_chart(frame, INVARIANT_MEASURES, "value (log)", row_width)


def _symmetry_chart(
    frame: pd.DataFrame, measures: dict[str, str], title: str, row_width: int
) -> alt.FacetChart:
    """One facet per measure (column -> its name), side by side within row_width pixels; a
    measure with an init_ column is drawn beside it, on the layers that are not trivial."""
    labels = list(dict.fromkeys(frame["checkpoint"]))
    kinds = dict(zip(frame["checkpoint"], frame["kind"], strict=True))
    rows = []
    for col, name in measures.items():
        paired = f"init_{col}" in frame  # else: trained only, on every layer
        for r in (frame[~frame["trivial"]] if paired else frame).to_dict("records"):
            values = [("trained", r[col])]
            if paired:
                values.append(("random init", r[f"init_{col}"]))
            for when, v in values:
                rows.append({**r, "measure": name, "when": when, "value": v})
    d = pd.DataFrame(rows)
    if d.empty:
        d = pd.DataFrame(columns=["checkpoint", "layer", "k", "measure", "when", "value"])
    d = d.assign(value=pd.to_numeric(d["value"]).clip(lower=1e-6))
    # RF-LR's bottleneck.k.h and dense's hidden.k.h are both h_{k+1}: one slot per depth
    d = d.assign(depth=[layer_label(None, int(k), part="h") for k in d["k"]])
    d = d[np.isfinite(d["value"])]
    # one column per checkpoint and layer, side by side: "A · atoms.h"
    d = d.assign(
        unit=d["checkpoint"].map({c: i for i, c in enumerate(labels)}).astype(str)
        + " · "
        + d["layer"]
    )
    x = alt.X("depth:N", title="units", sort=alt.SortField("k"), axis=alt.Axis(labelAngle=0))
    axis = alt.Axis(format=style.LOG_AXIS_FORMAT)
    y = alt.Y("value:Q", scale=alt.Scale(type="log"), title=title, axis=axis)
    color = alt.Color(
        "checkpoint:N",
        scale=alt.Scale(domain=labels, range=style.checkpoint_colors([kinds[c] for c in labels])),
        legend=alt.Legend(
            title="trained (filled)",
            orient="bottom",
            columns=1,
            labelLimit=WEIGHT_LEGEND_LIMIT,
        ),
    )
    offset = alt.XOffset("checkpoint:N", scale=alt.Scale(domain=labels))
    seg = (
        alt.Chart()
        .mark_line(color=style.GUIDE_GREY, strokeWidth=1.5)
        .encode(x=x, xOffset=offset, y=y, detail=alt.Detail("unit:N"))
    )
    init = (
        alt.Chart()
        .transform_filter(alt.datum.when == "random init")
        .mark_point(size=150, filled=False, color=style.INK_GREY, strokeWidth=1.5)
        .encode(x=x, xOffset=offset, y=y, tooltip=_weight_tips())
    )
    trained = (
        alt.Chart()
        .transform_filter(alt.datum.when == "trained")
        .mark_point(size=90, filled=True, opacity=1)
        .encode(x=x, xOffset=offset, y=y, color=color, tooltip=_weight_tips())
    )
    # the init ring drawn after the dot: around it, not under it
    # The facets share the row: the y axis and its title take ~80 px, each facet's padding ~25.
    # A row too narrow for every facet at 120 px (a phone) wraps them, as many per row as fit.
    per_row = int(np.clip((row_width - 80) // (120 + 25), 1, len(measures)))
    width = int(np.clip((row_width - 80) // per_row - 25, 100, 330))
    layers = alt.LayerChart(layer=[seg, trained, init], data=d, width=width, height=240)
    return layers.facet(
        facet=alt.Facet("measure:N", title=None, sort=list(measures.values())), columns=per_row
    )


def _weight_tips() -> list[alt.Tooltip]:
    return [
        alt.Tooltip("checkpoint:N"),
        alt.Tooltip("layer:N"),
        alt.Tooltip("when:N"),
        alt.Tooltip("value:Q", format=".3e"),
        alt.Tooltip("alive:Q", title="alive units"),
    ]
