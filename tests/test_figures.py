"""rflr.figures: the explorer's charts from Runs and sweep tables, as Altair specs."""

from __future__ import annotations

import json
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import pytest

import rflr
from rflr import figures
from rflr.views import data, export
from tests.conftest import make_folder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("fig")
    a, b = make_folder(root)
    return rflr.open(root / a.run_id), rflr.open(root / b.run_id)


def _facet_titles(spec: dict) -> list[str]:
    return [c["title"] for c in spec["hconcat"]]


def test_layer_chart_draws_the_most_active_channels_of_each_run(pair):
    rf, dense = pair
    chart = rflr.layer_chart([rf, dense], 2, channels=3)
    spec = chart.to_dict()
    assert len(spec["hconcat"]) == 2
    assert _facet_titles(spec) == [f"{rf.label} · bottleneck.2.z", f"{dense.label} · hidden.2.u"]
    for run, name, panel in zip(
        (rf, dense), ("bottleneck.2.z", "hidden.2.u"), chart.hconcat, strict=True
    ):
        table = run.defects(name)
        want = table[table["active"]].head(3)["channel"].tolist()
        assert sorted(panel.data["channel"].unique()) == sorted(want)
        s = "z" if run is rf else "u"
        assert {f"{s}(x)", f"{s}(−x), mirror"} == set(panel.data["series"])
    # Vega draws it (two charts' views and params need names of their own), each run in its
    # model's colour
    assert export.png(chart).startswith(b"\x89PNG")
    assert spec["resolve"]["scale"]["color"] == "independent"
    assert len({p["name"] for p in spec["params"]}) == len(spec["params"]) == 4


def test_two_runs_share_one_y_axis_and_one_run_scales_alone(pair):
    rf, dense = pair
    both = rflr.layer_chart([rf, dense], 1, channels=2)
    drawn = pd.concat([p.data[~p.data["bound"]] for p in both.hconcat])["value"]
    ranges = [sorted(set(p.data.loc[p.data["bound"], "bound_y"])) for p in both.hconcat]
    assert ranges[0] == ranges[1]  # the shared range rides in each panel's data (bound rows)
    lo, hi = ranges[0]
    assert lo < drawn.min() and drawn.max() < hi
    assert drawn.min() - lo == pytest.approx(0.05 * (drawn.max() - drawn.min()))
    alone = rflr.layer_chart(rf, 1)  # one run: the explorer's chart itself, each panel its own y
    assert isinstance(alone, alt.FacetChart)
    assert alone.to_dict()["resolve"]["scale"]["y"] == "independent"


def test_layer_chart_curves_are_the_partials_and_their_mirror(pair):
    rf, _ = pair
    panel = rflr.layer_chart(rf, 1, channels=1, odd=True)
    ch = int(panel.data["channel"].iloc[0])
    z = rf.partials(1)[ch]
    sub = panel.data.pivot(index="x", columns="series", values="value")
    # the chart's table is float32 (what the browser gets); z's grid is float64
    xs = z.index.to_numpy()
    for x in sub.index[::37]:
        i = int(np.argmin(np.abs(xs - x)))
        zx, zm = z.iloc[i], z.loc[-xs[i]]
        assert sub.loc[x, "z(x)"] == pytest.approx(zx, rel=1e-6, abs=1e-7)
        assert sub.loc[x, "z(−x), mirror"] == pytest.approx(zm, rel=1e-6, abs=1e-7)
        assert sub.loc[x, "odd part"] == pytest.approx((zx - zm) / 2, rel=1e-5, abs=1e-7)


def test_depth_training_and_atoms_charts(pair):
    rf, dense = pair
    depth = rflr.depth_chart(rf, dense)
    rules, _labels, lines = depth.layer  # output defects, their labels, the per-layer profile
    assert rules.data["output_defect"].tolist() == [rf.output_defect, dense.output_defect]
    assert set(lines.data["checkpoint"]) == {rf.label, dense.label}
    mine = lines.data[lines.data["checkpoint"] == rf.label]
    assert mine["defect_mean"].tolist() == rf.depth_profile()["defect_mean"].tolist()
    train = rflr.training_chart(rf.at(10))
    rule = train.layer[-1].data  # the selected step is marked
    assert rule["step"].tolist() == [10]
    atoms = rflr.atoms_chart(rf)
    assert len(atoms.layer[1].data) == rf.config.model.width
    for chart in (depth, train, atoms):
        chart.to_dict()


def test_sweep_charts_by_name():
    sweep = rflr.open_sweep(ROOT / "checkpoints" / "poster")
    for which in figures.SWEEP_CHARTS:
        assert isinstance(rflr.sweep_chart(sweep, which), alt.TopLevelMixin)
    with pytest.raises(ValueError, match="which must be one of"):
        rflr.sweep_chart(sweep, "pie")


def test_figures_take_runs_only(pair):
    with pytest.raises(TypeError, match="expected a Run"):
        rflr.layer_chart(["not a run"], 1)
    with pytest.raises(TypeError, match="expected a Run"):
        rflr.depth_chart()
    assert data.PARTS  # the parts layer_chart accepts are the explorer's


def test_a_d2_layer_chart_is_drawn_along_x1_on_the_slice(tmp_path):
    """Issue 21: the notebook's layer chart of a d >= 2 run draws the slice through the origin
    (ordered x₁, x₂ = 0), not the metrics' random sample, and says so; D stays the sample's."""
    from rflr.core.config import RFLRConfig, RunConfig, TargetConfig
    from tests.conftest import write_checkpoint

    cfg = RunConfig(
        RFLRConfig(width=8, rank=2, depth=2, input_dim=2),
        target=TargetConfig(transverse=[[1.0, 1.0, 0.5]]),
    )
    run = rflr.open(write_checkpoint(tmp_path / "d2" / "step-00000007.safetensors", cfg))
    chart = rflr.layer_chart(run, 1)
    spec = chart.to_dict()
    assert "along x₁" in spec["title"]
    assert '"title": "x₁"' in json.dumps(spec["spec"], ensure_ascii=False)  # the x axis
    drawn = chart.data[~chart.data["bound"]]
    for _, curve in drawn.groupby(["channel", "series"]):
        xs = curve["x"].to_numpy()  # the slice's grid, ends kept, simplified between them
        assert (np.diff(xs) > 0).all() and len(xs) <= figures.slices.SLICE_POINTS
        assert xs[0] == pytest.approx(-np.pi) and xs[-1] == pytest.approx(np.pi)
    table = run.defects("bottleneck.1.z")
    shown = table[table["active"]]
    sample_d = dict(zip(shown["channel"], shown["D"], strict=True))  # D on the whole sample
    for ch, d in drawn.groupby("channel")["D"].first().items():
        assert d == pytest.approx(sample_d[ch], rel=1e-6)
