"""The explorer's one visual language: a colour per model kind, one line style for the mirror.

Every chart (layer view, depth profile, training, symmetry over training, weights, sweep)
takes its colours and dashes from here, so that orange always means RF-LR and blue dense,
and a dashed dark line always means the mirror z(-x). No model colour is reused for
anything else: the mirror, the odd part, the target and the shading have their own (one
exception, kept for the published figures: ONE_SERIES_COLOR). Marks that are no model's
data are grey, from the greys below.
"""

from __future__ import annotations

KIND_COLORS = {"rflr": "#e8710a", "dense": "#1f77b4"}  # RF-LR orange, dense blue
# A second checkpoint of the same kind (A and B both RF-LR): the same hue, darker.
KIND_COLORS_SECOND = {"rflr": "#8a3b00", "dense": "#0b3a66"}
OTHER_COLOR = "#7f7f7f"  # a kind without its own colour
# One curve over runs of every kind (a grid sweep without a model split): Vega's default blue,
# which is dense's; kept so that the published figures (docs/figures/beyond-*.png) stay as drawn.
ONE_SERIES_COLOR = KIND_COLORS["dense"]
KIND_BADGES = {"rflr": "orange", "dense": "blue"}  # Streamlit's badge colours nearest those

MIRROR_COLOR, MIRROR_DASH = "#202020", [5, 3]  # z(-x): dark, dashed, on top of z(x)
ODD_COLOR, ODD_DASH = "#9a9a9a", [1.5, 2.5]  # the odd part o(x): light grey, dotted
TARGET_COLOR, TARGET_DASH = "#2ca02c", [1, 0]  # f*(x) on the output layer: green
SOLID = [1, 0]
SHADE_COLORS = {"plateau": "#9467bd", "drop": "#d62728"}  # purple, red: no model colour
# Greys, for marks that are no data of a model:
GUIDE_GREY = "#999999"  # guides: the line joining mirror partners, the diagonal, init-to-trained
INACTIVE_GREY = "#cccccc"  # points that are not alive on the grid (dead atoms)
INK_GREY = "#555555"  # neutral ink: the random-init ring, legend strokes, the drawing's edges
FILL_GREY = "#f3f3f3"  # the architecture drawing's input and output boxes

LOG_FLOOR = 1e-16  # log axes clip here (an exactly even channel has D = 0); one floor for all
# Every log axis labels its ticks alike, "1e-3", "2e-1", "1e+0" (d3-format, zeros trimmed):
# Vega's default mixes 0.00001, 1e+0 and 3/1/0.2 from one chart to the next.
LOG_AXIS_FORMAT = "~e"

# One mark per layer k (1, 2, 3, ...), so that layers differ in shape and dash, not in
# colour (colour is the model's): cycled for deeper networks.
LAYER_SHAPES = ("circle", "square", "triangle-up", "diamond", "triangle-down", "cross")
LAYER_DASHES = ([1, 0], [6, 3], [2, 2], [8, 2, 2, 2], [4, 4], [1, 3])

CANVAS = {"embedOptions": {"renderer": "canvas"}}  # usermeta: Streamlit passes it to Vega
# The wheel event that zooms a chart bound to its scales: with Ctrl only (a trackpad's pinch
# sends it too), so that a bare wheel over a chart still scrolls the page
ZOOM_WHEEL = "wheel![event.ctrlKey]"
# px of legends stacked below a plot, measured in Chromium: a gap, each row (of strokes; a
# row of point symbols takes 30), a title; and of an x axis with its title. Streamlit fits
# axes and legends into a chart's height: a chart adds them to keep its plot's height.
LEGEND_GAP, LEGEND_ROW, LEGEND_TITLE = 18, 20, 22
X_AXIS_HEIGHT = 50
# A legend label is cut at the plot's width (a legend starts at the plot's left edge), so a
# legend fits a 390 px phone and a long run name shows whole on a wide screen.
LEGEND_LABEL_LIMIT = {"expr": "max(120, width - 30)"}
# config: legends below a plot one under the other, not side by side: a row of legends is
# wider than a phone (Vega's legend layout, an expression in Vega-Lite's config)
STACKED_LEGENDS = {
    "legend": {"layout": {"expr": "{bottom: {direction: 'vertical', anchor: 'start'}}"}}
}


def kind_color(kind: str) -> str:
    return KIND_COLORS.get(kind, OTHER_COLOR)


def kind_badge(kind: str, label: str) -> str:
    """A kind's badge in Streamlit markdown, in its colour (`label` must be markdown-safe)."""
    return f":{KIND_BADGES.get(kind, 'gray')}-badge[{label}]"


def kind_text(kind: str, text: str) -> str:
    """Text in its kind's colour, in Streamlit markdown (`text` must be markdown-safe and
    hold no unescaped `]`): the badge's colour name, so a sentence and a badge agree."""
    return f":{KIND_BADGES.get(kind, 'gray')}[{text}]"


def checkpoint_colors(kinds: list[str]) -> list[str]:
    """One colour per checkpoint (A, B, ...): its kind's, darker for a repeat of a kind."""
    seen: set[str] = set()
    out = []
    for kind in kinds:
        out.append(KIND_COLORS_SECOND.get(kind, OTHER_COLOR) if kind in seen else kind_color(kind))
        seen.add(kind)
    return out


def legends_height(*legends: tuple[float, bool]) -> int:
    """px of the legends stacked below a plot (STACKED_LEGENDS), each given as (rows, whether
    it has a title); a row of point symbols counts 1.5."""
    return round(
        sum(LEGEND_GAP + LEGEND_ROW * rows + LEGEND_TITLE * titled for rows, titled in legends)
    )


def layer_marks(count: int) -> tuple[list[str], list[list[float]]]:
    """The point shapes and line dashes of `count` layers, in layer order."""
    shapes = [LAYER_SHAPES[i % len(LAYER_SHAPES)] for i in range(count)]
    dashes = [LAYER_DASHES[i % len(LAYER_DASHES)] for i in range(count)]
    return shapes, dashes


def symbol(layer: str) -> str:
    """The letter a layer's values are called by: z (bottleneck), u, h, y (output)."""
    if layer == "readout.y":
        return "y"
    return layer.rsplit(".", 1)[-1]


def subscript(k: int) -> str:
    """A layer index written as a subscript: h₁, z₁₂."""
    return str(k).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
