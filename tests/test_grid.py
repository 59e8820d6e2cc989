"""rflr.sweep.grid: a sweep spec expands into every combination, each in its own folder."""

from __future__ import annotations

import pytest

from rflr.sweep import grid
from rflr.sweep.grid import GridSpec, SpecError


def test_points_are_every_combination_last_key_fastest():
    spec = GridSpec({"lr": [0.01, 0.05], "model": ["rflr", "dense"], "depth": [2]})
    ps = grid.points(spec)
    assert ps == [
        {"lr": 0.01, "model": "rflr", "depth": 2},
        {"lr": 0.01, "model": "dense", "depth": 2},
        {"lr": 0.05, "model": "rflr", "depth": 2},
        {"lr": 0.05, "model": "dense", "depth": 2},
    ]
    names = grid.folder_names(ps)
    assert names[1] == "lr=0.01_model=dense_depth=2" and len(set(names)) == 4


def test_grid_flags_parse_keys_and_values():
    assert grid.parse_grid_flag("batch-size=1,4") == ("batch_size", ["1", "4"])
    assert grid.parse_grid_flag("--lr=0.1") == ("lr", ["0.1"])
    assert grid.parse_grid_flag("cosines=1:1;1:1,2:0.5") == ("cosines", ["1:1", "1:1,2:0.5"])
    spec = grid.spec_from_flags(["lr=0.1,0.2", "online=true,false"], seeds_per_task=4)
    assert spec.axes == {"lr": ["0.1", "0.2"], "online": ["true", "false"]}
    assert spec.seeds_per_task == 4


@pytest.mark.parametrize(
    "flags, fragment",
    [
        (["lr"], "use KEY=V1,V2"),
        (["lr=0.1,"], "empty value"),
        (["lr=0.1", "lr=0.2"], "given twice"),
        (["seeds=0,1"], "cannot be swept"),
        (["out=a,b"], "cannot be swept"),
        (["lr=0.1,0.1"], "listed twice"),
        ([], "at least one swept flag"),
    ],
)
def test_bad_grid_flags_are_one_error(flags, fragment):
    with pytest.raises(SpecError, match=fragment):
        grid.spec_from_flags(flags)


def test_too_many_configs_fail_before_any_work():
    many = [f"k{i}=" + ",".join(map(str, range(10))) for i in range(5)]
    with pytest.raises(SpecError, match="more than"):
        grid.spec_from_flags(many)


def test_toml_spec(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(
        'seeds_per_task = 8\n[flags]\nsteps = 2000\nseeds = "0-15"\nfrozen-atoms = true\n'
        '[grid]\nmodel = ["rflr", "dense"]\nlr = [0.02, 0.05]\n'
    )
    spec = grid.load_spec(path)
    assert spec.axes == {"model": ["rflr", "dense"], "lr": [0.02, 0.05]}
    assert spec.flags == {"steps": 2000, "seeds": "0-15", "frozen_atoms": True}
    assert spec.seeds_per_task == 8
    assert grid.to_argv(spec.flags) == ["--steps", "2000", "--seeds", "0-15", "--frozen-atoms"]
    assert grid.to_argv({"online": False, "lr": 0.05}) == ["--lr", "0.05"]
    assert spec.to_dict()["grid"] == spec.axes


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[grid\n", "not TOML"),
        ("[grid]\nlr = 0.1\n", "non-empty list"),
        ("[grid]\nlr = []\n", "non-empty list"),
        ("[grid]\nlr = [[1]]\n", "number, string or boolean"),
        ("other = 1\n[grid]\nlr = [1]\n", "unknown entries"),
        ("seeds_per_task = 0\n[grid]\nlr = [1]\n", "seeds_per_task"),
        ("[flags]\nlr = 1\n[grid]\nlr = [1, 2]\n", "both fixed and swept"),
        ("[flags]\nexecutor = 'ray'\n[grid]\nlr = [1]\n", "cannot set"),
    ],
)
def test_bad_toml_specs_are_one_error(tmp_path, text, fragment):
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(SpecError, match=fragment):
        grid.load_spec(path)
    with pytest.raises(SpecError, match="cannot read"):
        grid.load_spec(tmp_path / "missing.toml")


