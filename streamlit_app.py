"""rflr explorer: does low rank make training recover the mirror symmetry x -> -x inside the
network, not only at its output? Browse checkpoints layer by layer, each partial function
z(x) drawn beside its mirror z(-x), an RF-LR network beside its dense control.

    streamlit run streamlit_app.py                       # the shipped checkpoints/ folder
    RFLR_CHECKPOINTS=/path/to/folder streamlit run streamlit_app.py

This file only lays out widgets and charts; everything it shows is computed by rflr/ and
reshaped by rflr.app (see docs/app.md).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import streamlit as st
import torch

from rflr import checkpoint
from rflr.app import catalog, charts, data, export, sources
from rflr.app import state as view_state
from rflr.metrics import PARITY_TAU
from rflr.ui.sweep_tab import sweep_view

APP_DIR = Path(__file__).resolve().parent
TABS = [
    "Layer view",
    "Depth profile",
    "Training",
    "Weights",
    "Architecture",
    "Inspector",
    "Checkpoints",
    "Sweep",
]
AUTO, NONE = "\u2063auto", "\u2063none"  # B choices that are not run names
KIND = {"rflr": "RF-LR", "dense": "dense"}
MAX_POINTS = 5000  # points per scatter sent to the browser (SVG slows down beyond)
SOURCE_LABELS = {"folder": "Folder", "upload": "Upload a file", "hub": "Hugging Face Hub"}
# The networks are tiny: handing a 1025 x 64 product to a second thread costs more than the
# product itself, and on a busy machine far more (0.27 s against 2 ms measured).
torch.set_num_threads(1)


# --- cached data: keyed on file identity (path, mtime, size), bounded -------------------------


@st.cache_data(max_entries=8, show_spinner="Reading checkpoint headers…")
def listing(root: str, signature: tuple) -> catalog.Catalog:
    """Headers of every checkpoint below root; `signature` changes when files change."""
    return catalog.build(checkpoint.list_checkpoints(root), Path(root))


@st.cache_resource(max_entries=8, show_spinner="Loading checkpoint…")
def loaded(path: str, mtime: int, size: int):
    """(Checkpoint, Partials, None) or (None, None, reason). Read-only: shared by sessions."""
    try:
        ckpt = checkpoint.load(path)
        return ckpt, data.compute_partials(ckpt), None
    except checkpoint.CheckpointError as e:
        return None, None, e.reason
    except Exception as e:  # a file that loads but cannot be evaluated must not break the page
        return None, None, f"cannot evaluate this checkpoint ({type(e).__name__}: {e})"


@st.cache_data(max_entries=256, show_spinner=False)
def channel_table(key: tuple, name: str, thr: float) -> pd.DataFrame:
    return data.channel_frame(loaded(*key)[1], name, thr, PARITY_TAU)


@st.cache_data(max_entries=256, show_spinner=False)
def curves(key: tuple, name: str, channels: tuple[int, ...]) -> pd.DataFrame:
    return data.curve_frame(loaded(*key)[1], name, list(channels))


@st.cache_data(max_entries=64, show_spinner=False)
def profile(key: tuple, thr: float, equivariance: bool) -> tuple[pd.DataFrame, float]:
    p = loaded(*key)[1]
    return data.depth_profile(p, thr, PARITY_TAU, equivariance), data.output_defect(p)


@st.cache_data(max_entries=32, show_spinner=False)
def atoms(key: tuple) -> data.AtomFrames | None:
    ckpt, p, _ = loaded(*key)
    return data.atom_frames(ckpt, p)


@st.cache_data(max_entries=32, show_spinner=False)
def history(key: tuple) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    try:
        h = checkpoint.read_header(key[0]).history
    except checkpoint.CheckpointError:  # replaced by a bad file since the listing
        h = {}
    return data.history_frame(h), data.plateau_frame(h)


@st.cache_resource(max_entries=8, show_spinner="Fetching from the Hugging Face Hub…")
def hub_folder(repo_id: str, revision: str) -> str:
    return str(sources.pull(repo_id, revision or None))  # a failure raises: nothing cached


# --- state: the URL is read once per session, then the widgets own the values ------------------


def restore_from_url() -> None:
    ss = st.session_state
    if "restored" in ss:
        return
    vs, notes = view_state.from_query(st.query_params.to_dict())
    ss.restored, ss.url_notes, ss.url_files = True, notes, (vs.a, vs.b)
    ss.hub_autoload = vs.src == "hub" and bool(vs.repo)
    if vs.root:
        try:
            sources.open_root(vs.root)
        except sources.SourceError as e:
            notes.append(f"ignored URL parameter root: {e}; showing the default folder")
            vs.root = None
    ss.w_src, ss.w_root = vs.src, vs.root or ""
    ss.w_repo, ss.w_rev = vs.repo or "", vs.rev or ""
    ss.w_part, ss.w_odd, ss.w_thr, ss.w_shared = vs.part, vs.odd, vs.thr, vs.shared
    ss.shown = vs.shown
    if vs.layer is not None:
        ss.w_layer = vs.layer


def apply_url_files(root: Path, cat: catalog.Catalog) -> None:
    """Turn the URL's a= and b= files into run and step choices, refusing unsafe paths."""
    ss = st.session_state
    a, b = ss.pop("url_files", (None, None))
    for which, rel in (("A", a), ("B", b)):
        if rel is None or (which == "B" and rel == "none"):
            if rel == "none":
                ss.w_run_b = NONE
            continue
        try:
            path = sources.inside(root, rel)
        except sources.SourceError as e:
            ss.url_notes.append(f"checkpoint {which} from the URL: {e}")
            continue
        row = cat.rows.get(sources.relative(root.resolve(), path))
        if row is None:
            ss.url_notes.append(f"checkpoint {which} from the URL: {rel!r} is not in this folder")
            continue
        if which == "A":
            ss.w_run_a, ss.w_step = row["run"], int(row["step"])
        else:
            ss.w_run_b = row["run"]


