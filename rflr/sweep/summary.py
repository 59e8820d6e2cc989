"""A sweep's summary.csv: its schema, its rows, reading it back, statistics, poster claims.

The one home of the summary.csv columns: SUMMARY_COLUMNS and summary_row (a run's row, built
from its final header's records) side by side; rflr.sweep.runner and rflr.sweep.study write
the file with them. Pure tables (pandas and numpy, no torch, no training): the explorer's
Sweep tab and scripts/make_reproduction.py read a shipped sweep through this module alone.

Definitions used by the statistics (also written to sweep.json):

- a rerun has *symmetric active partials* when it trained without diverging and its
  headline active partial defect is below SYMMETRIC_DEFECT = 1e-3
  (rflr.measure.metrics.ends_symmetric). The fraction of
  symmetric reruns of a model is counted over all its reruns (a diverged rerun counts as
  not symmetric): the SPEC's "trainable volume".
- medians and bests of test MSE and defects are over the reruns that did not diverge.
- the dense control fits "at comparable test MSE" when its median test MSE is within a
  factor COMPARABLE_MSE_FACTOR = 10 of the RF-LR median.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rflr.core.config import RunConfig
from rflr.measure.metrics import SYMMETRIC_DEFECT, ends_symmetric
from rflr.measure.record import as_float

if TYPE_CHECKING:  # a type only: reading a header (torch) is the caller's business
    from rflr.files.checkpoint import Header

COMPARABLE_MSE_FACTOR = 10.0  # dense and RF-LR median test MSE within this factor: comparable
SUMMARY_NAME = "summary.csv"
SWEEP_NAME = "sweep.json"

# The source poster's headline numbers (SPEC section 1), shown beside ours.
POSTER = {
    "reruns": 149,
    "best_test_mse": 1e-5,
    "rflr_headline_defect": 1e-4,
    "dense": "hidden features stay asymmetric",
}

# Fixed columns of summary.csv; per-layer columns layer{k}_name/_defect/_active follow.
SUMMARY_COLUMNS = [
    "run_id",
    "model",
    "seed",
    "width",
    "rank",
    "depth",
    "lr",
    "schedule",
    "steps",
    "status",
    "step",  # step of the final file (the last finite step for a diverged run)
    "diverged_at_step",
    "test_mse",
    "final_train_loss",
    "output_defect",
    "headline_layer",
    "headline_defect",
    "headline_active",
    "headline_channels",
    "headline_even",
    "headline_odd",
    "headline_mixed",
    "symmetric",
    "atom_pairing_defect",
    "atom_outgoing_mismatch",
    "alive_atoms",
    "plateaus",  # plateaus and drops of the logged test MSE (rflr.measure.plateaus)
    "drops",
    "first_plateau_end",  # last step of the first plateau (empty without a plateau)
    "first_plateau_loss",  # its median test MSE
    "checkpoint",  # the final file, relative to the summary's folder
]


_COUNT_COLUMNS = {
    "rank",
    "step",  # empty in a failed run's row, like every count below
    "plateaus",
    "drops",
    "diverged_at_step",
    "headline_active",
    "headline_channels",
    "headline_even",
    "headline_odd",
    "headline_mixed",
    "alive_atoms",
}


# The deepest partial layer's counts: summary column headline_{part} <- LayerMetrics.{part}.
_HEADLINE_COUNTS = ("active", "channels", "even", "odd", "mixed")


def summary_row(header: Header, root: Path) -> dict[str, Any]:
    """The summary.csv row of one run, from its final checkpoint's header alone (config,
    metrics and history records); paths relative to `root`, the summary's folder."""
    from rflr.measure.plateaus import history_plateaus  # scipy: only the writers need it

    m, hist = header.metrics, header.history
    head = m.layers[-1] if m.layers else None
    shape = history_plateaus(hist)
    losses = [v for v in hist.train_loss if v is not None]
    row = {
        "run_id": header.path.parent.relative_to(root).as_posix(),  # its folder: unique
        **_config_cells(header.config),
        "status": header.status,
        "step": header.step,
        "diverged_at_step": m.diverged_at_step,
        "test_mse": as_float(m.test_mse),
        "final_train_loss": losses[-1] if losses else float("nan"),
        "output_defect": as_float(m.output_defect),
        "headline_layer": head.name if head else None,
        "headline_defect": as_float(m.headline_defect),
        **{f"headline_{k}": getattr(head, k) if head else None for k in _HEADLINE_COUNTS},
        "symmetric": ends_symmetric(m),
        "atom_pairing_defect": as_float(m.atom_pairing_defect),
        "atom_outgoing_mismatch": as_float(m.atom_outgoing_mismatch),
        "alive_atoms": m.alive_atoms,
        "plateaus": len(shape.plateaus),
        "drops": len(shape.drops),
        "first_plateau_end": shape.plateaus[0].end_step if shape.plateaus else float("nan"),
        "first_plateau_loss": shape.plateaus[0].loss if shape.plateaus else float("nan"),
        "checkpoint": header.path.relative_to(root).as_posix(),
    }
    for k, layer in enumerate(m.layers, start=1):
        row[f"layer{k}_name"] = layer.name
        row[f"layer{k}_defect"] = as_float(layer.defect_mean)
        row[f"layer{k}_active"] = layer.active
    return row


