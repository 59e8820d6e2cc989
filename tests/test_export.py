"""rflr.views.export: PNG, SVG and CSV downloads."""

from __future__ import annotations

import altair as alt
import pandas as pd

from rflr.views import export


def test_export_bytes():
    chart = alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_line().encode(x="x", y="y")
    assert export.png(chart).startswith(b"\x89PNG")
    assert b"<svg" in export.svg(chart)
    assert export.csv(pd.DataFrame({"a": [1]})) == b"a\n1\n"
    assert export.file_stem("layer", "run/step-1.safetensors") == "layer_run_step-1.safetensors"