def show_url_notes() -> None:
    """What the URL asked for but could not get: shown once, on the page the URL opened."""
    for note in st.session_state.pop("url_notes", []):
        st.warning(note)


def write_url(vs: view_state.ViewState) -> None:
    """Mirror the view into the URL (only our own keys; the tab is bound by Streamlit)."""
    want = view_state.to_query(vs)
    for key in view_state.KEYS:
        if key in want:
            if st.query_params.get(key) != want[key]:
                st.query_params[key] = want[key]
        elif key in st.query_params:
            del st.query_params[key]


# --- sidebar -------------------------------------------------------------------------------------


def source_ui() -> tuple[Path | None, view_state.ViewState]:
    """Pick the checkpoint source; return its root folder (None if unusable) and its state."""
    sb = st.sidebar
    sb.header("Checkpoints")
    src = sb.radio(
        "Source", list(SOURCE_LABELS), key="w_src", format_func=SOURCE_LABELS.get, horizontal=True
    )
    vs = view_state.ViewState(src=src)
    default = sources.default_root(APP_DIR)
    if src == "folder":
        text = sb.text_input(
            "Folder",
            key="w_root",
            placeholder=str(default),
            help=f"Any folder of .safetensors checkpoints; empty: {default} "
            f"(set {sources.ENV_VAR} to change the default).",
        )
        vs.root = text.strip() or None
        try:
            return sources.open_root(text or default), vs
        except sources.SourceError as e:
            sb.error(f"Folder: {e}")
            return None, vs
    if src == "upload":
        up = sb.file_uploader(
            f"One checkpoint file (.safetensors, at most {sources.MAX_UPLOAD_MB} MB)",
            type=["safetensors"],
            key="w_upload",
        )
        if up is None:
            sb.info("Upload an rflr checkpoint; it is checked exactly like a file on disk.")
            return None, vs
        try:
            return validated_upload(up.file_id, up.name, up.getvalue()), vs
        except sources.SourceError as e:
            sb.error(f"Upload refused: {e}")
            return None, vs
    return hub_ui(vs), vs


def hub_ui(vs: view_state.ViewState) -> Path | None:
    """A Hub repo's local folder. The network is only used when the user presses the button
    (or opens a URL naming a repo); the outcome is kept, so reruns never refetch."""
    ss, sb = st.session_state, st.sidebar
    usable, reason = sources.hub_availability()
    repo = sb.text_input("Repo id", key="w_repo", placeholder="USER/NAME", disabled=not usable)
    rev = sb.text_input("Revision", key="w_rev", placeholder="main", disabled=not usable)
    sb.caption(reason)
    vs.repo, vs.rev = repo.strip() or None, rev.strip() or None
    wanted = (repo.strip(), rev.strip())
    pressed = sb.button("Open repo", disabled=not usable or not repo.strip())
    if usable and repo.strip() and (pressed or ss.pop("hub_autoload", False)):
        try:
            ss.hub = (wanted, hub_folder(sources.check_repo_id(repo), rev.strip()), None)
        except sources.SourceError as e:
            ss.hub = (wanted, None, str(e))
    got, folder, error = ss.get("hub", (None, None, None))
    if got != wanted:
        return None
    if error:
        sb.error(f"Hub: {error}")
    return Path(folder) if folder else None


