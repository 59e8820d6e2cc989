"""The words the explorer uses, defined for a newcomer: one home for each definition.

The page's glossary (a popover on the title line) lists them all; widgets that use a term
quote its entry in their help, so the two never differ.
"""

from __future__ import annotations

import streamlit as st

from rflr.measure.metrics import PARITY_TAU, SYMMETRIC_DEFECT

GLOSSARY: dict[str, str] = {
    "partial function": (
        "what the network has computed by one layer, read as a function of the input x: "
        "feed x in, read one channel of layer k. For RF-LR it is the bottleneck's z, for "
        "dense the pre-activation u. Each is drawn beside its mirror z(−x): where the two "
        "curves coincide, the channel is even."
    ),
    "u and h": (
        "u is a layer's pre-activation (before the nonlinearity), h its hidden features "
        "(after it). The atoms (layer 0) and the output have one part each."
    ),
    "D": (
        "the odd fraction of a channel: the energy of its odd part o(x) = (z(x) − z(−x))/2 "
        f"over its whole energy. 0: even (z(−x) = z(x)), 1: odd. Even when D < {PARITY_TAU:g}, "
        f"odd when D > {1 - PARITY_TAU:g}, mixed between."
    ),
    "headline D": (
        "the *headline D* is the mean D of the active channels of the deepest partial layer. "
        f"Below {SYMMETRIC_DEFECT:g}, the network is called even inside."
    ),
    "active": (
        "a channel is active when its activity (how much it varies over the inputs, its std "
        "over the grid, times how strongly the next layer reads it, the norm of its outgoing "
        "weights) is at least the threshold's fraction of the largest in its layer. Inactive "
        "channels are dead or ignored, and left out of D."
    ),
    "oscillation": (
        "one peak or valley of a channel's curve along x. A channel with many oscillations is "
        "a wiggly function; counting them per layer shows how the functions grow more "
        "complex with depth."
    ),
    "RF-LR, dense, control": (
        "RF-LR passes each hidden layer through a low-rank bottleneck (rank r); dense is the "
        "same network without it. A's control is the run of the other kind with A's target "
        "and seed."
    ),
    "snapshot": "a checkpoint saved at one training step; Play steps through a run's snapshots.",
}


def term(name: str) -> str:
    """One entry, capitalised, to quote in a widget's help."""
    text = GLOSSARY[name]
    return f"{name[0].upper()}{name[1:]}: {text}"


def glossary_ui() -> None:
    """The glossary, behind a small button (it takes no room until opened)."""
    with st.popover("Glossary", icon=":material/help:", key="glossary"):
        st.markdown("\n".join(f"- **{name}**: {text}" for name, text in GLOSSARY.items()))
