"""Checkpoint files, format version 1 (one safetensors file per run and step).

Writing is atomic: a temporary file in the same folder, fsync, then os.replace, so a
killed process leaves either the old file or the new one, never half of one.
Reading never unpickles; `read_header` parses the JSON header only (every field checked
by rflr.files.header, the one validation boundary for metadata), and `load` checks every tensor
against the config before anything uses it. Any failure, an OSError included, is a
CheckpointError naming the file and the field or reason.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes

from rflr.core.config import RunConfig, json_safe
from rflr.core.model import TORCH_DTYPES, param_shapes
from rflr.files.header import (
    HeaderError,
    History,
    config_from_json,
    metrics_from_json,
    step_from_text,
)
from rflr.files.names import printable
from rflr.measure.metrics import run_status
from rflr.measure.record import Metrics

FORMAT_VERSION = "1"
SUFFIX = ".safetensors"
RESUME_DIR = ".resume"  # a run folder's hidden resume files (the trainer's): listings skip it
REQUIRED_KEYS = ("rflr.format_version", "rflr.config", "rflr.step")
# The whole JSON header of a safetensors file: the metadata fields (4 MiB each at most, see
# rflr.files.header) and the tensor table (a few hundred bytes per tensor).
HEADER_MAX_BYTES = 16 << 20


class CheckpointError(Exception):
    """A file that is not a valid rflr checkpoint; the message names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = Path(path)
        self.reason = reason
        # printable: a file's name or a tensor name may hold a terminal's escape sequences
        super().__init__(f"{printable(self.path, 1000)}: {printable(reason, 1000)}")


@dataclass
class Header:
    """What a listing needs, read from the safetensors header alone."""

    path: Path
    config: RunConfig
    step: int
    metrics: Metrics = field(default_factory=Metrics)
    history: History = field(default_factory=History)

    @property
    def status(self) -> str:
        return run_status(self.metrics)


@dataclass
class Checkpoint(Header):
    params: dict[str, torch.Tensor] = field(default_factory=dict)


def snapshot_path(root: str | os.PathLike, cfg: RunConfig, step: int) -> Path:
    return Path(root) / cfg.run_id / f"step-{step:08d}{SUFFIX}"


def save(
    path: str | os.PathLike,
    cfg: RunConfig,
    params: dict[str, torch.Tensor],
    step: int,
    metrics: Metrics,
    history: dict | History,
) -> Path:
    """Write one checkpoint atomically (the resume state lives elsewhere: rflr.train.trainer)."""
    path = Path(path)
    history = history.to_dict() if isinstance(history, History) else history
    tensors = {k: v.detach().contiguous().cpu() for k, v in params.items()}
    metadata = {
        "format": "pt",
        "rflr.format_version": FORMAT_VERSION,
        "rflr.config": cfg.to_json(),
        "rflr.step": str(int(step)),
        "rflr.metrics": metrics.to_json(),
        "rflr.history": json.dumps(json_safe(history)),
    }
    atomic_write(path, safetensors_bytes(tensors, metadata=metadata))
    return path


