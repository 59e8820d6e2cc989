"""rflr.app.layer_charts: the layer view's panels, their fixed spec and their long table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from rflr import checkpoint
from rflr.app import data, layer_charts, style


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
    text = json.dumps(spec)
    assert '"title": "u(x)"' in text  # y axis labelled by kind
    tips = [t["title"] for t in spec["spec"]["layer"][1]["encoding"]["tooltip"] if "title" in t]
    assert tips == ["channel", "u(x)", "u(−x)", "D (odd fraction)"]


def test_panel_frame_is_the_curves_folded_with_the_mirror_on_hover_points(folder):
    """Each curve's points, long; the hover points carry z(-x) beside z(x); titles in order."""
    ckpt = checkpoint.load(next(folder.rglob("dense-*/step-00000100.safetensors")))
    p = data.compute_partials(ckpt)
    table = data.channel_frame(p, "hidden.2.u").head(3)
    cv = data.curve_frame(p, "hidden.2.u", list(table["channel"]))
    frame = layer_charts.panel_frame(cv, table, ("z(x)", "z(-x)", "o(x)"), None, "u")
    assert len(frame) == 3 * len(cv) and not frame["bound"].any()
    for key, name in (("z(x)", "u(x)"), ("z(-x)", "u(−x), mirror"), ("o(x)", "odd part")):
        part = frame[frame["series"] == name]
        assert np.array_equal(part["value"].to_numpy(), cv[key].to_numpy())
    tips = frame[frame["tip"]]
    assert set(tips["series"]) == {"u(x)"} and len(tips) == 3 * -(
        -len(cv) // 3 // layer_charts.TIP_STRIDE
    )
    merged = tips.merge(cv, on=["channel", "x"])
    assert np.array_equal(merged["mirror"].to_numpy(), merged["z(-x)"].to_numpy())
    first = frame.groupby("panel")["channel"].first()
    assert list(first) == list(table["channel"])  # the panels keep the table's order


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


def test_panel_spec_is_the_same_at_every_step_and_shared_axes_are_data(folder):
    """What changes with the step (curves, titles, D, the shared y range) is data: the app
    draws every panel of every snapshot from one spec, so the browser keeps its charts and
    only swaps their data; each panel's table is one channel's rows, with its title on its
    one head row and, with shared axes, the shared range on two bound rows."""
    specs, frames = [], []
    for step in ("00000010", "00000100"):
        ckpt = checkpoint.load(next(folder.rglob(f"dense-*/step-{step}.safetensors")))
        p = data.compute_partials(ckpt)
        table = data.channel_frame(p, "hidden.2.u").head(4)
        cv = data.curve_frame(p, "hidden.2.u", list(table["channel"]))
        domain = layer_charts.y_extent(cv, False)
        spec, panels = layer_charts.panel_charts(cv, table, False, domain, "hidden.2.u", "dense")
        specs.append(spec)
        frames.append(panels)
        assert [int(f["channel"].iloc[0]) for f in panels] == list(table["channel"])
        for f, row in zip(panels, table.to_dict("records"), strict=True):
            assert f["channel"].nunique() == 1
            assert list(f.loc[f["head"], "title"]) == [layer_charts.channel_title(row)]
            assert sorted(f.loc[f["bound"], "bound_y"]) == domain  # the range is in the data
            drawn = f.loc[~f["bound"], "value"]
            assert drawn.min() >= domain[0] and drawn.max() <= domain[1]
        # the exported facet draws the same table, titles as its headers
        chart = layer_charts.layer_panels(cv, table, False, domain, 3, "hidden.2.u", "dense")
        whole = pd.concat(panels)
        assert chart.data.sort_index().equals(whole.sort_index())
    assert specs[0] == specs[1]
    assert not frames[0][0].equals(frames[1][0])
    shared = layer_charts.panel_spec(("z(x)", "z(-x)"), "u", "dense", True)
    assert json.loads(shared) == specs[0]
    alone = json.loads(layer_charts.panel_spec(("z(x)", "z(-x)"), "u", "dense", False))
    assert len(alone["layer"]) == len(specs[0]["layer"]) - 1  # no bound rows to draw
    assert "data" not in alone and "datasets" not in alone
    assert alone["autosize"]["type"] == "fit-x"  # the page's cell sets the width
    head = alone["layer"][-1]
    assert head["mark"]["type"] == "text" and head["encoding"]["text"]["field"] == "title"
    assert isinstance(alone["padding"], dict)  # Streamlit's front end writes padding.bottom


def test_panel_charts_without_channels_draw_nothing(folder):
    ckpt = checkpoint.load(next(folder.rglob("dense-*/step-00000100.safetensors")))
    p = data.compute_partials(ckpt)
    table = data.channel_frame(p, "hidden.2.u").head(0)
    cv = data.curve_frame(p, "hidden.2.u", [])
    spec, panels = layer_charts.panel_charts(cv, table, False, None, "hidden.2.u", "dense")
    assert panels == [] and spec["layer"]


def test_legend_entries_match_the_drawn_curves(folder):
    ckpt = checkpoint.load(next(folder.rglob("dense-*/step-00000100.safetensors")))
    cv = data.curve_frame(data.compute_partials(ckpt), "readout.y", [0])
    assert layer_charts.legend_entries(cv, False, "readout.y", "dense")[1:] == [
        ("y(−x), mirror", style.MIRROR_COLOR, style.MIRROR_DASH),
        ("target f*(x)", style.TARGET_COLOR, style.TARGET_DASH),
    ]  # the output layer: the target, no odd part
    entries = layer_charts.legend_entries(cv, True, "readout.y", "dense")
    assert entries == [
        ("y(x)", style.KIND_COLORS["dense"], style.SOLID),
        ("y(−x), mirror", style.MIRROR_COLOR, style.MIRROR_DASH),
        ("odd part", style.ODD_COLOR, style.ODD_DASH),
        ("target f*(x)", style.TARGET_COLOR, style.TARGET_DASH),
    ]


def test_channel_title_marks_channels_inactive_now():
    row = pd.Series({"channel": 3, "D": 0.5, "parity": "mixed", "active": False})
    assert layer_charts.channel_title(row) == "ch 3 · D = 5.0e-01 · mixed · inactive now"
    assert layer_charts.channel_title(row.drop("active")).endswith("mixed")
