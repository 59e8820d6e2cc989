"""rflr.sweep.stats: grouped statistics and the claims' verdicts, against hand computations and
synthetic summaries whose answer is known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rflr.sweep import referee, stats, verdicts
from rflr.sweep.summary import wilson_interval


def _runs(n: int, **cols) -> pd.DataFrame:
    """n runs; a column is a scalar for every run or an array of one value per run."""
    base = {"status": "ok", "symmetric": False, "model": "rflr"}
    return pd.DataFrame({"seed": range(n)}).assign(**{**base, **cols})


def test_group_stats_counts_symmetric_over_all_runs_and_medians_over_ok_runs():
    df = pd.concat(
        [
            _runs(3, lr=0.1, symmetric=True, headline_defect=1e-4),
            _runs(1, lr=0.1, status="diverged", headline_defect=np.nan),
            _runs(4, lr=0.2, headline_defect=0.5),
        ],
        ignore_index=True,
    )
    st = stats.group_stats(df, ["lr"]).set_index("lr")
    assert st.loc[0.1, "runs"] == 4 and st.loc[0.1, "ok"] == 3 and st.loc[0.1, "symmetric"] == 3
    assert st.loc[0.1, "diverged"] == 1
    assert (st.loc[0.1, "symmetric_lo"], st.loc[0.1, "symmetric_hi"]) == wilson_interval(3, 4)
    assert st.loc[0.1, "headline_defect_median"] == 1e-4
    assert st.loc[0.2, "symmetric_fraction"] == 0 and st.loc[0.2, "headline_defect_median"] == 0.5


def test_swept_keys_ignore_results_and_a_dense_rank():
    poster = pd.concat(
        [_runs(2, rank=1, width=64), _runs(2, model="dense", rank=np.nan, width=64)]
    ).assign(headline_defect=[0.1, 0.2, 0.3, 0.4], flat_radius=[1, 2, 3, 4])
    assert stats.swept_keys(poster) == ["model"]
    grid = poster.assign(lr=[0.1, 0.2, 0.1, 0.2], my_flag=["a", "b", "a", "b"])
    assert stats.swept_keys(grid) == ["model", "lr", "my_flag"]


def test_compare_needs_separated_intervals_and_enough_runs():
    assert stats.compare((2, 3), (0, 1), True) == stats.SUPPORTS
    assert stats.compare((2, 3), (0, 1), False) == stats.CONTRADICTS
    assert stats.compare((0, 2), (1, 3), True) == stats.UNDECIDED
    assert stats.compare((2, 3), (0, 1), True, n=stats.MIN_RUNS - 1) == stats.UNDECIDED
    assert stats.compare((2, 3), (np.nan, 1), True) == stats.UNDECIDED


def _weights(
    model: str, ratio: float, n: int = 10, part: str = "base", moved: float = 0.05
) -> pd.DataFrame:
    jitter = np.linspace(-0.01, 0.01, n)
    return _runs(
        n,
        model=model,
        part=part,
        test_mse=1e-4,
        atom_movement=moved,
        atom_direction_pairing_init=0.4,
        atom_direction_pairing=0.4 * (ratio + jitter),
        outgoing_match_init=2.0,
        outgoing_match=2.0,
    )


def _claim(df: pd.DataFrame, topic: str) -> stats.BeyondClaim:
    return next(c for c in referee.beyond_claims(df) if c.topic.startswith(topic))


def test_weight_claim_supports_only_when_rflr_pairs_below_init_and_dense():
    # issue 20: chance-level pairing is "not observed" where atoms moved, else undecided
    pairing = "weight symmetry (a)"
    paired = pd.concat([_weights("rflr", 0.5), _weights("dense", 1.0)], ignore_index=True)
    assert _claim(paired, pairing).verdict == stats.SUPPORTS
    chance = pd.concat([_weights("rflr", 1.0), _weights("dense", 1.0)], ignore_index=True)
    assert _claim(chance, pairing).verdict == stats.UNDECIDED
    moved = pd.concat([_weights("rflr", 1.0, moved=0.3), _weights("dense", 1.0)])
    assert _claim(moved, pairing).verdict == verdicts.NOT_OBSERVED
    opposite = pd.concat([_weights("rflr", 1.5), _weights("dense", 1.0)], ignore_index=True)
    assert _claim(opposite, pairing).verdict == stats.CONTRADICTS
    few = pd.concat([_weights("rflr", 0.5, 3), _weights("dense", 1.0, 3)], ignore_index=True)
    assert _claim(few, pairing).verdict == stats.UNDECIDED
    assert "n 3/3" in _claim(few, pairing).ours and "n < 8" in _claim(few, pairing).ours
    assert "fit ratio (RF-LR / dense median test MSE) 1" in _claim(paired, pairing).ours
    assert _claim(paired, "weight symmetry (b)").verdict == stats.UNDECIDED  # 1 vs 1
    old = paired.drop(columns=["outgoing_match", "outgoing_match_init"])
    assert _claim(old, "weight symmetry (b)").ours.startswith("not measured")


def test_frozen_atoms_row_counts_symmetric_runs_against_dense():
    fz = pd.concat(
        [
            _runs(16, part="frozen-atoms", symmetric=True, test_mse=1e-4),
            _runs(16, part="frozen-atoms", model="dense", test_mse=1e-4),
        ]
    ).assign(headline_defect=1e-4, output_defect=1e-4)
    assert _claim(fz, "weight symmetry (c)").verdict == stats.SUPPORTS
    assert "16/16" in _claim(fz, "weight symmetry (c)").ours


def test_rank_and_volume_claims_follow_wilson_intervals():
    rank = pd.concat(
        [
            _runs(20, part="rank", rank=1, symmetric=True, headline_defect=1e-5),
            _runs(20, part="rank", rank=64, headline_defect=0.5),
            _runs(20, part="rank-dense", model="dense", headline_defect=0.6),
        ],
        ignore_index=True,
    )
    assert _claim(rank, "the rank continuum").verdict == stats.SUPPORTS
    flipped = rank.assign(symmetric=~rank["symmetric"])
    assert _claim(flipped, "the rank continuum").verdict == stats.CONTRADICTS
    base = pd.concat(
        [_runs(20, part="base", symmetric=True), _runs(20, part="base", model="dense")]
    )
    assert _claim(base, "trainable volume").verdict == stats.SUPPORTS


def test_basin_claim_compares_classes_of_minima():
    def cls(model, sym, radius, top, n=12):
        return _runs(
            n, part="base", model=model, rank=1, symmetric=sym, optimizer="sgd",
            flat_radius=radius * np.linspace(0.95, 1.05, n), hessian_top=top * np.ones(n),
        )  # fmt: skip

    wide = pd.concat(
        [cls("rflr", True, 1.0, 1.0), cls("rflr", False, 0.1, 10), cls("dense", False, 0.1, 10)]
    )
    assert _claim(wide, "basin width (sgd)").verdict == stats.SUPPORTS
    narrow = pd.concat(
        [cls("rflr", True, 0.1, 10), cls("rflr", False, 1.0, 1.0), cls("dense", False, 1.0, 1.0)]
    )
    assert _claim(narrow, "basin width (sgd)").verdict == stats.CONTRADICTS
    mixed = pd.concat([cls("rflr", True, 1.0, 10), cls("rflr", False, 0.1, 1.0)])
    assert _claim(mixed, "basin width (sgd)").verdict == stats.UNDECIDED


def test_deduplicated_keeps_one_row_per_config_and_seed():
    df = pd.concat([_runs(3, part="base", lr=0.1), _runs(3, part="rank", lr=0.1)])
    out = stats.deduplicated(df)
    assert len(out) == 3 and set(out["part"]) == {"base"}


# --- issue 20's rules (rflr.sweep.verdicts) on hand-made tables ------------------------------


def _around(value: float, n: int = 16, spread: float = 0.01) -> pd.Series:
    return pd.Series(value + np.linspace(-spread, spread, n))


def test_ratio_verdict_supports_when_clear_of_the_null_and_of_dense():
    assert verdicts.ratio_verdict(_around(0.5), _around(1.0), movement=0.05) == verdicts.SUPPORTS


def test_ratio_verdict_contradicts_only_for_the_opposite_effect():
    got = verdicts.ratio_verdict(_around(1.5), _around(1.0), movement=0.5)
    assert got == verdicts.CONTRADICTS
    # no effect is not an opposite effect, however many runs
    assert verdicts.ratio_verdict(_around(1.0), _around(1.0), 0.05) == verdicts.UNDECIDED


def test_ratio_verdict_not_observed_needs_the_band_and_moving_weights():
    inside = _around(1.0, spread=0.05)
    assert verdicts.ratio_verdict(inside, _around(1.0), movement=0.3) == verdicts.NOT_OBSERVED
    # the same ratios where the atoms barely moved: no test of the claim
    assert verdicts.ratio_verdict(inside, _around(1.0), movement=0.1) == verdicts.UNDECIDED
    assert verdicts.ratio_verdict(inside, _around(1.0), movement=np.nan) == verdicts.UNDECIDED
    # a CI that leaves the band [0.9, 1.1]
    wide = _around(1.0, spread=0.3)
    assert verdicts.ratio_verdict(wide, _around(1.0), movement=0.3) == verdicts.UNDECIDED


def test_ratio_verdict_cannot_decide_below_eight_runs_on_a_side():
    few = _around(0.5, n=verdicts.MIN_RUNS - 1)
    assert verdicts.ratio_verdict(few, _around(1.0), 0.5) == verdicts.UNDECIDED
    with_nan = pd.concat([few, pd.Series([np.nan] * 9)])  # NaNs are not runs
    assert verdicts.ratio_verdict(with_nan, _around(1.0), 0.5) == verdicts.UNDECIDED


def test_fraction_verdict_and_combine():
    yes, no = pd.Series([True] * 16), pd.Series([False] * 16)
    assert verdicts.fraction_verdict(yes, no) == verdicts.SUPPORTS
    assert verdicts.fraction_verdict(no, yes) == verdicts.CONTRADICTS
    assert verdicts.fraction_verdict(no, no) == verdicts.UNDECIDED
    assert verdicts.fraction_verdict(yes[:7], no) == verdicts.UNDECIDED
    u, n, s = verdicts.UNDECIDED, verdicts.NOT_OBSERVED, verdicts.SUPPORTS
    assert verdicts.combine([u, n]) == n and verdicts.combine([n, s]) == s
    assert verdicts.combine([u, u]) == u


def test_symmetric_relative_is_headline_below_three_times_output():
    df = pd.DataFrame(
        {
            "status": ["ok", "ok", "diverged"],
            "headline_defect": [2.9e-3, 3.1e-3, 1e-9],
            "output_defect": [1e-3, 1e-3, 1e-3],
        }
    )
    assert verdicts.symmetric_relative(df).tolist() == [True, False, False]
    assert verdicts.with_relative(df)["symmetric_relative"].tolist() == [True, False, False]


def test_median_text_says_n_used_of_total_and_no_interval_below_eight():
    few = verdicts.median_text(pd.Series([0.82, np.nan, np.nan]), 3)
    assert few.startswith("0.82 n < 8 (n 1/3; 2 left out")
    many = verdicts.median_text(_around(1.0), 16)
    assert "[" in many and many.endswith("(n 16/16)")
    assert verdicts.median_text(pd.Series([np.nan]), 1) == "not measured (n 0/1)"


def test_fit_ratio_is_rflr_over_dense_median_test_mse():
    assert verdicts.fit_ratio(pd.Series([1e-3, 2e-3, 3e-3]), pd.Series([2e-4])).endswith(" 10")


def test_within_network_spearman_resamples_runs():
    rising = [(np.arange(1, 9.0), np.arange(1, 9.0) + 0.1 * s) for s in range(10)]
    rho = verdicts.within_network_spearman(rising)
    assert rho[0] > 0.9 and rho[1] > 0 and verdicts.rho_verdict(rho) == verdicts.SUPPORTS
    rng = np.random.default_rng(1)
    flat = [(np.arange(1, 9.0), rng.permutation(8).astype(float)) for _ in range(10)]
    assert verdicts.rho_verdict(verdicts.within_network_spearman(flat)) == verdicts.UNDECIDED
    falling = [(k, -y) for k, y in rising]
    assert verdicts.rho_verdict(verdicts.within_network_spearman(falling)) == verdicts.CONTRADICTS
    assert np.isnan(verdicts.within_network_spearman(rising[:7])[1])  # n < 8: no interval
    df = pd.DataFrame({"osc1_median": [1.0, 2.0], "osc2_median": [3.0, np.nan]})
    pairs = verdicts.layer_oscillation_pairs(df)
    assert [p[0].tolist() for p in pairs] == [[1.0, 2.0], [1.0]]


def test_lr_batch_cells_carry_the_relative_count_over_trained_runs():
    rows = []
    for seed in range(8):
        ok = seed < 6
        rows.append(
            {
                "part": "phase",
                "model": "rflr",
                "lr": 0.1,
                "batch_size": 1,
                "seed": seed,
                "status": "ok" if ok else "diverged",
                "headline_defect": 1e-4 if ok else np.nan,
                "output_defect": 1e-3,
                "test_mse": 1e-4,
                "symmetric_relative": seed < 3,
                "symmetric": ok,
            }
        )
    row = referee.phase_trained_claims(pd.DataFrame(rows))[0]
    assert "6/6 trained runs symmetric, relative 3/6 (2 diverged)" in row.ours


def test_a_median_names_its_runs_and_shows_no_interval_from_fewer_than_8():
    df = pd.concat(
        [
            _runs(10, lr=0.1, headline_defect=np.r_[np.full(9, 1e-3), np.nan]),
            _runs(5, lr=0.2, headline_defect=0.5),
        ],
        ignore_index=True,
    )
    st = stats.group_stats(df, ["lr"]).set_index("lr")
    many, few = (
        stats.median_cell(st.loc[0.1], "headline_defect"),
        stats.median_cell(st.loc[0.2], "headline_defect"),
    )
    assert many.startswith("0.001 [") and "(n 9/10; the rest diverged or not measured)" in many
    assert few == "0.5 (n < 8: 5/5)"
    assert stats.symmetric_cell(st.loc[0.2]) == "0/5 (n < 8)"
