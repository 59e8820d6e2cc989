"""rflr.sweep.summary: Wilson intervals, per-model statistics and poster claims on synthetic summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from rflr.measure.metrics import SYMMETRIC_DEFECT
from rflr.sweep import summary


@pytest.mark.parametrize("k, n", [(0, 10), (3, 10), (10, 10), (97, 100), (1, 49)])
def test_wilson_interval_matches_scipy(k, n):
    ref = binomtest(k, n).proportion_ci(method="wilson")
    assert summary.wilson_interval(k, n) == pytest.approx((ref.low, ref.high), abs=1e-4)


def _synthetic(rflr_defects, dense_defects, rflr_mse=1e-5, dense_mse=2e-5, diverged=0):
    rows = []
    for i, d in enumerate(rflr_defects):
        status = "diverged" if i < diverged else "ok"
        rows.append(("rflr", i, d, rflr_mse * (1 + i), status))
    rows += [("dense", i, d, dense_mse, "ok") for i, d in enumerate(dense_defects)]
    df = pd.DataFrame(rows, columns=["model", "seed", "headline_defect", "test_mse", "status"])
    df["run_id"] = df["model"] + "-s" + df["seed"].astype(str)
    df["symmetric"] = (df["status"] == "ok") & (df["headline_defect"] < SYMMETRIC_DEFECT)
    df["headline_even"] = df["headline_active"] = 1
    df["atom_pairing_defect"] = 0.1
    df["drops"] = 0
    df["first_plateau_end"] = [50.0 if i % 2 else np.nan for i in range(len(df))]
    df["layer1_name"] = np.where(df["model"] == "rflr", "bottleneck.1.z", "hidden.1.u")
    df["layer1_defect"] = df["headline_defect"] * 10
    return df


def test_claims_follow_the_definitions():
    df = _synthetic([1e-5, 5e-5, 2e-4, 0.5], [0.5, 0.6, 0.7])
    met = {t.claim: t.met for t in summary.poster_claims(df)}
    assert met["best RF-LR test MSE"] is True  # 1e-5 <= 1e-5
    assert met["RF-LR headline active partial defect, best run"] is True
    assert met["RF-LR headline active partial defect, median run"] is True  # median 1.25e-4
    assert met["dense control headline defect, median run"] is True
    assert met["controlled reruns"] is False  # 7 != 149
    df2 = _synthetic([2e-3, 5e-3, 1e-2], [0.5], rflr_mse=2e-5, dense_mse=1e-3)
    met2 = {t.claim: t.met for t in summary.poster_claims(df2)}
    assert not met2["best RF-LR test MSE"]
    assert not met2["RF-LR headline active partial defect, median run"]
    assert not met2["dense fits at comparable test MSE (median dense / median RF-LR)"]


def test_diverged_reruns_count_against_the_symmetric_fraction_not_the_medians():
    df = _synthetic([1e-9, 1e-5, 1e-5, 1e-5], [0.5], diverged=1)
    st = summary.model_stats(df)
    assert st.loc["rflr", "symmetric"] == 3 and st.loc["rflr", "reruns"] == 4
    assert st.loc["rflr", "diverged"] == 1 and st.loc["rflr", "ok"] == 3
    assert st.loc["rflr", "headline_best"] == 1e-5  # the diverged run's defect is left out
    assert "rflr" in summary.format_stats(df) and "NOT MET" in summary.format_stats(df)
    reported = {t.claim: t.ours for t in summary.poster_claims(df) if t.met is None}
    loss = reported["rflr: loss curves (plateaus and drops of the test MSE, rflr.measure.plateaus)"]
    assert (
        loss
        == "2/3 runs open with a plateau ending at step 50 (median); 0 runs have a drop between two plateaus"
    )
