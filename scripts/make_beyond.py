"""Write the "Beyond the poster" section of REPRODUCTION.md and its figures from a study.

    python scripts/make_beyond.py [--summary checkpoints/beyond/summary.csv]

The study is `python train.py --preset beyond` (rflr.sweep.study); its summary.csv and study.json
are the only inputs. Every number is read from them; each claim's verdict follows the fixed
rule printed beside it (rflr.sweep.stats). The section sits between the BEGIN/END markers below
in REPRODUCTION.md (appended the first time); scripts/make_reproduction.py keeps it when it
rewrites the rest of the page. Running this twice gives the same file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere in the checkout

from rflr.measure.bootstrap import BOOTSTRAP  # noqa: E402
from rflr.measure.metrics import SYMMETRIC_DEFECT  # noqa: E402
from rflr.sweep.referee import beyond_claims  # noqa: E402
from rflr.sweep.stats import (  # noqa: E402
    MIN_RUNS,
    basin_table,
    group_stats,
    median_cell,
    part,
    swept_keys,
    symmetric_cell,
    weight_regimes,
)
from rflr.sweep.summary import read_summary  # noqa: E402
from rflr.sweep.verdicts import EQUIVALENCE_BAND, MOVED, RELATIVE_FACTOR  # noqa: E402
from rflr.views import grid_charts  # noqa: E402

BEGIN = "<!-- beyond:begin -->"
END = "<!-- beyond:end -->"


def _wall_time(record: dict) -> str:
    """'; training 19.1 min + post-processing 1.5 min on 2 CPUs' from study.json."""
    try:
        train = sum(float(p["train_wall_time_s"]) for p in record["parts"] if p.get("trained"))
        post = float(record["post_processing"]["wall_time_s"])
        cpus = record.get("machine", {}).get("cpu_count", "?")
    except (KeyError, TypeError, ValueError):
        return ""
    return (
        f"; training {train / 60:.1f} min + post-processing {post / 60:.1f} min on {cpus} CPUs "
        "(the study's budget: 45 min on the 2-core machine)"
    )


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _g(x: float, spec: str = ".2g") -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


def _ci(r: pd.Series, col: str, spec: str = ".2g") -> str:
    return median_cell(r, col, spec, always_n=False)  # no interval from fewer than 8 runs


def rank_frame(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The rank part and its dense control on one ordinal axis r = 1, 2, ..., dense."""
    rk = part(df, "rank").assign(r=lambda d: d["rank"].astype(int).astype(str))
    dense = part(df, "rank-dense").assign(r="dense")
    both = pd.concat([rk, dense], ignore_index=True)
    order = [str(v) for v in sorted(rk["rank"].astype(int).unique())] + (
        ["dense"] if len(dense) else []
    )
    return both, order


def write_figures(df: pd.DataFrame, figures: Path) -> dict[str, Path]:
    figures.mkdir(parents=True, exist_ok=True)
    made: dict[str, alt.TopLevelMixin] = {}
    if len(part(df, "rank")):
        both, order = rank_frame(df)
        made["rank"] = alt.hconcat(
            grid_charts.curve_chart(both, "r", "symmetric_fraction", None, order),
            grid_charts.curve_chart(both, "r", "headline_defect", None, order),
        )
    if len(part(df, "phase")):
        ph = part(df, "phase")
        made["phase"] = alt.hconcat(
            grid_charts.heatmap_chart(ph, "lr", "batch_size", "symmetric_fraction"),
            grid_charts.heatmap_chart(ph, "lr", "batch_size", "headline_defect"),
        ).resolve_scale(color="independent")
    if len(part(df, "depth")):
        made["depth"] = alt.hconcat(
            grid_charts.oscillation_chart(part(df, "depth")),
            grid_charts.curve_chart(part(df, "depth"), "depth", "symmetric_fraction"),
        )
    made["weights"] = grid_charts.weight_chart(df)
    if not basin_table(df).empty:
        made["basin"] = grid_charts.basin_chart(df)
    paths = {}
    for name, chart in made.items():
        path = figures / f"beyond-{name}.png"
        chart.save(str(path), scale_factor=1.5)
        paths[name] = path
    return paths


