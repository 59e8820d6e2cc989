"""The verdict strip above the step slider: the answer on the first screen.

One sentence on A and B (header values of the catalog: no evaluation) and, when the folder
holds a sweep summary, its fractions of symmetric reruns per model. The text is built by
rflr.views.verdict; this module only finds the inputs and draws it.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from rflr.explorer.escape import md
from rflr.explorer.tabs import sweep
from rflr.views import catalog, sources, verdict


def strip_ui(root: Path, cat: catalog.Catalog, files: list[str]) -> None:
    """The verdict of the checkpoints `files` (A, then B when there is one), and the first
    sweep summary's (the one the Sweep tab opens first), in a bordered box."""
    with st.container(border=True, key="verdict"):
        st.markdown(verdict.checkpoints_sentence([cat.rows[f] for f in files], md))
        said = _sweep_said(root, cat)
        if said:
            st.caption(said)


def _sweep_said(root: Path, cat: catalog.Catalog) -> str | None:
    """The sweep sentence with the summary it is from; None without a usable summary."""
    found = sweep.summaries(root, cat)
    if not found:
        return None
    try:
        path = sources.inside(root, found[0])
        stat = path.stat()
    except (sources.SourceError, OSError):
        return None
    sentence = _sweep_sentence(str(path), stat.st_mtime_ns, stat.st_size)
    return f"Sweep {md(found[0])}, {sentence}" if sentence else None


@st.cache_data(max_entries=8, show_spinner=False)
def _sweep_sentence(path: str, mtime_ns: int, size: int) -> str | None:
    """The sweep sentence of one summary file, kept on its identity: every change of layer or
    step redraws the strip, and computing it from the table cost a quarter of such a change's
    server time (a profile of served_load.py --profile)."""
    df, error = sweep.summary_table(path, mtime_ns, size)
    return None if error else verdict.sweep_sentence(df, md)
