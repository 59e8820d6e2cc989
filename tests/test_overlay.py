"""rflr.views.overlay and rflr.explorer.overlay: many runs at once, chosen in a run table,
overlaid on the Depth profile and Symmetry over training tabs."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from rflr.core.config import DenseConfig, RFLRConfig
from rflr.explorer import overlay as overlay_ui
from rflr.files import checkpoint
from rflr.views import catalog, overlay, style
from tests.conftest import chart_specs, open_tab, texts, write_run

logging.getLogger("streamlit").setLevel(logging.ERROR)

RUNS = [
    "rflr-w16-r2-L3-even-s0",
    "rflr-w16-r2-L3-even-s1",
    "rflr-w16-r2-L3-even-s2",
    "dense-w16-L3-even-s0",
    "dense-w16-L3-even-s1",
]


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """Three RF-LR runs and two dense controls, three snapshots each."""
    root = tmp_path_factory.mktemp("many")
    for seed in range(3):
        write_run(root, RFLRConfig(width=16, depth=3, rank=2), seed=seed)
    for seed in range(2):
        write_run(root, DenseConfig(width=16, depth=3), seed=seed)
    return root, catalog.build(checkpoint.list_checkpoints(root), root)


def test_run_table_lists_each_run_once_rflr_first(many):
    _, cat = many
    table = overlay.run_table(cat)
    assert list(table["run"]) == sorted(RUNS[:3]) + sorted(RUNS[3:])
    assert list(table.columns) == overlay.TABLE_COLUMNS and table["test_mse"].notna().all()


def test_chosen_runs_keep_the_folders_runs_up_to_the_cap_and_say_what_was_dropped(many):
    _, cat = many
    text = ",".join([RUNS[3], "nope", RUNS[0], RUNS[3], RUNS[1]])
    runs, note = overlay.chosen_runs(text, cat, cap=10)
    assert runs == [RUNS[3], RUNS[0], RUNS[1]] and note == "1 run(s) not in this folder: not drawn."
    runs, note = overlay.chosen_runs(text, cat, cap=2)
    assert runs == [RUNS[3], RUNS[0]] and "over the overlay's limit of 2" in note
    assert overlay.chosen_runs("", cat, 5) == ([], None)


def test_run_colors_keep_the_models_colour_and_tell_runs_apart():
    colors = overlay.run_colors(["a", "b", "c", "d"], ["rflr", "rflr", "rflr", "dense"])
    assert colors["a"] == style.KIND_COLORS["rflr"] and colors["d"] == style.KIND_COLORS["dense"]
    assert len(set(colors.values())) == 4
    # lighter for each further run: every channel moves toward white
    a, c = (int(colors[r][i : i + 2], 16) for r in ("a", "c") for i in (3,))
    assert c > a


def test_depth_overlay_draws_one_line_per_run_at_its_last_snapshot(many):
    import pandas as pd

    d = pd.DataFrame(
        {
            "checkpoint": ["r1"] * 4 + ["r2"] * 2,
            "kind": ["rflr"] * 4 + ["dense"] * 2,
            "model": ["RF-LR"] * 4 + ["dense"] * 2,
            "step": [10, 10, 100, 100, 100, 100],
            "k": [1, 2, 1, 2, 1, 2],
            "defect_mean": [0.5, 0.4, 1e-4, 0.0, 0.3, 0.2],
            "active": [3] * 6,
        }
    )
    last = overlay.final_profile(d)
    assert set(last["step"]) == {100} and len(last) == 4
    spec = overlay.depth_overlay_chart(last, overlay.run_colors(["r1", "r2"], ["rflr", "dense"]))
    spec = spec.to_dict()
    color = spec["layer"][0]["encoding"]["color"]["scale"]
    assert color["domain"] == ["r1", "r2"]
    rows = next(iter(spec["datasets"].values()))
    assert min(r["D"] for r in rows) == style.LOG_FLOOR  # D = 0 sits on the log axis's floor


def test_a_tick_in_the_table_becomes_the_urls_runs(monkeypatch):
    ss = {
        overlay_ui._BASE: (tuple(RUNS), (RUNS[1],)),
        overlay_ui._EDITOR: {"edited_rows": {0: {"overlay": True}, 1: {"overlay": False}}},
    }
    monkeypatch.setattr(overlay_ui, "st", SimpleNamespace(session_state=ss))
    overlay_ui._write_choice()
    assert ss[overlay_ui.KEY] == RUNS[0] and overlay_ui._BASE not in ss


@pytest.mark.parametrize("tab", ["Symmetry over training", "Depth profile"])
def test_runs_in_the_url_are_overlaid_on_the_tab(many, monkeypatch, tab):
    from streamlit.testing.v1 import AppTest

    from rflr.files import paths
    from tests.conftest import APP

    root, _ = many
    monkeypatch.setenv(paths.ENV_VAR, str(root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["runs"] = ",".join([RUNS[0], RUNS[2], RUNS[4], "missing"])
    at.run()
    at = open_tab(at, tab)
    assert not at.exception
    page = texts(at)
    assert "1 run(s) not in this folder: not drawn." in page
    assert any(e.label == "Overlay runs (3 chosen)" for e in at.expander)
    overlaid = [
        s
        for s in chart_specs(at)
        if any(
            RUNS[4] in str(lay.get("encoding", {}).get("color", {}).get("scale", {}))
            for lay in s.get("layer", [s])
        )
    ]
    assert overlaid, "no chart colours the overlaid runs"
    assert at.query_params["runs"] == f"{RUNS[0]},{RUNS[2]},{RUNS[4]},missing"