def _config_cells(cfg: RunConfig) -> dict[str, Any]:
    """The summary columns a run's config fills: the same for a finished and a failed run."""
    return {
        "model": cfg.model.kind,
        "seed": cfg.seed,
        "width": cfg.model.width,
        "rank": cfg.model.rank_or_none,
        "depth": cfg.model.depth,
        "lr": cfg.train.lr,
        "schedule": cfg.train.schedule,
        "steps": cfg.train.steps,
    }


def failed_row(cfg: RunConfig, folder: Path, root: Path) -> dict[str, Any]:
    """The row of a run whose task failed twice: what it was meant to be, status "failed"."""
    return {
        "run_id": (folder / cfg.run_id).relative_to(root).as_posix(),
        **_config_cells(cfg),
        "status": "failed",
        "symmetric": False,
    }


def summarize(rows: list[dict], extra: list[str] | None = None) -> pd.DataFrame:
    """summary.csv as a DataFrame: one row per run; fixed columns, then `extra` (a grid's
    swept flags), then layers."""
    columns = dict.fromkeys([*SUMMARY_COLUMNS, *(k for r in rows for k in r)])
    df = pd.DataFrame(rows).reindex(columns=list(columns))
    part_order = {"name": 0, "defect": 1, "active": 2}
    layer_cols = sorted(
        (c for c in df.columns if c.startswith("layer")),
        key=lambda c: (int(c[5:].split("_")[0]), part_order[c.split("_", 1)[1]]),
    )
    return with_count_types(df[SUMMARY_COLUMNS + (extra or []) + layer_cols])


# --- reading it back ----------------------------------------------------------------------------


def format_number(x: float | None, spec: str = ".2e", missing: str = "-") -> str:
    """A number for a table or a caption; `missing` for None, NaN and infinities."""
    return missing if x is None or pd.isna(x) or not math.isfinite(x) else format(x, spec)


def with_count_types(df: pd.DataFrame) -> pd.DataFrame:
    """Count columns as nullable integers (a diverged run may have none), in one consolidated
    frame."""
    counts = [c for c in df.columns if c in _COUNT_COLUMNS or c.endswith("_active")]
    # astype by column (and pandas 3's read_csv) leaves one block per column, ~170 for a study's
    # summary; every column added later (assign) would then copy them all and warn that the frame
    # is "highly fragmented". copy() joins them once: the same values, dtypes and column order.
    return df.astype({c: "Int64" for c in counts}).copy()


def read_summary(path: str | os.PathLike) -> pd.DataFrame:
    """summary.csv back as a DataFrame (symmetric as bool, rank nullable)."""
    df = pd.read_csv(path)
    df["symmetric"] = df["symmetric"].astype(str).str.lower() == "true"
    return with_count_types(df)


def depth_profile(df: pd.DataFrame) -> pd.DataFrame:
    """Long table of per-layer defects: run_id, model, k (1 = first partial layer), layer, defect."""
    ks = sorted({int(c[5:].split("_")[0]) for c in df.columns if c.startswith("layer")})
    parts = []
    for k in ks:
        part = df[["run_id", "model", "status", f"layer{k}_name", f"layer{k}_defect"]].copy()
        part.columns = ["run_id", "model", "status", "layer", "defect"]
        part["k"] = k
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["run_id", "model", "status", "layer", "defect", "k"])
    long = pd.concat(parts, ignore_index=True)
    return long.dropna(subset=["layer", "defect"]).reset_index(drop=True)