def _layer_table(df: pd.DataFrame) -> list[str]:
    """Per-layer weight symmetry of the base part: trained vs random init, per model."""
    base = part(df, "base")
    base = base[base["status"] == "ok"]
    ks = sorted({int(c[4:].split("_")[0]) for c in base.columns if c.startswith("wsym")})
    rows = []
    for model, g in base.groupby("model", sort=False):
        for k in ks:
            name = g[f"wsym{k}_name"].dropna()
            if name.empty:
                continue
            trivial = g[f"wsym{k}_trivial"].astype(str).str.lower().eq("true").mean()
            rows.append(
                [
                    model,
                    name.iloc[0],
                    f"{trivial:.0%}",
                    f"{g[f'wsym{k}_pairing'].median():.3f} / {g[f'wsym{k}_pairing_init'].median():.3f}",
                    f"{g[f'wsym{k}_mismatch'].median():.2f} / {g[f'wsym{k}_mismatch_init'].median():.2f}",
                ]
            )
    if not rows:
        return []
    return [
        _table(
            [
                "model",
                "layer",
                "runs where the map is the identity",
                "pairing: trained / init",
                "signed outgoing mismatch: trained / init",
            ],
            rows,
        ),
        "",
    ]


def render(
    df: pd.DataFrame, record: dict, summary: Path, figures: dict[str, Path], doc: Path
) -> str:
    """The section's markdown; figure links are relative to `doc`'s folder."""
    out = [*_intro(df, record, summary), *_definitions_and_claims(df, record)]
    for name, section in FIGURE_SECTIONS.items():  # each with its figure, when it was drawn
        if name in figures:
            out += section(df, Path(os.path.relpath(figures[name], doc.parent)).as_posix())
    return "\n".join([*out, *_volume(df)])


def _intro(df: pd.DataFrame, record: dict, summary: Path) -> list[str]:
    """The markers' start, the study's command and size, its parts, and what did not run."""
    rel = Path(os.path.relpath(summary, ROOT)).as_posix()
    parts = record.get("parts", [])
    ran = [p for p in parts if p.get("trained")]
    missing = [p["name"] for p in parts if not p.get("trained")]
    counts = df.groupby("part", sort=False).size()
    out = [
        BEGIN,
        "## Beyond the poster",
        "",
        f"<!-- generated by `python scripts/make_beyond.py --summary {rel}`; do not edit "
        "by hand -->",
        "",
        f"A study of what the poster and its paper claim beyond the headline split "
        f"(issue 11): `{record.get('command', '')}` (preset `{record.get('preset', '')}`), "
        f"{len(df)} runs in {len(ran)} of {len(parts)} parts, finished "
        f"{record.get('finished_utc', '?')}{_wall_time(record)}. Every part shares one "
        "protocol and changes only "
        "what it sweeps and what its question names (rflr/sweep/presets.py, `beyond_parts`):",
        "",
        _table(
            ["part", "runs", "question"],
            [[p["name"], str(int(counts.get(p["name"], 0))), p.get("question", "")] for p in ran],
        ),
        "",
    ]
    cut = [p for p in ran if not p.get("complete", True)]
    if missing or cut:
        out += [
            (f"**Not run (yet):** {', '.join(missing)}. " if missing else "")
            + (
                "**Cut short:** "
                + ", ".join(
                    f"{p['name']} ({p['runs']} of {p.get('planned_runs', '?')} runs)" for p in cut
                )
                + " (the runs that finished are used). "
                if cut
                else ""
            )
            + "Claims without data are absent below; rerunning the same command trains only "
            "the missing runs.",
            "",
        ]
    return out


