"""rflr.app.charts: valid Vega-Lite specs."""

from __future__ import annotations

import pandas as pd

from rflr import checkpoint
from rflr.app import charts, data


def test_charts_are_valid_vega_lite(folder):
    ckpt = checkpoint.load(next(folder.rglob("dense-*/step-00000100.safetensors")))
    p = data.compute_partials(ckpt)
    table = data.channel_frame(p, "hidden.2.u").head(5)
    cv = data.curve_frame(p, "hidden.2.u", list(table["channel"]))
    panels = charts.layer_panels(cv, table, show_odd=True, y_domain=charts.y_extent(cv, True))
    spec = panels.to_dict()  # validates against the Vega-Lite schema
    assert "D = " in spec["facet"]["header"]["labelExpr"]
    prof = data.depth_profile(p).assign(checkpoint="x")
    outs = pd.DataFrame({"checkpoint": ["x"], "output_defect": [0.0]})  # 0 is clipped for log
    charts.depth_chart(prof, outs).to_dict()
    hist = data.history_frame(ckpt.history)
    charts.training_chart(hist, data.plateau_frame(ckpt.history), 100).to_dict()
    frames = data.atom_frames(ckpt, p)
    charts.atoms_chart(frames.atoms, frames.links).to_dict()
    charts.outgoing_chart(frames.outgoing).to_dict()
    dot = charts.architecture_dot(ckpt.config.model, "hidden.2.u")
    assert dot.count("->") == 4 and 'h3 [color="#c0392b"' in dot
