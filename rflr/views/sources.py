"""Where checkpoints come from: a folder (the shipped `checkpoints/` by default), an uploaded
file, or a Hugging Face repo; and the rule that keeps every file path inside its root.

The root folder is the user's choice (env RFLR_CHECKPOINTS, the sidebar, the URL) and may be
any folder. A checkpoint path that arrives from the URL or a widget is relative to that root
and must resolve inside it: `..`, absolute paths and symlinks that leave the root are refused.
An upload is written to its session's own private temporary folder and then read exactly like
a file on disk, so that it passes through the same checks (rflr.files.checkpoint.load: version,
shapes, finiteness). What a visitor may then make the server compute: rflr.views.budget.

Served mode (env RFLR_SERVE=1, set by the Space's Dockerfile): the folder is always the
configured one; no widget or URL can point the app at another folder of the server.
Listing a folder is bounded in files, folders and seconds, never follows symlinks, and is
cached by a cheap change signature (the mtimes of the folders it walked).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rflr.files import checkpoint
from rflr.files.names import printable
from rflr.files.paths import (
    ENV_VAR,  # noqa: F401  (the sidebar names it; its home is paths)
    PathError,
    configured_folder,
)
from rflr.files.repo_id import check_repo_id as _repo_id_rule
from rflr.hub import locate  # light: huggingface_hub loads on the first pull

SERVE_VAR = "RFLR_SERVE"
MAX_UPLOAD_MB = 50  # also .streamlit/config.toml server.maxUploadSize
MAX_UPLOADS_KEPT = 8  # upload folders kept per session; its least recently used go first
UPLOADS_MAX_MB = 4096  # every session's uploads together; past it, an upload is refused
UPLOAD_IDLE_S = 3600.0  # a session's uploads unused this long are deleted (a session left open)
UPLOAD_NAME_BYTES = 120  # an upload's stored file name, suffix included (file systems: 255)
MAX_ROOT_CHARS = 255  # a folder typed or given in the URL
LIST_MAX_FILES = 5000  # checkpoint files read by one listing
LIST_MAX_DIRS = 5000  # folders walked by one listing
LIST_MAX_SECONDS = 30.0  # one listing's walk and header reads (a slow disk, a crawl)


class SourceError(Exception):
    """A source that cannot be used; the message is shown to the user as is."""


def default_root(app_dir: Path) -> Path:
    """RFLR_CHECKPOINTS if set (rflr.files.paths.configured_folder), else `checkpoints/` next
    to streamlit_app.py. Unlike paths.checkpoints_folder it never raises and searches no
    other checkout: the sidebar shows it as the folder's placeholder and says if it is missing."""
    return configured_folder() or app_dir / "checkpoints"


def served() -> bool:
    """Served mode (a public deployment): only the configured folder, uploads and the Hub."""
    return os.environ.get(SERVE_VAR, "").strip().lower() in ("1", "true", "yes", "on")


def open_root(text: str | os.PathLike) -> Path:
    """The folder the user chose, resolved; SourceError if it is not an existing folder."""
    raw = str(text).strip()
    if not raw:
        raise SourceError("no folder given")
    if len(raw) > MAX_ROOT_CHARS:
        raise SourceError(f"a folder name of at most {MAX_ROOT_CHARS} characters, please")
    if "\x00" in raw:
        raise SourceError("a folder name cannot hold a NUL character")
    try:
        root = Path(raw).expanduser().resolve()
        ok = root.is_dir()
    except (OSError, RuntimeError, ValueError):  # a link loop, an unreadable parent
        ok = False
    if not ok:
        raise SourceError(f"{raw!r} is not an existing folder")
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


@dataclass(frozen=True)
class Scan:
    """What a bounded walk of a folder found: checkpoint files, the folders it walked (their
    mtimes are the listing's change signature) and why it stopped early, if it did."""

    files: tuple[Path, ...]
    dirs: tuple[Path, ...]
    stopped: str | None = None


def scan(
    root: Path,
    max_files: int = LIST_MAX_FILES,
    max_dirs: int = LIST_MAX_DIRS,
    max_seconds: float = LIST_MAX_SECONDS,
) -> Scan:
    """The visible `*.safetensors` below root, walked without following symlinked folders,
    hidden files and folders skipped (temp files, the trainer's .resume/). Stops, saying why,
    after max_files files, max_dirs folders or max_seconds."""
    files: list[Path] = []
    dirs: list[Path] = []
    stopped = None
    deadline = time.monotonic() + max_seconds
    for folder, subdirs, names in os.walk(root, onerror=lambda e: None):  # followlinks=False
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        dirs.append(Path(folder))
        for name in sorted(names):
            if not name.startswith(".") and name.endswith(checkpoint.SUFFIX):
                files.append(Path(folder) / name)
        if len(files) > max_files:
            stopped = f"more than {max_files} checkpoint files"
        elif len(dirs) > max_dirs:
            stopped = f"more than {max_dirs} folders"
        elif time.monotonic() > deadline:
            stopped = f"more than {max_seconds:g} s"
        if stopped:
            files = files[:max_files]
            break
    return Scan(tuple(files), tuple(dirs), stopped)