def _definitions_and_claims(df: pd.DataFrame, record: dict) -> list[str]:
    """What symmetric, the intervals and the basin numbers mean; then every claim's verdict."""
    post = record.get("post_processing", {})
    return [
        f"Definitions: a run is *symmetric* when it trained and its headline active partial "
        f"defect is < {SYMMETRIC_DEFECT:g} (a diverged run counts as not symmetric: the "
        f"fraction is the SPEC's *trainable volume*), shown as k/n [Wilson 95% interval]. "
        f"Medians carry a percentile bootstrap 95% interval ({BOOTSTRAP} resamples, seed 0) "
        f"over the runs that did not diverge; a comparison with fewer than {MIN_RUNS} runs on a "
        "side decides nothing. Weight symmetry is rflr.measure.weight_symmetry, each defect beside its "
        "value for the same units at the run's random init. Basin width at sweep scale: "
        f"{post.get('directions', '?')} filter-normalized directions, both signs, radii "
        f"{', '.join(_g(r) for r in post.get('radii', []))} (flat radius: where the mean "
        "training loss first reaches 2 L0 + 1e-4; `inf` when it never does within radius 1); "
        f"top Hessian eigenvalue by at most {post.get('hessian_iterations', '?')} power "
        f"iterations to relative change {_g(post.get('hessian_tol', float('nan')))}.",
        "",
        f"Verdict rules (issue 20), fixed in code before any data (rflr.sweep.verdicts): "
        f"**supports** when the claim's effect has its 95% CI clear of the null and of dense; "
        f"**not observed** when RF-LR's trained / init ratio has its CI inside "
        f"[{EQUIVALENCE_BAND[0]}, {EQUIVALENCE_BAND[1]}] in a regime where its atoms moved by "
        f">= {MOVED} (median |a - a0| / |a0|); **cannot decide** for anything else or with "
        f"fewer than {MIN_RUNS} usable runs on a side. **Contradicts** is reserved for an "
        "effect in the opposite direction (the CI clear on the other side). Beside the absolute "
        f"criterion, *symmetric relative* means headline defect < {RELATIVE_FACTOR:g} x output "
        "defect; every RF-LR vs dense comparison carries the fit ratio (RF-LR / dense median "
        "test MSE); every median says n used / n total, and no interval is shown from fewer "
        f"than {MIN_RUNS} runs (`n < {MIN_RUNS}`). A column the summary lacks reads "
        "*not measured*.",
        "",
        "### The claims",
        "",
        _table(
            ["topic", "the poster / paper says", "this study", "verdict", "rule"],
            [[c.topic, c.poster, c.ours, f"**{c.verdict}**", c.rule] for c in beyond_claims(df)],
        ),
        "",
    ]


def _weights(df: pd.DataFrame, link: str) -> list[str]:
    """Weight symmetry against its random-init level, per regime, then per layer."""
    wr = weight_regimes(df)
    return [
        "### Weight symmetry, regime by regime",
        "",
        "Atom pairing defect as a multiple of its random-init level (1 = no better than "
        "chance) and the signed outgoing mismatch likewise, median [95% CI] per regime:",
        "",
        f"![weight symmetry per regime]({link})",
        "",
        _table(
            ["regime", "model", "runs", "pairing / init", "mismatch / init", "symmetric"],
            [
                [
                    r["regime"],
                    r["model"],
                    str(int(r["runs"])),
                    _ci(r, "pairing_ratio", ".3f"),
                    _ci(r, "mismatch_ratio"),
                    symmetric_cell(r),
                ]
                for _, r in wr.iterrows()
            ],
        ),
        "",
        "Past the atoms (base part, medians over runs):",
        "",
        *_layer_table(df),
    ]


def _rank(df: pd.DataFrame, link: str) -> list[str]:
    """Symmetry and fit from rank 1 up to dense."""
    both, order = rank_frame(df)
    st = group_stats(both, ["r"]).set_index("r").loc[order].reset_index()
    return [
        "### The rank continuum",
        "",
        f"![rank continuum]({link})",
        "",
        _table(
            ["r", "symmetric", "headline defect", "test MSE"],
            [
                [r["r"], symmetric_cell(r), _ci(r, "headline_defect"), _ci(r, "test_mse")]
                for _, r in st.iterrows()
            ],
        ),
        "",
    ]


