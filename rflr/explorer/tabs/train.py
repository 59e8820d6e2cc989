"""The Train tab: choose a run, press Train, watch it learn, open it as A beside its control.

The choices (rflr.views.train_form) become train.py command lines, shown beside the form and
run as processes by the server's job manager (rflr.views.jobs), so the files are exactly
train.py's. While the session has a job, `watch` (drawn by the page above the tabs, so it
shows from every tab) polls it in a fragment of its own: a progress bar, the queue position,
Cancel. At the end the new run opens as A beside its dense control, from the session's own
folder (the sidebar's source "Trained here"); the tab offers the run as a zip.
"""

from __future__ import annotations

import streamlit as st

from rflr.core.config import PARAMETERIZATIONS
from rflr.explorer.escape import md
from rflr.explorer.jobs import manager, session_id
from rflr.explorer.picks import TabInput
from rflr.explorer.sidebar import AUTO
from rflr.explorer.url import set_kept
from rflr.views import budget, jobs, sources
from rflr.views import train_form as tf

NAME = "Train"
POLL_S = 1.5  # the progress bar's refresh while a job is queued or running
TRAINED = "trained"  # the sidebar's source for this session's own runs


def draw(t: TabInput) -> None:
    """The form, the equivalent command line, the Train button and the last job's outcome."""
    st.subheader("Train a run here")
    lim = budget.train_limits()
    where = "This server" if sources.served() else "This explorer"
    st.caption(
        "Trains with the project's own trainer (the command beside the form), RF-LR beside "
        f"its dense control by default; the runs open as A and B when done. {where} runs "
        f"{lim.slots} job(s) at a time (others wait in a queue), at most {lim.work_m:,} M "
        f"steps × batch × seeds × width² per job and {lim.wall_s:,} s each; your runs stay "
        f"{lim.keep_s // 60:,} min after your last visit, visible to you only."
    )
    left, right = st.columns([3, 2], gap="large")
    with left:
        form = form_ui()
    error = _refusal(form)
    with right:
        st.caption("The same run from a shell (one process per model):")
        st.code(form.command_lines(), language="bash", wrap_lines=True)
    sid = session_id()
    mgr = manager()
    job = mgr.poll(sid)
    busy = job is not None and job.state not in jobs.ENDED
    if error:
        st.error(md(error))
    if st.button("Train", type="primary", disabled=bool(error) or busy, key="tr_go"):
        try:
            job = mgr.submit(
                sid,
                lambda out: [form.argv(kind, out) for kind in form.kinds],
                [form.steps] * len(form.kinds),
                form.work,
            )
        except jobs.JobRefused as e:
            st.error(md(e))
        else:
            # what opens as A at the end: the studied model's seed 0 (B: its control)
            st.session_state.tr_run_a = (job.id, form.config(form.kinds[0]).run_id)
            st.session_state.pop("tr_zip", None)
            st.rerun(scope="app")  # the page's progress fragment starts with the job
    if busy:
        st.caption("Training: the progress bar above the tabs follows it.")
    elif job is not None:
        outcome_ui(job)


def form_ui() -> tf.TrainForm:
    """The choices, as a form (checked by `_refusal`, not here)."""
    d = tf.TrainForm()
    models = st.selectbox("Model", list(tf.MODELS), key="tr_models")
    c1, c2, c3 = st.columns(3)
    width = c1.number_input("Width N", 1, tf.WIDTH_MAX, d.width, key="tr_width")
    rank = c2.number_input("Rank r", 1, tf.WIDTH_MAX, d.rank, key="tr_rank")
    depth = c3.number_input("Depth L", 1, tf.DEPTH_MAX, d.depth, key="tr_depth")
    c1, c2, c3 = st.columns(3)
    steps = c1.number_input("Steps", 1, tf.STEPS_MAX, d.steps, step=1000, key="tr_steps")
    seeds = c2.number_input("Seeds", 1, tf.SEEDS_MAX, d.seeds, key="tr_seeds")
    batch = c3.number_input("Batch size", 1, 1024, d.batch_size, key="tr_batch")
    c1, c2 = st.columns(2)
    lr = c1.number_input("Learning rate", 1e-6, 10.0, d.lr, step=0.001, format="%g", key="tr_lr")
    param = c2.selectbox(
        "Parameterization", PARAMETERIZATIONS, key="tr_param", help="train.py --help explains"
    )
    preset = st.selectbox("Target cosines", list(tf.COSINES), key="tr_target")
    cosines = tf.COSINES[preset]
    if preset == tf.CUSTOM:
        cosines = st.text_input(
            "Custom cosines (freq:amp pairs, as train.py --cosines)",
            "1:1.0,3:0.5",
            max_chars=200,
            key="tr_cosines",
        )
    return tf.TrainForm(
        models=models,
        width=int(width),
        rank=int(rank),
        depth=int(depth),
        lr=float(lr),
        batch_size=int(batch),
        steps=int(steps),
        seeds=int(seeds),
        cosines=cosines,
        parameterization=param,
    )


