"""rflr.views.sources: paths stay inside the folder, uploads are validated like files, repo ids."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from rflr.files import checkpoint
from rflr.views import sources


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


def test_open_root_refuses_what_is_not_a_folder(tmp_path):
    with pytest.raises(sources.SourceError, match="not an existing folder"):
        sources.open_root(tmp_path / "missing")
    with pytest.raises(sources.SourceError, match="NUL"):
        sources.open_root(f"{tmp_path}/\x00")
    with pytest.raises(sources.SourceError, match=f"at most {sources.MAX_ROOT_CHARS}"):
        sources.open_root("/" + "a" * 300)
    assert sources.open_root(f" {tmp_path} ") == tmp_path.resolve()
    assert sources.default_root(Path("/app")) == Path(
        os.environ.get(sources.ENV_VAR) or "/app/checkpoints"
    )


def test_served_mode_flag(monkeypatch):
    for value, on in (("1", True), ("true", True), ("", False), ("0", False)):
        monkeypatch.setenv(sources.SERVE_VAR, value)
        assert sources.served() is on
    monkeypatch.delenv(sources.SERVE_VAR)
    assert not sources.served()


def test_scan_is_bounded_skips_hidden_and_does_not_enter_links(tmp_path, folder):
    found = sources.scan(folder)
    assert len(found.files) == 6 and found.stopped is None
    assert sorted(found.files) == sorted(folder.rglob("*.safetensors"))
    root = tmp_path / "root"
    for i in range(5):
        (root / f"run{i}").mkdir(parents=True)
        (root / f"run{i}" / "step-1.safetensors").write_bytes(b"x")
    (root / ".resume").mkdir()
    (root / ".resume" / "step-1.safetensors").write_bytes(b"x")
    (root / "run0" / ".tmp.safetensors").write_bytes(b"x")
    (root / "out").symlink_to(folder, target_is_directory=True)  # 6 files behind a link
    assert len(sources.scan(root).files) == 5  # hidden skipped, the link not entered
    assert "more than 3 checkpoint files" in sources.scan(root, max_files=3).stopped
    assert len(sources.scan(root, max_files=3).files) == 3
    assert "folders" in sources.scan(root, max_dirs=2).stopped
    assert "s" in sources.scan(root, max_seconds=-1).stopped


def test_signature_changes_when_a_file_is_added_or_removed(tmp_path):
    root = tmp_path / "root"
    (root / "run").mkdir(parents=True)
    found = sources.scan(root)
    before = sources.signature(found.dirs)
    assert sources.signature(found.dirs) == before  # nothing changed: the same key
    new = root / "run" / "step-1.safetensors"
    new.write_bytes(b"x")
    os.utime(root / "run", ns=(1, 1))  # mtimes can be coarse: make the change visible
    after = sources.signature(found.dirs)
    assert after != before
    new.unlink()
    (root / "run").rmdir()
    assert sources.signature(found.dirs)[-1] == -1  # a vanished folder is a change too


def test_list_one_turns_every_failure_into_an_error_row(tmp_path, folder):
    root = tmp_path / "root"
    root.mkdir()
    good = next(folder.rglob("step-00000010.safetensors"))
    (root / "out.safetensors").symlink_to(good)  # resolves outside the root
    (root / "junk.safetensors").write_bytes(b"junk")
    (root / "dir.safetensors").mkdir()
    (root / "loop.safetensors").symlink_to(root / "loop.safetensors")
    rows = {p.name: checkpoint.list_one(p, root) for p in sorted(root.iterdir())}
    assert "outside the folder" in rows["out.safetensors"].error
    assert all(r.header is None and r.error for r in rows.values())
    items, stopped = sources.list_folder(sources.scan(folder), folder)
    assert stopped is None and all(i.header is not None for i in items) and len(items) == 6


def test_upload_dir_is_private_and_pruning_deletes_only_what_the_app_wrote(
    tmp_path, folder, monkeypatch
):
    up = sources.upload_dir()
    assert up.is_dir() and not up.is_symlink() and (up.stat().st_mode & 0o777) == 0o700
    assert up.name.startswith("rflr-uploads-") and sources.upload_dir() == up  # one per process
    assert up != Path(tempfile.gettempdir()) / f"rflr-uploads-{os.getuid()}"  # unpredictable
    base = tmp_path / "up"
    base.mkdir()
    victim = tmp_path / "victim"
    (victim / "keep").mkdir(parents=True)
    (base / "not-ours").mkdir()
    (base / "link").symlink_to(victim, target_is_directory=True)
    monkeypatch.setattr(sources, "MAX_UPLOADS_KEPT", 1)
    good = sorted(folder.rglob("*.safetensors"))
    for f in good[:3]:
        sources.save_upload(f.name, f.read_bytes(), base)
    assert (victim / "keep").is_dir() and (base / "not-ours").is_dir() and (base / "link").exists()
    ours = [d for d in base.iterdir() if d.name not in ("not-ours", "link")]
    assert len(ours) == 1  # older uploads of this process were pruned, nothing else


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
    hidden = sources.save_upload(".safetensors", good, tmp_path / "up2")
    assert [p.name for p in hidden.iterdir()] == ["upload.safetensors"]  # listed, not hidden


def test_repo_id_check():
    assert sources.check_repo_id(" user/name ") == "user/name"
    for bad in ("name", "../x/y", "a/b/c", "user/.."):
        with pytest.raises(sources.SourceError):
            sources.check_repo_id(bad)
