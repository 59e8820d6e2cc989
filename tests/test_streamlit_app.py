"""The Streamlit explorer (streamlit_app.py over rflr.ui), headless with AppTest.

Every test builds its own checkpoints in tmp_path and points the app at them with
RFLR_CHECKPOINTS; none depends on the shipped checkpoints/ folder (except the Sweep tab's).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from streamlit.testing.v1 import AppTest

from rflr import checkpoint
from rflr.app import sources
from rflr.app import state as view_state
from rflr.config import DenseConfig, RFLRConfig, RunConfig
from rflr.model import init_params
from rflr.ui.page import TABS
from tests import hostile as hostile_files
from tests.conftest import APP, layer_columns, make_folder, panel_titles, write_run

logging.getLogger("streamlit").setLevel(logging.ERROR)  # AppTest's bare-mode chatter


def texts(at: AppTest) -> str:
    """Every piece of visible text of the page, joined: markdown, captions, alerts, titles;
    backslash escapes removed (file-provided text is escaped: rflr.ui.common.md)."""
    parts = []
    for kind in ("markdown", "caption", "warning", "error", "info", "subheader", "title"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [str(e.value) for e in at.sidebar.error] + [str(e.value) for e in at.sidebar.caption]
    return re.sub(r"\\(.)", r"\1", "\n".join(parts))


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.get("vega_lite_chart")]


def open_tab(at: AppTest, label: str) -> AppTest:
    at.session_state["tab"] = label
    return at.run()


def test_default_view_is_rflr_beside_its_dense_control(app):
    at = app.run()
    assert not at.exception
    page = texts(at)
    assert "rflr-w16-r2-L3-even-s0" in page and "dense-w16-L3-even-s0" in page
    assert "**bottleneck.2.z**" in page and "**hidden.2.u**" in page  # deepest partial layer
    assert at.select_slider(key="w_step").value == 100  # the final step
    specs = chart_specs(at)  # one small chart per panel, all from one spec per column
    assert len(specs) > 2 and all(
        s["layer"][-1]["encoding"]["text"]["field"] == "title" for s in specs
    )
    columns = layer_columns(at)
    assert len(columns) == 2 and all("D = " in t for f in columns for t in panel_titles(f))
    assert at.query_params["a"] == "rflr-w16-r2-L3-even-s0/step-00000100.safetensors"


def test_layer_part_and_toggles(app):
    at = app.run()
    at.selectbox(key="w_layer").select(0).run()
    assert not at.exception and texts(at).count("**atoms.h**") == 2
    at.selectbox(key="w_layer").select(1).run()
    at.radio(key="w_part").set_value("h").run()
    assert "**bottleneck.1.h**" in texts(at) and "**hidden.1.h**" in texts(at)
    at.toggle(key="w_odd").set_value(True).run()
    assert all("odd part" in json.dumps(s) for s in chart_specs(at))
    at.toggle(key="w_shared").set_value(False).run()
    at.number_input(key="w_thr").set_value(0.5).run()
    assert not at.exception and "inactive channel" in texts(at)
    at.selectbox(key="w_layer").select(3).run()  # the output: one channel each
    assert not at.exception and texts(at).count("**readout.y**") == 2
    assert at.query_params["odd"] == "1" and at.query_params["layer"] == "3"


def test_show_more_channels(tmp_path, monkeypatch):
    write_run(tmp_path, DenseConfig(width=40, depth=2), steps=(5,))
    monkeypatch.setenv(sources.ENV_VAR, str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    step = view_state.SHOWN_STEP
    assert f"{step} shown" in texts(at)
    at.button(key="more").click().run()
    assert f"{2 * step} shown" in texts(at) and at.query_params["shown"] == str(2 * step)


def test_step_slider_moves_both_checkpoints(app):
    at = app.run()
    at.select_slider(key="w_step").set_value(0).run()
    assert not at.exception
    assert texts(at).count("** · step 0") == 2  # both column headers


def test_choose_runs(app):
    at = app.run()
    at.selectbox(key="w_run_b").set_value(at.selectbox(key="w_run_b").options[1]).run()  # none
    assert not at.exception and len(layer_columns(at)) == 1
    assert at.query_params["b"] == "none"
    at.selectbox(key="w_run_a").set_value("dense-w16-L3-even-s0").run()
    assert not at.exception and "**hidden.2.u**" in texts(at)


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
    checkpoint.save(tmp_path / "nan-run/step-00000001.safetensors", nan_cfg, params, 1, {}, {})
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


def test_url_restores_the_view(app):
    app.query_params.update(
        a="dense-w16-L3-even-s0/step-00000010.safetensors",
        b="none",
        layer="1",
        part="h",
        odd="1",
        thr="0.01",
        tab="Layer view",
    )
    at = app.run()
    assert not at.exception
    assert at.selectbox(key="w_run_a").value == "dense-w16-L3-even-s0"
    assert at.select_slider(key="w_step").value == 10
    assert at.selectbox(key="w_layer").value == 1 and at.radio(key="w_part").value == "h"
    assert at.toggle(key="w_odd").value and at.number_input(key="w_thr").value == 0.01
    assert "**hidden.1.h**" in texts(at) and len(layer_columns(at)) == 1


@pytest.mark.parametrize(
    "bad", ["../../../../etc/passwd", "/etc/passwd", "rflr-w16-r2-L3-even-s0/../../x.safetensors"]
)
def test_url_paths_outside_the_folder_are_refused(app, bad):
    app.query_params["a"] = bad
    at = app.run()
    assert not at.exception
    assert any("refused" in w.value for w in at.warning)
    assert "**bottleneck.2.z**" in texts(at)  # the default view instead
    assert at.query_params["a"] == "rflr-w16-r2-L3-even-s0/step-00000100.safetensors"


def test_url_garbage_is_ignored_with_a_note(app):
    app.query_params.update(a="nothing-here.safetensors", layer="banana", root="/no/such/dir")
    at = app.run()
    assert not at.exception
    notes = texts(at)
    assert "not in this folder" in notes and "layer='banana'" in notes
    assert "root: '/no/such/dir' is not an existing folder" in notes
    assert "**bottleneck.2.z**" in texts(at)  # the default folder and view
    at.run()
    assert not at.warning  # notes are shown once, on the page the URL opened


def test_sidebar_folder_must_exist(app, folder):
    at = app.run()
    at.text_input(key="w_root").set_value(str(folder / "nope")).run()
    assert not at.exception
    assert any("not an existing folder" in e.value for e in at.sidebar.error)
    at.text_input(key="w_root").set_value(str(folder)).run()
    assert "**bottleneck.2.z**" in texts(at) and at.query_params["root"] == str(folder)


def test_upload(app, folder):
    at = app.run()
    at.radio(key="w_src").set_value("upload").run()
    at.file_uploader(key="w_upload").upload("bad.safetensors", b"\x00" * 100).run()
    assert not at.exception
    assert any("Upload refused" in e.value for e in at.sidebar.error)
    good = next(folder.rglob("dense-*/step-00000010.safetensors")).read_bytes()
    at.file_uploader(key="w_upload").set_value(
        ("mine.safetensors", good, "application/octet-stream")
    )
    at.run()
    assert not at.exception and "**hidden.2.u**" in texts(at)
    assert "a" not in at.query_params  # an upload cannot be shared by URL


def test_hub_source_never_touches_the_network_by_itself(app, monkeypatch, tmp_path, folder):
    calls = []

    def fake_pull(repo_id, revision=None, cache_dir=None):
        calls.append((repo_id, revision))
        return folder

    from rflr import hub

    monkeypatch.setattr(hub, "pull", fake_pull)
    monkeypatch.setattr(hub, "hub_status", lambda: (True, "Hub reachable (test)"))
    monkeypatch.setattr(sources, "hub_reachable", lambda: True)
    at = app.run()
    at.radio(key="w_src").set_value("hub").run()
    at.text_input(key="w_repo").set_value("someone/ckpts").run()
    assert not at.exception and calls == [] and "Choose a checkpoint source" in texts(at)
    at.sidebar.button[0].click().run()
    assert calls == [("someone/ckpts", None)] and "**bottleneck.2.z**" in texts(at)
    at.run()
    assert len(calls) == 1  # kept, not fetched again
    assert at.query_params["src"] == "hub" and at.query_params["repo"] == "someone/ckpts"


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


def test_sweep_tab_on_the_shipped_summary_opens_a_run(monkeypatch):
    """The Sweep tab reads checkpoints/poster/summary.csv; a picked run opens in the layer view."""
    shipped = Path(APP).parent / "checkpoints"
    assert (shipped / "poster" / "summary.csv").is_file()
    monkeypatch.setenv(sources.ENV_VAR, str(shipped))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["tab"] = "Sweep"
    at.run()
    assert not at.exception
    at.selectbox(key="w_sweep").set_value("poster/summary.csv").run()  # studies ship too
    assert not at.exception
    assert "149 reruns" in texts(at)
    run = at.selectbox(key="sweep_run").value
    at.button(key="open").click().run()
    assert not at.exception
    assert at.session_state["tab"] == "Layer view"
    assert at.session_state["w_run_a"] == f"poster/{run}"
    assert any("D =" in t for t in panel_titles(layer_columns(at)[0]))  # its channels are drawn


def test_sweep_tab_without_a_summary(app):
    at = open_tab(app, "Sweep")
    assert not at.exception
    assert "No sweep summary" in texts(at)


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


def test_served_mode_ignores_the_folder_input_and_root_parameter(folder, tmp_path, monkeypatch):
    other = tmp_path / "other"
    make_folder(other, width=8, depth=2)
    monkeypatch.setenv(sources.ENV_VAR, str(folder))
    monkeypatch.setenv(sources.SERVE_VAR, "1")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["root"] = str(other)
    at.run()
    assert not at.exception
    assert at.sidebar.text_input(key="w_root").disabled
    assert "only shows its own checkpoints" in texts(at)
    assert "rflr-w16-r2-L3-even-s0" in at.selectbox(key="w_run_a").options  # the served folder
    at.session_state["w_root"] = str(other)  # a forged widget value changes nothing either
    at.run()
    assert "rflr-w8-r2-L2-even-s0" not in at.selectbox(key="w_run_a").options
    assert "root" not in at.query_params


def test_folder_input_refuses_long_names_and_nul(app):
    at = app.run()
    at.sidebar.text_input(key="w_root").set_value("/tmp/\x00x").run()
    assert not at.exception and "NUL" in texts(at)
    at.sidebar.text_input(key="w_root").set_value("/" + "a" * 400).run()  # cut at max_chars
    assert not at.exception and "Folder:" in texts(at)
    assert at.sidebar.text_input(key="w_root").proto.max_chars == sources.MAX_ROOT_CHARS


# --- state defects (issue #10): no interaction changes a setting the user did not touch -------


def test_switching_the_source_keeps_every_measurement_setting(app, monkeypatch):
    """Defect 1: Folder -> Hub -> Folder (and -> Upload -> Folder) set the activity threshold
    to 0 and turned shared axes off, and reset A and the layer."""
    monkeypatch.setattr(sources, "hub_reachable", lambda: True)
    at = app.run()
    at.number_input(key="w_thr").set_value(0.02).run()
    at.toggle(key="w_shared").set_value(False).run()
    at.selectbox(key="w_run_a").set_value("dense-w16-L3-even-s0").run()
    at.selectbox(key="w_layer").select(1).run()
    at.radio(key="w_part").set_value("h").run()
    for other in ("hub", "upload"):
        at.radio(key="w_src").set_value(other).run()
        assert not at.exception and "Choose a checkpoint source" in texts(at)
        at.radio(key="w_src").set_value("folder").run()
        assert not at.exception
        assert at.number_input(key="w_thr").value == 0.02
        assert at.toggle(key="w_shared").value is False
        assert at.selectbox(key="w_run_a").value == "dense-w16-L3-even-s0"
        assert at.selectbox(key="w_layer").value == 1 and at.radio(key="w_part").value == "h"
        assert at.query_params["thr"] == "0.02" and at.query_params["shared"] == "0"


def test_b_follows_a_in_the_same_rerun(app):
    """Defect 2: B's label lagged one rerun behind A."""
    at = app.run()
    at.selectbox(key="w_run_a").set_value("dense-w16-L3-even-s0").run()
    b = at.selectbox(key="w_run_b")
    assert b.format_func(b.value) == "control of A (rflr-w16-r2-L3-even-s0)"
    assert "**bottleneck.2.z**" in texts(at)  # B's column already shows the control
    # the same through the sweep route: open_in_layer_view sets A before the sidebar draws
    at.session_state["url_files"] = ("rflr-w16-r2-L3-even-s0/step-00000010.safetensors", None)
    at.run()
    b = at.selectbox(key="w_run_b")
    assert at.selectbox(key="w_run_a").value == "rflr-w16-r2-L3-even-s0"
    assert b.format_func(b.value) == "control of A (dense-w16-L3-even-s0)"
    assert at.select_slider(key="w_step").value == 10


