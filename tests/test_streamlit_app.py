"""streamlit_app.py and rflr.explorer.page: the whole explorer headless with AppTest.

Every test builds its own checkpoints in tmp_path and points the app at them with
RFLR_CHECKPOINTS; none depends on the shipped checkpoints/ folder (except the Sweep tab's).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from streamlit.testing.v1 import AppTest

from rflr.core.config import DenseConfig, RFLRConfig, RunConfig
from rflr.core.model import init_params
from rflr.explorer.page import TABS
from rflr.explorer.sidebar import NONE
from rflr.files import checkpoint
from rflr.measure.record import Metrics
from rflr.views import sources
from tests import hostile as hostile_files
from tests.conftest import (
    APP,
    chart_specs,
    layer_columns,
    make_folder,
    open_tab,
    panel_titles,
    texts,
    write_run,
)

logging.getLogger("streamlit").setLevel(logging.ERROR)  # AppTest's bare-mode chatter


def test_default_view_is_rflr_beside_its_dense_control(app):
    at = app.run()
    assert not at.exception
    page = texts(at)
    assert "rflr-w16-r2-L3-even-s0" in page and "dense-w16-L3-even-s0" in page
    assert "**bottleneck.2.z**" in page and "**hidden.2.u**" in page  # deepest partial layer
    assert at.select_slider(key="w_step").value == 100  # the final step
    specs = chart_specs(at)  # one faceted chart per column
    assert len(specs) == 2 and all(s["facet"]["field"] == "title" for s in specs)
    columns = layer_columns(at)
    assert len(columns) == 2 and all("D = " in t for f in columns for t in panel_titles(f))
    assert at.query_params["a"] == "rflr-w16-r2-L3-even-s0/step-00000100.safetensors"


def test_step_slider_moves_both_checkpoints(app):
    at = app.run()
    at.select_slider(key="w_step").set_value(0).run()
    assert not at.exception
    assert texts(at).count("** · step 0") == 2  # both column headers


@pytest.mark.parametrize(
    ("tab", "expect"),
    [
        ("Depth profile", "output is not enough"),
        ("Symmetry over training", "lock in"),
        ("Training", "plateaus"),
        ("Weights", "pairing defect"),
        ("Architecture", "parameters"),
        ("Inspector", "rflr.config"),
        ("Checkpoints", "read from headers only"),
    ],
)
def test_tabs(app, tab, expect):
    at = open_tab(app.run(), tab)
    assert not at.exception
    page = texts(at) + " ".join(str(m.label) for m in at.metric)
    assert expect in page
    if tab in ("Depth profile", "Symmetry over training", "Training", "Weights"):
        assert chart_specs(at)
    if tab == "Depth profile":
        at.toggle(key="w_equiv").set_value(True).run()
        assert not at.exception and "equivariance" in at.dataframe[0].value.columns
    if tab == "Checkpoints":
        at.multiselect(key="f_kind").set_value(["dense"]).run()
        assert "3 of 6 checkpoints" in texts(at)


def test_bad_files_are_listed_and_the_rest_browsable(tmp_path, monkeypatch):
    cfg, _ = make_folder(tmp_path)
    good = next(tmp_path.rglob("rflr-*/step-00000010.safetensors"))
    (tmp_path / "truncated.safetensors").write_bytes(good.read_bytes()[:200])
    (tmp_path / "corrupt.safetensors").write_bytes(b"\xff" * 300)
    (tmp_path / "pickled.safetensors").write_bytes(b"\x80\x04\x95 junk")
    meta = {"rflr.format_version": "99", "rflr.config": cfg.to_json(), "rflr.step": "1"}
    save_file({"x": torch.zeros(1)}, str(tmp_path / "future.safetensors"), metadata=meta)
    # a header that reads fine, tensors that do not: NaN weights, and a wrong shape
    params = init_params(cfg.model, torch.Generator().manual_seed(0))
    nan_cfg = RunConfig(model=cfg.model, seed=7, run_id="nan-run")
    params["atoms.weight"][0, 0] = float("nan")
    checkpoint.save(
        tmp_path / "nan-run/step-00000001.safetensors", nan_cfg, params, 1, Metrics(), {}
    )
    monkeypatch.setenv(sources.ENV_VAR, str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "4 file(s)" in texts(at) and "**bottleneck.2.z**" in texts(at)
    at = open_tab(at, "Checkpoints")
    errors = at.dataframe[-1].value
    assert sorted(errors["file"]) == sorted(
        [
            "corrupt.safetensors",
            "future.safetensors",
            "pickled.safetensors",
            "truncated.safetensors",
        ]
    )
    reasons = " ".join(errors["error"])
    assert "unknown format version '99'" in reasons and "pickle" in reasons
    open_tab(at, "Layer view")
    at.selectbox(key="w_run_a").set_value("nan-run")
    at.selectbox(key="w_run_b").set_value("dense-w16-L3-even-s0").run()
    assert not at.exception
    assert "non-finite values" in " ".join(str(e.value) for e in at.error)
    assert "**hidden.2.u**" in texts(at)  # B still works beside the broken A


def test_depth_one_networks(tmp_path, monkeypatch):
    """No bottleneck: the atoms are the only partial functions, and the output."""
    write_run(tmp_path, RFLRConfig(width=8, depth=1, rank=2), steps=(0, 3))
    write_run(tmp_path, DenseConfig(width=8, depth=1), steps=(0, 3))
    monkeypatch.setenv(sources.ENV_VAR, str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and texts(at).count("**atoms.h**") == 2
    assert at.selectbox(key="w_layer").options == ["atoms (h₁)", "output y"]
    for tab in ("Depth profile", "Weights", "Architecture"):
        assert not open_tab(at, tab).exception


# --- hostile files (issue #9): every tab survives every file the listing accepted -------------

EVIL_ID = hostile_files.MARKDOWN_RUN_ID
SUMMARY_HEAD = "run_id,model,status,test_mse,headline_defect,checkpoint,symmetric,headline_active"


def make_hostile_folder(root: Path, outside: Path) -> Path:
    """A folder holding every hostile input of tests/hostile.py (each header case, refused
    and accepted, and the listing cases: links out, dangling and looping links, hidden and
    unreadable files, a folder named like a checkpoint), a valid pair, and the app's own:
    junk and empty files, garbage, binary and empty summary.csv files, and one whose
    checkpoint column leaves the folder."""
    make_folder(root, width=8, depth=2)
    hostile_files.write_all(root / "headers")
    hostile_files.symlink_out_of_root(root, outside)
    hostile_files.dangling_symlink(root)
    hostile_files.symlink_loop(root)
    hostile_files.hidden_files(root)
    hostile_files.unreadable_file(root)
    hostile_files.folder_named_like_a_checkpoint(root)
    (root / "linked-dir").symlink_to(outside, target_is_directory=True)
    (root / "junk.safetensors").write_bytes(b"\x00\xff" * 40)
    (root / "empty.safetensors").write_bytes(b"")
    sweep = root / "sweep"
    sweep.mkdir()
    (sweep / "summary.csv").write_text(
        f"{SUMMARY_HEAD}\n{EVIL_ID},rflr,ok,abc,1e-3,../../../../etc/passwd,True,1.5\n"
        "r2,<b>dense</b>,ok,1e-2,inf,../headers/unknown-keys.safetensors,false,2\n"
    )
    (root / "bin").mkdir()
    (root / "bin" / "summary.csv").write_bytes(bytes(range(256)) * 8)
    (root / "empty-sweep").mkdir()
    (root / "empty-sweep" / "summary.csv").write_bytes(b"")
    return root


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("hostile")
    return make_hostile_folder(base / "root", base / "outside")


def test_every_tab_survives_a_folder_of_hostile_files(hostile, monkeypatch):
    monkeypatch.setenv(sources.ENV_VAR, str(hostile))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    tabs = [t.label for t in at.tabs]
    assert len(tabs) == len(TABS)
    runs = at.selectbox(key="w_run_a").options
    assert f"headers/{EVIL_ID}" in runs  # a legal but hostile run id, listed as plain text
    assert len(runs) == 5  # the pair and the 3 accepted header cases (the unreadable-to-others
    # file joins the pair's RF-LR run: same run id, another step)
    at = open_tab(at, "Checkpoints")
    listed = " ".join(str(df.value) for df in at.dataframe)
    assert "outside the folder" in listed and "elsewhere" not in " ".join(runs)
    # every run the listing accepted as A (the hostile run id, a history of "hello", ...),
    # every tab; a run id is never markdown anywhere on the page
    for run in runs:
        at.selectbox(key="w_run_a").select(run).run()
        for tab in tabs:
            at = open_tab(at, tab)
            assert not at.exception, (run, tab)
            raw = "\n".join(
                str(e.value)
                for k in ("markdown", "caption", "info", "warning", "error")
                for e in getattr(at, k)
            ) + "\n".join(str(m.label) for m in at.metric)
            assert not re.search(r"(?<!\\)(<img|\]\(track|\*\*b\*\*)", raw), (run, tab)
    # each hostile summary: the Sweep tab shows a message, never an exception
    at = open_tab(at, "Sweep")  # not the last tab any more (Train is)
    for rel in at.selectbox(key="w_sweep").options:
        at.selectbox(key="w_sweep").select(rel).run()
        assert not at.exception, rel
    assert "not a readable CSV" in texts(at) or at.selectbox(key="w_sweep").options


def test_hostile_sweep_summary_never_opens_a_file_outside(hostile, monkeypatch):
    monkeypatch.setenv(sources.ENV_VAR, str(hostile))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(tab="Sweep", sweep="sweep/summary.csv")
    at.run()
    assert not at.exception
    page = texts(at)
    assert "reruns" in page
    # the ../headers/unknown-keys.safetensors row points at a real checkpoint inside the
    # root: pickable; ../../../../etc/passwd is not offered
    options = at.selectbox(key="sweep_run").options
    assert [o.split(" · ")[0] for o in options] == ["r2"]


# --- state defects (issue #10): no interaction changes a setting the user did not touch -------


def test_sweep_choice_and_toggles_live_in_the_url(monkeypatch):
    shipped = Path(APP).parent / "checkpoints"
    monkeypatch.setenv(sources.ENV_VAR, str(shipped))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["tab"] = "Sweep"
    at.run()
    runs = at.selectbox(key="sweep_run").options
    assert 1 < len(runs) < 149  # only runs whose file is here
    run = runs[1].split(" · ")[0]
    at.selectbox(key="sweep_run").set_value(run).run()
    at.run()
    assert at.query_params["sweep"] == "poster/summary.csv" and at.query_params["srun"] == run
    url = dict(at.query_params)
    fresh = AppTest.from_file(APP, default_timeout=120)
    fresh.query_params.update(url)
    fresh.run()
    assert fresh.selectbox(key="sweep_run").value == run
    # the depth profile's toggle too
    fresh.query_params["tab"] = "Depth profile"
    fresh = open_tab(fresh, "Depth profile")
    fresh.toggle(key="w_equiv").set_value(True).run()
    fresh.run()
    assert fresh.query_params["equiv"] == "1"


def test_help_at_first_use_and_offline_hub(app, monkeypatch):
    """Defect 8: jargon without explanation; "not logged in" shown on an offline machine."""
    at = app.run()
    assert "headline D* is the mean D" in texts(at)
    assert "activity" in at.number_input(key="w_thr").help
    at = open_tab(at, "Weights")
    helps = {m.label: m.help for m in at.metric}
    assert all(helps[k] for k in ("alive atoms", "pairing defect", "outgoing mismatch"))
    monkeypatch.setattr(sources, "hub_reachable", lambda: False)
    at.radio(key="w_src").set_value("hub").run()
    assert "offline" in " ".join(c.value for c in at.sidebar.caption)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    at.run()
    assert "offline" in " ".join(c.value for c in at.sidebar.caption)


def test_verdict_strip_names_both_models_and_their_d(monkeypatch):
    """Issue 21: the answer on the first screen, above the step slider, from headers only."""
    monkeypatch.setenv(sources.ENV_VAR, str(Path(APP).parent / "checkpoints"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    # the strip comes before every other sentence ([0]: the glossary, closed in its popover)
    first = str(at.markdown[1].value)
    assert first.startswith(":orange[RF-LR: inside even (D 2.2e-5")
    assert ":blue[dense: inside not even (D 0.58" in first
    sweep = next(str(c.value) for c in at.caption if str(c.value).startswith("Sweep "))
    assert sweep.index("RF-LR 95/100") < sweep.index("dense 0/49")
    at.selectbox(key="w_run_b").set_value(NONE).run()
    alone = str(at.markdown[1].value)
    assert alone.startswith(":orange[RF-LR: inside even") and "dense" not in alone
