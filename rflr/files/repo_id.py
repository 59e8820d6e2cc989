"""The rules for what names a Hugging Face repo: its id USER/NAME and a revision of it (stdlib
only: the app, the paths resolver and the hub CLI all check them, before huggingface_hub is even
imported)."""

from __future__ import annotations

import re

REPO_ID = r"[A-Za-z0-9][\w.-]*/[\w.-]+"  # USER/NAME; a pattern, so paths can match a suffix too
REVISION_MAX = 255  # characters; a branch, a tag or a 40-hex commit fits with room to spare
# Git's ref-name rules (git check-ref-format): a revision is a branch, a tag or a commit, and
# none of these characters or sequences can be in one.
_REF_CHARS = set(" ~^:?*[\\")
_REF_SEQUENCES = ("..", "//", "@{")


def check_repo_id(text: str) -> str:
    """`text` (surrounding spaces dropped) as a Hub repo id USER/NAME; ValueError saying why."""
    repo_id = text.strip()
    if re.fullmatch(REPO_ID, repo_id) is None or ".." in repo_id:
        raise ValueError(f"{text!r} is not a Hugging Face repo id of the form USER/NAME")
    return repo_id


def check_revision(text: str) -> str:
    """`text` as a revision (a branch, a tag or a commit) by git's ref-name rules; ValueError
    saying why.

    huggingface_hub resolves a branch it has not seen online by reading the file
    `refs/<revision>` of its cache, so a revision is also a path: `..`, a leading `/`, `\\`,
    a component starting with `.` or a control character could make it read (and return a
    folder named by) a file outside the cache. Git refuses all of them in a ref name anyway.
    """
    shown = repr(text[:80]) + ("..." if len(text) > 80 else "")
    why = _revision_problem(text)
    if why:
        raise ValueError(f"revision {shown} is not a branch, tag or commit: {why}")
    return text


def _revision_problem(text: str) -> str | None:
    """What makes `text` no ref name, or None."""
    if not text:
        return "it is empty"
    if len(text) > REVISION_MAX:
        return f"more than {REVISION_MAX} characters"
    if not text.isprintable():  # NUL, newlines, DEL, bidi and other invisible controls
        return "it holds a control character"
    bad = sorted(_REF_CHARS.intersection(text))
    if bad:
        return f"it holds {' '.join(repr(c) for c in bad)}"
    seq = next((s for s in _REF_SEQUENCES if s in text), None)
    if seq:
        return f"it holds {seq!r}"
    if text.startswith("/") or text.endswith(("/", ".", ".lock")) or text == "@":
        return "it starts with '/', ends with '/', '.' or '.lock', or is '@'"
    if any(part.startswith(".") or part.endswith(".lock") for part in text.split("/")):
        return "a part starts with '.' or ends with '.lock'"
    return None
