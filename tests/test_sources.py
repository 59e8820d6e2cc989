"""rflr.app.sources: paths stay inside the folder, uploads are validated like files, repo ids."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rflr import checkpoint
from rflr.app import sources


def test_inside_refuses_paths_that_leave_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "run").mkdir(parents=True)
    (tmp_path / "secret.safetensors").write_bytes(b"x")
    assert sources.inside(root, "run/a.safetensors") == (root / "run/a.safetensors").resolve()
    for bad in ("../secret.safetensors", "run/../../secret.safetensors", "/etc/passwd", ""):
        with pytest.raises(sources.SourceError, match="refused"):
            sources.inside(root, bad)
    (root / "link").symlink_to(tmp_path)  # a symlink out of the root is outside too
    with pytest.raises(sources.SourceError, match="outside"):
        sources.inside(root, "link/secret.safetensors")


def test_open_root_and_signature(tmp_path, folder):
    with pytest.raises(sources.SourceError, match="not an existing folder"):
        sources.open_root(tmp_path / "missing")
    sig = sources.folder_signature(folder)
    assert len(sig) == 6 and all(name.endswith(".safetensors") for name, _, _ in sig)
    assert sources.default_root(Path("/app")) == Path(
        os.environ.get(sources.ENV_VAR) or "/app/checkpoints"
    )


def test_save_upload_validates_like_a_file_on_disk(tmp_path, folder):
    good = next(folder.rglob("step-00000010.safetensors")).read_bytes()
    root = sources.save_upload("my run.safetensors", good, tmp_path / "up")
    assert [p.name for p in root.iterdir()] == ["my_run.safetensors"]
    assert checkpoint.load(root / "my_run.safetensors").step == 10
    with pytest.raises(sources.SourceError, match="not a readable safetensors"):
        sources.save_upload("junk.safetensors", b"\x10" * 64, tmp_path / "up")
    with pytest.raises(sources.SourceError, match="pickle"):
        sources.save_upload("model.safetensors", b"\x80\x04\x95" + b"0" * 30, tmp_path / "up")
    with pytest.raises(sources.SourceError, match="over the 1 MB limit"):
        sources.save_upload("big.safetensors", b"0" * (2 * 2**20), tmp_path / "up", max_mb=1)
    assert len(list((tmp_path / "up").iterdir())) == 1  # refused uploads leave nothing behind


def test_repo_id_check():
    assert sources.check_repo_id(" user/name ") == "user/name"
    for bad in ("name", "../x/y", "a/b/c", "user/.."):
        with pytest.raises(sources.SourceError):
            sources.check_repo_id(bad)
