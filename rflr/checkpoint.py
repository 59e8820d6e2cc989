"""Checkpoint files, format version 1 (one safetensors file per run and step).

Writing is atomic: a temporary file in the same folder, fsync, then os.replace, so a
killed process leaves either the old file or the new one, never half of one.
Reading never unpickles; `read_header` parses the JSON header only, and `load`
checks every tensor against the config before anything uses it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes

from rflr.config import RunConfig, json_safe
from rflr.metrics import run_status
from rflr.model import TORCH_DTYPES, param_shapes

FORMAT_VERSION = "1"
SUFFIX = ".safetensors"
REQUIRED_KEYS = ("rflr.format_version", "rflr.config", "rflr.step")


class CheckpointError(Exception):
    """A file that is not a valid rflr checkpoint; the message names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass
class Header:
    """What a listing needs, read from the safetensors header alone."""

    path: Path
    config: RunConfig
    step: int
    metrics: dict = field(default_factory=dict)
    history: dict = field(default_factory=dict)

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
    metrics: dict,
    history: dict,
) -> Path:
    """Write one checkpoint atomically (the resume state lives elsewhere: rflr.trainer)."""
    path = Path(path)
    tensors = {k: v.detach().contiguous().cpu() for k, v in params.items()}
    metadata = {
        "format": "pt",
        "rflr.format_version": FORMAT_VERSION,
        "rflr.config": cfg.to_json(),
        "rflr.step": str(int(step)),
        "rflr.metrics": json.dumps(json_safe(metrics)),
        "rflr.history": json.dumps(json_safe(history)),
    }
    atomic_write(path, safetensors_bytes(tensors, metadata=metadata))
    return path


def atomic_write(path: Path, data: bytes) -> None:
    """Same-folder temp file, fsync, os.replace: readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
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
    return ""


def _open(path: Path):
    if not path.is_file():
        raise CheckpointError(path, "no such file")
    hint = _sniff(path)
    if hint:
        raise CheckpointError(path, hint)
    try:
        return safe_open(str(path), framework="pt")
    except Exception as e:  # safetensors raises its own error types for truncated/corrupt headers
        raise CheckpointError(path, f"not a readable safetensors file ({e})") from None


def _parse_header(path: Path, meta: dict[str, str] | None) -> Header:
    meta = meta or {}
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise CheckpointError(path, f"not an rflr checkpoint: metadata lacks {', '.join(missing)}")
    version = meta["rflr.format_version"]
    if version != FORMAT_VERSION:
        raise CheckpointError(
            path, f"unknown format version {version!r} (this rflr reads version {FORMAT_VERSION})"
        )
    try:
        cfg = RunConfig.from_json(meta["rflr.config"])
        cfg.validate()
        step = int(meta["rflr.step"])
        metrics = json.loads(meta.get("rflr.metrics", "{}"))
        history = json.loads(meta.get("rflr.history", "{}"))
    except (ValueError, TypeError, KeyError) as e:
        raise CheckpointError(path, f"bad metadata: {e}") from None
    return Header(path, cfg, step, metrics, history)


def read_header(path: str | os.PathLike) -> Header:
    """Config, step, metrics and history from the header only; no tensor is read."""
    path = Path(path)
    with _open(path) as f:
        meta = f.metadata()
    return _parse_header(path, meta)


def load(path: str | os.PathLike) -> Checkpoint:
    """Read and check a checkpoint: version, every tensor's presence, shape, dtype, finiteness."""
    path = Path(path)
    with _open(path) as f:
        header = _parse_header(path, f.metadata())
        expected = param_shapes(header.config.model)
        dtype = TORCH_DTYPES[header.config.train.dtype]
        keys = set(f.keys())
        missing = [k for k in expected if k not in keys]
        if missing:
            raise CheckpointError(path, f"missing tensors: {', '.join(missing)}")
        unexpected = sorted(k for k in keys if k not in expected)
        if unexpected:
            raise CheckpointError(path, f"unexpected tensors: {', '.join(unexpected)}")
        params: dict[str, torch.Tensor] = {}
        for name, shape in expected.items():
            sl = f.get_slice(name)
            got = tuple(sl.get_shape())
            if got != shape:
                raise CheckpointError(
                    path, f"tensor {name} has shape {list(got)}, config says {list(shape)}"
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
    return Checkpoint(
        header.path, header.config, header.step, header.metrics, header.history, params
    )


@dataclass
class Listing:
    """One file of a folder: its header, or why it could not be read."""

    path: Path
    header: Header | None = None
    error: str | None = None


def is_hidden(rel: Path) -> bool:
    """A path below a listed folder that listings skip: temp files of an in-progress atomic
    write, hidden folders (.git, .cache)."""
    return any(part.startswith(".") for part in rel.parts)


def list_checkpoints(root: str | os.PathLike) -> list[Listing]:
    """Every `*.safetensors` below root (headers only), bad files listed with their error."""
    root = Path(root)
    out = []
    for path in sorted(root.rglob(f"*{SUFFIX}")):
        if is_hidden(path.relative_to(root)):
            continue
        try:
            out.append(Listing(path, header=read_header(path)))
        except CheckpointError as e:
            out.append(Listing(path, error=e.reason))
    return out
