"""Save/load round trips, refusal of bad files, atomic writes, header-only listing."""

import json
import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from rflr.core.config import RunConfig, TrainConfig
from rflr.core.model import init_params
from rflr.files import checkpoint as ck
from rflr.files.checkpoint import CheckpointError, list_checkpoints, load, read_header
from tests.conftest import write_checkpoint

NAN_HISTORY = {"step": [0, 7], "train_loss": [1.0, 0.5], "test_mse": [1.1, float("nan")]}


def make(path, cfg: RunConfig, params=None, step=7):
    return write_checkpoint(path, cfg, params, step, NAN_HISTORY)


def test_round_trip(tmp_path, tiny_rflr, tiny_dense):
    for cfg in (tiny_rflr, tiny_dense):
        params = init_params(cfg.model, torch.Generator().manual_seed(1))
        path = make(tmp_path / f"{cfg.model.kind}.safetensors", cfg, params)
        c = load(path)
        assert c.config == cfg and c.step == 7 and c.status == "ok"
        assert c.history["test_mse"] == [1.1, None]  # NaN stored as JSON null
        assert c.metrics.layers[0].name == (
            "bottleneck.1.z" if cfg.model.kind == "rflr" else "hidden.1.u"
        )
        for k in params:
            assert torch.equal(c.params[k], params[k])
        h = read_header(path)
        assert h.config == cfg and h.metrics == c.metrics


def test_metadata_keys_follow_the_spec(tmp_path, tiny_rflr):
    from safetensors import safe_open

    path = make(tmp_path / "a.safetensors", tiny_rflr)
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    assert meta["format"] == "pt" and meta["rflr.format_version"] == "1"
    cfg = json.loads(meta["rflr.config"])
    assert list(cfg)[:9] == [
        "model",
        "width",
        "rank",
        "depth",
        "input_dim",
        "activation",
        "parameterization",
        "train_atoms",
        "target",
    ]
    assert set(cfg["target"]) >= {"cosines", "sines", "domain"}
    assert set(cfg["train"]) >= {"optimizer", "lr", "schedule", "batch_size", "n_train", "steps"}
    m = json.loads(meta["rflr.metrics"])
    assert set(m) >= {
        "status",
        "test_mse",
        "output_defect",
        "headline_defect",
        "grid_points",
        "activity_threshold",
        "layers",
    }
    assert set(m["layers"][0]) >= {
        "name",
        "defect_mean",
        "defect_median",
        "defect_max",
        "active",
        "channels",
    }


def _expect_refusal(path, fragment):
    with pytest.raises(CheckpointError) as e:
        load(path)
    assert str(path) in str(e.value) and fragment in str(e.value)


def test_truncated_and_corrupt_files_are_refused(tmp_path, tiny_rflr):
    good = make(tmp_path / "good.safetensors", tiny_rflr)
    data = good.read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(data[: len(data) - 100])
    _expect_refusal(tmp_path / "trunc.safetensors", "not a readable safetensors file")
    (tmp_path / "garbage.safetensors").write_bytes(
        b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}" + data
    )
    _expect_refusal(tmp_path / "garbage.safetensors", "not a readable safetensors file")
    (tmp_path / "empty.safetensors").write_bytes(b"")
    _expect_refusal(tmp_path / "empty.safetensors", "empty")
    with open(tmp_path / "pickled.safetensors", "wb") as f:
        pickle.dump({"atoms.weight": [1.0]}, f)
    _expect_refusal(tmp_path / "pickled.safetensors", "pickle")


def _rewrite(path, tensors=None, **meta_changes):
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
        t = {k: f.get_tensor(k) for k in f.keys()}
    t.update(tensors or {})
    meta.update(meta_changes)
    save_file({k: v for k, v in t.items() if v is not None}, str(path), metadata=meta)


def test_bad_contents_are_refused(tmp_path, tiny_rflr):
    cases = {
        "version": (None, {"rflr.format_version": "2"}, "unknown format version '2'"),
        "shape": (
            {"bottleneck.1.down": torch.zeros(3, 16)},
            {},
            "tensor bottleneck.1.down has shape [3, 16]",
        ),
        "nan": ({"readout.weight": torch.full((1, 16), float("nan"))}, {}, "non-finite"),
        "dtype": ({"atoms.bias": torch.zeros(16, dtype=torch.float64)}, {}, "torch.float64"),
        "missing": ({"readout.bias": None}, {}, "missing tensors: readout.bias"),
        "extra": ({"surprise": torch.zeros(1)}, {}, "unexpected tensors: surprise"),
        "config": (
            None,
            {"rflr.config": json.dumps({"model": "transformer"})},
            "unknown model kind",
        ),
        "rank": (
            None,
            {
                "rflr.config": RunConfig(train=TrainConfig())
                .to_json()
                .replace('"rank": 2', '"rank": 999')
            },
            "rank must be",
        ),
    }
    for name, (tensors, meta, fragment) in cases.items():
        path = make(tmp_path / f"{name}.safetensors", tiny_rflr)
        if name == "missing":
            from safetensors import safe_open

            with safe_open(str(path), "pt") as f:
                meta_all, t = (
                    f.metadata(),
                    {k: f.get_tensor(k) for k in f.keys() if k != "readout.bias"},
                )
            save_file(t, str(path), metadata=meta_all)
        else:
            _rewrite(path, tensors, **meta)
        _expect_refusal(path, fragment)


