"""The explorer's tabs: one module per tab, each with its NAME (the tab's label, also its
value in the URL's tab=) and draw(TabInput); TABS, in the page's order, is all the page reads.

A new tab: a module here with NAME and draw, and one entry below.
"""

from __future__ import annotations

from collections.abc import Callable

from rflr.explorer.picks import TabInput
from rflr.explorer.tabs import (
    architecture,
    checkpoints,
    depth,
    inspector,
    layer,
    sweep,
    symmetry,
    train,
    training,
    weights,
)

_ORDER = (
    layer,
    depth,
    symmetry,
    training,
    weights,
    architecture,
    inspector,
    checkpoints,
    sweep,
    train,
)
TABS: dict[str, Callable[[TabInput], None]] = {tab.NAME: tab.draw for tab in _ORDER}
