"""Bytes of a chart as PNG or SVG (vl-convert renders Vega-Lite without a browser) and of its
data as CSV. The app passes these as callables to st.download_button, so a chart is only
rendered when someone clicks the button.
"""

from __future__ import annotations

import io
import re

import altair as alt
import pandas as pd
import vl_convert as vlc


def png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    return vlc.vegalite_to_png(chart.to_dict(), scale=scale)


def svg(chart: alt.TopLevelMixin) -> bytes:
    return vlc.vegalite_to_svg(chart.to_dict()).encode()


def csv(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode()


def file_stem(*parts: object) -> str:
    """A safe file name from labels: ('RF-LR · run-1 · step 3', 'z') -> RF-LR_run-1_step_3_z."""
    text = "_".join(str(p) for p in parts if p not in (None, ""))
    return re.sub(r"[^\w.-]+", "_", text).strip("_.")[:150] or "chart"
