"""A source made local: an existing path as given, else a Hub repo pulled into the cache.

    pull    rflr.hub.sync.pull, its failures (and a missing huggingface_hub) as one PathError
    local   a path, or USER/NAME[/path] (hf://USER/NAME[/path]) pulled, then that path in it

The notebook API (rflr.open, rflr.open_sweep), `rflr app --hub` and the explorer's Hub source
all pull through `pull`, so a failed pull reads the same everywhere. The rules for naming a
repo and the default folder are rflr.files.paths'. huggingface_hub is slow to import, and
optional: it loads on the first pull, not with this module.
"""

from __future__ import annotations

import os
from pathlib import Path

from rflr.files.names import printable
from rflr.files.paths import HUB_PREFIX, PathError, hub_repo


def pull(repo_id: str, revision: str | None = None) -> Path:
    """rflr.hub.sync.pull, with its failures (and a missing huggingface_hub) as PathError."""
    try:
        from rflr.hub import sync
    except ModuleNotFoundError as e:
        raise PathError(
            f"opening the Hub repo {repo_id} needs {e.name}: pip install 'rflr[hub]'"
        ) from None
    try:
        return sync.pull(repo_id, revision=revision)
    except sync.HubError as e:
        raise PathError(str(e)) from None


def local(source: str | os.PathLike, revision: str | None = None) -> Path:
    """An existing local path as given, or a Hub repo (USER/NAME[/path]) pulled into the cache.

    A string that is both (a relative folder `a/b` that exists) is the local folder; write
    `hf://USER/NAME` to mean the repo.
    """
    text = os.fspath(source)
    if not text.strip():
        raise PathError("no path given")
    shown = printable(text)  # a name's control characters never reach a terminal raw
    try:
        path = Path(text).expanduser()
        if not text.startswith(HUB_PREFIX) and path.exists():
            return path.resolve()
    except (OSError, ValueError, RuntimeError) as e:  # a name too long, a NUL, a link loop
        reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
        raise PathError(f"{shown}: cannot be opened ({reason})") from None
    repo = hub_repo(text) if isinstance(source, str) else None
    if repo is None:
        raise PathError(f"{shown}: no such file or folder (a Hub repo is written USER/NAME)")
    try:
        folder = pull(repo[0], revision)
    except PathError as e:
        raise PathError(f"{shown}: no such file or folder here, nor on the Hub: {e}") from None
    # No `..` in the path (hub_repo refuses it), so it stays inside the snapshot; its files are
    # links into the Hub cache, so it is not resolved.
    inner = folder / repo[1]
    if not inner.exists():
        raise PathError(f"{shown}: {printable(repo[1])} is not in the repo {repo[0]}")
    return inner
