"""Run identity: differences between configs, and the output-folder check."""

from dataclasses import replace

import pytest

from rflr.core.config import RFLRConfig, RunConfig, TargetConfig, TrainConfig
from rflr.train.identity import RunConflict, check_out_folder, differences
from tests import hostile


def test_differences_name_every_changed_value():
    a = hostile.tiny_config()
    b = replace(a, train=replace(a.train, lr=0.01, steps=30))
    assert differences(a.to_dict(), b.to_dict()) == [
        "train.lr: 0.005 -> 0.01",
        "train.steps: 20 -> 30",
    ]
    assert differences(a.to_dict(), a.to_dict()) == []


def test_out_folder_with_another_run_of_the_same_id(tmp_path):
    cfg = hostile.tiny_config()
    path = hostile.write_valid(tmp_path / cfg.run_id / "step-00000020.safetensors", cfg)
    assert check_out_folder([cfg], tmp_path, overwrite=False) == []  # the same run
    other = replace(cfg, target=replace(cfg.target, domain=2.0))
    assert other.run_id == cfg.run_id
    with pytest.raises(RunConflict, match=r"target.domain: 3.14159\S* -> 2.0"):
        check_out_folder([other], tmp_path, overwrite=False)
    assert check_out_folder([other], tmp_path, overwrite=True) == [path]
    path.write_bytes(b"junk")  # an unreadable file under the run's name is not this run
    with pytest.raises(RunConflict, match="unreadable file"):
        check_out_folder([cfg], tmp_path, overwrite=False)


def test_transverse_terms_are_part_of_the_identity(tmp_path):
    plain = RunConfig(
        RFLRConfig(width=8, rank=2, depth=2, input_dim=2), train=TrainConfig(steps=20)
    )
    hostile.write_valid(tmp_path / plain.run_id / "step-00000020.safetensors", plain)
    other = replace(plain, target=TargetConfig(transverse=[[1, 1, 0.5]]))
    assert other.run_id == plain.run_id
    assert differences(plain.to_dict(), other.to_dict()) == [
        "target.transverse: null -> [[1, 1, 0.5]]"
    ]
    with pytest.raises(RunConflict, match=r"target.transverse: null -> \[\[1, 1, 0.5\]\]"):
        check_out_folder([other], tmp_path, overwrite=False)


def test_a_sweep_replaces_the_unreadable_files_of_its_runs(tmp_path):
    """A sweep retrains a damaged run: its unreadable files are the caller's to remove, while
    a readable file of another config is still a conflict."""
    from rflr.sweep.runner import finished_header

    cfg = hostile.tiny_config()
    final = hostile.write_valid(tmp_path / cfg.run_id / "step-00000020.safetensors", cfg)
    assert finished_header(cfg, tmp_path) is not None
    snapshot = tmp_path / cfg.run_id / "step-00000010.safetensors"
    for junk in (b"", b"junk", final.read_bytes()[:100]):
        snapshot.write_bytes(junk)
        assert finished_header(cfg, tmp_path) is None  # a damaged snapshot: not finished
        assert check_out_folder([cfg], tmp_path, False, replace_damaged=True) == [snapshot]
    other = replace(cfg, train=replace(cfg.train, lr=0.01))
    with pytest.raises(RunConflict, match="train.lr"):
        check_out_folder([other], tmp_path, False, replace_damaged=True)


def test_a_run_folder_is_held_by_one_process_at_a_time(tmp_path):
    from rflr.train.identity import LOCK_NAME, hold_runs

    cfg = hostile.tiny_config()
    other = replace(cfg, train=replace(cfg.train, lr=0.01))  # the same id
    lock = tmp_path / cfg.run_id / LOCK_NAME
    with hold_runs([cfg], tmp_path):
        assert lock.is_file()
        with (
            pytest.raises(RunConflict, match="being written by another process"),
            hold_runs([other], tmp_path),
        ):
            pass
    assert not lock.exists()  # nothing outlives the run
    lock.write_bytes(b"")  # left by a killed process: no flock on it, so it is free
    with hold_runs([other], tmp_path):
        pass
    lock.symlink_to(tmp_path / "elsewhere")  # never followed
    with pytest.raises(OSError), hold_runs([cfg], tmp_path):
        pass
    assert not (tmp_path / "elsewhere").exists()
