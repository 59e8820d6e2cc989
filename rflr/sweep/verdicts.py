"""Issue 20's verdict rules, fixed in code before any data (pandas and numpy only).

Three honest outcomes for a claim that RF-LR's value is lower (or higher) than the null and
than dense's, from seeded bootstrap 95% intervals of medians (rflr.measure.bootstrap):

- SUPPORTS: RF-LR's interval is clear of the null and of dense's interval, the claim's way.
- CONTRADICTS: reserved for an effect in the opposite direction: RF-LR's interval clear of
  the null and of dense's interval, the other way.
- NOT_OBSERVED: RF-LR's ratio interval lies inside EQUIVALENCE_BAND, in a regime where its
  atoms moved by >= MOVED (median atom_movement): no effect, and the weights could have shown
  one.
- UNDECIDED ("cannot decide"): anything else, or fewer than MIN_RUNS usable runs on a side.

A run is symmetric relative to its fit (`symmetric_relative`) when it trained and its headline
defect is below RELATIVE_FACTOR x its output defect: its inside is as symmetric as its output
allows (the absolute `headline < 1e-3` stays beside it). Every median says n used / n total.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rflr.measure.bootstrap import BOOTSTRAP, BOOTSTRAP_SEED, bootstrap_median, spearman

MIN_RUNS = 8  # fewer usable runs on a side: no interval is shown, the verdict is UNDECIDED
EQUIVALENCE_BAND = (0.9, 1.1)  # a trained / init ratio inside it: no effect
MOVED = 0.2  # median |a - a0| / |a0| of the atoms at or above it: the weights moved
RELATIVE_FACTOR = 3.0  # symmetric_relative: headline defect < this x output defect

SUPPORTS, CONTRADICTS, UNDECIDED = "supports", "contradicts", "cannot decide"
NOT_OBSERVED = "not observed"


def symmetric_relative(df: pd.DataFrame) -> pd.Series:
    """Per run: trained (status ok) and headline defect < RELATIVE_FACTOR x output defect."""
    ok = df["status"] == "ok"
    below = df["headline_defect"].astype(float) < RELATIVE_FACTOR * df["output_defect"].astype(
        float
    )
    return (ok & below).astype(bool)


def with_relative(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with symmetric_relative (kept where the summary has it, else derived)."""
    if "symmetric_relative" in df.columns:
        out = df.copy()
        out["symmetric_relative"] = out["symmetric_relative"].astype(str).str.lower() == "true"
        return out
    if not {"headline_defect", "output_defect", "status"} <= set(df.columns):
        return df
    return df.assign(symmetric_relative=symmetric_relative(df))


