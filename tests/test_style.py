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


def test_log_axis_format_writes_powers_of_ten_alike():
    """The shared log tick format, as Vega draws it: 1e-3 and 1e+0, never 0.001."""
    import altair as alt
    import pandas as pd
    import vl_convert as vlc

    frame = pd.DataFrame({"x": [0, 1], "y": [1e-3, 1.0]})
    axis = alt.Axis(format=style.LOG_AXIS_FORMAT)
    chart = (
        alt.Chart(frame)
        .mark_point()
        .encode(x="x:Q", y=alt.Y("y:Q", scale=alt.Scale(type="log"), axis=axis))
    )
    svg = vlc.vegalite_to_svg(chart.to_dict())
    assert "1e-3" in svg and "1e+0" in svg and "0.001" not in svg