# --- statistics -------------------------------------------------------------------------------


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k/n (sensible at 0/n and n/n)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def model_stats(df: pd.DataFrame) -> pd.DataFrame:
    """Per model: counts, test MSE and headline defect quantiles, fraction symmetric."""
    rows = []
    for model, g in df.groupby("model", sort=True):
        ok = g[g["status"] == "ok"]
        k, n = int(g["symmetric"].sum()), len(g)
        lo, hi = wilson_interval(k, n)
        all_even = ok["headline_even"] == ok["headline_active"]
        rows.append(
            {
                "model": model,
                "reruns": n,
                "ok": len(ok),
                "diverged": int((g["status"] == "diverged").sum()),
                "test_mse_best": ok["test_mse"].min(),
                "test_mse_median": ok["test_mse"].median(),
                "test_mse_worst": ok["test_mse"].max(),
                "headline_best": ok["headline_defect"].min(),
                "headline_median": ok["headline_defect"].median(),
                "headline_worst": ok["headline_defect"].max(),
                "symmetric": k,
                "symmetric_fraction": k / n if n else float("nan"),
                "symmetric_ci_low": lo,
                "symmetric_ci_high": hi,
                "all_even_fraction": float(all_even.sum()) / n if n else float("nan"),
                "pairing_median": ok["atom_pairing_defect"].median(),
            }
        )
    return pd.DataFrame(rows).set_index("model")


@dataclass
class Claim:
    """One poster claim next to our number and the check we hold it to."""

    claim: str
    poster: str
    ours: str
    criterion: str
    met: bool | None  # None: reported, no threshold


def _get(stats: pd.DataFrame, model: str, col: str) -> float:
    return float(stats.loc[model, col]) if model in stats.index else float("nan")


def poster_claims(df: pd.DataFrame) -> list[Claim]:
    """The reproduction's checks, computed from the summary alone (no definition moves): the
    poster's headline numbers, then per model what we report beside them (loss curves,
    defect by depth, the fraction of symmetric reruns)."""
    st = model_stats(df)
    ok = df[df["status"] == "ok"]
    return [
        *_headline_claims(df, st),
        *_loss_curve_claims(ok),
        *_depth_claims(ok),
        *_symmetric_claims(st),
    ]


def _headline_claims(df: pd.DataFrame, st: pd.DataFrame) -> list[Claim]:
    """The poster's numbers (SPEC section 1), each against its threshold."""
    g = lambda model, col: _get(st, model, col)  # noqa: E731
    n_by = {m: int(st.loc[m, "reruns"]) for m in st.index}
    best_mse = g("rflr", "test_mse_best")
    rflr_med, dense_med = g("rflr", "test_mse_median"), g("dense", "test_mse_median")
    ratio = dense_med / rflr_med if rflr_med > 0 else float("nan")
    ok_rflr = df[(df["model"] == "rflr") & (df["status"] == "ok")]
    best_run = ok_rflr.loc[ok_rflr["test_mse"].idxmin()] if len(ok_rflr) else None
    return [
        Claim(
            "controlled reruns",
            f"{POSTER['reruns']}",
            f"{len(df)} ({', '.join(f'{n} {m}' for m, n in n_by.items())})",
            f"= {POSTER['reruns']}",
            len(df) == POSTER["reruns"],
        ),
        Claim(
            "best RF-LR test MSE",
            f"{POSTER['best_test_mse']:.0e}",
            f"{best_mse:.2e}",
            "<= 1e-5",
            best_mse <= 1e-5,
        ),
        Claim(
            "RF-LR headline active partial defect, best run",
            f"~{POSTER['rflr_headline_defect']:.0e}",
            f"{g('rflr', 'headline_best'):.2e}",
            "<= 1e-4",
            g("rflr", "headline_best") <= 1e-4,
        ),
        Claim(
            "RF-LR headline active partial defect, median run",
            f"~{POSTER['rflr_headline_defect']:.0e}",
            f"{g('rflr', 'headline_median'):.2e}",
            "<= 1e-3",
            g("rflr", "headline_median") <= 1e-3,
        ),
        Claim(
            "RF-LR headline defect of the best-test-MSE run",
            "-",
            f"{best_run['headline_defect']:.2e}" if best_run is not None else "-",
            "(reported)",
            None,
        ),
        Claim(
            "dense control headline defect, median run",
            POSTER["dense"],
            f"{g('dense', 'headline_median'):.2e}",
            ">= 1e-2",
            g("dense", "headline_median") >= 1e-2,
        ),
        Claim(
            "dense fits at comparable test MSE (median dense / median RF-LR)",
            "dense fits as well",
            f"{dense_med:.2e} / {rflr_med:.2e} = {ratio:.2g}",
            f"within x{COMPARABLE_MSE_FACTOR:g}",
            1 / COMPARABLE_MSE_FACTOR <= ratio <= COMPARABLE_MSE_FACTOR,
        ),
    ]


