"""rflr.views.layer_charts: the layer view's panels, their fixed spec and their long table."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from rflr.files import checkpoint
from rflr.views import data, export, layer_charts, style


def _scale_of(spec: dict, channel: str) -> dict:
    """The scale of `channel` in the first layer of a faceted spec that encodes it."""
    for layer in spec["spec"]["layer"]:
        enc = layer.get("encoding", {})
        if channel in enc and "scale" in enc[channel]:
            return enc[channel]["scale"]
    raise AssertionError(f"no {channel} scale")


def test_layer_panels_colour_the_kind_and_keep_the_mirror_apart(folder):
    ckpt = checkpoint.load(next(folder.rglob("dense-*/step-00000100.safetensors")))
    p = data.compute_partials(ckpt)
    table = data.channel_frame(p, "hidden.2.u").head(5)
    cv = data.curve_frame(p, "hidden.2.u", list(table["channel"]))
    panels = layer_charts.layer_panels(
        cv, table, True, layer_charts.y_extent(cv, True), 3, "hidden.2.u", "dense"
    )
    spec = panels.to_dict()  # validates against the Vega-Lite schema
    assert spec["facet"]["field"] == "title" and spec["columns"] == 3
    titles = panels.data.loc[~panels.data["bound"]].groupby("panel")["title"].first()
    assert list(titles) == [layer_charts.channel_title(r) for r in table.to_dict("records")]
    assert spec["usermeta"]["embedOptions"]["renderer"] == "canvas"
    color = _scale_of(spec, "color")
    assert color["domain"] == ["u(x)", "u(−x), mirror", "odd part"]  # named by the layer's kind
    assert color["range"][0] == style.KIND_COLORS["dense"]
    assert color["range"][1] == style.MIRROR_COLOR
    assert style.MIRROR_COLOR not in style.KIND_COLORS.values()
    dashes = _scale_of(spec, "strokeDash")["range"]
    assert dashes[1] == style.MIRROR_DASH and dashes[0] == style.SOLID
    (hover,) = [layer for layer in spec["spec"]["layer"] if layer.get("name") == "tips"]
    tips = [t["title"] for t in hover["encoding"]["tooltip"] if "title" in t]
    assert tips == ["channel", "x", "u(x)", "u(−x)", "D (odd fraction)"]  # named by kind
    assert spec["spec"]["layer"][0]["mark"]["tooltip"] is False  # the lines: no bare x tip


def test_hover_marks_one_x_in_every_panel_and_zoom_moves_x_alone():
    """Issue 21, item 9 (hover synced across charts, zoom and pan): the hover and zoom
    params sit on the facet, so every panel shares them. Hover marks the x under the pointer
    in every panel by opacity (a rule on z(x)'s hover points, a dot on both curves'), never by
    a filter: a layer filtered to no rows joins each panel's scale empty, Vega's "Infinite
    extent" warning. Zoom binds x alone (each panel keeps its own y). The spec names its
    views, so two builds of it are equal (a changed spec makes the browser build a new view
    and forget the zoom)."""
    args = (("z(x)", "z(-x)"), "z", "rflr", 3, 150, False)
    spec = json.loads(layer_charts.layer_panels_spec(*args))
    params = {p["name"]: p for p in spec["params"]}
    assert set(params) == {"hover", "zoom"}
    assert params["hover"]["select"] == {
        "type": "point",
        "fields": ["x"],
        "on": "pointerover",
        "clear": "pointerout",
    }
    assert params["hover"]["views"] == ["tips"]  # the hover points answer, as their tooltip
    assert params["zoom"]["bind"] == "scales" and params["zoom"]["select"]["encodings"] == ["x"]
    assert params["zoom"]["select"]["zoom"] == "wheel![event.ctrlKey]"  # a bare wheel scrolls
    assert params["zoom"]["views"] == ["curves"]
    layers = spec["spec"]["layer"]
    marked = [layer for layer in layers if "opacity" in layer.get("encoding", {})]
    assert sorted(layer["mark"]["type"] for layer in marked) == ["circle", "rule"]
    for layer in marked:
        condition = layer["encoding"]["opacity"]["condition"]
        assert condition["param"] == "hover" and condition["empty"] is False
        assert layer["encoding"]["opacity"]["value"] == 0
    assert not [t for layer in layers for t in layer.get("transform", []) if "param" in str(t)]
    layer_charts.layer_panels_spec.cache_clear()
    assert layer_charts.layer_panels_spec(*args) == json.dumps(spec)


def test_panel_frame_is_the_curves_folded_with_the_mirror_on_hover_points(folder):
    """Each curve's points, long; the hover points carry z(-x) beside z(x); titles in order."""
    ckpt = checkpoint.load(next(folder.rglob("dense-*/step-00000100.safetensors")))
    p = data.compute_partials(ckpt)
    table = data.channel_frame(p, "hidden.2.u").head(3)
    cv = data.curve_frame(p, "hidden.2.u", list(table["channel"]))
    frame = layer_charts.panel_frame(cv, table, ("z(x)", "z(-x)", "o(x)"), None, "u")
    assert not frame["bound"].any()
    assert len(frame) < 0.6 * 3 * len(cv)  # simplified: far fewer points than the grid's
    for ch, curve in cv.groupby("channel"):
        spread = np.ptp(curve[["z(x)", "z(-x)", "o(x)"]].to_numpy())
        for key, name in (("z(x)", "u(x)"), ("z(-x)", "u(−x), mirror"), ("o(x)", "odd part")):
            part = frame[(frame["series"] == name) & (frame["channel"] == ch)]
            # points of the curve itself, in x order, whose line misses none by a visible amount
            full = curve.set_index(curve["x"].astype(np.float32))[key].astype(np.float32)
            assert np.array_equal(part["value"].to_numpy(), full.loc[part["x"]].to_numpy())
            assert np.all(np.diff(part["x"].to_numpy()) > 0)
            line = np.interp(curve["x"], part["x"].astype(float), part["value"].astype(float))
            assert np.abs(line - curve[key]).max() <= 1.01 * layer_charts.SIMPLIFY * spread
    tips = frame[frame["tip"]]
    # both the channel and its mirror answer a hover, with both values at their x
    assert set(tips["series"]) == {"u(x)", "u(−x), mirror"}
    assert len(tips) == 2 * 3 * -(-len(cv) // 3 // layer_charts.TIP_STRIDE)
    # the browser gets float32 and int16 (issue 22: bytes per change), exact to float32
    assert frame["value"].dtype == np.float32 and frame["channel"].dtype == np.int16
    narrow = cv.astype({"x": np.float32, "channel": np.int16})
    merged = tips.merge(narrow, on=["channel", "x"])
    assert len(merged) == len(tips)
    assert np.array_equal(merged["mirror"].to_numpy(), merged["z(-x)"].to_numpy(np.float32))
    assert np.array_equal(merged["at"].to_numpy(), merged["z(x)"].to_numpy(np.float32))
    assert frame.loc[~frame["tip"], ["at", "mirror"]].isna().all().all()
    first = frame.groupby("panel")["channel"].first()
    assert list(first) == list(table["channel"])  # the panels keep the table's order


def test_rows_off_one_shared_grid_are_sent_whole():
    # rows not on one shared increasing grid per channel are sent whole, never misread
    channel = np.repeat([0, 1], 5)
    apart = np.r_[np.linspace(-1, 1, 5), np.linspace(-2, 2, 5)]
    line = [np.tile(np.linspace(0, 1, 5), 2)]
    assert layer_charts._simplified(channel, apart, line, None)[0].all()
    shared = np.tile(np.linspace(-1, 1, 5), 2)
    assert layer_charts._simplified(channel, shared, line, None)[0].sum() == 4  # the ends


def test_panel_frame_clips_values_past_float32_instead_of_sending_infinity(folder):
    ckpt = checkpoint.load(next(folder.rglob("dense-*/step-00000100.safetensors")))
    p = data.compute_partials(ckpt)
    table = data.channel_frame(p, "hidden.2.u").head(1)
    cv = data.curve_frame(p, "hidden.2.u", list(table["channel"]))
    cv["z(x)"] = 1e300  # a hostile checkpoint's huge activations
    frame = layer_charts.panel_frame(cv, table, ("z(x)", "z(-x)"), None, "u")
    assert np.isfinite(frame["value"]).all() and frame["value"].max() > 3e38


def test_output_panel_draws_the_target(folder):
    ckpt = checkpoint.load(next(folder.rglob("rflr-*/step-00000100.safetensors")))
    p = data.compute_partials(ckpt)
    table = data.channel_frame(p, "readout.y")
    cv = data.curve_frame(p, "readout.y", [0])
    spec = layer_charts.layer_panels(cv, table, layer="readout.y").to_dict()
    color = _scale_of(spec, "color")
    assert color["domain"] == ["y(x)", "y(−x), mirror", "target f*(x)"]
    assert color["range"] == [style.KIND_COLORS["rflr"], style.MIRROR_COLOR, style.TARGET_COLOR]
    assert "resolve" in spec  # without shared axes each panel has its own y scale


def test_layer_spec_is_the_same_at_every_step_and_shared_axes_are_data(folder):
    """What changes with the step (curves, titles, D, the shared y range) is data: the spec
    the app sends is layer_panels' without its data, the same for two snapshots, so the
    browser keeps its chart and only swaps the data."""
    specs, frames = [], []
    for step in ("00000010", "00000100"):
        ckpt = checkpoint.load(next(folder.rglob(f"dense-*/step-{step}.safetensors")))
        p = data.compute_partials(ckpt)
        table = data.channel_frame(p, "hidden.2.u").head(4)
        cv = data.curve_frame(p, "hidden.2.u", list(table["channel"]))
        domain = layer_charts.y_extent(cv, False)
        chart = layer_charts.layer_panels(cv, table, False, domain, 3, "hidden.2.u", "dense")
        spec = chart.to_dict()
        spec.pop("datasets"), spec.pop("data")
        specs.append(spec)
        frames.append(
            layer_charts.panel_frame(cv, table, layer_charts.curve_keys(cv, False), domain, "u")
        )
        bound = chart.data[chart.data["bound"]]
        # shared axes: the range is in the data, in every panel (each has its own y scale)
        # float32, like the curves: rounding is monotone, so the bounds still enclose them
        want = np.float32(domain).tolist()
        assert bound.groupby("panel")["bound_y"].apply(sorted).tolist() == [want] * 4
        drawn = chart.data.loc[~chart.data["bound"], "value"]
        assert drawn.min() >= want[0] and drawn.max() <= want[1]
    assert specs[0] == specs[1]
    assert not frames[0].equals(frames[1])
    cached = layer_charts.layer_panels_spec(
        ("z(x)", "z(-x)"), "u", "dense", 3, layer_charts.PANEL_WIDTH, True
    )
    assert json.loads(cached) == specs[0]
    alone = layer_charts.layer_panels_spec(
        ("z(x)", "z(-x)"), "u", "dense", 3, layer_charts.PANEL_WIDTH, False
    )
    assert json.loads(alone)["resolve"]["scale"]["y"] == "independent"
    spec, frame = layer_charts.layer_panels_for_app(
        cv, table, False, domain, 3, "hidden.2.u", "dense"
    )
    assert spec == specs[0] and frame.equals(frames[1])  # what the app sends: the same pieces


def test_channel_title_marks_channels_inactive_now():
    row = pd.Series({"channel": 3, "D": 0.5, "parity": "mixed", "active": False})
    assert layer_charts.channel_title(row) == "ch 3 · mixed\nD = 5.0e-01\ninactive now"
    assert layer_charts.channel_title(row.drop("active")) == "ch 3 · mixed\nD = 5.0e-01"


def test_panel_layout_fills_the_column_three_or_four_to_a_row():
    """Beside B in a 1440 px window 3 per row, alone 4; wider panels on a wider main area;
    as many to a row as leave each plot MIN_PLOT px, never more than 4; each panel has its
    own y axis."""
    lc = layer_charts
    assert lc.panel_layout(None, 2) == lc.panel_layout(lc.MAIN_WIDTH, 2)
    assert lc.panel_layout(980, 2)[0] == 3 and lc.panel_layout(980, 1)[0] == 4
    for main in range(300, 3000, 37):
        for n in (1, 2):
            per_row, width = lc.panel_layout(main, n)
            assert 1 <= per_row <= lc.MAX_PER_ROW and width % 5 == 0
            assert width <= lc.MAX_PLOT
            stacked = main < lc.STACKED_BELOW
            column = main if stacked else (main - (n - 1) * lc.COLUMN_GAP) / n
            used = per_row * (width + lc.AXIS) + (per_row - 1) * lc.SPACING + lc.PADDING
            if width >= lc.MIN_PLOT:
                assert used <= column  # it fits its column
            if per_row < lc.MAX_PER_ROW:  # one more panel would not leave MIN_PLOT
                more = (column - lc.PADDING - lc.AXIS * (per_row + 1) - per_row * lc.SPACING) / (
                    per_row + 1
                )
                assert more < lc.MIN_PLOT + 5
    wide, narrow = lc.panel_layout(1760, 2), lc.panel_layout(980, 2)
    assert wide[0] >= narrow[0] and wide[1] > narrow[1]


def test_a_column_of_few_channels_gets_fewer_wider_panels():
    """The RF-LR column with one or two channels beside B: one panel per channel to a row,
    each as wide as the column allows (to MAX_PLOT), not a quarter of an empty row."""
    lc = layer_charts
    full = lc.panel_layout(980, 2)
    one, two = lc.panel_layout(980, 2, channels=1), lc.panel_layout(980, 2, channels=2)
    assert one[0] == 1 and two[0] == 2 and full[0] == 3
    assert full[1] < two[1] < one[1] <= lc.MAX_PLOT
    assert lc.panel_layout(980, 2, channels=40) == full
    column = (980 - lc.COLUMN_GAP) / 2
    for per_row, width in (one, two):
        assert per_row * (width + lc.AXIS) + (per_row - 1) * lc.SPACING + lc.PADDING <= column
    assert lc.panel_height(one[1]) > lc.panel_height(full[1])  # taller too


def test_panel_height_grows_with_width_within_bounds():
    assert layer_charts.panel_height(100) == layer_charts.PANEL_HEIGHT
    assert layer_charts.panel_height(250) == 150
    assert layer_charts.panel_height(1000) == 180


def test_exported_panels_keep_every_title_whole(folder):
    """Issue 21: exported PNGs and SVGs kept the app's cut titles ("D = 4.1e-0…"). At the
    narrowest panel, without shared axes, every line of every title is drawn whole."""
    ckpt = checkpoint.load(next(folder.rglob("dense-*/step-00000100.safetensors")))
    p = data.compute_partials(ckpt)
    table = data.channel_frame(p, "hidden.2.u").head(6)
    table.loc[table.index[0], "active"] = False  # a third line: "inactive now"
    cv = data.curve_frame(p, "hidden.2.u", list(table["channel"]))
    chart = layer_charts.layer_panels(
        cv, table, False, None, 4, "hidden.2.u", "dense", layer_charts.MIN_PLOT
    )
    svg = export.svg(chart.properties(title="dense · run · hidden.2.u")).decode()
    texts = re.findall(r">([^<>]+)</(?:text|tspan)>", svg)  # a title's lines are tspans
    assert not [t for t in texts if "…" in t]
    for title in map(layer_charts.channel_title, table.to_dict("records")):
        for line in title.split("\n"):
            assert line in texts, line
    assert sum(t.startswith("D = ") for t in texts) == len(table)


def test_the_shared_range_of_several_columns_is_that_of_their_curves_joined(folder):
    """The app keeps each column's (lowest, highest) and pads their union: the same domain
    as y_extent over the columns' curves joined, odd part or not, and [-1, 1] for none."""
    frames = []
    for kind in ("dense", "rflr"):
        ckpt = checkpoint.load(next(folder.rglob(f"{kind}-*/step-00000100.safetensors")))
        p = data.compute_partials(ckpt)
        name = "hidden.2.u" if kind == "dense" else data.partial_layers(p.cfg)[1]
        table = data.channel_frame(p, name).head(3)
        frames.append(data.curve_frame(p, name, list(table["channel"])))
    for odd in (False, True):
        joined = layer_charts.y_extent(pd.concat(frames), odd)
        ranges = [layer_charts.y_range(cv, odd) for cv in frames]
        assert layer_charts.padded_extent(ranges) == joined
        assert joined != layer_charts.y_extent(frames[0], odd)  # both columns count
    assert layer_charts.padded_extent([None, layer_charts.y_range(frames[0].head(0), False)]) == [
        -1.0,
        1.0,
    ]