def median_text(values: pd.Series, total: int, why: str = "not measured or diverged") -> str:
    """'median [lo, hi] (n used/total)'; below MIN_RUNS usable values, `n < 8` instead of an
    interval; and why the rest were left out."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    x = x[~np.isnan(x)]
    used = len(x)
    if used == 0:
        return f"not measured (n 0/{total})"
    m, lo, hi = bootstrap_median(x)
    ci = f"[{lo:.2g}, {hi:.2g}]" if used >= MIN_RUNS else f"n < {MIN_RUNS}"
    left = f"; {total - used} left out: {why}" if used < total else ""
    return f"{m:.2g} {ci} (n {used}/{total}{left})"


def _usable(values: pd.Series) -> np.ndarray:
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    return x[np.isfinite(x)]


def ratio_verdict(
    rflr: pd.Series,
    dense: pd.Series,
    movement: float,
    null: float = 1.0,
    claim_lower: bool = True,
) -> str:
    """The verdict on "RF-LR's per-run ratio is lower (claim_lower) than `null` and than
    dense's", from the bootstrap intervals of the medians; `movement` is the RF-LR runs'
    median atom movement (NaN: not measured, so never NOT_OBSERVED)."""
    r, d = _usable(rflr), _usable(dense)
    if min(len(r), len(d)) < MIN_RUNS:
        return UNDECIDED
    _, rlo, rhi = bootstrap_median(r)
    _, dlo, dhi = bootstrap_median(d)
    low = rhi < null and rhi < dlo  # clear of both, below
    high = rlo > null and rlo > dhi  # clear of both, above
    if low or high:
        return SUPPORTS if low == claim_lower else CONTRADICTS
    band_lo, band_hi = EQUIVALENCE_BAND
    if band_lo <= rlo and rhi <= band_hi and movement >= MOVED:
        return NOT_OBSERVED
    return UNDECIDED


def fraction_verdict(rflr: pd.Series, dense: pd.Series) -> str:
    """The verdict on "a larger fraction of RF-LR runs is True than of dense runs, and more
    than none" from Wilson 95% intervals (a fraction has no equivalence band: never
    NOT_OBSERVED)."""
    from rflr.sweep.summary import wilson_interval

    r, d = rflr.astype(bool), dense.astype(bool)
    if min(len(r), len(d)) < MIN_RUNS:
        return UNDECIDED
    rlo, rhi = wilson_interval(int(r.sum()), len(r))
    dlo, dhi = wilson_interval(int(d.sum()), len(d))
    if rlo > 0 and rlo > dhi:
        return SUPPORTS
    if dlo > 0 and dlo > rhi:
        return CONTRADICTS
    return UNDECIDED


def combine(verdicts: list[str]) -> str:
    """One row's verdict over its regimes: supports if any regime supports; else contradicts
    if any contradicts; else not observed if any is; else cannot decide."""
    for v in (SUPPORTS, CONTRADICTS, NOT_OBSERVED):
        if v in verdicts:
            return v
    return UNDECIDED


def fit_ratio(rflr_mse: pd.Series, dense_mse: pd.Series) -> str:
    """'fit ratio X': RF-LR median test MSE / dense median test MSE over the runs that trained,
    so that "dense fits as well" is read, not assumed."""
    r, d = _usable(rflr_mse), _usable(dense_mse)
    if not len(r) or not len(d):
        return "fit ratio not measured"
    return f"fit ratio (RF-LR / dense median test MSE) {np.median(r) / np.median(d):.2g}"


def layer_oscillation_pairs(df: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per run: (layer index k, osc{k}_median) over its partial layers with a value."""
    osc = sorted(
        (c for c in df.columns if c.startswith("osc") and c.endswith("_median")),
        key=lambda c: int(c[3:].split("_")[0]),
    )
    out = []
    for _, row in df.iterrows():
        k = np.array([int(c[3:].split("_")[0]) for c in osc], dtype=float)
        y = pd.to_numeric(row[osc], errors="coerce").to_numpy(dtype=float)
        keep = np.isfinite(y)
        if keep.any():
            out.append((k[keep], y[keep]))
    return out


def within_network_spearman(
    runs: list[tuple[np.ndarray, np.ndarray]], n_boot: int = BOOTSTRAP, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float, float]:
    """Spearman(layer index, oscillations) over the pooled (k, oscillations) pairs of runs of one
    depth, with a percentile bootstrap interval that resamples runs (a run's layers are not
    independent). Fewer than MIN_RUNS runs: no interval."""
    if not runs:
        return (np.nan, np.nan, np.nan)
    rho = spearman(np.concatenate([k for k, _ in runs]), np.concatenate([y for _, y in runs]))
    if len(runs) < MIN_RUNS or np.isnan(rho):
        return (rho, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    reps = []
    for idx in rng.integers(0, len(runs), (n_boot, len(runs))):
        ks = np.concatenate([runs[i][0] for i in idx])
        ys = np.concatenate([runs[i][1] for i in idx])
        reps.append(spearman(ks, ys))
    reps = np.asarray(reps)
    reps = reps[~np.isnan(reps)]
    if not reps.size:
        return (rho, np.nan, np.nan)
    lo, hi = np.quantile(reps, [0.025, 0.975], method="inverted_cdf")
    return (rho, float(lo), float(hi))


def rho_verdict(rho: tuple[float, float, float]) -> str:
    """Supports if the interval is above 0, contradicts if below 0, else cannot decide."""
    if np.isnan(rho[1]):
        return UNDECIDED
    return SUPPORTS if rho[1] > 0 else (CONTRADICTS if rho[2] < 0 else UNDECIDED)
