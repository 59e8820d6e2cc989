"""rflr.views.training_charts: losses and symmetry against the step, A and B on one chart."""

from __future__ import annotations

import json

import pandas as pd

from rflr.files import checkpoint
from rflr.views import data, style, training_charts
from tests.conftest import fake_history


def _history(label: str, kind: str, step: int) -> pd.DataFrame:
    return data.history_frame(fake_history(step)).assign(checkpoint=label, kind=kind)


def _layers(spec: dict) -> list[dict]:
    out = []
    for part in spec.get("layer", []) + spec.get("vconcat", []):
        out += _layers(part) if ("layer" in part or "vconcat" in part) else [part]
    return out


def test_step_axis_leaves_room_for_the_last_step():
    lo, hi = training_charts.step_domain(pd.Series([0, 10, 1000]), pd.Series([5, 200]))
    assert lo == 5 and hi > 1000


def test_loss_chart_overlays_a_and_b_in_their_kinds_colours():
    hist = pd.concat([_history("A", "rflr", 1000), _history("B", "dense", 1000)])
    shading = data.plateau_frame(fake_history(1000))
    spec = training_charts.loss_chart(hist, shading, 1000).to_dict()
    marks = [layer["mark"]["type"] for layer in _layers(spec)]
    lines = [layer for layer in _layers(spec) if layer["mark"]["type"] == "line"]
    assert len(lines) == 1  # one chart, both checkpoints
    color = lines[0]["encoding"]["color"]["scale"]
    assert color["range"] == [style.KIND_COLORS["rflr"], style.KIND_COLORS["dense"]]
    assert "test MSE" in json.dumps(lines[0]["transform"])
    # the train loss is drawn after (over) the test MSE, as dots: visible where they coincide
    assert marks.index("point") > marks.index("line")
    rules = [layer for layer in _layers(spec) if layer["mark"]["type"] == "rule"]
    assert rules and rules[0]["encoding"]["x"]["scale"]["domain"][1] > 1000  # rule inside
    text = json.dumps(spec)
    assert "step 1,000" in text and '"format": "d"' in text
    assert spec["usermeta"]["embedOptions"]["renderer"] == "canvas"


def test_symmetry_chart_draws_every_partial_layer_at_every_snapshot(folder):
    frames = []
    for label, kind, pattern in (("A", "rflr", "rflr-*"), ("B", "dense", "dense-*")):
        files = sorted(folder.rglob(f"{pattern}/step-*.safetensors"))
        snaps = [(h.step, h.metrics) for h in map(checkpoint.read_header, files)]
        frames.append(data.defect_history(snaps).assign(checkpoint=label, kind=kind))
    defects = pd.concat(frames)
    hist = pd.concat([_history("A", "rflr", 100), _history("B", "dense", 100)])
    spec = training_charts.symmetry_chart(defects, hist, None, 10).to_dict()
    assert len(spec["vconcat"]) == 2 and spec["resolve"]["scale"]["x"] == "shared"
    rows = next(v for k, v in spec["datasets"].items() if len(v) and "layer_k" in v[0])
    drawn = {(r["checkpoint"], r["layer"], r["step"]) for r in rows}
    want = {(r.checkpoint, r.layer, r.step) for r in defects.itertuples() if r.step}
    assert drawn == want and len(want) == 2 * 2 * 2  # 2 runs x 2 partial layers x steps 10, 100


def _defects(*labels: str, ks=(1, 2, 3)) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"checkpoint": c, "kind": "rflr" if i == 0 else "dense", "step": step}
            | {"layer": f"bottleneck.{k}.z", "k": k, "defect_mean": 0.5 / step / k}
            | {"active": 3, "channels": 4}
            for i, c in enumerate(labels)
            for k in ks
            for step in (10, 100)
        ]
    )


def test_symmetry_charts_fill_their_container_on_one_step_axis():
    """Issue 21 item 4: the two panels are two charts that stretch to the container (a
    Vega-Lite concat cannot), on the same step domain, with y axes of one width so that a
    step sits at the same x in both; the exported file is their concat at EXPORT_WIDTH."""
    hist = pd.concat([_history("A", "rflr", 1000), _history("B", "dense", 1000)])
    shading = data.plateau_frame(fake_history(1000))
    upper, lower = (
        c.to_dict() for c in training_charts.symmetry_charts(_defects("A", "B"), hist, shading, 100)
    )
    for chart in (upper, lower):
        assert "width" not in chart and chart["height"] > 130  # the container's width
        assert chart["usermeta"] == style.CANVAS
        assert (
            chart["config"]["legend"] == style.STACKED_LEGENDS["legend"]
        )  # legends one under the other
    x = [layer["encoding"]["x"] for layer in _layers(upper) + _layers(lower)]
    assert len({json.dumps(e["scale"]["domain"]) for e in x}) == 1
    extents = {
        (e["axis"]["minExtent"], e["axis"]["maxExtent"])
        for layer in _layers(upper) + _layers(lower)
        if (e := layer["encoding"].get("y")) and "axis" in e
    }
    assert extents == {(training_charts.Y_EXTENT, training_charts.Y_EXTENT)}
    export = training_charts.symmetry_chart(_defects("A", "B"), hist, shading, 100).to_dict()
    assert [v["width"] for v in export["vconcat"]] == [training_charts.EXPORT_WIDTH] * 2
    assert "usermeta" in export and all("usermeta" not in v for v in export["vconcat"])
    loss = training_charts.loss_chart(hist, shading, 100, height=222).to_dict()
    assert loss["height"] > 222 and "width" not in loss and "usermeta" in loss


