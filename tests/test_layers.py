"""The import layers (docs/architecture.md): each folder of rflr/ imports only the folders below it.

Static checks read every module's imports with ast (those inside functions and under
TYPE_CHECKING too) and hold them to the layer order, the exceptions of the folders that show
checkpoints, and no cycles. Runtime checks import modules in a fresh interpreter (this test
process has imported everything) and list what heavy modules got loaded. The module lists come
from the tree, so a module is checked the day it is added.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Collection, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "rflr"

# The folders of rflr/, low to high: a module imports its own folder and those before it.
LAYERS = ("core", "measure", "files", "train", "sweep", "hub", "views", "explorer", "cli")
# rflr/*.py (`import rflr`, `python -m rflr.X`, the notebook API) sit above every folder.
ENTRY = "entry"
RANK = {name: rank for rank, name in enumerate((*LAYERS, ENTRY))}

# Training code: slow to import and never needed to look at checkpoints. The sweep folder's
# other modules (grid, summary, stats) are pure tables that the explorer reads.
TRAINING = ("rflr.train", "rflr.sweep.runner", "rflr.sweep.study", "rflr.sweep.executors")
# What a module under a prefix must never reach, through any chain of imports, although the
# layer order alone would let it.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "rflr.views": (*TRAINING, "streamlit"),  # tables and charts, testable without a running app
    "rflr.explorer": TRAINING,
    "rflr.cli": ("rflr.explorer",),  # `rflr app` starts the explorer as a process instead
    "rflr.notebook": (*TRAINING, "rflr.explorer", "rflr.cli", "streamlit"),
    "rflr.figures": (*TRAINING, "rflr.explorer", "rflr.cli", "streamlit"),
}
# Known upward edges, (importer, imported prefix) -> why. Each must still exist: an unused one
# fails test_every_allowance_is_still_needed, so that it is deleted with the edge.
ALLOWANCES: dict[tuple[str, str], str] = {
    # (importer, imported folder): why an upward import is allowed. None today; an entry
    # must be needed (test_every_allowance_is_still_needed).
}

Graph = dict[str, set[str]]


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def tree_modules(package_dir: Path = ROOT / PACKAGE) -> dict[str, Path]:
    """Every module of the package by dotted name; a folder's __init__.py by the folder's."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported_names(source: str, module: str, is_package: bool, known: Collection[str]) -> set[str]:
    """The absolute names of the modules `source` imports anywhere in it. `from P import x`
    names P.x when that is a module in `known`, else P."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per extra dot
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                names.add(full if full in known else base)
    return names


def import_graph(modules: dict[str, Path]) -> Graph:
    """Module -> the modules it imports. Imports of the root package itself are left out: every
    rflr module loads it first anyway, and it loads nothing eagerly (test_import_rflr_is_light)."""
    graph = {}
    for name, path in modules.items():
        found = imported_names(path.read_text(), name, path.name == "__init__.py", modules)
        graph[name] = {m for m in found if m != PACKAGE}
    return graph


def without_allowances(graph: Graph) -> tuple[Graph, set[tuple[str, str]]]:
    """The graph less the allowed edges, and the allowances that matched an edge."""
    used = set()
    kept: Graph = {}
    for importer, imported in graph.items():
        kept[importer] = set()
        for name in imported:
            allowance = next(
                (a for a in ALLOWANCES if a[0] == importer and under(name, a[1])), None
            )
            if allowance is None:
                kept[importer].add(name)
            else:
                used.add(allowance)
    return kept, used


def layer(module: str) -> str:
    """The folder a module lives in (its layer), or ENTRY for rflr/*.py and rflr itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else ENTRY


def ours(name: str) -> bool:
    return under(name, PACKAGE)


def layer_violations(graph: Graph) -> list[str]:
    """Each import of a folder above the importer's own, or of a folder that is in no layer."""
    found = []
    for importer, imported in sorted(graph.items()):
        for name in sorted(filter(ours, imported)):
            mine, theirs = layer(importer), layer(name)
            for folder in (mine, theirs):
                if folder not in RANK:
                    found.append(f"{importer} -> {name}: rflr/{folder}/ is in no layer (LAYERS)")
            if mine in RANK and theirs in RANK and RANK[theirs] > RANK[mine]:
                found.append(f"{importer} -> {name}: {mine} imports {theirs}, a layer above it")
    return found


def chain_to(graph: Graph, start: str, bad: Iterable[str]) -> list[str] | None:
    """The import chain from `start` to a module under one of `bad` (breadth first), or None."""
    bad = tuple(bad)
    came_from: dict[str, str | None] = {start: None}
    queue = [start]
    for current in queue:
        for name in sorted(graph.get(current, ())):
            if name in came_from:
                continue
            came_from[name] = current
            if any(under(name, b) for b in bad):
                chain = [name]
                while came_from[chain[-1]] is not None:
                    chain.append(came_from[chain[-1]])  # type: ignore[arg-type]
                return chain[::-1]
            queue.append(name)
    return None


def forbidden_reaches(graph: Graph) -> list[str]:
    """Each module that reaches something FORBIDDEN to its prefix, with the chain."""
    found = []
    for module in sorted(graph):
        bad = [b for prefix, names in FORBIDDEN.items() if under(module, prefix) for b in names]
        chain = chain_to(graph, module, bad) if bad else None
        if chain:
            found.append(" -> ".join(chain))
    return found


def cycles(graph: Graph) -> list[list[str]]:
    """The import cycles among our modules: strongly connected components (Tarjan's)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for name in sorted(n for n in graph.get(node, ()) if ours(n)):
            if name not in index:
                visit(name)
                low[node] = min(low[node], low[name])
            elif name in stack:
                low[node] = min(low[node], index[name])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


MODULES = tree_modules()
GRAPH, USED_ALLOWANCES = without_allowances(import_graph(MODULES))
# Importable without side effects: a __main__ module runs its command when imported.
IMPORTABLE = [m for m in MODULES if not m.endswith(".__main__")]


def modules_under(*prefixes: str) -> list[str]:
    return [m for m in IMPORTABLE if any(under(m, p) for p in prefixes)]


def reached_from(starts: Iterable[str]) -> list[str]:
    """`starts` and every module of ours they import, directly or not (lazy imports too)."""
    seen = set(starts)
    queue = list(seen)
    for current in queue:
        for name in GRAPH.get(current, ()):
            if ours(name) and name in MODULES and name not in seen:
                seen.add(name)
                queue.append(name)
    return sorted(seen)


# --- static: the rules, on the tree ---------------------------------------------------------


def test_every_folder_is_a_layer_with_a_documented_rule():
    folders = {p.name for p in (ROOT / PACKAGE).iterdir() if (p / "__init__.py").is_file()}
    assert folders == set(LAYERS)
    for folder in LAYERS:
        doc = ast.get_docstring(ast.parse(MODULES[f"{PACKAGE}.{folder}"].read_text())) or ""
        assert "Imports:" in doc, f"rflr/{folder}/__init__.py should say what it may import"


def test_no_module_imports_a_layer_above_its_own():
    found = layer_violations(GRAPH)
    assert not found, "\n".join(found)


def test_no_module_reaches_what_its_layer_must_not_import():
    found = forbidden_reaches(GRAPH)
    assert not found, "\n".join(found)


def test_no_import_cycles():
    found = cycles(GRAPH)
    assert not found, "\n".join(" <-> ".join(c) for c in found)


def test_every_allowance_is_still_needed():
    """An allowance whose edge is gone must go too."""
    unused = set(ALLOWANCES) - USED_ALLOWANCES
    assert not unused, f"no such import any more: delete {unused} from ALLOWANCES"


# --- static: the checker can fail -----------------------------------------------------------


def test_the_reader_sees_every_kind_of_import():
    source = (
        "from typing import TYPE_CHECKING\n"
        "import rflr.core.model\n"
        "from rflr.files import checkpoint, paths as p\n"
        "from rflr.measure.metrics import PARITY_TAU\n"
        "from . import sibling\n"
        "from ..core import config\n"
        "if TYPE_CHECKING:\n"
        "    from rflr.views.data import Thing\n"
        "def later():\n"
        "    from rflr.train import trainer\n"
    )
    known = {"rflr.files.checkpoint", "rflr.files.paths", "rflr.measure.sibling"}
    known |= {"rflr.core.config", "rflr.train.trainer"}
    assert imported_names(source, "rflr.measure.x", False, known) == {
        "typing",
        "rflr.core.model",
        "rflr.files.checkpoint",
        "rflr.files.paths",
        "rflr.measure.metrics",
        "rflr.measure.sibling",
        "rflr.core.config",
        "rflr.views.data",
        "rflr.train.trainer",
    }


def test_an_upward_edge_is_a_violation():
    fake = {"rflr.core.model": {"rflr.train.trainer"}, "rflr.train.trainer": {"rflr.core.model"}}
    assert layer_violations(fake) == [
        "rflr.core.model -> rflr.train.trainer: core imports train, a layer above it"
    ]
    assert layer_violations({"rflr.notebook": {"rflr.cli.train"}}) == []  # entries sit on top
    assert layer_violations({"rflr.core.model": {"rflr.utils.x"}}) != []  # a folder in no layer
    assert cycles(fake) == [["rflr.core.model", "rflr.train.trainer"]]


def test_a_chain_of_legal_edges_can_still_reach_training_code():
    fake = {
        "rflr.explorer.page": {"rflr.views.sources"},
        "rflr.views.sources": {"rflr.hub.sync"},
        "rflr.hub.sync": {"rflr.sweep.runner"},
    }
    assert layer_violations(fake) == []
    assert forbidden_reaches(fake) == [
        "rflr.explorer.page -> rflr.views.sources -> rflr.hub.sync -> rflr.sweep.runner",
        "rflr.views.sources -> rflr.hub.sync -> rflr.sweep.runner",
    ]
    assert forbidden_reaches({"rflr.notebook": {"rflr.explorer.page"}}) != []
    assert forbidden_reaches({"rflr.views.x": {"streamlit"}}) != []


# --- runtime: what a fresh interpreter loads ------------------------------------------------


def _loaded_after(imports: list[str], watched: list[str]) -> list[str]:
    """Which of `watched` are in sys.modules after importing `imports` in a new process."""
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in imports)
        + f"print(','.join(m for m in {watched!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1:] or [""]
    return [m for m in last[0].split(",") if m]


def test_checkpoint_io_loads_nothing_scientific():
    assert (
        _loaded_after(
            ["rflr.files.checkpoint"], ["scipy", "rflr.train.trainer", "rflr.measure.evaluate"]
        )
        == []
    )


def test_summary_is_pure_tables():
    assert _loaded_after(["rflr.sweep.summary"], ["torch", "scipy", "rflr.files.checkpoint"]) == []


def test_grid_statistics_are_pure_tables():
    assert _loaded_after(["rflr.sweep.stats"], ["torch", "scipy", "rflr.files.checkpoint"]) == []


def test_the_app_never_loads_the_trainer():
    """Every module of views and explorer, and all they import even lazily (the Hub's too)."""
    shown = modules_under("rflr.views", "rflr.explorer")
    app = reached_from(shown)
    assert "rflr.explorer.page" in app and set(app) > set(shown)
    assert _loaded_after(app, modules_under(*TRAINING, "rflr.cli")) == []


def test_the_watch_list_would_see_a_loaded_module():
    """The check above can fail: importing the trainer does show up."""
    assert _loaded_after(["rflr.train.trainer"], ["rflr.train.trainer", "rflr.train.stack"]) == [
        "rflr.train.trainer",
        "rflr.train.stack",
    ]


def test_import_rflr_is_light():
    """`import rflr` and the `rflr` command's dispatcher load nothing heavy; the notebook API
    never loads Streamlit, the explorer or the trainer."""
    heavy = ["torch", "numpy", "pandas", "altair", "streamlit", "huggingface_hub"]
    assert _loaded_after(["rflr", "rflr.cli.commands", "rflr.files.paths"], heavy) == []
    watched = ["streamlit", "rflr.hub.sync", *modules_under(*TRAINING, "rflr.cli", "rflr.explorer")]
    assert _loaded_after(["rflr.notebook", "rflr.figures"], watched) == []


def test_no_module_loads_ray():
    """Ray is optional: only --executor ray imports it (inside rflr.sweep.executors.RayExecutor)."""
    assert _loaded_after(IMPORTABLE, ["ray"]) == []


def test_grid_specs_are_pure():
    assert _loaded_after(["rflr.sweep.grid"], ["torch", "argparse", "rflr.cli.train"]) == []
