"""Uploads: one private folder per session, pruned when the session ends or is idle, never
another session's; hostile file names stored short and safe (issue 22, cases 3 and 12)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from rflr.core.config import RFLRConfig, RunConfig
from rflr.files import checkpoint, paths
from rflr.views import sources
from tests import hostile
from tests.conftest import APP, open_tab, texts, write_checkpoint


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> bytes:
    return hostile.write_valid(tmp_path_factory.mktemp("good") / "x.safetensors").read_bytes()


def distinct_checkpoints(folder: Path, count: int) -> list[bytes]:
    """`count` valid checkpoints with different bytes (one seed each)."""
    out = []
    for seed in range(count):
        cfg = RunConfig(RFLRConfig(width=8, rank=1, depth=2), seed=seed)
        out.append(
            write_checkpoint(folder / f"s{seed}.safetensors", cfg, grid_points=65).read_bytes()
        )
    return out


# --- stored names ------------------------------------------------------------------------------


HOSTILE_NAMES = [
    "a" * 300 + ".safetensors",  # case 3: a name longer than a file system allows
    "é" * 300 + ".safetensors",  # 600 bytes of UTF-8 in 300 characters
    "../../etc/passwd",
    "/abs/path.safetensors",
    "C:\\evil\\x.safetensors",
    "nul\x00byte.safetensors",
    "line\nbreak\r.safetensors",
    "esc\x1b[2J.safetensors",
    "rtl\u202etxt.exe.safetensors",
    "..",
    ".",
    "",
    ".safetensors",
    ".hidden.safetensors",
    "spaces and (parens) [x].safetensors",
    "x.SAFETENSORS",
]


def safe_stored_name(name: str) -> bool:
    return (
        name.endswith(checkpoint.SUFFIX)
        and not name.startswith(".")
        and len(name.encode()) <= sources.UPLOAD_NAME_BYTES
        and all(c.isalnum() or c in "_.-" for c in name)
        and "/" not in name
    )


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_are_stored_short_and_safe(tmp_path, good, name):
    root = sources.save_upload(name, good, tmp_path / "up")
    (stored,) = root.iterdir()
    assert safe_stored_name(stored.name), stored.name
    assert root.parent == tmp_path / "up" and checkpoint.load(stored).step == 20


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(max_size=400))
def test_any_name_is_stored_safely_or_refused_in_one_line(tmp_path, good, name):
    try:
        root = sources.save_upload(name, good, tmp_path / "any")
    except sources.SourceError as e:
        assert "\n" not in str(e)
        return
    assert all(safe_stored_name(p.name) for p in root.iterdir())


def test_refusals_show_the_name_printable(tmp_path):
    with pytest.raises(sources.SourceError) as e:
        sources.save_upload("evil\x1b[2J\n.safetensors", b"\x10" * 64, tmp_path)
    assert "\x1b" not in str(e.value) and "\\x1b[2J\\n" in str(e.value)


def test_the_same_bytes_under_two_names_are_two_folders(tmp_path, good):
    a = sources.save_upload("alice.safetensors", good, tmp_path)
    b = sources.save_upload("bob.safetensors", good, tmp_path)
    assert a != b and [p.name for p in b.iterdir()] == ["bob.safetensors"]
    assert sources.save_upload("bob.safetensors", good, tmp_path) == b  # written once


# --- sessions ----------------------------------------------------------------------------------


def test_a_session_folder_is_private_and_goes_with_its_session():
    mine = sources.SessionUploads()
    path = mine.path
    assert path.parent == sources.upload_dir() and (path.stat().st_mode & 0o777) == 0o700
    assert mine.usable()
    del mine
    gc.collect()
    assert not path.exists()


def test_idle_sessions_are_pruned_and_only_those(tmp_path, good):
    old, new = sources.SessionUploads(), sources.SessionUploads()
    sources.save_upload("a.safetensors", good, old.path)
    planted = old.path.parent / "not-ours"
    planted.mkdir(exist_ok=True)
    sources._sessions[old.path] -= 2 * sources.UPLOAD_IDLE_S  # unused for two idle times
    sources.prune_idle()
    assert not old.path.exists() and not old.usable()
    assert new.usable() and planted.is_dir()


def test_all_uploads_together_are_bounded(tmp_path, good, monkeypatch):
    monkeypatch.setattr(
        sources, "UPLOADS_MAX_MB", (sources.uploads_mb() * 2**20 + len(good)) / 2**20
    )
    sources.save_upload("one.safetensors", good, tmp_path)  # just fits
    with pytest.raises(sources.SourceError, match="try again later"):
        sources.save_upload("two.safetensors", good, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [
        sources.save_upload("one.safetensors", good, tmp_path).name
    ]


# --- in the app --------------------------------------------------------------------------------


@pytest.fixture
def served(folder, monkeypatch):
    monkeypatch.setenv(paths.ENV_VAR, str(folder))
    monkeypatch.setenv(sources.SERVE_VAR, "1")


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    if at.session_state["w_src"] != "upload":
        at.radio(key="w_src").set_value("upload").run()
    at.file_uploader(key="w_upload").set_value((name, data, "application/octet-stream"))
    return at.run()


def upload_root(at: AppTest) -> Path:
    (root, error), *_ = [v for k, v in at.session_state["uploads"].items()][-1:]
    assert error is None
    return root


def test_a_300_character_name_opens_like_any_other(served, good):
    at = upload(AppTest.from_file(APP, default_timeout=60).run(), "a" * 300 + ".safetensors", good)
    assert not at.exception and not at.sidebar.error
    (stored,) = upload_root(at).iterdir()
    assert stored.name == "a" * (sources.UPLOAD_NAME_BYTES - 12) + ".safetensors"
    assert "rflr-w8-r2-L2" in " ".join(at.selectbox(key="w_run_a").options)


def test_two_visitors_never_share_an_upload(served, good, tmp_path):
    """Case 12: A and B upload the same bytes under different names; then B uploads eight
    other files. B never sees A's name, and A keeps its upload."""
    a = upload(AppTest.from_file(APP, default_timeout=60).run(), "alice-private.safetensors", good)
    b = upload(AppTest.from_file(APP, default_timeout=60).run(), "bob.safetensors", good)
    root_a, root_b = upload_root(a), upload_root(b)
    assert root_a.parent != root_b.parent  # two sessions, two folders
    assert [p.name for p in root_b.iterdir()] == ["bob.safetensors"]
    b = open_tab(b, "Checkpoints")
    listed = str([d.value.to_dict() for d in b.dataframe])
    assert "bob.safetensors" in listed and "alice" not in listed + texts(b)
    for i, data in enumerate(distinct_checkpoints(tmp_path, sources.MAX_UPLOADS_KEPT)):
        upload(b, f"other-{i}.safetensors", data)
    assert not b.exception and (root_a / "alice-private.safetensors").is_file()
    assert not root_b.exists()  # B's own oldest upload made room, in B's folder only
    a.run()
    assert not a.exception and upload_root(a) == root_a


def test_an_upload_pruned_as_idle_is_written_again(served, good):
    at = upload(AppTest.from_file(APP, default_timeout=60).run(), "mine.safetensors", good)
    first = upload_root(at)
    sources.prune_idle(max_idle_s=-1)  # every session counts as idle
    assert not first.exists()
    at.run()
    again = upload_root(at)
    assert not at.exception and again != first and (again / "mine.safetensors").is_file()
    assert not at.sidebar.error


def test_a_session_that_ends_leaves_no_upload(served, good):
    at = upload(AppTest.from_file(APP, default_timeout=60).run(), "gone.safetensors", good)
    session_folder = upload_root(at).parent
    assert session_folder.is_dir()
    del at
    gc.collect()
    assert not session_folder.exists()
