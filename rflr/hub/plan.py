"""Plans of rflr.hub.sync: the repo to create and every file to upload, with its size.

push and deploy-space build a Plan first; --dry-run prints it and stops, a real run prints the
same Plan and executes it (rflr.hub.sync.execute), so what a dry run shows is what gets uploaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS, filter_repo_objects

from rflr.files.paths import PROJECT_ROOT
from rflr.hub.cards import DOCKERFILE, model_card, plain, space_readme

# Patterns use huggingface_hub's matcher (fnmatch), where `*` also matches `/`:
# "*.safetensors" takes checkpoints at any depth, "*/summary.csv" every nested summary.
PUSH_PATTERNS = [
    "*.safetensors",
    "summary.csv",
    "*/summary.csv",
    "REPRODUCTION.md",
    "*/REPRODUCTION.md",
    "*.png",
]


SKIPPED_CHARS = 200  # of one printed `skipped:` reason (a header error can be long)


class HubError(Exception):
    """A failure explained in one line: the CLI prints it, the app can show it as is."""


@dataclass(frozen=True)
class Upload:
    """One file to upload: a file on disk, or content generated here (cards, Dockerfile)."""

    path_in_repo: str
    size: int  # bytes
    source: Path | bytes


@dataclass(frozen=True)
class Plan:
    """Everything a push or a Space deployment will create and upload."""

    repo_id: str
    repo_type: str  # "model" for push, "space" for deploy-space
    private: bool  # only applies when the repo is created
    uploads: tuple[Upload, ...]  # sorted by path in repo
    space_sdk: str | None = None  # "docker" for spaces
    folder: Path | None = None  # push: the folder the files come from
    skipped: tuple[str, ...] = ()  # push: "path: why" for each file left out on purpose


def push_files(folder: Path) -> tuple[list[Path], list[str]]:
    """The files a push may take from `folder`, and "path: why" for those it refuses.

    Only regular files inside the folder: hidden files and folders (.resume/, .cache/, temp
    files of atomic writes) are never entered, folder symlinks are not followed, and a file
    symlink counts only if it resolves inside the folder (checked after resolving).
    """
    top = folder.resolve()
    files: list[Path] = []
    skipped: list[str] = []

    def unreadable(err: OSError) -> None:
        skipped.append(f"{err.filename}: cannot read ({err.strerror or err})")

    for here, dirs, names in os.walk(top, onerror=unreadable):  # followlinks=False
        base = Path(here).relative_to(top)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and _named(base / d, skipped))
        for name in sorted(names):
            if name.startswith(".") or not _named(base / name, skipped):
                continue
            path = Path(here) / name
            rel = path.relative_to(top).as_posix()
            try:
                real = path.resolve(strict=True)
            except (OSError, RuntimeError):
                skipped.append(f"{rel}: a broken or looping symlink")
                continue
            if not real.is_relative_to(top):
                skipped.append(f"{rel}: a symlink to a file outside the folder")
            elif not real.is_file():
                skipped.append(f"{rel}: not a regular file")
            else:
                files.append(path)
    return files, skipped


def _named(rel: Path, skipped: list[str]) -> bool:
    """Whether a file or folder name can go into a repo, its card and a printed plan: a name
    with a line break or another unprintable character could fake lines in both (it is left
    out, with a note)."""
    if rel.name.isprintable():
        return True
    skipped.append(f"{rel.as_posix()}: a name with control characters")
    return False


def _disk_uploads(
    base: Path, paths: Sequence[Path], allow_patterns: list[str] | None = None
) -> list[Upload]:
    """Uploads for the files among `paths`, named relative to `base`.

    Filtered like HfApi.upload_folder filters a folder: same matcher, same default ignores.
    """
    by_name = {p.relative_to(base).as_posix(): p for p in paths if p.is_file()}
    kept = filter_repo_objects(
        list(by_name), allow_patterns=allow_patterns, ignore_patterns=DEFAULT_IGNORE_PATTERNS
    )
    return [Upload(name, by_name[name].stat().st_size, by_name[name]) for name in kept]


def _generated(path_in_repo: str, text: str) -> Upload:
    data = text.encode("utf-8")
    return Upload(path_in_repo, len(data), data)


def _sorted(uploads: list[Upload]) -> tuple[Upload, ...]:
    return tuple(sorted(uploads, key=lambda u: u.path_in_repo))


def plan_push(folder: Path, repo_id: str, *, private: bool = False) -> Plan:
    """Plan the upload of a checkpoint folder to a model repo, with a generated model card.

    Exactly the plan's files are uploaded (one commit): regular files inside the folder
    (push_files) matching PUSH_PATTERNS, and only checkpoints whose header passes
    rflr.files.checkpoint's checks; everything left out is listed in `skipped`.
    """
    from rflr.files.checkpoint import CheckpointError, read_header  # torch only when pushing

    folder = folder.resolve()
    paths, skipped = push_files(folder)
    files, headers = [], {}
    for upload in _disk_uploads(folder, paths, PUSH_PATTERNS):
        if upload.path_in_repo.endswith(".safetensors"):
            try:
                headers[upload.path_in_repo] = read_header(upload.source)  # type: ignore[arg-type]
            except CheckpointError as e:
                skipped.append(f"{upload.path_in_repo}: not a valid checkpoint ({e.reason})")
                continue
        files.append(upload)
    if not headers:
        raise HubError(f"no valid *.safetensors checkpoints under {folder}: nothing to push")
    card = _generated("README.md", model_card(repo_id, files, headers))
    return Plan(
        repo_id, "model", private, _sorted([*files, card]), folder=folder, skipped=tuple(skipped)
    )


def plan_space(space_id: str, *, root: Path = PROJECT_ROOT, private: bool = False) -> Plan:
    """Plan a Docker Space running the Streamlit explorer from the project at `root`."""
    root = root.resolve()
    for required in ("streamlit_app.py", "requirements.txt"):
        if not (root / required).is_file():
            raise HubError(f"{root / required} is missing: the Space is built from it (see --root)")
    sources = [
        root / "streamlit_app.py",
        root / "requirements.txt",
        root / ".streamlit" / "config.toml",
        *sorted((root / "rflr").rglob("*.py")),
        # shipped checkpoints go with the app: regular files inside, nothing hidden
        *(push_files(root / "checkpoints")[0] if (root / "checkpoints").is_dir() else []),
    ]
    files = _disk_uploads(root, sources)
    if not any(u.path_in_repo.startswith("rflr/") for u in files):
        raise HubError(f"no rflr/*.py under {root}: the Space needs the rflr package")
    generated = [_generated("README.md", space_readme()), _generated("Dockerfile", DOCKERFILE)]
    return Plan(space_id, "space", private, _sorted([*files, *generated]), space_sdk="docker")


def format_plan(plan: Plan) -> str:
    """The plan as printed by every run, dry or real: repo, then each file with its size."""
    visibility = "private" if plan.private else "public"
    sdk = f", sdk {plan.space_sdk}" if plan.space_sdk else ""
    lines = [f"{plan.repo_type} repo {plan.repo_id} ({visibility}{sdk}; created if missing)"]
    if plan.folder is not None:
        lines.append(f"from {plan.folder}, files matching {' '.join(PUSH_PATTERNS)}:")
    for upload in plan.uploads:
        note = "  (generated)" if isinstance(upload.source, bytes) else ""
        lines.append(f"{upload.size:>12}  {plain(upload.path_in_repo)}{note}")
    total = sum(u.size for u in plan.uploads)
    lines.append(f"total: {len(plan.uploads)} files, {total} bytes")
    # A terminal shows text as it is: plain lines, no markdown escapes (`zero_link`, `<= 64`).
    lines += [f"skipped: {plain(why, SKIPPED_CHARS)}" for why in plan.skipped]
    return "\n".join(lines)
