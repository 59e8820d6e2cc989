"""rflr.views.verdict: the verdict strip's sentences, without Streamlit."""

from __future__ import annotations

import pandas as pd

from rflr.explorer.escape import md
from rflr.measure.metrics import SYMMETRIC_DEFECT
from rflr.views import verdict
from rflr.views.sweep_table import read_checked
from tests.conftest import ROOT

RFLR = {
    "kind": "rflr",
    "headline_defect": 2.15e-5,
    "output_defect": 6.8e-6,
    "test_mse": 4.5e-4,
    "status": "ok",
}
DENSE = {**RFLR, "kind": "dense", "headline_defect": 0.58, "test_mse": 9e-5}


def test_short_numbers():
    assert [verdict.short(v) for v in (2.15e-5, 0.582, 1e-4, 0.0, float("nan"), None)] == [
        "2.2e-5",
        "0.58",
        "1e-4",
        "0",
        "–",
        "–",
    ]


def test_parity_words_follow_the_sweep_rule():
    assert verdict.parity_words(SYMMETRIC_DEFECT / 2) == "inside even"
    assert verdict.parity_words(SYMMETRIC_DEFECT) == "inside not even"
    assert verdict.parity_words(float("nan")) == "no active channel inside"


def test_a_and_b_in_model_colours():
    s = verdict.checkpoints_sentence([RFLR, DENSE], md)
    assert s == (
        ":orange[RF-LR: inside even (D 2.2e-5, output D 6.8e-6)] · "
        ":blue[dense: inside not even (D 0.58, output D 6.8e-6)] · "
        "both trained (test MSE 4.5e-4 / 9e-5)"
    )


def test_a_alone_and_same_kinds_told_apart():
    assert verdict.checkpoints_sentence([RFLR], md).endswith("· trained (test MSE 4.5e-4)")
    s = verdict.checkpoints_sentence([RFLR, {**RFLR, "status": "diverged"}], md)
    assert "RF-LR (A): inside even" in s and "RF-LR (B) diverged" in s


def test_file_text_is_escaped():
    s = verdict.checkpoints_sentence([{**RFLR, "kind": "x]:red[y", "status": "*bad*"}], md)
    assert "x\\]\\:red\\[y" in s and "\\*bad\\*" in s
    assert ":gray[" in s  # a kind without a colour


def test_sweep_fractions_rflr_first_with_intervals():
    df = read_checked(ROOT / "checkpoints" / "poster" / "summary.csv")
    s = verdict.sweep_sentence(df.sort_values("model"), md)  # dense sorts first by name
    assert s.index(":orange[RF-LR 95/100") < s.index(":blue[dense 0/49")
    assert "\\[89%, 98%\\]" in s


def test_sweep_fractions_from_few_runs_and_studies():
    df = read_checked(ROOT / "checkpoints" / "poster" / "summary.csv").head(3)
    assert "3/3 \\(n \\< 8\\)" in verdict.sweep_sentence(df, md)
    parts = pd.concat([df.assign(part="a"), df.assign(part="b", run_id=df["run_id"] + "b")])
    assert verdict.sweep_sentence(parts, md) is None  # configs are never pooled
    assert verdict.sweep_sentence(df.iloc[:0], md) is None
