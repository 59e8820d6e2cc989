"""Statistics of grid sweeps and of the "beyond the poster" study (pandas and numpy only).

- group_stats: per group of swept values, the fraction of runs with symmetric active
  partials (Wilson 95% interval; a diverged or failed run counts as not symmetric: the
  SPEC's trainable volume) and medians with seeded bootstrap 95% intervals over the runs
  that trained without diverging.
- swept_keys: the columns of a summary whose values differ between runs.
- rank_claims, phase_claims, depth_claims, basin_claims, volume_claims: claims of the poster
  and its paper beside the study's number and a verdict from a rule fixed in advance (below),
  never tuned to the data: "supports" / "contradicts" when the intervals of the two sides do
  not overlap, "cannot decide" when they do or a side has no runs. rflr.sweep.referee adds
  issue 20's rows (rflr.sweep.verdicts) and lists them all: referee.beyond_claims.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rflr.measure.bootstrap import bootstrap_median, bootstrap_spearman
from rflr.sweep.summary import SUMMARY_COLUMNS, wilson_interval

MIN_RUNS = 8  # a bootstrap interval over fewer runs decides nothing (verdict: cannot decide)

# Columns that can be a grid's axis (what a run's config sets), in display order.
KEY_COLUMNS = (
    "model",
    "rank",
    "width",
    "depth",
    "input_dim",
    "parameterization",
    "optimizer",
    "lr",
    "batch_size",
    "weight_decay",
    "weight_decay_biases",
    "frozen_atoms",
    "steps",
    "schedule",
    "n_train",
)
# Columns that are results, never axes (besides SUMMARY_COLUMNS and per-layer families).
_RESULTS = {
    "part",
    "outgoing_mismatch",
    "outgoing_mismatch_init",
    "atom_pairing_init",
    "atom_movement",  # the rescale-invariant weight-symmetry columns (rflr.sweep.study)
    "atom_direction_pairing",
    "atom_direction_pairing_init",
    "outgoing_match",
    "outgoing_match_init",
    "flat_radius",
    "hessian_top",
    "hessian_converged",
    "pairing_ratio",
    "mismatch_ratio",
    "minimum",
    "symmetric_relative",  # issue 20: per-run results, never axes
}
MEDIANS = (
    "headline_defect",
    "test_mse",
    "atom_pairing_defect",
    "atom_pairing_init",
    "outgoing_mismatch",
    "outgoing_mismatch_init",
    "flat_radius",
    "hessian_top",
)


_FAMILIES = ("layer", "osc", "wsym")  # per-layer column families: layer{k}_*, osc{k}_*, ...


def _is_family(c: str) -> bool:
    return any(c.startswith(p) and c[len(p) : len(p) + 1].isdigit() for p in _FAMILIES)


def swept_keys(df: pd.DataFrame) -> list[str]:
    """Config columns (KEY_COLUMNS, then a grid's extra columns) with more than one value."""
    extra = [
        c
        for c in df.columns
        if c not in SUMMARY_COLUMNS
        and c not in KEY_COLUMNS
        and c not in _RESULTS
        and not _is_family(c)
    ]
    keys = [c for c in (*KEY_COLUMNS, *extra) if c in df.columns]
    return [c for c in keys if df[c].dropna().astype(str).nunique() > 1]


def group_stats(
    df: pd.DataFrame, keys: list[str], medians: tuple[str, ...] = MEDIANS
) -> pd.DataFrame:
    """One row per group of `keys`: runs, ok, symmetric (k, fraction, Wilson interval) and for
    each column of `medians` present: {col}_median, {col}_lo, {col}_hi over the ok runs, and
    {col}_n, how many runs that median is over (ok and measured)."""
    rows = []
    groups = df.groupby(list(keys), sort=True, dropna=False) if keys else [((), df)]
    for values, g in groups:
        values = values if isinstance(values, tuple) else (values,)
        ok = g[g["status"] == "ok"]
        n, k = len(g), int(g["symmetric"].astype(bool).sum())
        lo, hi = wilson_interval(k, n)
        row = dict(zip(keys, values, strict=True))
        row.update(
            runs=n,
            ok=len(ok),
            diverged=int((g["status"] == "diverged").sum()),
            symmetric=k,
            symmetric_fraction=k / n if n else np.nan,
            symmetric_lo=lo,
            symmetric_hi=hi,
        )
        for col in medians:
            if col in g.columns:
                m, mlo, mhi = bootstrap_median(ok[col])
                used = int(np.isfinite(pd.to_numeric(ok[col], errors="coerce")).sum())
                row.update({f"{col}_median": m, f"{col}_lo": mlo, f"{col}_hi": mhi})
                row[f"{col}_n"] = used  # the runs the median is over: ok, and measured
        rows.append(row)
    return pd.DataFrame(rows)


def deduplicated(df: pd.DataFrame) -> pd.DataFrame:
    """Runs once each: parts of a study may retrain the same config and seed (e.g. the
    reference protocol appears in several parts); the first row is kept."""
    cols = [c for c in (*KEY_COLUMNS, "seed") if c in df.columns]
    return df.loc[~df[cols].astype(str).duplicated()].reset_index(drop=True)


# --- claims --------------------------------------------------------------------------------


@dataclass
class BeyondClaim:
    topic: str
    poster: str  # the claim, as the poster or its paper states it
    ours: str  # our numbers
    verdict: str  # "supports" | "contradicts" | "cannot decide"
    rule: str  # the fixed rule the verdict follows


SUPPORTS, CONTRADICTS, UNDECIDED = "supports", "contradicts", "cannot decide"


def _above(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Interval a lies entirely above interval b."""
    return bool(a[0] > b[1])


def compare(
    a: tuple[float, float], b: tuple[float, float], claim_a_higher: bool, n: int = MIN_RUNS
) -> str:
    """The verdict on "a is higher than b" (or lower, claim_a_higher False) from intervals;
    `n` is the smaller side's number of runs (below MIN_RUNS: cannot decide)."""
    if n < MIN_RUNS or any(np.isnan(v) for v in (*a, *b)):
        return UNDECIDED
    if _above(a, b):
        return SUPPORTS if claim_a_higher else CONTRADICTS
    if _above(b, a):
        return CONTRADICTS if claim_a_higher else SUPPORTS
    return UNDECIDED


def part(df: pd.DataFrame, name: str) -> pd.DataFrame:
    return df[df["part"] == name] if "part" in df.columns else df.iloc[:0]


def symmetric_cell(r: pd.Series) -> str:
    """k/n symmetric with its Wilson interval; no interval from fewer than MIN_RUNS runs."""
    k, n = int(r["symmetric"]), int(r["runs"])
    if n < MIN_RUNS:  # no interval from fewer than 8 runs
        return f"{k}/{n} (n < {MIN_RUNS})"
    return f"{k}/{n} [{r['symmetric_lo']:.0%}, {r['symmetric_hi']:.0%}]"


def median_cell(r: pd.Series, col: str, spec: str = ".2g", always_n: bool = True) -> str:
    """A group's median of `col` with its interval: "m [lo, hi] (n used/total)"; from fewer
    than MIN_RUNS runs no interval ("m (n < 8, used/total)"); the runs left out are the ones
    that diverged or were not measured. `always_n=False` (a table with its own runs column)
    names the counts only when runs were left out or too few."""
    m, lo, hi = (r.get(f"{col}_{s}", np.nan) for s in ("median", "lo", "hi"))
    if m is None or pd.isna(m):
        return "-"
    total = int(r["runs"]) if "runs" in r else None
    used = int(r[f"{col}_n"]) if f"{col}_n" in r and pd.notna(r[f"{col}_n"]) else total
    counts = "" if used is None else f"{used}/{total}"
    if used is not None and used < MIN_RUNS:
        return f"{format(m, spec)} (n < {MIN_RUNS}: {counts})"
    left = used is not None and total is not None and used < total
    note = f" (n {counts}; the rest diverged or not measured)" if left else ""
    if not note and always_n and counts:
        note = f" (n {counts})"
    return f"{format(m, spec)} [{format(lo, spec)}, {format(hi, spec)}]{note}"


def _med(r: pd.Series, col: str) -> str:
    return median_cell(r, col)


def _ci(r: pd.Series, col: str) -> tuple[float, float]:
    return (float(r[f"{col}_lo"]), float(r[f"{col}_hi"]))


def _wilson(r: pd.Series) -> tuple[float, float]:
    return (float(r["symmetric_lo"]), float(r["symmetric_hi"]))


def with_ratios(df: pd.DataFrame) -> pd.DataFrame:
    """Per-run trained / random-init ratios of the atoms' pairing defect and mismatch."""
    out = df.copy()
    out["pairing_ratio"] = out["atom_pairing_defect"] / out["atom_pairing_init"]
    out["mismatch_ratio"] = out["outgoing_mismatch"] / out["outgoing_mismatch_init"]
    return out


def weight_regimes(df: pd.DataFrame) -> pd.DataFrame:
    """Per part and swept values (model last): the atoms' pairing defect and its ratio to the
    random-init level, the signed outgoing mismatch and its ratio (medians, bootstrap CIs)."""
    frames = []
    for name, g in with_ratios(df).groupby("part", sort=False):
        keys = [k for k in swept_keys(g) if k != "model"] + ["model"]
        st = group_stats(
            g,
            keys,
            ("atom_pairing_defect", "atom_pairing_init", "pairing_ratio", "outgoing_mismatch")
            + ("mismatch_ratio",),
        )
        st.insert(0, "regime", [_regime(name, r, keys[:-1]) for _, r in st.iterrows()])
        frames.append(st)
    cols = ["regime", "model"]
    return pd.concat(frames, ignore_index=True)[
        cols + [c for c in frames[0].columns if c not in (*cols, *KEY_COLUMNS)]
    ]


def _regime(name: str, r: pd.Series, keys: list[str]) -> str:
    return name + "".join(f" {k}={r[k]}" for k in keys)


def minimum_class(df: pd.DataFrame) -> pd.Series:
    """'RF-LR symmetric' / 'RF-LR asymmetric' / 'dense' per run (NaN if it did not train)."""
    cls = np.where(
        df["model"] == "dense",
        "dense",
        np.where(df["symmetric"].astype(bool), "RF-LR symmetric", "RF-LR asymmetric"),
    )
    return pd.Series(cls, index=df.index).where(df["status"] == "ok")


def basin_table(df: pd.DataFrame) -> pd.DataFrame:
    """Flat radius and top Hessian eigenvalue by optimizer and minimum class, over the study
    protocol at rank 1 and its dense control (parts base, rank r=1, rank-dense: SGD) and the
    adam part (both learning rates pooled), each run once."""
    if not {"optimizer", "rank", "flat_radius", "hessian_top"} <= set(df.columns):
        return pd.DataFrame()
    sgd = pd.concat([part(df, "base"), part(df, "rank"), part(df, "rank-dense")])
    sgd = sgd[(sgd["model"] == "dense") | (sgd["rank"] == 1)]
    pool = deduplicated(pd.concat([sgd, part(df, "adam")], ignore_index=True))
    if pool.empty:
        return pd.DataFrame()
    pool = pool.assign(minimum=minimum_class(pool)).dropna(subset=["minimum"])
    return group_stats(pool, ["optimizer", "minimum"], ("flat_radius", "hessian_top"))


def rank_claims(df: pd.DataFrame) -> list[BeyondClaim]:
    rk, dense = part(df, "rank"), part(df, "rank-dense")
    if rk.empty:
        return []
    st = group_stats(rk, ["rank"], ("headline_defect",))
    ours = "; ".join(
        f"r={int(r['rank'])}: {symmetric_cell(r)}, defect {_med(r, 'headline_defect')}"
        for _, r in st.iterrows()
    )
    verdict = UNDECIDED
    if not dense.empty:
        d = group_stats(dense, [], ("headline_defect",)).iloc[0]
        ours += f"; dense: {symmetric_cell(d)}, defect {_med(d, 'headline_defect')}"
        low, high = st.iloc[0], st.iloc[-1]
        v1 = compare(_wilson(low), _wilson(high), True)
        v2 = compare(_wilson(low), _wilson(d), True)
        verdict = v1 if v1 == v2 else UNDECIDED
    rho = bootstrap_spearman(np.log2(rk["rank"].astype(float)), rk["headline_defect"])
    ours += f"; Spearman(log r, defect) {rho[0]:.2f} [{rho[1]:.2f}, {rho[2]:.2f}]"
    return [
        BeyondClaim(
            "the rank continuum",
            "lower rank recovers symmetry better (title)",
            ours,
            verdict,
            "supports if the fraction symmetric at the lowest rank has its Wilson CI above "
            "both the highest rank's and dense's; contradicts if below both",
        )
    ]


def extreme_cells(st: pd.DataFrame, count_runs: bool = False) -> tuple[pd.Series, pd.Series, str]:
    """The most and least symmetric groups of `st` (group_stats rows) and the verdict on "the
    grouping changes the outcome": supports when their Wilson intervals do not overlap (with
    count_runs, only with >= MIN_RUNS runs in each)."""
    best = st.loc[st["symmetric_fraction"].idxmax()]
    worst = st.loc[st["symmetric_fraction"].idxmin()]
    n = int(min(best["runs"], worst["runs"])) if count_runs else MIN_RUNS
    return best, worst, compare(_wilson(best), _wilson(worst), True, n)


def phase_claims(df: pd.DataFrame) -> list[BeyondClaim]:
    ph = part(df, "phase")
    if ph.empty:
        return []
    st = group_stats(ph, ["lr", "batch_size"], ("headline_defect",))
    best, worst, v = extreme_cells(st)
    return [
        BeyondClaim(
            "learning rate and batch size",
            "learning rate and batch size decide whether channels specialise or collapse "
            "(companion abstract)",
            f"{len(st)} cells; most symmetric lr={best['lr']:g}, batch={int(best['batch_size'])}"
            f": {symmetric_cell(best)}; least lr={worst['lr']:g}, batch={int(worst['batch_size'])}: "
            f"{symmetric_cell(worst)}",
            v,
            "supports if the most and least symmetric cells' Wilson CIs do not overlap "
            "(lr x batch changes the outcome); otherwise cannot decide. The two cells are "
            "picked as the extremes of all cells, which favours a split: read it with the "
            "table. At rank 1 a collapse of channels cannot be seen: this tests only the "
            "symmetric outcome",
        )
    ]


def depth_claims(df: pd.DataFrame) -> list[BeyondClaim]:
    dp = part(df, "depth")
    if dp.empty or "depth" not in dp.columns:
        return []
    out = []
    ok = dp[dp["status"] == "ok"]
    for model, g in ok.groupby("model", sort=True):
        osc = [c for c in g.columns if c.startswith("osc") and c.endswith("_median")]
        last = g.apply(
            lambda r, osc=osc: next((r[c] for c in reversed(osc) if pd.notna(r[c])), np.nan),
            axis=1,
        )
        rho = bootstrap_spearman(g["depth"], last)
        rho = rho if len(g) >= MIN_RUNS else (rho[0], np.nan, np.nan)
        meds = pd.Series(last.to_numpy(), index=g["depth"]).groupby(level=0).median()
        v = (
            UNDECIDED
            if np.isnan(rho[1])
            else (SUPPORTS if rho[1] > 0 else (CONTRADICTS if rho[2] < 0 else UNDECIDED))
        )
        out.append(
            BeyondClaim(
                f"oscillations vs depth ({model})",
                "the number of oscillations of each channel grows with depth",
                "median oscillations of the deepest partial layer by depth: "
                + ", ".join(f"L={int(k)}: {m:g}" for k, m in meds.items())
                + f"; Spearman(depth, oscillations) {rho[0]:.2f} [{rho[1]:.2f}, {rho[2]:.2f}]",
                v,
                "supports if the bootstrap CI of Spearman's rho is above 0; contradicts if below 0",
            )
        )
    return out


def basin_claims(df: pd.DataFrame) -> list[BeyondClaim]:
    bt = basin_table(df)
    if bt.empty:
        return []
    out = []
    for opt, g in bt.groupby("optimizer", sort=True):
        by = g.set_index("minimum")
        if "RF-LR symmetric" not in by.index:
            continue
        s = by.loc["RF-LR symmetric"]
        parts, verdicts = (
            [
                f"symmetric RF-LR (n={int(s['ok'])}) radius {_med(s, 'flat_radius')}, "
                f"top eigenvalue {_med(s, 'hessian_top')}"
            ],
            [],
        )
        for other in ("RF-LR asymmetric", "dense"):
            if other not in by.index:
                continue
            o = by.loc[other]
            parts.append(
                f"{other} (n={int(o['ok'])}) {_med(o, 'flat_radius')}, {_med(o, 'hessian_top')}"
            )
            n = int(min(s["ok"], o["ok"]))
            wide = compare(_ci(s, "flat_radius"), _ci(o, "flat_radius"), True, n)
            flat = compare(_ci(s, "hessian_top"), _ci(o, "hessian_top"), False, n)
            verdicts += [wide, flat]
            parts.append(f"vs {other}: radius {wide}, eigenvalue {flat}")
        v = verdicts[0] if verdicts and len(set(verdicts)) == 1 else UNDECIDED
        out.append(
            BeyondClaim(
                f"basin width ({opt})",
                "symmetric basins are wider for SGD/Adam (the poster's next theorem)",
                "; ".join(parts),
                v,
                "supports if the symmetric RF-LR median flat radius CI is above, and its top "
                "Hessian eigenvalue CI below, those of every other class; contradicts if all "
                f"the opposite; otherwise (or with < {MIN_RUNS} runs in a class) cannot decide",
            )
        )
    return out


def volume_claims(df: pd.DataFrame) -> list[BeyondClaim]:
    base = part(df, "base")
    if base.empty:
        return []
    st = group_stats(base, ["model"], ()).set_index("model")
    if not {"rflr", "dense"} <= set(st.index):
        return []
    r, d = st.loc["rflr"], st.loc["dense"]
    return [
        BeyondClaim(
            "trainable volume",
            "symmetric minima occupy a larger trainable volume (poster)",
            f"fraction of random inits ending symmetric: RF-LR {symmetric_cell(r)}, dense {symmetric_cell(d)} "
            "(every regime: the study's tables)",
            compare(_wilson(r), _wilson(d), True),
            "supports if RF-LR's Wilson CI lies above dense's at the base protocol; a diverged "
            "run counts as not symmetric here (the trainable volume)",
        )
    ]
