"""rflr: random-feature low-rank networks and the mirror symmetry they recover inside.

From Python (docs/notebook.md):

    import rflr
    run = rflr.open("checkpoints/rflr-w128-r2-L4-even-s0")  # a file, run folder or Hub repo
    run.defects(3)              # D and parity of each channel of layer 3
    rflr.layer_chart(run, 3)    # the explorer's Layer view, as an Altair chart
    sweep = rflr.open_sweep("checkpoints/poster")           # summary.csv as a DataFrame

The names below are loaded on first use, so `import rflr` itself imports nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> the module that defines it
_LAZY = {
    "open": "rflr.notebook",
    "open_sweep": "rflr.notebook",
    "runs": "rflr.notebook",
    "Run": "rflr.notebook",
    "checkpoints_folder": "rflr.files.paths",
    "PathError": "rflr.files.paths",
    "CheckpointError": "rflr.files.checkpoint",
    "layer_chart": "rflr.figures",
    "depth_chart": "rflr.figures",
    "training_chart": "rflr.figures",
    "atoms_chart": "rflr.figures",
    "sweep_chart": "rflr.figures",
}
__all__ = [  # the lazy names, spelled out for linters and IDEs
    "__version__",
    "open",
    "open_sweep",
    "runs",
    "Run",
    "checkpoints_folder",
    "PathError",
    "CheckpointError",
    "layer_chart",
    "depth_chart",
    "training_chart",
    "atoms_chart",
    "sweep_chart",
]

if TYPE_CHECKING:
    from rflr.figures import atoms_chart, depth_chart, layer_chart, sweep_chart, training_chart
    from rflr.files.checkpoint import CheckpointError
    from rflr.files.paths import PathError, checkpoints_folder
    from rflr.notebook import Run, open, open_sweep, runs


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'rflr' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
