"""The Layer view, Depth profile and Training tabs: partial functions and their defects."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rflr.app import catalog, charts, sources
from rflr.app import state as view_state
from rflr.metrics import PARITY_TAU
from rflr.model import layer_name
from rflr.ui.cache import channel_table, curves, history, profile
from rflr.ui.common import Pick, columns_for, export_ui, fmt, md, pick_header


def layer_view_ui(picks: list[Pick], k: int, part: str, odd: bool, thr: float, shared: bool):
    ss = st.session_state
    st.caption(
        "Solid: z(x); dashed: its mirror z(−x)"
        + ("; dotted: the odd part o(x)" if odd else "")
        + f". Active channels only (threshold {thr:.1e}), most active first; parity: even "
        f"when D < {PARITY_TAU:g}, odd when D > {1 - PARITY_TAU:g}, mixed between."
    )
    views = []
    for c in picks:
        if c.error:
            views.append(None)
            continue
        name = layer_name(c.ckpt.config.model, k, part)
        if name is None:
            views.append({"name": None})
            continue
        table = channel_table(c.key, name, thr)
        active = table[table["active"]]
        shown = active.head(ss.shown)
        cv = curves(c.key, name, tuple(int(i) for i in shown["channel"]))
        views.append({"name": name, "table": table, "active": active, "shown": shown, "curves": cv})
    drawn = [v["curves"] for v in views if v and v.get("name") and not v["shown"].empty]
    y_domain = charts.y_extent(pd.concat(drawn), odd) if shared and drawn else None
    per_row = 2 if len(picks) > 1 else 4  # fits a 1400 px wide window
    more = False
    for c, v, col in zip(picks, views, columns_for(picks), strict=True):
        with col:
            if not pick_header(c):
                continue
            if v["name"] is None:
                st.info(f"This network has no layer {k} (depth {c.row['depth']}).")
                continue
            t, active, shown = v["table"], v["active"], v["shown"]
            st.markdown(
                f"**{v['name']}** — {len(active)} of {len(t)} channels active"
                + (f", {len(shown)} shown" if len(shown) < len(active) else "")
            )
            if shown.empty:
                st.info("No active channel in this layer.")
            else:
                chart = charts.layer_panels(v["curves"], shown, odd, y_domain, per_row)
                st.altair_chart(chart)
                export_ui(chart, v["curves"], f"{c.label} · {v['name']}", c.rel + "layer")
            inactive = t[~t["active"]]
            if len(inactive):
                st.caption(
                    f"{len(inactive)} inactive channel(s) not drawn; their largest activity is "
                    f"{inactive['relative_activity'].max():.1e} of the layer's largest."
                )
            more |= len(shown) < len(active)
            with st.expander("All channels of this layer"):
                st.dataframe(t, hide_index=True, column_config=_channel_columns())
    if more:
        st.button(f"Show {view_state.SHOWN_STEP} more channels", on_click=_show_more, key="more")


def _show_more() -> None:
    st.session_state.shown += view_state.SHOWN_STEP


def _channel_columns() -> dict:
    return {
        "D": st.column_config.NumberColumn("D", format="%.2e"),
        "activity": st.column_config.NumberColumn(format="%.2e"),
        "relative_activity": st.column_config.NumberColumn("relative activity", format="%.1e"),
        "oscillations": st.column_config.NumberColumn(
            help="peaks and valleys (rflr.analysis.oscillation_count); -1: not computed"
        ),
    }


def depth_ui(picks: list[Pick], thr: float) -> None:
    st.subheader("Depth profile: output is not enough")
    ok = [c for c in picks if not c.error]
    for c in picks:
        if c.error:
            st.error(f"{md(c.rel)}: {md(c.error)}")
    if not ok:
        return
    equiv = st.toggle(
        "Also measure the equivariance of hidden features (Hungarian matching of units)",
        key="w_equiv",
    )
    profs, outs = [], []
    for c in ok:
        prof, out_d = profile(c.key, thr, equiv)
        profs.append(prof.assign(checkpoint=c.label))
        outs.append({"checkpoint": c.label, "output_defect": out_d})
    prof, outs = pd.concat(profs, ignore_index=True), pd.DataFrame(outs)
    cols = st.columns(len(ok))
    for col, c, o in zip(cols, ok, outs["output_defect"], strict=True):
        head = prof[(prof["checkpoint"] == c.label) & (prof["part"] == "partial")].iloc[-1]
        col.metric(f"{md(c.label)}: output D", fmt(o))
        col.metric("deepest partial layer D (active mean)", fmt(head["defect_mean"]))
    st.caption(
        "Solid: mean D over the active channels of each partial layer (z for RF-LR, u for "
        "dense); dotted: hidden features h. Dashed rules: the output defect D(y). Two networks "
        f"can fit an even target equally well while their insides differ. D is clipped at "
        f"{charts.LOG_FLOOR:g} for the log scale; activity threshold {thr:.1e}."
    )
    chart = charts.depth_chart(prof, outs)
    st.altair_chart(chart)
    export_ui(chart, prof, "depth profile", "depth")
    st.dataframe(
        prof[
            [
                "checkpoint",
                "layer",
                "defect_mean",
                "defect_median",
                "defect_max",
                "active",
                "channels",
                "even",
                "odd",
                "mixed",
                *(["equivariance"] if equiv else []),
            ]
        ],
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.2e")
            for c in ("defect_mean", "defect_median", "defect_max", "equivariance")
        },
    )
    if equiv:
        st.caption(
            "equivariance: how far the reflection is from permuting the units of h "
            "(rflr.analysis.equivariance); a layer can be equivariant while its units are not."
        )


def training_ui(picks: list[Pick], cat: catalog.Catalog) -> None:
    st.subheader("Training")
    st.caption(
        "Loss history logged by the trainer (from the run's last snapshot), log-log. Shaded: "
        "plateaus and the sharp drops between them (rflr.plateaus). The vertical rule marks the "
        "selected step; change it with the step slider above."
    )
    for c, col in zip(picks, columns_for(picks), strict=True):
        with col:
            st.markdown(c.title)
            last = sources.inside(c.root, cat.final_file(c.row["run"]))
            hist, shading = history(sources.file_key(last))
            if hist.empty:
                st.info("This checkpoint carries no loss history.")
                continue
            chart = charts.training_chart(hist, shading, int(c.row["step"]))
            st.altair_chart(chart)
            export_ui(chart, hist, f"{c.label} · training", c.rel + "train")
            if not shading.empty:
                st.dataframe(shading, hide_index=True)
