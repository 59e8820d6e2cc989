"""Where checkpoints are: the default folder, and how a source names a Hugging Face repo.

One rule for the installed commands (`rflr app`), the notebook API (rflr.open,
rflr.open_sweep) and the explorer, so that all find the same checkpoints from any directory:

- RFLR_CHECKPOINTS, when set, is the default folder of all three (`configured_folder`).
- Else `checkpoints_folder` (the commands, the notebook) takes the `checkpoints/` folder of
  the rflr checkout the current directory is in, else that of the checkout this package runs
  from (a source tree or an editable install). An installed wheel carries no checkpoints:
  the error says how to get some (`rflr hub pull USER/NAME`, or a folder argument). The
  explorer started on its own (`streamlit run`) opens the checkpoints/ beside its page
  instead (rflr.views.sources.default_root); `rflr app` sets RFLR_CHECKPOINTS for it.
- a source is an existing local path, else a Hub repo `USER/NAME` (or `hf://USER/NAME`),
  optionally followed by a path inside it (`hub_repo`), which rflr.hub.locate pulls (offline:
  the cached copy, without touching the network).

Standard library only: `import rflr` and `rflr --help` stay fast.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from rflr.files.repo_id import REPO_ID

ENV_VAR = "RFLR_CHECKPOINTS"  # the default folder, when set (configured_folder)
PROJECT_ROOT = Path(__file__).resolve().parents[2]  # rflr/files/ -> a checkout, run from source
HUB_PREFIX = "hf://"
_REPO = re.compile(rf"^({REPO_ID})(/.*)?$")  # USER/NAME, then an optional path in it
HOW_TO_GET = (
    "run inside an rflr checkout (its checkpoints/ folder), set RFLR_CHECKPOINTS to a folder, "
    "or download a set with `rflr hub pull USER/NAME` and pass the folder it prints"
)


class PathError(ValueError):
    """A path or repo that cannot be opened; the message says why and what to do instead."""


def is_checkout(folder: Path) -> bool:
    """An rflr source checkout: the explorer's entry script and the package side by side."""
    return (folder / "streamlit_app.py").is_file() and (folder / "rflr" / "__init__.py").is_file()


def configured_folder() -> Path | None:
    """RFLR_CHECKPOINTS when set (expanded, not checked: each caller says what a missing
    folder means), else None."""
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env).expanduser() if env else None


def checkpoints_folder() -> Path:
    """The folder `rflr app` and the notebook open by default (see the module docstring)."""
    folder = configured_folder()
    if folder is not None:
        if not folder.is_dir():
            raise PathError(f"{ENV_VAR}={os.environ[ENV_VAR].strip()} is not an existing folder")
        return folder.resolve()
    cwd = Path.cwd().resolve()
    for root in (cwd, *cwd.parents, PROJECT_ROOT):
        if is_checkout(root) and (root / "checkpoints").is_dir():
            return root / "checkpoints"
    raise PathError(f"no checkpoints folder found: {HOW_TO_GET}")


def hub_repo(source: str) -> tuple[str, str] | None:
    """(repo id, path inside it) when `source` names a Hub repo, else None."""
    text = source.removeprefix(HUB_PREFIX)
    m = _REPO.match(text)
    if m is None or ".." in text.split("/"):
        return None
    return m.group(1), (m.group(2) or "").strip("/")