def validated_upload(file_id: str, name: str, payload: bytes) -> Path:
    """The upload's folder, validated once per uploaded file (kept in the session)."""
    done = st.session_state.setdefault("uploads", {})
    if file_id not in done:
        try:
            done[file_id] = (sources.save_upload(name, payload), None)
        except sources.SourceError as e:
            done[file_id] = (None, str(e))
    folder, error = done[file_id]
    if error:
        raise sources.SourceError(error)
    return folder


def runs_ui(cat: catalog.Catalog) -> tuple[str, str | None, str]:
    """Choose run A and run B (default: the first RF-LR run and its dense control)."""
    ss, sb = st.session_state, st.sidebar
    runs = cat.runs
    if ss.get("w_run_a") not in runs:
        ss.w_run_a = cat.default[0]
    run_a = sb.selectbox("Checkpoint A: run", runs, key="w_run_a")
    options = [AUTO, NONE, *runs]
    if ss.get("w_run_b") not in options:
        ss.w_run_b = AUTO
    auto = cat.partners.get(run_a)
    labels = {AUTO: f"control of A ({auto or 'none found'})", NONE: "none"}
    choice = sb.selectbox(
        "Checkpoint B: run",
        options,
        key="w_run_b",
        format_func=lambda r: labels.get(r, r),
        help="Default: the other model kind with the same target and seed as A.",
    )
    run_b = auto if choice == AUTO else None if choice == NONE else choice
    return run_a, run_b, choice


def layer_ui(depth: int) -> tuple[int, str, bool, float, bool]:
    """Layer index, part, odd-part toggle, activity threshold, shared y axes."""
    ss, sb = st.session_state, st.sidebar
    sb.header("Layer")
    options = list(range(depth + 1))
    if ss.get("w_layer") not in options:
        ss.w_layer = max(depth - 1, 0)  # the deepest partial layer: the headline
    k = sb.selectbox(
        "Layer", options, key="w_layer", format_func=lambda i: data.layer_label(i, depth)
    )
    part = sb.radio(
        "Partial",
        list(data.PARTS),
        key="w_part",
        format_func=data.PARTS.get,
        disabled=k in (0, depth),
        help="Atoms and output have one part each.",
    )
    odd = sb.toggle("Show the odd part o(x) = (z(x) − z(−x))/2", key="w_odd")
    thr = sb.number_input(
        "Activity threshold",
        min_value=0.0,
        max_value=1.0,
        step=1e-4,
        format="%.1e",
        key="w_thr",
        help="A channel is active when its activity (std over the grid × norm of "
        "its outgoing weights) is at least this fraction of the largest in its layer.",
    )
    shared = sb.toggle("Share y axes across panels and checkpoints", key="w_shared")
    return k, part, odd, float(thr), shared


# --- main area -------------------------------------------------------------------------------


