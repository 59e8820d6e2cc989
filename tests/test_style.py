"""rflr.views.style: one colour per model kind, and a mirror style no model colour reuses."""

from __future__ import annotations

from rflr.views import style, sweep_charts


def test_kinds_have_distinct_colours_that_nothing_else_uses():
    kinds = set(style.KIND_COLORS.values()) | set(style.KIND_COLORS_SECOND.values())
    assert len(kinds) == 4
    others = {style.MIRROR_COLOR, style.ODD_COLOR, style.TARGET_COLOR, style.OTHER_COLOR}
    others |= set(style.SHADE_COLORS.values())
    assert not kinds & others


def test_checkpoint_colours_follow_the_kind():
    assert style.checkpoint_colors(["rflr", "dense"]) == ["#e8710a", "#1f77b4"]
    same = style.checkpoint_colors(["dense", "dense"])
    assert same[0] == style.KIND_COLORS["dense"] and same[1] == style.KIND_COLORS_SECOND["dense"]
    assert style.checkpoint_colors(["mystery"]) == [style.OTHER_COLOR]


def test_sweep_charts_use_the_same_colours():
    colors = sweep_charts.COLORS
    assert colors == {"RF-LR": style.KIND_COLORS["rflr"], "dense": style.KIND_COLORS["dense"]}


def test_symbol_names_the_layer_values():
    assert [style.symbol(n) for n in ("bottleneck.2.z", "hidden.1.u", "atoms.h", "readout.y")] == [
        "z",
        "u",
        "h",
        "y",
    ]


def test_greys_are_no_model_colour():
    greys = {style.GUIDE_GREY, style.INACTIVE_GREY, style.INK_GREY, style.FILL_GREY}
    kinds = set(style.KIND_COLORS.values()) | set(style.KIND_COLORS_SECOND.values())
    assert len(greys) == 4 and not greys & kinds