def signature(dirs: tuple[Path, ...]) -> tuple[int, ...]:
    """The mtimes of the walked folders: a file added, removed or renamed (the trainer writes
    atomically, by rename) changes its folder's mtime; a stat per folder, no listing."""
    out = []
    for d in dirs:
        try:
            out.append(os.stat(d, follow_symlinks=False).st_mtime_ns)
        except OSError:
            out.append(-1)
    return tuple(out)


def list_folder(
    found: Scan,
    root: Path,
    max_seconds: float = LIST_MAX_SECONDS,
    read: Callable[[Path, Path], checkpoint.Listing] | None = None,
):
    """(listings, stopped): the header of every scanned file, within max_seconds; `read`
    (path, resolved root) -> its row, default checkpoint.list_one (a cache passes its own)."""
    read = read or checkpoint.list_one
    top = root.resolve()
    out, stopped = [], found.stopped
    deadline = time.monotonic() + max_seconds
    for path in found.files:
        if time.monotonic() > deadline:
            stopped = stopped or f"more than {max_seconds:g} s"
            break
        out.append(read(path, top))
    return out, stopped


def file_key(path: Path) -> tuple[str, int, int]:
    """(path, mtime_ns, size): what caches of a file's contents are keyed on."""
    st = path.stat()
    return str(path), st.st_mtime_ns, st.st_size


# --- uploads ---------------------------------------------------------------------------------
#
# Each session has a folder of its own (SessionUploads), so two visitors never share a folder,
# a listing or a file name, and one visitor's uploads never push out another's. A session's
# folder goes when its session ends, or when it has not been used for UPLOAD_IDLE_S.

_UPLOAD_DIR: Path | None = None
_UPLOAD_LOCK = threading.Lock()
_REGISTRY = threading.RLock()  # _written and _sessions: a finalizer may run in any thread
_written: dict[Path, int] = {}  # upload folders this process made -> bytes: all it deletes
_sessions: dict[Path, float] = {}  # session folders this process made -> last use (monotonic)


def upload_dir() -> Path:
    """This process's private upload folder: made by tempfile.mkdtemp (mode 0700, a fresh
    unpredictable name), so no one else's file or link can stand in its place."""
    global _UPLOAD_DIR
    with _UPLOAD_LOCK:
        if _UPLOAD_DIR is None or not _UPLOAD_DIR.is_dir() or _UPLOAD_DIR.is_symlink():
            _UPLOAD_DIR = Path(tempfile.mkdtemp(prefix="rflr-uploads-"))
        return _UPLOAD_DIR


class SessionUploads:
    """One session's upload folder: made by tempfile.mkdtemp inside upload_dir() (mode 0700,
    an unpredictable name). Deleted with its files when this object is dropped (the app keeps
    it in the session's state, which Streamlit drops when the session ends), or by
    prune_idle once it has not been used for UPLOAD_IDLE_S (a session left open)."""

    def __init__(self) -> None:
        prune_idle()
        self.path = Path(tempfile.mkdtemp(prefix="session-", dir=upload_dir()))
        with _REGISTRY:
            _sessions[self.path] = time.monotonic()
        weakref.finalize(self, end_session, self.path)

    def usable(self) -> bool:
        """Not pruned: still this process's, still a folder."""
        with _REGISTRY:
            return self.path in _sessions and self.path.is_dir()

    def touch(self) -> None:
        """Used now: pruned last."""
        with _REGISTRY:
            if self.path in _sessions:
                _sessions[self.path] = time.monotonic()


def end_session(folder: Path) -> None:
    """Delete a session's upload folder with everything in it (only one this process made)."""
    with _REGISTRY:
        if _sessions.pop(folder, None) is None:
            return
        for d in [d for d in _written if d.parent == folder]:
            _written.pop(d)
    shutil.rmtree(folder, ignore_errors=True)  # rmtree never follows links


def prune_idle(max_idle_s: float | None = None) -> None:
    """End every session folder unused for `max_idle_s` (default UPLOAD_IDLE_S)."""
    limit = UPLOAD_IDLE_S if max_idle_s is None else max_idle_s
    now = time.monotonic()
    with _REGISTRY:
        idle = [d for d, used in _sessions.items() if now - used > limit]
    for d in idle:
        end_session(d)


def uploads_mb() -> float:
    """What every upload this process holds takes on disk, in MB."""
    with _REGISTRY:
        return sum(_written.values()) / 2**20


def stored_name(name: str) -> str:
    """The file name an upload is stored under: its last path part, characters other than
    letters, digits, `_`, `.` and `-` replaced by `_`, cut to UPLOAD_NAME_BYTES of UTF-8 (a
    file system allows 255), with the checkpoint suffix, never hidden (it would not be listed)."""
    suffix = checkpoint.SUFFIX
    stem = re.sub(r"[^\w.-]", "_", Path(name).name).removesuffix(suffix)
    stem = stem.encode()[: UPLOAD_NAME_BYTES - len(suffix)].decode(errors="ignore")
    if not stem or stem.startswith("."):
        stem = "upload"
    return stem + suffix


