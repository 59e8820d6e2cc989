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


def test_symmetry_chart_layout_shares_the_step_axis_with_its_loss_panel():
    """Sizes and scale resolution of the two panels (built with one constructor call each,
    not by chained .properties(): these are what the chained calls used to set)."""
    hist = pd.concat([_history("A", "rflr", 1000), _history("B", "dense", 1000)])
    shading = data.plateau_frame(fake_history(1000))
    defects = pd.DataFrame(
        {"checkpoint": "A", "kind": "rflr", "step": [10, 100], "layer": "bottleneck.1.z"}
        | {"k": 1, "defect_mean": [0.5, 1e-4], "active": 3, "channels": 4}
    )
    spec = training_charts.symmetry_chart(defects, hist, shading, 100).to_dict()
    upper, lower = spec["vconcat"]
    assert (upper["height"], lower["height"]) == (300, 150)
    assert upper["width"] == lower["width"] == training_charts.WIDTH
    assert spec["resolve"]["scale"] == {"x": "shared", "color": "independent"}
    assert upper["resolve"]["scale"] == lower["resolve"]["scale"] == {"color": "independent"}
    assert "usermeta" in spec and "usermeta" not in upper and "usermeta" not in lower
    loss = training_charts.loss_chart(hist, shading, 100, height=222).to_dict()
    assert loss["height"] == 222 and "width" not in loss and "usermeta" in loss
