"""This server's training jobs (rflr.views.jobs.JobManager, one per process) and this
session's registration with it: an id, and a ticket whose end cancels the session's job and
deletes its folder. The Train tab (rflr.explorer.tabs.train) starts jobs; the sidebar shows
the session's folder as the source "Trained here" (and no other session's).
"""

from __future__ import annotations

import atexit
import secrets
import weakref
from pathlib import Path

import streamlit as st

from rflr.views.jobs import JobManager

SESSION_KEY = "train_session"


@st.cache_resource(show_spinner=False)
def manager() -> JobManager:
    """The process's job manager, shared by every session; its jobs die with the server
    (they run in process groups of their own, which a server's exit would not reach)."""
    mgr = JobManager()
    atexit.register(mgr.shutdown)
    return mgr


class _Ticket:
    """Held in the session's state. Streamlit drops that state when the session ends; the
    finalizer then cancels the session's job and deletes its folder (as uploads do:
    rflr.views.sources.SessionUploads)."""

    def __init__(self, mgr: JobManager) -> None:
        self.id = secrets.token_hex(16)  # unguessable: it names nothing a visitor sees
        weakref.finalize(self, mgr.end_session, self.id)


def session_id(create: bool = True) -> str | None:
    """This session's id with the manager (made on first use when `create`)."""
    ss = st.session_state
    ticket = ss.get(SESSION_KEY)
    if not isinstance(ticket, _Ticket):
        if not create:
            return None
        ticket = ss[SESSION_KEY] = _Ticket(manager())
    return ticket.id


def session_folder() -> Path | None:
    """This session's training folder, if it has one (the source "Trained here")."""
    sid = session_id(create=False)
    return manager().folder(sid) if sid else None
