"""The one rule for a Hugging Face repo id written USER/NAME (stdlib only: the app, the paths
resolver and the hub CLI all check ids with it, before huggingface_hub is even imported)."""

from __future__ import annotations

import re

REPO_ID = r"[A-Za-z0-9][\w.-]*/[\w.-]+"  # USER/NAME; a pattern, so paths can match a suffix too


def check_repo_id(text: str) -> str:
    """`text` (surrounding spaces dropped) as a Hub repo id USER/NAME; ValueError saying why."""
    repo_id = text.strip()
    if re.fullmatch(REPO_ID, repo_id) is None or ".." in repo_id:
        raise ValueError(f"{text!r} is not a Hugging Face repo id of the form USER/NAME")
    return repo_id
