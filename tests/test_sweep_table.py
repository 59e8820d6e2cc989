"""rflr.views.sweep_table: a summary.csv read defensively; checkpoint paths kept inside the root."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from rflr.sweep.summary import SUMMARY_COLUMNS
from rflr.views import sweep_table

HEADER = "run_id,model,status,test_mse,headline_defect,checkpoint,symmetric,headline_active\n"


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (os.urandom(4096), "not a readable CSV"),
        (b'a,b\n1,2,3,4\n"x', "not a readable CSV"),
        (b"just,some,columns\n1,2,3\n", "no column run_id"),
    ],
)
def test_garbage_is_refused_in_one_line(tmp_path, content, match):
    path = tmp_path / "summary.csv"
    path.write_bytes(content)
    with pytest.raises(sweep_table.SummaryError, match=match):
        sweep_table.read_checked(path)


def test_empty_file_is_an_empty_table(tmp_path):
    path = tmp_path / "summary.csv"
    path.write_bytes(b"")
    assert sweep_table.read_checked(path).empty


def test_cells_get_their_types_and_duplicates_go(tmp_path):
    path = tmp_path / "summary.csv"
    path.write_text(
        HEADER + "r1,rflr,ok,abc,1e-3,x.safetensors,True,1.5\n"
        "r1,dense,ok,1,2,y.safetensors,false,2\n"
        "r2,dense,diverged,inf,0.5,z.safetensors,nope,3\n"
        ",dense,ok,1,1,w,true,1\n"
    )
    df = sweep_table.read_checked(path)
    assert list(df["run_id"]) == ["r1", "r2"]  # the first of a duplicated id; no empty id
    assert pd.isna(df["test_mse"]).all()  # "abc" and inf are not numbers the charts can use
    assert df["headline_active"].dtype == "Int64" and pd.isna(df["headline_active"][0])
    assert list(df["symmetric"]) == [True, False]
    assert set(SUMMARY_COLUMNS) <= set(df.columns)  # absent columns exist, empty


def test_a_count_too_large_for_an_integer_is_empty(tmp_path):
    path = tmp_path / "summary.csv"
    path.write_text(
        HEADER.replace("\n", ",step,alive_atoms\n")
        + "r1,rflr,ok,1,1,x.safetensors,true,1,1e300,2\n"
        + "r2,rflr,ok,1,1,y.safetensors,true,1,5,1e30\n"
    )
    df = sweep_table.read_checked(path)
    assert df["step"].dtype == df["alive_atoms"].dtype == "Int64"
    assert pd.isna(df["step"][0]) and df["step"][1] == 5 and pd.isna(df["alive_atoms"][1])


def test_checkpoint_file_stays_inside_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "sweep" / "run").mkdir(parents=True)
    (root / "sweep" / "run" / "f.safetensors").write_bytes(b"x")
    (tmp_path / "secret").write_bytes(b"x")
    (root / "sweep" / "out.safetensors").symlink_to(tmp_path / "secret")
    summary = root / "sweep" / "summary.csv"
    found = sweep_table.checkpoint_file(root, summary, "run/f.safetensors")
    assert found == (root / "sweep" / "run" / "f.safetensors").resolve()
    for bad in (
        "../../secret",
        "../../../../etc/passwd",
        "/etc/passwd",
        "out.safetensors",
        "",
        "run",
        "a\x00b",
        "missing.safetensors",
    ):
        assert sweep_table.checkpoint_file(root, summary, bad) is None, bad


def test_extra_text_columns_stay_text_and_extra_numbers_are_numbers(tmp_path):
    """A grid's swept string flag or a study's part stays text; a swept number is a number."""
    path = tmp_path / "summary.csv"
    path.write_text(
        HEADER.rstrip("\n") + ",part,lr,optimizer\n"
        "r1,rflr,ok,1,1e-3,x,True,1,base,0.1,sgd\n"
        "r2,rflr,ok,1,1e-3,y,True,1,adam,,adam\n"
    )
    df = sweep_table.read_checked(path)
    assert list(df["part"]) == ["base", "adam"] and list(df["optimizer"]) == ["sgd", "adam"]
    assert df["lr"].iloc[0] == 0.1 and pd.isna(df["lr"].iloc[1])


def test_a_grids_swept_text_columns_stay_text(tmp_path):
    """A grid summary has one column per swept flag: text values are kept (printable, cut to
    TEXT_MAX), numbers stay numbers, and schema columns are still checked."""
    path = tmp_path / "summary.csv"
    long = "x" * (sweep_table.TEXT_MAX + 50)
    path.write_text(
        HEADER.rstrip("\n") + ",parameterization,optimizer,lr,online\n"
        "r1,rflr,ok,0.5,1e-3,a.safetensors,True,2,mup,adam,0.01,True\n"
        f"r2,rflr,ok,bad,1e-3,b.safetensors,False,2,sp,\x1b[31m{long},0.02,False\n"
    )
    df = sweep_table.read_checked(path)
    assert list(df["parameterization"]) == ["mup", "sp"]
    assert df["optimizer"][0] == "adam"
    assert df["optimizer"][1] == "?[31m" + long[: sweep_table.TEXT_MAX - 5]
    assert len(df["optimizer"][1]) == sweep_table.TEXT_MAX
    assert list(df["online"]) == ["True", "False"]
    assert df["lr"].dtype == float and list(df["lr"]) == [0.01, 0.02]
    assert df["test_mse"][0] == 0.5 and pd.isna(df["test_mse"][1])  # schema: still numbers


def _runs(part: str, model: str, rank: int, symmetric: list[bool]) -> list[dict]:
    return [
        {
            "part": part,
            "run_id": f"{part}/{model}-r{rank}-s{s}",
            "model": model,
            "rank": rank,
            "seed": s,
            "status": "ok",
            "test_mse": 1e-4,
            "headline_defect": 1e-5 if sym else 0.5,
            "checkpoint": "",
            "symmetric": sym,
        }
        for s, sym in enumerate(symmetric)
    ]


def test_a_studys_runs_are_counted_per_part_and_config_never_pooled(tmp_path):
    """Issue 21, item 5: a study's summary is shown per part and config ("328/624" pooled
    answers no part's question); RF-LR first in each config."""
    rows = (
        _runs("base", "dense", 1, [False, False])
        + _runs("base", "rflr", 1, [True, True, False])
        + _runs("rank", "rflr", 1, [True, True])
        + _runs("rank", "rflr", 4, [False, False, True, False])
    )
    path = tmp_path / "summary.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    table = sweep_table.config_rows(sweep_table.read_checked(path))
    got = [tuple(r) for r in table[["part", "config", "model", "runs"]].itertuples(index=False)]
    assert got == [
        ("base", "–", "RF-LR", 3),
        ("base", "–", "dense", 2),
        ("rank", "rank = 1", "RF-LR", 2),
        ("rank", "rank = 4", "RF-LR", 4),
    ]
    assert list(table["symmetric"].str.split(" ").str[0]) == ["2/3", "0/2", "2/2", "1/4"]
    assert table["runs"].sum() == len(rows)  # every run in exactly one row


def test_a_plain_sweep_has_one_row_per_model_rflr_first(tmp_path):
    rows = _runs("x", "dense", 1, [False]) + _runs("x", "rflr", 1, [True])
    path = tmp_path / "summary.csv"
    pd.DataFrame(rows).drop(columns="part").to_csv(path, index=False)
    df = sweep_table.read_checked(path)
    assert sweep_table.configs(df) == []
    table = sweep_table.config_rows(df)
    assert list(table["model"]) == ["RF-LR", "dense"] and "part" not in table.columns