def atomic_write(path: Path, data: bytes) -> None:
    """Same-folder temp file, fsync, os.replace: readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600; a plain open() would not
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def current_umask() -> int:
    """The process umask, read without changing it where Linux shows it (os.umask can only
    be read by setting it, which races with other threads creating files)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sniff(path: Path) -> str:
    """A hint for files that are clearly something else (pickles, zips, empty files)."""
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        return "the file is empty"
    if head[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"):
        return "this is a pickle file; rflr never unpickles, only safetensors files are read"
    if head[:4] == b"PK\x03\x04":
        return "this is a zip archive (a torch.save file?); rflr never unpickles, only safetensors files are read"
    if len(head) == 8 and int.from_bytes(head, "little") > HEADER_MAX_BYTES:
        # refused before safetensors parses it (its own limit is 100 MB per header)
        size = int.from_bytes(head, "little")
        return f"not a readable safetensors file (a header of {size} bytes, more than {HEADER_MAX_BYTES})"
    return ""


def _open(path: Path):
    try:
        if not path.is_file():
            raise CheckpointError(path, "no such file")
        hint = _sniff(path)
    except OSError as e:  # unreadable, vanished, a name too long ...
        raise CheckpointError(path, f"cannot read the file ({e.strerror or e})") from None
    if hint:
        raise CheckpointError(path, hint)
    try:
        return safe_open(str(path), framework="pt")
    except Exception as e:  # safetensors raises its own error types for truncated/corrupt headers
        raise CheckpointError(path, f"not a readable safetensors file ({e})") from None


def _parse_header(path: Path, meta: object) -> Header:
    """The metadata through rflr.files.header's checks; a HeaderError names the field."""
    meta = meta or {}
    if not isinstance(meta, dict):
        raise CheckpointError(path, "not an rflr checkpoint: no metadata")
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise CheckpointError(path, f"not an rflr checkpoint: metadata lacks {', '.join(missing)}")
    version = meta["rflr.format_version"]
    if version != FORMAT_VERSION:
        shown = repr(version)[:40]
        raise CheckpointError(
            path, f"unknown format version {shown} (this rflr reads version {FORMAT_VERSION})"
        )
    try:
        cfg = config_from_json(meta["rflr.config"])
        step = step_from_text(meta["rflr.step"], cfg)
        metrics = metrics_from_json(meta.get("rflr.metrics", "{}"))
        history = History.parse(meta.get("rflr.history", "{}"))
    except HeaderError as e:
        raise CheckpointError(path, f"bad {e.field}: {e.reason}") from None
    return Header(path, cfg, step, metrics, history)


def read_header(path: str | os.PathLike) -> Header:
    """Config, step, metrics and history from the header only; no tensor is read."""
    path = Path(path)
    try:
        with _open(path) as f:
            meta = f.metadata()
    except OSError as e:
        raise CheckpointError(path, f"cannot read the file ({e.strerror or e})") from None
    return _parse_header(path, meta)


def load(path: str | os.PathLike) -> Checkpoint:
    """Read and check a checkpoint: version, every tensor's presence, shape, dtype, finiteness."""
    path = Path(path)
    try:
        with _open(path) as f:
            header = _parse_header(path, f.metadata())
            params = _checked_tensors(path, f, header.config)
    except OSError as e:
        raise CheckpointError(path, f"cannot read the file ({e.strerror or e})") from None
    return Checkpoint(
        header.path, header.config, header.step, header.metrics, header.history, params
    )


def _names(names: list[str], shown: int = 5) -> str:
    """A few names of a list a hostile file may make very long."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(n[:60] for n in names[:shown]) + more


def _checked_tensors(path: Path, f, cfg: RunConfig) -> dict[str, torch.Tensor]:
    expected = param_shapes(cfg.model)  # bounded: the header's depth passed its cap
    dtype = TORCH_DTYPES[cfg.train.dtype]
    keys = set(f.keys())
    missing = [k for k in expected if k not in keys]
    if missing:
        raise CheckpointError(path, f"missing tensors: {_names(missing)}")
    unexpected = sorted(k for k in keys if k not in expected)
    if unexpected:
        raise CheckpointError(path, f"unexpected tensors: {_names(unexpected)}")
    params: dict[str, torch.Tensor] = {}
    for name, shape in expected.items():
        try:
            got = tuple(f.get_slice(name).get_shape())
        except Exception as e:
            raise CheckpointError(path, f"tensor {name} cannot be read ({e})") from None
        if got != shape:
            raise CheckpointError(
                path, f"tensor {name} has shape {list(got)[:8]}, config says {list(shape)}"
            )
        try:
            t = f.get_tensor(name)
        except Exception as e:
            raise CheckpointError(path, f"tensor {name} cannot be read ({e})") from None
        if t.dtype != dtype:
            raise CheckpointError(path, f"tensor {name} is {t.dtype}, config says {dtype}")
        if not torch.isfinite(t).all():
            raise CheckpointError(path, f"tensor {name} has non-finite values (NaN or Inf)")
        params[name] = t
    return params


def is_hidden(rel: Path) -> bool:
    """A path below a listed folder that listings skip: temp files of an in-progress atomic
    write, hidden folders (.git, .cache, the trainer's .resume)."""
    return any(part.startswith(".") for part in rel.parts)


LISTING_MAX_FILES = 20_000  # a listing stops here, with an error row saying so


@dataclass
class Listing:
    """One file of a folder: its header, or why it could not be read.

    Rows are keyed by file: two files with the same run id and step are two rows.
    """

    path: Path
    header: Header | None = None
    error: str | None = None


def list_checkpoints(root: str | os.PathLike, max_files: int = LISTING_MAX_FILES) -> list[Listing]:
    """Every `*.safetensors` below root (headers only), bad files listed with their error.

    Never raises for one file or for a folder that changes while it is read: an unreadable
    file or folder, one that vanished, or a symlink resolving outside root is an error row.
    Hidden files and folders (atomic-write temp files, the trainer's .resume/) are skipped;
    symlinked folders are not entered. At most `max_files` files are read.
    """
    root = Path(root)
    try:
        top = root.resolve(strict=True)
        if not top.is_dir():
            return []
    except (OSError, RuntimeError):  # missing, a symlink loop, unreadable
        return []
    out: list[Listing] = []

    def unreadable(err: OSError) -> None:
        if err.filename and Path(err.filename) != root:
            out.append(Listing(Path(err.filename), error=f"cannot read ({err.strerror or err})"))

    count = 0
    for folder, dirs, files in os.walk(root, onerror=unreadable):  # followlinks=False
        dirs[:] = sorted(d for d in dirs if not is_hidden(Path(d)))
        for name in sorted(files):
            if is_hidden(Path(name)) or not name.endswith(SUFFIX):
                continue
            if count >= max_files:
                out.append(
                    Listing(root, error=f"listing stopped after {max_files} files (too many)")
                )
                return sorted(out, key=lambda item: str(item.path))
            count += 1
            out.append(list_one(Path(folder) / name, top))
    return sorted(out, key=lambda item: str(item.path))


def list_one(path: Path, top: Path) -> Listing:
    """One file's listing row. Never raises: a symlink resolving outside `top` (checked after
    resolving), a file that vanished, is not a regular file or cannot be read, a header that
    fails the checks: each is an error row. `top` is the resolved folder being listed."""
    try:
        real = path.resolve(strict=True)
        if not real.is_relative_to(top):
            return Listing(path, error="a symlink to a file outside the folder (not followed)")
        if not stat.S_ISREG(os.stat(real).st_mode):
            return Listing(path, error="not a regular file")
        return Listing(path, header=read_header(path))
    except CheckpointError as e:
        return Listing(path, error=e.reason)
    except (OSError, RuntimeError) as e:  # vanished since the folder was read, a link loop
        reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
        return Listing(path, error=f"cannot read ({reason})")
    except Exception as e:  # a header of the wrong shape: an error row, never a broken listing
        return Listing(path, error=f"unreadable header ({type(e).__name__})")
