"""The sidebar: checkpoint source (folder, upload, Hub), runs A and B, and the URL's a= and
b= files turned into those choices (the rest of the URL: rflr.explorer.url).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import streamlit as st

from rflr.explorer.cache import hub_folder
from rflr.explorer.escape import md
from rflr.explorer.jobs import session_folder
from rflr.explorer.url import set_kept
from rflr.files import checkpoint
from rflr.views import catalog, sources
from rflr.views import state as view_state

APP_DIR = Path(__file__).resolve().parents[2]  # the checkout: streamlit_app.py's folder
AUTO, NONE = "\u2063auto", "\u2063none"  # B choices that are not run names
B_LABELS = {AUTO: "A's control", NONE: "none"}  # fixed: a label must not depend on A
SOURCE_LABELS = {
    "folder": "Folder",
    "upload": "Upload a file",
    "hub": "Hugging Face Hub",
    "trained": "Trained here",  # offered once the Train tab made this session's folder
}


def source_ui() -> tuple[Path | None, view_state.ViewState]:
    """Pick the checkpoint source; return its root folder (None if unusable) and its state."""
    sb = st.sidebar
    sb.header("Checkpoints")
    mine = session_folder()  # this session's training folder; never another session's
    offered = [s for s in SOURCE_LABELS if s != "trained" or mine is not None]
    if st.session_state.get("w_src") not in (None, *offered):
        set_kept("w_src", "folder")  # its folder was deleted (kept too long unused)
    src = sb.radio("Source", offered, key="w_src", format_func=SOURCE_LABELS.get, horizontal=True)
    vs = view_state.ViewState(src=src)
    default = sources.default_root(APP_DIR)
    if src == "folder":
        serve = sources.served()
        text = sb.text_input(
            "Folder",
            key="w_root",
            placeholder=str(default),
            max_chars=sources.MAX_ROOT_CHARS,
            disabled=serve,
            help=md(
                "This server shows its own checkpoints only (served mode)."
                if serve
                else f"Any folder of .safetensors checkpoints; empty: {default} "
                f"(set {sources.ENV_VAR} to change the default)."
            ),
        )
        text = "" if serve else text
        vs.root = text.strip() or None
        try:
            return sources.open_root(text or default), vs
        except sources.SourceError as e:
            sb.error(f"Folder: {md(e)}")
            return None, vs
    if src == "trained" and mine is not None:
        return mine, vs
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
            sb.error(f"Upload refused: {md(e)}")
            return None, vs
    return hub_ui(vs), vs


def hub_ui(vs: view_state.ViewState) -> Path | None:
    """A Hub repo's local folder. The network is only used when the user presses the button
    (or opens a URL naming a repo); the outcome is kept, so reruns never refetch."""
    ss, sb = st.session_state, st.sidebar
    usable, reason = sources.hub_availability()
    repo = sb.text_input("Repo id", key="w_repo", placeholder="USER/NAME", disabled=not usable)
    rev = sb.text_input("Revision", key="w_rev", placeholder="main", disabled=not usable)
    sb.caption(md(reason))
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
        sb.error(f"Hub: {md(error)}")
    return Path(folder) if folder else None


def validated_upload(file_id: str, name: str, payload: bytes) -> Path:
    """The upload's folder in this session's own folder, validated once per uploaded file
    (kept in the session), and written again if it was pruned as idle meanwhile."""
    done = st.session_state.setdefault("uploads", {})
    mine = session_uploads()  # used now: not pruned while the visitor looks at it
    if file_id not in done or (done[file_id][0] is not None and not done[file_id][0].is_dir()):
        try:
            done[file_id] = (sources.save_upload(name, payload, mine), None)
        except sources.SourceError as e:
            done[file_id] = (None, str(e))
    folder, error = done[file_id]
    if error:
        raise sources.SourceError(error)
    return folder


def session_uploads() -> Path:
    """This session's upload folder (rflr.views.sources.SessionUploads): made on its first
    upload, deleted when the session ends; made again if it was pruned as idle."""
    ss = st.session_state
    held = ss.get("upload_folder")
    if not isinstance(held, sources.SessionUploads) or not held.usable():
        held = ss.upload_folder = sources.SessionUploads()
    held.touch()
    return held.path


def runs_ui(cat: catalog.Catalog) -> tuple[str, str | None, str]:
    """Choose run A and run B (default: the first RF-LR run and its dense control). Under B,
    the run the page shows as B, named: the box holds the choice ("A's control"), the line
    what it resolves to. (A label naming the control would go stale in the browser, which
    keeps a select box's value as its label text while A changes under it.)"""
    ss, sb = st.session_state, st.sidebar
    runs = cat.runs
    if ss.get("w_run_a") not in runs:
        ss.w_run_a = cat.default[0]
    run_a = sb.selectbox("Checkpoint A: run", runs, key="w_run_a")
    options = [AUTO, NONE, *runs]
    if ss.get("w_run_b") not in options:
        ss.w_run_b = AUTO
    choice = sb.selectbox(
        "Checkpoint B: run",
        options,
        key="w_run_b",
        format_func=lambda r: B_LABELS.get(r, r),
        help="Default: A's control, the other model kind with the same target and seed as A.",
    )
    auto = cat.partners.get(run_a)
    run_b = auto if choice == AUTO else None if choice == NONE else choice
    if choice == AUTO:
        sb.caption(
            f"B shows {md(auto)}, A's control."
            if auto
            else "B shows nothing: no control of A in this folder. Choose a run for B above."
        )
    return run_a, run_b, choice


def missing_control_ui(cat: catalog.Catalog, run_a: str, choice: str) -> None:
    """Where B's column would be: why there is none (B is not silently absent). The choice
    itself is made in the sidebar's one B box."""
    if choice != AUTO or cat.partners.get(run_a):
        return
    _, right = st.columns(2, gap="large")
    right.info(
        f"No control for A ({md(run_a)}) in this folder: no run of the other model kind "
        "with A's target and seed. B is empty; choose a run for B in the sidebar "
        "(Checkpoint B)."
    )


# --- the URL's a= and b= -----------------------------------------------------------------------


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
            row = _nearest_row(cat, sources.relative(root.resolve(), path))
            if row is None:
                ss.url_notes.append(
                    f"checkpoint {which} from the URL: {rel!r} is not in this folder"
                )
                continue
            ss.url_notes.append(
                f"checkpoint {which} from the URL: {rel!r} is not in this folder; opened the nearest "
                f"snapshot of its run, step {int(row['step'])}"
            )
        if which == "A":
            set_kept("w_run_a", row["run"])
            set_kept("w_step", int(row["step"]))
        else:
            set_kept("w_run_b", row["run"])


_STEP_FILE = re.compile(r"step-(\d{1,15})" + re.escape(checkpoint.SUFFIX))


def _nearest_row(cat: catalog.Catalog, rel: str) -> dict | None:
    """A file the folder lacks, named like a snapshot of a run it has: that run's nearest
    snapshot (a shared URL whose step was not kept, a pruned snapshot)."""
    m = _STEP_FILE.fullmatch(PurePosixPath(rel).name)
    run = PurePosixPath(rel).parent.as_posix()
    if m is None or run not in cat.steps:
        return None
    step = cat.nearest(run, int(m.group(1)))
    return cat.rows[cat.files[run][step]]