def _refusal(form: tf.TrainForm) -> str | None:
    """Why this form cannot train (one line), or None."""
    try:
        form.check()
    except tf.FormError as e:
        return str(e)
    return None


def outcome_ui(job: jobs.Job) -> None:
    """How the session's last job ended; a finished one offers its files as a zip."""
    if job.state != jobs.DONE:
        st.warning(f"The last job was {job.state}: {md(job.reason)}")
        return
    st.success(
        f"Trained {md(job.folder.name)}: its runs are in the sidebar's source “Trained here”, "
        "visible to this page only (the first opened as A, beside its control as B)."
    )
    ss = st.session_state
    if ss.get("tr_zip", (None,))[0] != job.id:
        try:
            ss.tr_zip = (job.id, jobs.zip_folder(job.folder, budget.train_limits().zip_mb), None)
        except (jobs.JobRefused, OSError) as e:
            ss.tr_zip = (job.id, None, str(e))
    _, data, error = ss.tr_zip
    if error:
        st.warning(md(error))
    else:
        st.download_button(
            "Download run (zip)",
            data,
            file_name=f"rflr-{job.folder.name}.zip",
            mime="application/zip",
            key="tr_download",
        )


# --- the progress, polled above the tabs ----------------------------------------------------


def watch() -> None:
    """While this session has a job that the page has not yet opened: its progress, polled.
    Called before the sidebar draws its widgets, so that a finished job can choose them."""
    ss = st.session_state
    opened = ss.pop("tr_open", None)
    if opened is not None:  # a job just finished: its runs as A and B, from its folder
        set_kept("w_src", TRAINED)
        set_kept("w_run_a", opened)
        set_kept("w_run_b", AUTO)
        set_kept("w_step", None)
    sid = session_id(create=False)
    if sid is None:
        return  # no job ever: nothing polls
    job = manager().poll(sid)
    if job is None or ss.get("tr_opened") == job.id:
        return
    _progress()


@st.fragment(run_every=POLL_S)
def _progress() -> None:
    sid = session_id(create=False)
    mgr = manager()
    job = mgr.poll(sid) if sid else None
    if job is None:
        return
    if job.state in jobs.ENDED:
        _ended(job)
        return
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    with left:
        if job.state == jobs.QUEUED:
            place = mgr.position(job)
            st.progress(0.0, text=f"Train: waiting for a free slot, place {place} in the queue")
        else:
            st.progress(
                job.progress,
                text=f"Train: {md(job.folder.name)}, step {job.step:,} of {job.steps:,}",
            )
    if right.button("Cancel", key="tr_cancel"):
        mgr.cancel(sid)
        _ended(job)


def _ended(job: jobs.Job) -> None:
    """Stop polling; a finished job opens as A beside its control (from the session's folder,
    applied by `watch` on the page's next run, before the sidebar's widgets exist)."""
    ss = st.session_state
    ss.tr_opened = job.id
    first = ss.get("tr_run_a", (None, None))
    if job.state == jobs.DONE and first[0] == job.id:
        ss.tr_open = f"{job.folder.name}/{first[1]}"
    st.rerun(scope="app")
