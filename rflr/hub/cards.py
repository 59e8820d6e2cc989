"""The files rflr.hub.sync generates: a checkpoint repo's model card, and the Space's README.md
(front matter = the Space configuration) and Dockerfile. Pure text; nothing is uploaded here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from huggingface_hub import ModelCardData, SpaceCardData

STREAMLIT_PORT = 8501


class _File(Protocol):
    """What the card needs of an upload (rflr.hub.plan.Upload): its name and size."""

    path_in_repo: str
    size: int


def plain(text: str, limit: int | None = None) -> str:
    """File-provided text as one plain line: every character that is not printable (control
    characters, line breaks, invisible formatting such as bidi overrides) becomes '?', so that
    a name cannot start a line of its own in a card or on a terminal."""
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


def _code(name: str) -> str:
    """A file name as a markdown code span: one line, without the backticks that would end it."""
    return "`" + plain(name).replace("`", "") + "`"


def _checkpoint_row(upload: _File, header) -> str:
    """A card table row from the checkpoint's validated header; the tensors are never read."""
    mse = header.metrics.test_mse
    cells = [
        _code(upload.path_in_repo).replace("|", "\\|"),
        "1",
        header.config.model.kind,
        str(header.config.seed),
        str(header.step),
        f"{mse:.3g}" if mse is not None else "?",
        str(upload.size),
    ]
    return "| " + " | ".join(cells) + " |"


def model_card(repo_id: str, files: Sequence[_File], headers: dict[str, Any]) -> str:
    """README.md of a checkpoint repo: what the files are, which ones, and how to open them."""
    header = ModelCardData(
        library_name="rflr", tags=["rflr", "safetensors", "random-features", "low-rank"]
    ).to_yaml()
    checkpoints = [u for u in files if u.path_in_repo.endswith(".safetensors")]
    others = [u for u in files if not u.path_in_repo.endswith(".safetensors")]
    rows = "\n".join(_checkpoint_row(u, headers[u.path_in_repo]) for u in checkpoints)
    other_lines = (
        "\n".join(f"- {_code(u.path_in_repo)} ({u.size} bytes)" for u in others) or "- none"
    )
    return f"""---
{header}
---

# {repo_id}

Checkpoints written by **rflr**: small random-feature low-rank (RF-LR) networks and dense
MLPs trained on even 1D targets, saved so that their inner symmetry can be explored.

## Format

rflr checkpoint format version 1: one safetensors file per run and training step, laid out
as `<run_id>/step-XXXXXXXX.safetensors`. Files hold plain tensors (nothing is pickled) and
describe themselves in the safetensors header metadata:

| key | content |
| --- | --- |
| `rflr.format_version` | `"1"` |
| `rflr.config` | JSON: model kind, width, rank, depth, target, training settings, seed, run id |
| `rflr.step` | training step of this snapshot |
| `rflr.metrics` | JSON: test MSE, symmetry defects, status |
| `rflr.history` | JSON: logged steps, train loss and test MSE up to this step |

The header alone is read with
`safetensors.safe_open(path, "pt").metadata()`. `summary.csv` files summarise sweeps.

## Checkpoints

| file | format | model | seed | step | test MSE | bytes |
| --- | --- | --- | --- | --- | --- | --- |
{rows}

## Other files

{other_lines}

## Open them

```bash
python -m rflr.hub pull {repo_id}
RFLR_CHECKPOINTS=<folder printed by pull> streamlit run streamlit_app.py
```

or in one line:

```bash
RFLR_CHECKPOINTS="$(python -m rflr.hub pull {repo_id} | tail -n 1)" streamlit run streamlit_app.py
```
"""


def space_readme() -> str:
    """README.md of the Space: its front matter is the Space configuration."""
    header = SpaceCardData(
        title="rflr explorer",
        emoji="🪞",
        colorFrom="indigo",
        colorTo="blue",
        sdk="docker",
        app_port=STREAMLIT_PORT,
        pinned=False,
        short_description="Explore the inner symmetry of RF-LR and MLP nets",
    ).to_yaml()
    return f"""---
{header}
---

# rflr explorer

A Streamlit app to explore rflr checkpoints: random-feature low-rank (RF-LR) networks and
dense MLPs trained on even targets, and whether their inner functions and weights become
mirror symmetric. The checkpoints shipped in `checkpoints/` open by default.

Deployed with `python -m rflr.hub deploy-space`; each deployment replaces the app files.
"""


# The Space's command; listening on 0.0.0.0 is what makes it reachable from outside the container.
STREAMLIT_CMD = [
    "streamlit",
    "run",
    "streamlit_app.py",
    "--server.port",
    str(STREAMLIT_PORT),
    "--server.address",
    "0.0.0.0",
    "--server.headless",
    "true",
]

# The command runs through rflr.explorer.warm, which opens one page as soon as the server is
# up: the imports and the default checkpoints are paid before the first visitor comes.
WARM_ENTRYPOINT = ["python", "-m", "rflr.explorer.warm"]

# Hugging Face runs Docker Spaces as uid 1000, so the app is installed and owned by that user.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_VERSION = "2.13.0"  # the pin of requirements.txt
# RFLR_SERVE=1: served mode (docs/security.md): the app offers no folder input and ignores
# the `root` URL parameter; only the shipped checkpoints, uploads and the Hub remain.
# RFLR_PROCESSES: streamlit processes behind rflr.explorer.serve's proxy (the entry point
# reads it). 2 uses both vCPU, dividing the caches between them; the proxy routes a session's
# uploads and downloads to its own process without needing its cookie, which a browser may
# block in the Space's iframe (docs/security.md, "Two server processes").
DOCKERFILE = f"""\
FROM python:3.11-slim

RUN useradd --create-home --uid 1000 user
USER user
ENV HOME=/home/user \\
    PATH=/home/user/.local/bin:$PATH \\
    PYTHONUNBUFFERED=1 \\
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \\
    RFLR_CHECKPOINTS=/home/user/app/checkpoints \\
    RFLR_SERVE=1 \\
    RFLR_PROCESSES=2
WORKDIR /home/user/app

COPY --chown=user requirements.txt requirements.txt
# the CPU-only torch build first, from PyTorch's CPU wheel index: the default build pulls
# several GB of CUDA libraries a Space without a GPU never uses
RUN pip install --no-cache-dir --index-url {TORCH_CPU_INDEX} torch=={TORCH_VERSION}
RUN pip install --no-cache-dir --upgrade -r requirements.txt
COPY --chown=user . .

EXPOSE {STREAMLIT_PORT}
ENTRYPOINT {json.dumps(WARM_ENTRYPOINT)}
CMD {json.dumps(STREAMLIT_CMD)}
"""
