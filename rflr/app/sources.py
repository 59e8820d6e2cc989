"""Where checkpoints come from: a folder (the shipped `checkpoints/` by default), an uploaded
file, or a Hugging Face repo; and the rule that keeps every file path inside its root.

The root folder is the user's choice (env RFLR_CHECKPOINTS, the sidebar, the URL) and may be
any folder. A checkpoint path that arrives from the URL or a widget is relative to that root
and must resolve inside it: `..`, absolute paths and symlinks that leave the root are refused.
An upload is written to a private temporary folder and then read exactly like a file on disk,
so that it passes through the same checks (rflr.checkpoint.load: version, shapes, finiteness).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from rflr import checkpoint

ENV_VAR = "RFLR_CHECKPOINTS"
MAX_UPLOAD_MB = 50  # also .streamlit/config.toml server.maxUploadSize
MAX_UPLOADS_KEPT = 8  # upload folders kept on disk; the oldest go first
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class SourceError(Exception):
    """A source that cannot be used; the message is shown to the user as is."""


def default_root(app_dir: Path) -> Path:
    """RFLR_CHECKPOINTS if set, else `checkpoints/` next to streamlit_app.py."""
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env).expanduser() if env else app_dir / "checkpoints"


def open_root(text: str | os.PathLike) -> Path:
    """The folder the user chose, resolved; SourceError if it is not an existing folder."""
    raw = str(text).strip()
    if not raw:
        raise SourceError("no folder given")
    root = Path(raw).expanduser().resolve()
    if not root.is_dir():
        raise SourceError(f"{raw} is not an existing folder")
    return root


def inside(root: Path, rel: str) -> Path:
    """`root / rel` resolved, refused (SourceError) unless it stays inside root."""
    if not rel or Path(rel).is_absolute():
        raise SourceError(f"refused {rel!r}: checkpoint paths are relative to the folder")
    base = root.resolve()
    path = (base / rel).resolve()
    if not path.is_relative_to(base):
        raise SourceError(f"refused {rel!r}: it points outside the checkpoint folder")
    return path


def relative(root: Path, path: Path) -> str:
    """The name a checkpoint has in tables and URLs: its path below root, with / separators."""
    return Path(path).relative_to(root).as_posix()


def folder_signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """(name, mtime_ns, size) of every checkpoint file below root: a cache key that changes
    when a file is added, replaced or removed. Skips what list_checkpoints skips."""
    out = []
    for path in sorted(root.rglob(f"*{checkpoint.SUFFIX}")):
        rel = path.relative_to(root)
        if checkpoint.is_hidden(rel):
            continue
        try:
            st = path.stat()
        except OSError:  # removed between the listing and the stat
            continue
        out.append((rel.as_posix(), st.st_mtime_ns, st.st_size))
    return tuple(out)


def file_key(path: Path) -> tuple[str, int, int]:
    """(path, mtime_ns, size): what caches of a file's contents are keyed on."""
    st = path.stat()
    return str(path), st.st_mtime_ns, st.st_size


# --- uploads ---------------------------------------------------------------------------------


def upload_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"rflr-uploads-{os.getuid()}"


def save_upload(
    name: str, data: bytes, folder: Path | None = None, max_mb: int = MAX_UPLOAD_MB
) -> Path:
    """Write an uploaded file below `folder` and check it like a file on disk.

    Returns the folder holding only that file (a root the app can browse like any other).
    Content-addressed, so that the same upload is written once. Raises SourceError with the
    checkpoint's reason for a file that is too large or not a valid checkpoint.
    """
    if len(data) > max_mb * 2**20:
        raise SourceError(f"{name}: {len(data) / 2**20:.1f} MB is over the {max_mb} MB limit")
    stem = re.sub(r"[^\w.-]", "_", Path(name).name) or "upload"
    if not stem.endswith(checkpoint.SUFFIX):
        stem += checkpoint.SUFFIX
    folder = folder or upload_dir()
    target = folder / hashlib.sha256(data).hexdigest()[:16]
    path = target / stem
    if not path.is_file():
        target.mkdir(parents=True, exist_ok=True)
        checkpoint.atomic_write(path, data)
    try:
        checkpoint.load(path)  # every check a file on disk gets; nothing is unpickled
    except checkpoint.CheckpointError as e:
        shutil.rmtree(target, ignore_errors=True)
        raise SourceError(f"{name}: {e.reason}") from None
    os.utime(target)  # most recently used: pruned last
    _prune(folder, keep=target)
    return target


def _prune(folder: Path, keep: Path) -> None:
    """Bound the disk used by uploads: drop the least recently used folders."""
    dirs = sorted(
        (d for d in folder.iterdir() if d.is_dir() and d != keep), key=lambda d: d.stat().st_mtime
    )
    for d in dirs[: max(0, len(dirs) - (MAX_UPLOADS_KEPT - 1))]:
        shutil.rmtree(d, ignore_errors=True)


# --- Hugging Face Hub --------------------------------------------------------------------------


def hub_availability() -> tuple[bool, str]:
    """(usable, reason). Never touches the network: rflr.hub.hub_status only inspects settings.

    Offline, a pull still opens repos already in the local cache, so the Hub source stays
    usable; the reason is shown either way. (Imported here: huggingface_hub is slow to load.)
    """
    from rflr import hub

    usable, reason = hub.hub_status()
    return True, reason if usable else f"{reason}."


def check_repo_id(text: str) -> str:
    repo_id = text.strip()
    if not _REPO_ID.match(repo_id) or ".." in repo_id:
        raise SourceError(f"{text!r} is not a Hugging Face repo id of the form USER/NAME")
    return repo_id


def pull(repo_id: str, revision: str | None = None) -> Path:
    """The local folder of a Hub repo's checkpoints (rflr.hub.pull); SourceError on failure."""
    repo_id = check_repo_id(repo_id)
    from rflr import hub  # here: huggingface_hub is slow to load

    try:
        return hub.pull(repo_id, revision=revision or None)
    except hub.HubError as e:
        raise SourceError(str(e)) from None