def main() -> None:
    st.set_page_config(page_title="rflr explorer", page_icon="🪞", layout="wide")
    restore_from_url()
    st.title("rflr explorer")
    st.caption(
        "Does low rank make training recover the mirror symmetry x → −x *inside* the network? "
        "Each partial function z(x) is drawn beside its mirror z(−x): where they coincide, the "
        "channel is even. D is the odd fraction of a channel (0 even, 1 odd)."
    )
    root, vs = source_ui()
    if root is None:
        show_url_notes()
        st.info("Choose a checkpoint source in the sidebar.")
        write_url(vs)
        return
    cat = listing(str(root), sources.folder_signature(root))
    if not cat.errors.empty:
        st.warning(
            f"{len(cat.errors)} file(s) in {root} could not be read; see the Checkpoints tab."
        )
    if not cat.rows:
        show_url_notes()
        st.info(f"No readable rflr checkpoints in {root}.")
        checkpoints_ui(cat)
        write_url(vs)
        return
    if "url_files" in st.session_state:
        apply_url_files(root, cat)
    show_url_notes()
    run_a, run_b, b_choice = runs_ui(cat)
    steps = cat.steps[run_a]
    if st.session_state.get("w_step") not in steps:
        st.session_state.w_step = steps[-1]  # the final snapshot
    step = st.select_slider(
        f"Training step of A ({run_a}); B shows its snapshot at or before it",
        steps,
        key="w_step",
    )
    file_a = cat.file_at(run_a, step)
    file_b = cat.file_at(run_b, step) if run_b else None
    depth = int(cat.rows[file_a]["depth"])
    k, part, odd, thr, shared = layer_ui(depth)
    vs.a, vs.b = file_a, (None if b_choice == AUTO else "none" if b_choice == NONE else file_b)
    vs.layer, vs.part, vs.odd, vs.thr, vs.shared = k, part, odd, thr, shared
    vs.shown = st.session_state.shown
    write_url(vs if vs.src != "upload" else view_state.ViewState(src="upload"))

    picks = [pick(root, cat, f) for f in (file_a, file_b) if f]
    tabs = st.tabs(TABS, key="tab", bind="query-params")
    body = {
        "Layer view": lambda: layer_view_ui(picks, k, part, odd, thr, shared),
        "Depth profile": lambda: depth_ui(picks, thr),
        "Training": lambda: training_ui(picks, cat),
        "Weights": lambda: weights_ui(picks),
        "Architecture": lambda: architecture_ui(picks, k, part),
        "Inspector": lambda: inspector_ui(picks),
        "Checkpoints": lambda: checkpoints_ui(cat),
        "Sweep": lambda: sweep_ui(root),
    }
    for label, tab in zip(TABS, tabs, strict=True):
        if tab.open is not False:  # hidden tabs do no work
            with tab:
                body[label]()


def pick(root: Path, cat: catalog.Catalog, rel: str) -> dict:
    """A chosen checkpoint: its table row, cache key, and the loaded objects (or the error)."""
    path = sources.inside(root, rel)
    try:
        key = sources.file_key(path)
        ckpt, partials, error = loaded(*key)
    except OSError as e:  # removed since the listing
        key, ckpt, partials, error = (str(path), 0, 0), None, None, f"cannot read it ({e})"
    row = cat.rows[rel]
    label = f"{KIND.get(row['kind'], row['kind'])} · {row['run']} · step {int(row['step'])}"
    badge = ":orange-badge[RF-LR]" if row["kind"] == "rflr" else ":blue-badge[dense]"
    return {
        "root": root,
        "rel": rel,
        "key": key,
        "row": row,
        "ckpt": ckpt,
        "p": partials,
        "error": error,
        "label": label,
        "title": f"{badge} **{row['run']}** · step {int(row['step'])}",
    }


def columns_for(picks: list[dict]):
    return st.columns(len(picks), gap="large") if len(picks) > 1 else [st.container()]


def pick_header(c: dict) -> bool:
    """Title of a checkpoint's column; False (with the reason shown) if it cannot be used."""
    row = c["row"]
    st.markdown(c["title"])
    st.caption(
        f"width {row['width']}"
        + (f" · rank {row['rank']}" if row["kind"] == "rflr" else "")
        + f" · depth {row['depth']} · seed {row['seed']} · target {row['target']} · "
        f"test MSE {_fmt(row['test_mse'])} · headline D {_fmt(row['headline_defect'])} · "
        f"output D {_fmt(row['output_defect'])} · status {row['status']}"
    )
    if c["error"]:
        st.error(f"{c['rel']}: {c['error']}")
        return False
    return True


def _fmt(v: float) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.2e}"


def layer_view_ui(picks: list[dict], k: int, part: str, odd: bool, thr: float, shared: bool):
    ss = st.session_state
    st.caption(
        "Solid: z(x); dashed: its mirror z(−x)"
        + ("; dotted: the odd part o(x)" if odd else "")
        + f". Active channels only (threshold {thr:.1e}), most active first; parity: even "
        f"when D < {PARITY_TAU:g}, odd when D > {1 - PARITY_TAU:g}, mixed between."
    )
    views = []
    for c in picks:
        if c["error"]:
            views.append(None)
            continue
        name = data.layer_name(c["ckpt"].config.model, k, part)
        if name is None:
            views.append({"name": None})
            continue
        table = channel_table(c["key"], name, thr)
        active = table[table["active"]]
        shown = active.head(ss.shown)
        cv = curves(c["key"], name, tuple(int(i) for i in shown["channel"]))
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
                st.info(f"This network has no layer {k} (depth {c['row']['depth']}).")
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
                export_ui(chart, v["curves"], f"{c['label']} · {v['name']}", c["rel"] + "layer")
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