def test_symmetry_layers_differ_in_shape_and_dash_and_the_loss_has_its_own_legend():
    """Issue 21 item 4: k = 1, 2, 3 were identical black dots beside "train loss" in one
    legend. Each layer now has its own shape and dash (colour stays the model's), and the
    loss chart's legend names only its own series."""
    hist = pd.concat([_history("A", "rflr", 1000), _history("B", "dense", 1000)])
    upper, lower = (
        c.to_dict() for c in training_charts.symmetry_charts(_defects("A", "B"), hist, None, 100)
    )
    names = [training_charts.layer_name(k) for k in (1, 2, 3)]
    shape = next(la["encoding"]["shape"] for la in _layers(upper) if "shape" in la["encoding"])
    dash = next(
        la["encoding"]["strokeDash"] for la in _layers(upper) if "strokeDash" in la["encoding"]
    )
    assert shape["scale"]["domain"] == dash["scale"]["domain"] == names
    assert len(set(shape["scale"]["range"])) == 3
    assert len({json.dumps(d) for d in dash["scale"]["range"]}) == 3
    assert shape["field"] == dash["field"]  # one legend: shape and dash of each layer
    colors = [la["encoding"]["color"] for la in _layers(upper) if "color" in la["encoding"]]
    assert {json.dumps(c["scale"]["range"]) for c in colors} == {
        json.dumps([style.KIND_COLORS["rflr"], style.KIND_COLORS["dense"]])
    }
    assert "train loss" not in json.dumps(upper)
    lower_series = [la["encoding"].get("strokeDash") for la in _layers(lower)]
    assert [s["scale"]["domain"] for s in lower_series if s] == [["test MSE"]]
    assert "shape" not in json.dumps([la["encoding"] for la in _layers(lower)])


def test_training_legend_gives_each_loss_series_its_own_mark():
    """Issue 21 item 8: test MSE and train loss shared one grey ring. They are now two
    legends of two fields: a stroke for the line, a hollow ring for the dots."""
    hist = _history("A", "rflr", 1000)
    spec = training_charts.loss_chart(hist, None, 100).to_dict()
    dash = next(
        la["encoding"]["strokeDash"] for la in _layers(spec) if "strokeDash" in la["encoding"]
    )
    shape = next(la["encoding"]["shape"] for la in _layers(spec) if "shape" in la["encoding"])
    assert dash["legend"]["symbolType"] == "stroke" and dash["scale"]["domain"] == ["test MSE"]
    assert shape["legend"]["symbolFillColor"] == "transparent"
    assert shape["scale"]["domain"] == ["train loss"] and shape["field"] != dash["field"]


def test_log_axes_share_one_tick_format():
    hist = _history("A", "rflr", 1000)
    specs = [
        training_charts.loss_chart(hist, None, 100).to_dict(),
        *(c.to_dict() for c in training_charts.symmetry_charts(_defects("A"), hist, None, 100)),
    ]
    formats = {
        layer["encoding"]["y"]["axis"]["format"]
        for spec in specs
        for layer in _layers(spec)
        if layer["encoding"].get("y", {}).get("scale", {}).get("type") == "log"
    }
    assert formats == {style.LOG_AXIS_FORMAT}


def test_a_click_on_a_point_selects_its_step():
    """Click to jump: the defect chart's points and the training chart's train-loss dots
    carry a point selection on the step (rflr.explorer.jump moves the slider to it)."""
    hist = _history("A", "rflr", 1000)
    upper, _ = training_charts.symmetry_charts(_defects("A"), hist, None, 100)
    loss = training_charts.loss_chart(hist, None, 100, pick=True)
    for chart in (upper.to_dict(), loss.to_dict()):
        params = chart.get("params", [])  # Altair lifts a layer's selection to the top
        assert [p["name"] for p in params] == [training_charts.PICK]
        assert params[0]["select"]["fields"] == ["step"] and params[0]["select"]["on"] == "click"
    assert "params" not in json.dumps(training_charts.loss_chart(hist, None, 100).to_dict())


def test_the_linked_symmetry_chart_shares_hover_zoom_and_pick_across_its_two_charts():
    """Issue 21, item 9 (hover synced across charts, zoom): the app's view is one concat at
    the measured width, so both charts share its params. Hovering marks the nearest
    snapshot with a rule on both (shown by opacity, never filtered: an empty layer joins the
    step scale empty), Ctrl + wheel zooms the shared step axis (a drag would end in a click,
    which picks), a click picks a step. The exported chart has none of them."""
    hist = pd.concat([_history("A", "rflr", 1000), _history("B", "dense", 1000)])
    args = (_defects("A", "B"), hist, None, 100)
    spec = training_charts.symmetry_chart(*args, None, 600, True).to_dict()
    params = {p["name"]: p for p in spec["params"]}
    assert set(params) == {training_charts.PICK, training_charts.HOVER, training_charts.ZOOM}
    hover, zoom = params[training_charts.HOVER]["select"], params[training_charts.ZOOM]
    assert hover["fields"] == ["step"] and hover["on"] == "pointerover" and hover["nearest"]
    assert zoom["bind"] == "scales" and zoom["select"]["encodings"] == ["x"]
    assert (
        zoom["select"]["zoom"] == "wheel![event.ctrlKey]" and zoom["select"]["translate"] is False
    )
    assert spec["resolve"]["scale"]["x"] == "shared"
    for chart in spec["vconcat"]:
        assert chart["width"] == 600
        rules = [
            layer
            for layer in chart["layer"]
            if layer["encoding"].get("opacity", {}).get("condition", {}).get("param") == "hover"
        ]
        assert len(rules) == 1 and rules[0]["mark"]["type"] == "rule"  # on both charts
        assert "transform" not in rules[0]
    export = json.dumps(training_charts.symmetry_chart(*args).to_dict())
    assert '"params"' not in export
    assert training_charts.linked_width(390) < 390 and training_charts.linked_width(1000) <= 1000
