"""The sidebar and the URL: checkpoint source, runs A and B, step, layer and view options.

The URL is read once per session, then the widgets own the values.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from rflr.app import catalog, data, sources
from rflr.app import state as view_state
from rflr.ui.cache import hub_folder

APP_DIR = Path(__file__).resolve().parents[2]  # the checkout: streamlit_app.py's folder
AUTO, NONE = "\u2063auto", "\u2063none"  # B choices that are not run names
SOURCE_LABELS = {"folder": "Folder", "upload": "Upload a file", "hub": "Hugging Face Hub"}


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