def depth_ui(picks: list[dict], thr: float) -> None:
    st.subheader("Depth profile: output is not enough")
    ok = [c for c in picks if not c["error"]]
    for c in picks:
        if c["error"]:
            st.error(f"{c['rel']}: {c['error']}")
    if not ok:
        return
    equiv = st.toggle(
        "Also measure the equivariance of hidden features (Hungarian matching of units)",
        key="w_equiv",
    )
    profs, outs = [], []
    for c in ok:
        prof, out_d = profile(c["key"], thr, equiv)
        profs.append(prof.assign(checkpoint=c["label"]))
        outs.append({"checkpoint": c["label"], "output_defect": out_d})
    prof, outs = pd.concat(profs, ignore_index=True), pd.DataFrame(outs)
    cols = st.columns(len(ok))
    for col, c, o in zip(cols, ok, outs["output_defect"], strict=True):
        head = prof[(prof["checkpoint"] == c["label"]) & (prof["part"] == "partial")].iloc[-1]
        col.metric(f"{c['label']}: output D", _fmt(o))
        col.metric("deepest partial layer D (active mean)", _fmt(head["defect_mean"]))
    st.caption(
        "Solid: mean D over the active channels of each partial layer (z for RF-LR, u for "
        "dense); dotted: hidden features h. Dashed rules: the output defect D(y). Two networks "
        f"can fit an even target equally well while their insides differ. D is clipped at "
        f"{data.LOG_FLOOR:g} for the log scale; activity threshold {thr:.1e}."
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


def training_ui(picks: list[dict], cat: catalog.Catalog) -> None:
    st.subheader("Training")
    st.caption(
        "Loss history logged by the trainer (from the run's last snapshot), log-log. Shaded: "
        "plateaus and the sharp drops between them (rflr.plateaus). The vertical rule marks the "
        "selected step; change it with the step slider above."
    )
    for c, col in zip(picks, columns_for(picks), strict=True):
        with col:
            st.markdown(c["title"])
            last = sources.inside(c["root"], cat.final_file(c["row"]["run"]))
            hist, shading = history(sources.file_key(last))
            if hist.empty:
                st.info("This checkpoint carries no loss history.")
                continue
            if shading is None:
                st.info("Plateau detection not available yet (rflr.plateaus is missing).")
            chart = charts.training_chart(hist, shading, int(c["row"]["step"]))
            st.altair_chart(chart)
            export_ui(chart, hist, f"{c['label']} · training", c["rel"] + "train")
            if shading is not None and not shading.empty:
                st.dataframe(shading, hide_index=True)


def weights_ui(picks: list[dict]) -> None:
    st.subheader("Weights: mirror-paired atoms")
    st.caption(
        "Each atom (first-layer unit) is a point (w, b); its mirror is (−w, b). Lines join each "
        "alive atom to the atom matched to its mirror (Hungarian matching). Right: the outgoing "
        "weights of matched atoms against each other; mirror pairs that act alike sit on the "
        "diagonal."
    )
    for c, col in zip(picks, columns_for(picks), strict=True):
        with col:
            if not pick_header(c):
                continue
            frames = atoms(c["key"])
            if frames is None:
                st.info("Mirror-pair analysis not available yet (rflr.analysis is missing).")
                continue
            m1, m2, m3 = st.columns(3)
            m1.metric("alive atoms", f"{frames.alive} / {len(frames.atoms)}")
            m2.metric("pairing defect", _fmt(frames.pairing_defect))
            m3.metric("outgoing mismatch", _fmt(frames.outgoing_mismatch))
            a = charts.atoms_chart(frames.atoms, frames.links)
            st.altair_chart(a)
            export_ui(a, frames.atoms, f"{c['label']} · atoms", c["rel"] + "atoms")
            out = frames.outgoing
            if len(out) > MAX_POINTS:  # a dense layer feeds N x N weights: draw an even sample
                out = out.iloc[:: -(-len(out) // MAX_POINTS)]
                st.caption(f"Drawn: {len(out):,} of {len(frames.outgoing):,} weight pairs.")
            o = charts.outgoing_chart(out)
            st.altair_chart(o)
            export_ui(o, frames.outgoing, f"{c['label']} · outgoing", c["rel"] + "outgoing")


def architecture_ui(picks: list[dict], k: int, part: str) -> None:
    st.subheader("Architecture")
    for c, col in zip(picks, columns_for(picks), strict=True):
        with col:
            st.markdown(c["title"])
            if c["ckpt"] is None:
                st.error(f"{c['rel']}: {c['error']}")
                continue
            cfg = c["ckpt"].config.model
            st.graphviz_chart(charts.architecture_dot(cfg, data.layer_name(cfg, k, part)))
            n_params = sum(int(t.numel()) for t in c["ckpt"].params.values())
            st.caption(
                f"{n_params:,} parameters; red: the layer shown in the layer view. "
                + (
                    f"Layers of width {cfg.width} talk through rank-{cfg.rank} bottlenecks z: "
                    "the partial functions."
                    if cfg.kind == "rflr"
                    else f"Layers of width {cfg.width} joined by full {cfg.width}×{cfg.width} "
                    "matrices; the partial functions are the pre-activations u."
                )
            )


def inspector_ui(picks: list[dict]) -> None:
    st.subheader("Inspector")
    for c, col in zip(picks, columns_for(picks), strict=True):
        with col:
            if not pick_header(c):
                continue
            ckpt = c["ckpt"]
            st.dataframe(data.tensor_frame(ckpt), hide_index=True)
            st.markdown("**rflr.config**")
            st.json(ckpt.config.to_dict(), expanded=1)
            st.markdown("**rflr.metrics**")
            st.json(ckpt.metrics, expanded=1)
            h = ckpt.history or {}
            st.caption(f"rflr.history: {len(h.get('step') or [])} logged steps. File: {c['rel']}")


def checkpoints_ui(cat: catalog.Catalog) -> None:
    st.subheader("Checkpoints")
    table, errors = cat.table, cat.errors
    if not table.empty:
        f1, f2, f3, f4 = st.columns([1, 1, 2, 1])
        kinds = f1.multiselect("Kind", sorted(table["kind"].unique()), key="f_kind")
        statuses = f2.multiselect("Status", sorted(table["status"].unique()), key="f_status")
        text = f3.text_input("Run contains", key="f_text")
        final = f4.toggle("Final steps only", key="f_final")
        shown = catalog.filter_table(table, kinds, statuses, text, final)
        st.caption(f"{len(shown)} of {len(table)} checkpoints (read from headers only).")
        st.dataframe(
            catalog.visible(shown),
            hide_index=True,
            column_config={
                c: st.column_config.NumberColumn(format="%.2e")
                for c in ("test_mse", "headline_defect", "output_defect")
            },
        )
    if not errors.empty:
        st.markdown(f"**{len(errors)} file(s) could not be read**")
        st.dataframe(errors, hide_index=True)


def sweep_ui(root: Path) -> None:
    """A sweep's reruns at once (rflr.ui.sweep_tab); a picked run opens in the layer view."""
    st.subheader("Sweep: many controlled reruns")
    found = sorted(
        p
        for p in root.rglob("summary.csv")
        if not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if not found:
        st.info(
            f"No sweep summary (summary.csv) below {root}. `python train.py --preset poster` "
            "writes one; the shipped set has checkpoints/poster/summary.csv."
        )
        return
    path = st.selectbox(
        "Summary", found, format_func=lambda p: sources.relative(root, p), key="w_sweep"
    )
    selection = sweep_view(path)
    if selection is not None and selection.path is not None:
        rel = sources.relative(root.resolve(), selection.path.resolve())
        st.button(
            f"Open {selection.run_id} in the layer view",
            on_click=_open_run,
            args=(rel,),
            key="open",
        )


def _open_run(rel: str) -> None:
    # Same route as a shared URL's a= parameter: checked to stay inside the folder.
    st.session_state.url_files = (rel, None)
    st.session_state.tab = "Layer view"


def export_ui(chart, frame: pd.DataFrame, title: str, key: str) -> None:
    """PNG, SVG and CSV downloads; the bytes are rendered only when a button is clicked.
    The images carry `title` (which checkpoint, which layer), the file name too."""
    name = export.file_stem(title)
    titled = chart.properties(title=title)
    formats = [
        ("PNG", lambda: export.png(titled), "png", "image/png"),
        ("SVG", lambda: export.svg(titled), "svg", "image/svg+xml"),
        ("CSV (data)", lambda: export.csv(frame), "csv", "text/csv"),
    ]
    with st.popover("Export", icon=":material/download:"):
        for label, render, ext, mime in formats:
            st.download_button(
                label, render, f"{name}.{ext}", mime, key=f"{ext}-{key}", on_click="ignore"
            )


if __name__ == "__main__":
    main()
