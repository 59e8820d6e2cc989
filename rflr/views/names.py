"""One name per layer, on every tab, chart and export: "layer 3 · z₃" (RF-LR), "layer 3 · u₃"
(dense).

A layer used to go by five names across tabs ("layer 3", "hidden.3.u", a red outline on h₄,
"k = 3", "z₃"). This module is their one home: a layer is named by its index k, as the
layer selector counts, and by the symbol of the values shown there, as the architecture
drawing writes them. The symbol of a kind's partial function is the kind registry's
(rflr.core.kinds.ModelKind.partial: z for RF-LR, u for dense); a part u or h is written as
such, h with the index of the drawing's box it fills (layer k's h is h_{k+1}).

The tensor names (bottleneck.3.z, hidden.3.u) stay what files, the notebook API and the
URL's `layer`/`part` pair use; `tensor_label` turns one into its display name.
"""

from __future__ import annotations

from rflr.core.kinds import KINDS
from rflr.views.style import subscript

ATOMS = "atoms (h₁)"  # k = 0: the atoms' outputs, box h₁ of the drawing
OUTPUT = "output y"  # k = depth: the readout


def layer_symbol(kind: str, k: int, part: str = "partial") -> str:
    """The values of layer k's part as the drawing writes them: z₃, u₃, h₄."""
    entry = KINDS.get(kind)
    letter = (entry.partial if entry else "?") if part == "partial" else part
    return f"{letter}{subscript(k + 1 if letter == 'h' else k)}"


def layer_label(kind: str | None, k: int, depth: int | None = None, part: str = "partial") -> str:
    """The display name of layer k (0: the atoms, depth: the output) of a `depth`-deep
    network of `kind`: "layer 3 · z₃" (depth None: k is a mixing layer, or the atoms).
    Without a kind (a choice or legend shared by RF-LR and dense, as the layer selector is)
    a partial function is named by its index alone ("layer 3"); its u and h are the same
    letters in every kind ("layer 3 · h₄")."""
    if k == 0:
        return ATOMS
    if k == depth:
        return OUTPUT
    if kind is None and part == "partial":
        return f"layer {k}"
    return f"layer {k} · {layer_symbol(kind or '', k, part)}"


def tensor_label(name: str, depth: int | None = None) -> str:
    """The display name of a captured layer's tensor name (bottleneck.3.z -> "layer 3 · z₃",
    hidden.2.h -> "layer 2 · h₃"); a name of no known kind comes back unchanged."""
    if name.startswith("atoms."):
        return ATOMS
    if name == "readout.y":
        return OUTPUT
    prefix, _, rest = name.partition(".")
    index, _, value = rest.partition(".")
    kind = next((k.name for k in KINDS.values() if k.prefix == prefix), None)
    if kind is None or not index.isdigit() or not value:
        return name
    part = "partial" if value == KINDS[kind].partial else value
    return layer_label(kind, int(index), depth if depth is not None else int(index) + 1, part)