def test_a_run_without_a_control_says_so_and_offers_a_pick(tmp_path, monkeypatch):
    """Defect 2: only one column showed, with no word that the folder has no control."""
    make_folder(tmp_path, width=8, depth=2)
    write_run(tmp_path, RFLRConfig(width=8, depth=2, rank=2), seed=5, steps=(0, 10))
    monkeypatch.setenv(sources.ENV_VAR, str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.selectbox(key="w_run_a").set_value("rflr-w8-r2-L2-even-s5").run()
    assert not at.exception and "No control for A" in texts(at)
    assert len(layer_columns(at)) == 1
    pick = at.selectbox(key="b_pick")
    assert "rflr-w8-r2-L2-even-s5" not in pick.options
    pick.set_value("dense-w8-L2-even-s0").run()
    assert not at.exception and at.selectbox(key="w_run_b").value == "dense-w8-L2-even-s0"
    assert len(layer_columns(at)) == 2 and "No control for A" not in texts(at)


def test_a_url_step_the_run_lacks_opens_the_nearest_snapshot(app):
    app.query_params["a"] = "dense-w16-L3-even-s0/step-00000070.safetensors"
    at = app.run()
    assert not at.exception
    assert at.selectbox(key="w_run_a").value == "dense-w16-L3-even-s0"
    assert at.select_slider(key="w_step").value == 100  # 70 is nearer 100 than 10
    assert "opened the nearest snapshot of its run, step 100" in texts(at)


def test_back_and_forward_restore_the_view(app):
    """Defect 6: Back added entries that restored nothing. The browser's Back reruns the page
    with the earlier URL; the app must show that view (and write nothing new)."""
    at = app.run()
    at.selectbox(key="w_layer").select(1).run()
    earlier = dict(at.query_params)
    at.number_input(key="w_thr").set_value(0.3).run()
    at.toggle(key="w_odd").set_value(True).run()
    later = dict(at.query_params)
    assert later["thr"] == "0.3" and later["odd"] == "1"
    for want in (earlier, later):  # Back, then Forward
        for key in list(at.query_params):
            if key not in want:
                del at.query_params[key]
        at.query_params.update(want)
        at.run()
        assert not at.exception
        assert dict(at.query_params) == want  # nothing rewritten: no new history entry
        assert at.number_input(key="w_thr").value == float(want.get("thr", 1e-3))
        assert at.toggle(key="w_odd").value is ("odd" in want)
        assert at.selectbox(key="w_layer").value == 1


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