def _phase(df: pd.DataFrame, link: str) -> list[str]:
    """Symmetry, divergence and fit over learning rate x batch size."""
    st = group_stats(part(df, "phase"), ["lr", "batch_size"])
    return [
        "### Learning rate x batch size (RF-LR, rank 1)",
        "",
        f"![lr x batch size]({link})",
        "",
        _table(
            ["lr", "batch", "symmetric", "diverged", "headline defect", "test MSE"],
            [
                [
                    _g(r["lr"]),
                    str(int(r["batch_size"])),
                    symmetric_cell(r),
                    str(int(r["diverged"])),
                    _ci(r, "headline_defect"),
                    _ci(r, "test_mse"),
                ]
                for _, r in st.iterrows()
            ],
        ),
        "",
    ]


def _depth(df: pd.DataFrame, link: str) -> list[str]:
    """Oscillations of the deepest partial layer against depth (the figure only)."""
    return [
        "### Oscillations vs depth",
        "",
        "Median peaks and valleys of the active channels of the deepest partial layer "
        "(rflr.measure.channels.oscillation_count), per run; median over runs with bootstrap CI:",
        "",
        f"![oscillations vs depth]({link})",
        "",
    ]


def _basin(df: pd.DataFrame, link: str) -> list[str]:
    """Flat radius and top Hessian eigenvalue of each kind of minimum, per optimizer."""
    bt = basin_table(df)
    return [
        "### Basin width: symmetric vs asymmetric RF-LR minima vs dense minima",
        "",
        "SGD: the study protocol at rank 1 (parts base and rank, each run once) and its "
        "dense control; Adam: the adam part (both learning rates). `inf` medians are "
        "drawn at the largest finite value.",
        "",
        f"![basin width]({link})",
        "",
        _table(
            ["optimizer", "minimum", "runs", "flat radius", "top Hessian eigenvalue"],
            [
                [
                    r["optimizer"],
                    r["minimum"],
                    str(int(r["ok"])),
                    _ci(r, "flat_radius"),
                    _ci(r, "hessian_top"),
                ]
                for _, r in bt.iterrows()
            ],
        ),
        "",
    ]


# The subsections with a figure, in page order: figure name (write_figures) -> its text.
FIGURE_SECTIONS = {
    "weights": _weights,
    "rank": _rank,
    "phase": _phase,
    "depth": _depth,
    "basin": _basin,
}


def _volume(df: pd.DataFrame) -> list[str]:
    """The fraction of symmetric runs in every regime of every part; the markers' end."""
    vol = []
    for name, g in df.groupby("part", sort=False):
        keys = swept_keys(g)
        for _, r in group_stats(g, keys, ()).iterrows():
            vol.append([name, ", ".join(f"{k}={r[k]}" for k in keys), symmetric_cell(r)])
    return [
        "### Trainable volume per regime",
        "",
        "The fraction of random inits (seeds) that end with symmetric active partials:",
        "",
        _table(["part", "swept values", "symmetric"], vol),
        "",
        END,
    ]


def splice(text: str, section: str) -> str:
    """`text` with the marked section replaced by `section` (appended when absent)."""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        return head + section + tail
    return text.rstrip("\n") + "\n\n" + section + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--summary", type=Path, default=ROOT / "checkpoints/beyond/summary.csv")
    p.add_argument("--doc", type=Path, default=ROOT / "REPRODUCTION.md")
    p.add_argument("--figures", type=Path, default=ROOT / "docs/figures")
    args = p.parse_args(argv)
    summary = args.summary.resolve()
    if not summary.is_file():
        p.error(f"no study summary at {summary}: run `python train.py --preset beyond` first")
    df = read_summary(summary)
    record = json.loads((summary.parent / "study.json").read_text())
    figures = write_figures(df, args.figures.resolve())
    doc = args.doc.resolve()
    text = doc.read_text() if doc.is_file() else ""
    doc.write_text(splice(text, render(df, record, summary, figures, doc)))
    print(f"wrote the Beyond the poster section of {args.doc} and {len(figures)} figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
