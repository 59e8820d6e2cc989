"""Uploads: hostile file names stored short and safe (issue 22, case 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from rflr.files import checkpoint, paths
from rflr.views import sources
from tests import hostile
from tests.conftest import APP


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> bytes:
    return hostile.write_valid(tmp_path_factory.mktemp("good") / "x.safetensors").read_bytes()


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
