"""Many runs at once (issue 21): the run table the overlay is chosen from, the runs' colours
(colour by model, shade by run) and the depth profile of any number of runs, all read from
the snapshots' headers (rflr.metrics.layers): drawing an overlay evaluates no network.

The Symmetry over training tab draws its overlay with training_charts.symmetry_charts and
the colours below; the Depth profile tab with depth_overlay_chart.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from rflr.core.kinds import KIND_LABELS
from rflr.views import style
from rflr.views.catalog import Catalog
from rflr.views.names import layer_label
from rflr.views.style import LOG_AXIS_FORMAT, LOG_FLOOR

SEP = ","  # runs in the URL's runs=: a run id holds no comma (rflr.files.names)
TABLE_COLUMNS = ["run", "model", "width", "rank", "depth", "seed", "test_mse", "headline_defect"]
PLOT_HEIGHT = 220  # px of the depth overlay's plot, axis and legend apart
LIGHTEST = 0.6  # the last run of a model is its colour mixed this far toward white


def run_table(cat: Catalog) -> pd.DataFrame:
    """One row per run (its final snapshot's numbers), RF-LR first, as every view orders
    models; the table the overlay's checkboxes sit beside."""
    rows = [cat.rows[f] for run in cat.runs if (f := cat.final_file(run)) is not None]
    table = pd.DataFrame(rows, columns=[*TABLE_COLUMNS, "kind"])
    order = {kind: i for i, kind in enumerate(style.KIND_COLORS)}
    table["_order"] = table["kind"].map(order).fillna(len(order))
    table["model"] = table["kind"].map(lambda k: KIND_LABELS.get(k, k))
    table = table.sort_values(["_order", "run"]).reset_index(drop=True)
    return table[TABLE_COLUMNS]


def chosen_runs(text: str | None, cat: Catalog, cap: int) -> tuple[list[str], str | None]:
    """The runs of a runs= text that the folder holds, in order, at most `cap`; and one line
    saying what was left out, if anything was."""
    asked = list(dict.fromkeys(r for r in (text or "").split(SEP) if r))
    known = [r for r in asked if r in cat.steps]
    notes = []
    if len(known) < len(asked):
        notes.append(f"{len(asked) - len(known)} run(s) not in this folder")
    if len(known) > cap:
        notes.append(f"{len(known) - cap} run(s) over the overlay's limit of {cap}")
        known = known[:cap]
    return known, ("; ".join(notes) + ": not drawn.") if notes else None


def run_colors(runs: list[str], kinds: list[str]) -> dict[str, str]:
    """run -> colour: its model's colour, lighter for each further run of that model, so
    that models stay apart and runs of one model can still be told apart."""
    count = {k: kinds.count(k) for k in set(kinds)}
    seen: dict[str, int] = {}
    out = {}
    for run, kind in zip(runs, kinds, strict=True):
        i = seen.get(kind, 0)
        seen[kind] = i + 1
        share = LIGHTEST * i / max(count[kind] - 1, 1)
        out[run] = _mix(style.kind_color(kind), "#ffffff", share)
    return out


def _mix(color: str, toward: str, share: float) -> str:
    a = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(toward[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * share):02x}" for x, y in zip(a, b, strict=True))


def final_profile(defects: pd.DataFrame) -> pd.DataFrame:
    """Each run's rows of its last snapshot: the depth profile an overlay draws."""
    if defects.empty:
        return defects
    last = defects.groupby("checkpoint")["step"].transform("max")
    return defects[defects["step"] == last]


def depth_overlay_chart(profile: pd.DataFrame, colors: dict[str, str]) -> alt.LayerChart:
    """The active partial defect D of every partial layer of each run at its last snapshot
    (log), one line per run: colour by model, shade by run; the tooltip names the run.

    profile: checkpoint (the run), kind, model, step, k, defect_mean, active, channels.
    """
    runs = list(colors)
    rows = profile.assign(
        D=profile["defect_mean"].clip(lower=LOG_FLOOR),
        layer=[layer_label(None, int(k)) for k in profile["k"]],
    )
    rows = rows[rows["D"].notna()]
    layers = [layer_label(None, k) for k in sorted(set(int(k) for k in rows["k"]))]
    x = alt.X(
        "layer:N",
        sort=layers,
        title="partial layer (input → output)",
        axis=alt.Axis(labelAngle=0),
    )
    y = alt.Y(
        "D:Q",
        scale=alt.Scale(type="log"),
        axis=alt.Axis(format=LOG_AXIS_FORMAT),
        title="active partial defect D (log)",
    )
    color = alt.Color(
        "checkpoint:N",
        scale=alt.Scale(domain=runs, range=[colors[r] for r in runs]),
        legend=alt.Legend(
            title="run",
            orient="bottom",
            direction="vertical",
            columns=1,
            labelLimit=style.LEGEND_LABEL_LIMIT,
        ),
    )
    tooltip = [
        alt.Tooltip("checkpoint:N", title="run"),
        alt.Tooltip("model:N"),
        alt.Tooltip("layer:N"),
        alt.Tooltip("step:Q", format="d"),
        alt.Tooltip("defect_mean:Q", title="D (active mean)", format=".3e"),
        alt.Tooltip("active:Q", title="active channels"),
    ]
    base = alt.Chart(rows).encode(x=x, y=y, color=color, detail="checkpoint:N")
    # Streamlit fits the axis and the legend into the chart's height: add them to the plot's
    legend = style.LEGEND_GAP + style.LEGEND_TITLE + 30 * len(runs)
    return alt.layer(
        base.mark_line(strokeWidth=1.5, opacity=0.85),
        base.mark_point(filled=True, size=50).encode(tooltip=tooltip),
    ).properties(
        height=PLOT_HEIGHT + style.X_AXIS_HEIGHT + legend, width="container", usermeta=style.CANVAS
    )
