"""The verdict strip's sentences: what the chosen checkpoints say, read in 10 seconds.

Pure text from header values only (a catalog row per checkpoint, a sweep summary's table):
no evaluation, no Streamlit. The result is Streamlit markdown in the model colours
(rflr.views.style); every file-provided word goes through `esc` (the explorer passes
rflr.explorer.escape.md, which this layer may not import).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pandas as pd

from rflr.core.kinds import KIND_LABELS
from rflr.measure.metrics import SYMMETRIC_DEFECT
from rflr.sweep.stats import symmetric_cell
from rflr.sweep.summary import model_stats
from rflr.views import style

Escape = Callable[[object], str]
MODEL_ORDER = ("rflr", "dense")  # RF-LR first, as on every other view


def short(v: object) -> str:
    """A number as a newcomer reads it: 0.58, 2.2e-5; "–" when missing."""
    if not isinstance(v, int | float) or not math.isfinite(v):
        return "–"
    if v == 0:
        return "0"
    if 1e-2 <= abs(v) < 1e3:
        return f"{v:.2g}"
    mantissa, exponent = f"{v:.1e}".split("e")
    mantissa = mantissa.removesuffix(".0")
    return f"{mantissa}e{int(exponent)}"  # 2.2e-5 and 1e-4, not 2.2e-05 and 1.0e-04


def parity_words(headline: object) -> str:
    """The inside verdict from the headline D (rflr.measure.metrics.SYMMETRIC_DEFECT, the rule
    a sweep counts symmetric runs by)."""
    if not isinstance(headline, int | float) or not math.isfinite(headline):
        return "no active channel inside"  # the headline is undefined
    return "inside even" if headline < SYMMETRIC_DEFECT else "inside not even"


def _names(rows: Sequence[dict], esc: Escape) -> list[str]:
    """Each checkpoint's model name; A and B of one kind are told apart by their letter."""
    kinds = [r["kind"] for r in rows]
    names = [esc(KIND_LABELS.get(k, k)) for k in kinds]
    if len(set(kinds)) < len(kinds):
        names = [f"{n} ({ab})" for n, ab in zip(names, "AB", strict=False)]
    return names


def checkpoints_sentence(rows: Sequence[dict], esc: Escape) -> str:
    """One sentence over A (and B when there is one), e.g. "RF-LR: inside even (D 2.2e-5,
    output D 6.8e-6) · dense: inside not even (D 0.58, output D 1e-4) · both trained
    (test MSE 4.5e-4 / 9e-5)". `rows` are catalog rows (kind, headline_defect,
    output_defect, test_mse, status)."""
    names = _names(rows, esc)
    parts = []
    for name, r in zip(names, rows, strict=True):
        d, out = r.get("headline_defect"), r.get("output_defect")
        words = parity_words(d)
        detail = f"D {short(d)}, output D {short(out)}" if words != parity_words(None) else ""
        text = f"{name}: {words}" + (f" ({detail})" if detail else f" (output D {short(out)})")
        parts.append(style.kind_text(r["kind"], text))
    mse = " / ".join(short(r.get("test_mse")) for r in rows)
    statuses = [str(r.get("status")) for r in rows]
    if all(s == "ok" for s in statuses):
        trained = "both trained" if len(rows) > 1 else "trained"
        parts.append(f"{trained} (test MSE {mse})")
    else:
        said = ", ".join(f"{n} {esc(s)}" for n, s in zip(names, statuses, strict=True))
        parts.append(f"{said} (test MSE {mse})")
    return " · ".join(parts)


def sweep_sentence(df: pd.DataFrame, esc: Escape) -> str | None:
    """Fraction of a sweep's reruns that end symmetric, per model, RF-LR first, each with
    its Wilson interval (none from fewer than rflr.sweep.stats.MIN_RUNS runs); None for an
    empty table or a study's summary of several parts (pooling its configs would mislead)."""
    if df.empty or ("part" in df.columns and df["part"].nunique() > 1):
        return None
    stats = model_stats(df)
    order = sorted(stats.index, key=lambda m: (MODEL_ORDER + (m,)).index(m))
    parts = []
    for model in order:
        r = stats.loc[model]
        cell = symmetric_cell(
            pd.Series(
                {
                    "symmetric": r["symmetric"],
                    "runs": r["reruns"],
                    "symmetric_lo": r["symmetric_ci_low"],
                    "symmetric_hi": r["symmetric_ci_high"],
                }
            )
        )
        name = esc(KIND_LABELS.get(model, model))
        parts.append(style.kind_text(model, f"{name} {esc(cell)}"))
    return f"reruns ending symmetric (headline D below {SYMMETRIC_DEFECT:g}): " + " · ".join(parts)
