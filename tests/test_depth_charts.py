"""rflr.views.depth_charts: a valid Vega-Lite spec in the one visual language (rflr.views.style)."""

from __future__ import annotations

import json

import pandas as pd

from rflr.files import checkpoint
from rflr.views import data, depth_charts, style


def test_depth_chart_colours_checkpoints_by_kind_and_draws_equivariance(folder):
    frames, outs = [], []
    for kind, pattern in (("rflr", "rflr-*"), ("dense", "dense-*")):
        ckpt = checkpoint.load(next(folder.rglob(f"{pattern}/step-00000100.safetensors")))
        p = data.compute_partials(ckpt)
        frames.append(data.depth_profile(p, equivariance=True).assign(checkpoint=kind, kind=kind))
        outs.append({"checkpoint": kind, "kind": kind, "output_defect": 0.0})  # clipped for log
    spec = depth_charts.depth_chart(pd.concat(frames), pd.DataFrame(outs)).to_dict()
    text = json.dumps(spec)
    assert "equivariance of h" in text and "output D(y) = 0.0e+00" in text
    color = spec["layer"][0]["encoding"]["color"]["scale"]
    assert color == {
        "domain": ["rflr", "dense"],
        "range": [style.KIND_COLORS["rflr"], style.KIND_COLORS["dense"]],
    }
    assert spec["height"] >= 400