def test_listing_reads_headers_only_and_keeps_errors(tmp_path, tiny_rflr, monkeypatch):
    make(tmp_path / "run" / "a.safetensors", tiny_rflr)
    nan = make(tmp_path / "run" / "b.safetensors", tiny_rflr)
    _rewrite(nan, {"readout.weight": torch.full((1, 16), float("nan"))})
    (tmp_path / "run" / "c.safetensors").write_bytes(b"junk")
    (tmp_path / ".resume").mkdir()
    (tmp_path / ".resume" / "x.safetensors").write_bytes(b"hidden state")
    # a listing must never touch tensor data
    monkeypatch.setattr(ck, "load", lambda *a: pytest.fail("listing loaded tensors"))
    listing = {entry.path.name: entry for entry in list_checkpoints(tmp_path)}
    assert set(listing) == {"a.safetensors", "b.safetensors", "c.safetensors"}
    assert listing["a.safetensors"].header.step == 7
    assert listing["b.safetensors"].error is None  # NaN weights are only found when loading
    assert "not a readable safetensors file" in listing["c.safetensors"].error


def test_crash_during_write_leaves_no_partial_file(tmp_path, tiny_rflr, monkeypatch):
    path = make(tmp_path / "a.safetensors", tiny_rflr)
    before = path.read_bytes()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(os, "fsync", killed)  # dies after writing bytes, before the rename
    with pytest.raises(KeyboardInterrupt):
        make(path, tiny_rflr, step=99)
    with pytest.raises(KeyboardInterrupt):
        make(tmp_path / "new.safetensors", tiny_rflr)
    assert path.read_bytes() == before  # the old file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.safetensors"
    ]  # no temp file, no new file


# --- hostile folders: every per-file failure is an error row, never an exception ------------


def test_listing_survives_hostile_folders(tmp_path, monkeypatch):
    from tests import hostile

    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir(), outside.mkdir()
    good = hostile.write_valid(root / "run" / "good.safetensors")
    hostile.symlink_out_of_root(root, outside)
    hostile.dangling_symlink(root)
    hostile.symlink_loop(root)
    hostile.hidden_files(root)
    hostile.folder_named_like_a_checkpoint(root)
    inside_link = root / "inside.safetensors"
    inside_link.symlink_to(good)  # a link that stays inside the root is an ordinary file
    (root / "linked-dir").symlink_to(outside, target_is_directory=True)  # never entered
    bad = hostile.write_header_case(root / "bad", "config-list")
    rows = {r.path.relative_to(root).as_posix(): r for r in list_checkpoints(root)}
    assert set(rows) == {
        "run/good.safetensors",
        "link.safetensors",
        "dangling.safetensors",
        "loop.safetensors",
        "inside.safetensors",
        "bad/config-list.safetensors",
    }
    assert rows["run/good.safetensors"].header is not None
    assert rows["inside.safetensors"].header is not None
    assert "outside the folder" in rows["link.safetensors"].error
    assert rows["dangling.safetensors"].error.startswith("cannot read")
    assert rows["loop.safetensors"].error.startswith("cannot read")
    assert "rflr.config" in rows[bad.relative_to(root).as_posix()].error


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_an_error_row(tmp_path):
    from tests import hostile

    path = hostile.unreadable_file(tmp_path)
    try:
        (row,) = list_checkpoints(tmp_path)
        assert row.path == path and row.error.startswith("cannot read")
        with pytest.raises(CheckpointError, match="cannot read"):
            load(path)
    finally:
        path.chmod(0o600)


def test_unreadable_file_as_root_is_an_error_row(tmp_path, monkeypatch):
    """The same with the permission error simulated (tests often run as root)."""
    from tests import hostile

    path = hostile.write_valid(tmp_path / "a.safetensors")
    real_open = open

    def deny(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny)
    (row,) = list_checkpoints(tmp_path)
    assert row.error == "cannot read the file (Permission denied)"


def test_folder_removed_while_listing(tmp_path, monkeypatch):
    """A folder vanishing mid-listing (the trainer's .resume cleanup, a finished run being
    moved) gives error rows or nothing for it, never an exception."""
    from tests import hostile

    hostile.write_valid(tmp_path / "a" / "one.safetensors")
    doomed = tmp_path / "b"
    hostile.write_valid(doomed / "two.safetensors")
    hostile.write_valid(doomed / "sub" / "three.safetensors")
    hook = hostile.remove_during_listing(doomed)
    real = ck.read_header

    def racing(path):
        hook(path)
        return real(path)

    monkeypatch.setattr(ck, "read_header", racing)
    rows = {r.path.relative_to(tmp_path).as_posix(): r for r in list_checkpoints(tmp_path)}
    assert rows["a/one.safetensors"].header is not None
    assert all(r.error for name, r in rows.items() if name.startswith("b/"))


def test_listing_is_bounded_and_keyed_by_file(tmp_path):
    from tests import hostile

    one = hostile.write_valid(tmp_path / "run" / "step-00000020.safetensors")
    (tmp_path / "run" / "copy.safetensors").write_bytes(one.read_bytes())  # same run and step
    rows = list_checkpoints(tmp_path)
    assert [r.path.name for r in rows] == ["copy.safetensors", "step-00000020.safetensors"]
    assert all(r.header.config.run_id == rows[0].header.config.run_id for r in rows)
    capped = list_checkpoints(tmp_path, max_files=1)
    assert len(capped) == 2 and "listing stopped after 1 files" in capped[0].error
    assert list_checkpoints(tmp_path / "missing") == []
    assert list_checkpoints(one) == []  # a file is not a folder


def test_written_files_respect_the_umask(tmp_path, tiny_rflr):
    old = os.umask(0o027)
    try:
        path = make(tmp_path / "a.safetensors", tiny_rflr)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640