def test_folders_that_would_collide_are_refused():
    with pytest.raises(SpecError, match="share the folder"):
        grid.folder_names([{"cosines": "1:1"}, {"cosines": "1-1"}])


def test_seed_blocks():
    assert grid.seed_blocks([0, 1, 2, 3, 4], 2) == [[0, 1], [2, 3], [4]]
    assert grid.seed_blocks([5, 6], None) == [[5, 6]]


def _spec(tmp_path, text: str):
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return grid.load_spec(path)


@pytest.mark.parametrize(
    "text, fragment",
    [
        # issue 22, case 7: nesting that exhausts the parser or the error message
        ("[flags]\nx = " + "[" * 5000 + "]" * 5000 + "\n[grid]\nlr = [1]\n", "nested too deeply"),
        ("[grid]\nlr = [" + "{a=" * 3000 + "1" + "}" * 3000 + "]\n", "nested too deeply"),
        ("[flags]\n" + ".".join(["a"] * 3000) + " = 1\n[grid]\nlr = [1]\n", "must be a number"),
        ("[grid]\nlr = [" + "[" * 200 + "]" * 200 + "]\n", "must be a number"),
        ("[grid]\nwidth = [" + "1" * 5000 + "]\n", "not TOML"),
        # case 8: control characters, which no flag takes and paths choke on
        ('[flags]\nout = "a\\u0000b"\n[grid]\nlr = [1]\n', "control character"),
        ('[flags]\nsnapshots = "log\\nfinal"\n[grid]\nlr = [1]\n', "control character"),
        ('[grid]\nactivation = ["relu", "re\\u202elu"]\n', "control character"),
        ('[grid]\n"a\\nb" = [1]\n', "is not a train.py flag name"),
        ('[flags]\n"x\\u0000" = 1\n[grid]\nlr = [1]\n', "is not a train.py flag name"),
        # case 10: a value that parses like another names no folder of its own
        ('[grid]\nwidth = [8, " 8"]\n', "listed twice"),
        ('[grid]\nwidth = ["\\uff18"]\n', "ASCII"),
        ('[grid]\nwidth = ["  "]\n', "empty value"),
    ],
)
def test_hostile_toml_specs_are_one_short_error(tmp_path, text, fragment):
    with pytest.raises(SpecError, match=fragment) as err:
        _spec(tmp_path, text)
    assert "\n" not in str(err.value) and len(str(err.value)) < 400


def test_a_huge_spec_is_refused_unread(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("# x\n" * (grid.SPEC_MAX_BYTES // 4 + 1))
    with pytest.raises(SpecError, match="a spec of more than"):
        grid.load_spec(path)


@pytest.mark.parametrize(
    "flags, fragment",
    [
        (["part=a,b"], "--part cannot be swept"),
        (["seed-block=1,2"], "does not change what is trained"),
        (["snapshots=log,final"], "does not change what is trained"),
        (["log-per-decade=10,20"], "does not change what is trained"),
        (["snapshot-seeds=1,2"], "does not change what is trained"),
        (["activation=re\x00lu"], "control character"),
        (["cosines=1:1\r2:1"], "control character"),
        (["x y=1"], "is not a train.py flag name"),
    ],
)
def test_grid_flags_that_do_not_change_training_or_hold_controls_are_refused(flags, fragment):
    with pytest.raises(SpecError, match=fragment) as err:
        grid.spec_from_flags(flags)
    assert "\n" not in str(err.value)


def test_toml_grid_values_are_stripped_like_grid_flags(tmp_path):
    spec = _spec(tmp_path, '[grid]\nwidth = [" 8", 16]\n')
    assert spec.axes == {"width": ["8", 16]}
    assert grid.folder_names(grid.points(spec)) == ["width=8", "width=16"]