def save_upload(
    name: str, data: bytes, folder: Path | None = None, max_mb: int = MAX_UPLOAD_MB
) -> Path:
    """Write an uploaded file below `folder` (a session's: SessionUploads.path) and check it
    like a file on disk.

    Returns the folder holding only that file (a root the app can browse like any other),
    one per name and content, so that the same upload is written once. Raises SourceError
    with the checkpoint's reason for a file that is too large or not a valid checkpoint,
    and when the uploads of all sessions would take more than UPLOADS_MAX_MB.
    """
    shown = printable(name, 100)
    if len(data) > max_mb * 2**20:
        raise SourceError(f"{shown}: {len(data) / 2**20:.1f} MB is over the {max_mb} MB limit")
    stem = stored_name(name)
    folder = folder or upload_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = folder / hashlib.sha256(stem.encode() + b"\0" + data).hexdigest()[:16]
    path = target / stem
    if target.is_symlink() or path.is_symlink():
        raise SourceError(f"{shown}: refused (the upload folder holds a link)")
    made = not target.exists()
    if made:
        prune_idle()
        if uploads_mb() + len(data) / 2**20 > UPLOADS_MAX_MB:
            raise SourceError(
                f"{shown}: this server holds {UPLOADS_MAX_MB} MB of uploads already; "
                "try again later"
            )
        target.mkdir(mode=0o700)
    try:
        if not path.is_file():
            checkpoint.atomic_write(path, data)
        checkpoint.load(path)  # every check a file on disk gets; nothing is unpickled
    except Exception as e:  # refused: remove what this call wrote, nothing else
        _remove_written(target if made else path)
        reason = e.reason if isinstance(e, checkpoint.CheckpointError) else type(e).__name__
        raise SourceError(f"{shown}: {printable(reason)}") from None
    os.utime(target, follow_symlinks=False)  # most recently used: pruned last
    with _REGISTRY:
        _written[target] = len(data)
    _prune(folder, keep=target)
    return target


def _remove_written(path: Path) -> None:
    """Delete a file or folder this process wrote; links are unlinked, never followed."""
    try:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)  # rmtree does not follow symlinks inside
    except OSError:
        pass
    with _REGISTRY:
        _written.pop(path, None)


def _prune(folder: Path, keep: Path) -> None:
    """Bound the uploads of one folder (a session's): drop its least recently used upload
    folders this process wrote, never anything else, never another folder's."""

    def used(d: Path) -> int:
        try:
            return os.stat(d, follow_symlinks=False).st_mtime_ns
        except OSError:
            return -1

    with _REGISTRY:
        mine = [d for d in _written if d.parent == folder and d != keep]
    dirs = sorted(mine, key=used)
    for d in dirs[: max(0, len(dirs) - (MAX_UPLOADS_KEPT - 1))]:
        _remove_written(d)


# --- Hugging Face Hub --------------------------------------------------------------------------


def hub_availability() -> tuple[bool, str]:
    """(usable, reason). Never touches the network: rflr.hub.sync.hub_status only inspects settings.

    Offline, a pull still opens repos already in the local cache, so the Hub source stays
    usable; the reason is shown either way. (Imported here: huggingface_hub is slow to load.)
    """
    from rflr.hub import sync

    usable, reason = sync.hub_status()
    if usable and not hub_reachable():
        usable, reason = (
            False,
            (
                "offline (the Hub cannot be reached from this machine): only repos already in "
                "the local Hugging Face cache can be opened"
            ),
        )
    return True, reason if usable else f"{reason}."


_reach: dict[str, tuple[float, bool]] = {}
REACH_TTL_S = 60.0


def hub_reachable(host: str = "huggingface.co", timeout: float = 1.0) -> bool:
    """Whether a TCP connection to the Hub opens within `timeout` (name lookup included),
    remembered for a minute; the probe runs in a thread, so a hanging lookup cannot stall."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or host
    now = time.monotonic()
    if host in _reach and now - _reach[host][0] < REACH_TTL_S:
        return _reach[host][1]
    result = [False]

    def probe() -> None:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            result[0] = True
        except OSError:
            pass

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout + 0.5)
    _reach[host] = (now, result[0])
    return result[0]


def check_repo_id(text: str) -> str:
    """rflr.files.repo_id.check_repo_id, its refusal as a SourceError."""
    try:
        return _repo_id_rule(text)
    except ValueError as e:
        raise SourceError(str(e)) from None


def pull(repo_id: str, revision: str | None = None) -> Path:
    """The local folder of a Hub repo's checkpoints (rflr.hub.locate.pull); SourceError on failure."""
    repo_id = check_repo_id(repo_id)
    try:
        return locate.pull(repo_id, revision or None)
    except PathError as e:
        raise SourceError(str(e)) from None