def _loss_curve_claims(ok: pd.DataFrame) -> list[Claim]:
    """Per model: how many runs open with a plateau, and how many drop between two."""
    claims = []
    for m, g in ok.groupby("model", sort=True):
        with_plateau = g["first_plateau_end"].notna()
        ends = g.loc[with_plateau, "first_plateau_end"]
        claims.append(
            Claim(
                f"{m}: loss curves (plateaus and drops of the test MSE, rflr.measure.plateaus)",
                "long plateaus followed by sharp drops",
                f"{int(with_plateau.sum())}/{len(g)} runs open with a plateau"
                + (f" ending at step {ends.median():.0f} (median)" if len(ends) else "")
                + f"; {int((g['drops'] > 0).sum())} runs have a drop between two plateaus",
                "(reported)",
                None,
            )
        )
    return claims


def _depth_claims(ok: pd.DataFrame) -> list[Claim]:
    """Per model: the median active partial defect of each partial layer, shallow to deep."""
    claims = []
    for m, g in depth_profile(ok).groupby("model", sort=True):
        medians = g.groupby("k")["defect"].median()
        claims.append(
            Claim(
                f"{m}: median active partial defect by depth (layer 1 to {medians.index.max()})",
                "-",
                " -> ".join(f"{v:.1e}" for v in medians),
                "(reported)",
                None,
            )
        )
    return claims


def _symmetric_claims(st: pd.DataFrame) -> list[Claim]:
    """Per model: the fraction of reruns with symmetric active partials, with its interval."""
    claims = []
    for m in st.index:
        k, n = int(st.loc[m, "symmetric"]), int(st.loc[m, "reruns"])
        lo, hi = wilson_interval(k, n)
        claims.append(
            Claim(
                f"{m}: reruns with symmetric active partials (headline < {SYMMETRIC_DEFECT:g})",
                "-",
                f"{k}/{n} = {k / n:.0%} (95% CI {lo:.0%}-{hi:.0%})",
                "(reported)",
                None,
            )
        )
    return claims


def format_stats(df: pd.DataFrame) -> str:
    """The per-model table and the claim checks as plain text (the end of a sweep's output)."""
    st = model_stats(df)
    lines = [
        f"{'model':6} {'runs':>4} {'ok':>4} {'div':>3}  {'MSE best':>9} {'median':>9}  "
        f"{'headline best':>13} {'median':>9} {'worst':>9}  symmetric"
    ]
    for m, r in st.iterrows():
        n, ok, div, k = (int(r[c]) for c in ("reruns", "ok", "diverged", "symmetric"))
        lines.append(
            f"{m:6} {n:>4} {ok:>4} {div:>3}  {r['test_mse_best']:>9.2e} "
            f"{r['test_mse_median']:>9.2e}  {r['headline_best']:>13.2e} {r['headline_median']:>9.2e} "
            f"{r['headline_worst']:>9.2e}  {k}/{n} "
            f"[{r['symmetric_ci_low']:.0%}, {r['symmetric_ci_high']:.0%}]"
        )
    lines.append("")
    for c in poster_claims(df):
        mark = {True: "met", False: "NOT MET", None: ""}[c.met]
        lines.append(f"{c.claim}: ours {c.ours} (poster {c.poster}; {c.criterion}) {mark}")
    return "\n".join(lines)


# --- what ships in checkpoints/ ------------------------------------------------------------------


def pick_shipped(df: pd.DataFrame) -> list[str]:
    """Run ids worth shipping: per model, the best / median / worst headline defect and the
    best / median test MSE among the runs that did not diverge (duplicates once)."""
    chosen: list[str] = []
    for _, g in df[df["status"] == "ok"].groupby("model", sort=True):
        by_defect = g.sort_values(["headline_defect", "run_id"], na_position="last")
        by_mse = g.sort_values(["test_mse", "run_id"], na_position="last")
        picks = [
            by_defect.iloc[0],
            by_defect.iloc[(len(by_defect) - 1) // 2],
            by_defect.iloc[-1],
            by_mse.iloc[0],
            by_mse.iloc[(len(by_mse) - 1) // 2],
        ]
        for p in picks:
            if p["run_id"] not in chosen:
                chosen.append(p["run_id"])
    return chosen
