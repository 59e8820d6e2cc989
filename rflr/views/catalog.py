"""The checkpoint table, built from headers only, and choices made on it: runs and their
snapshot steps, filters, and the default RF-LR / dense pair the app opens on.

A run is the set of snapshots of one training run: files that share a folder and a run id
(the trainer writes ROOT/<run_id>/step-XXXXXXXX.safetensors).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd

from rflr.core.config import RunConfig
from rflr.files.checkpoint import Listing
from rflr.measure.metrics import run_status
from rflr.measure.record import Metrics, as_float

COLUMNS = [
    "run",
    "step",
    "kind",
    "width",
    "rank",
    "depth",
    "seed",
    "test_mse",
    "headline_defect",
    "output_defect",
    "status",
    "target",
    "file",
]
_TARGET_KEY = "_target"  # exact target, for pairing runs; not shown
_TRAIN_KEY = "_train"  # exact training protocol, for pairing runs; not shown
MAX_STEP = 2**53  # steps the browser can show exactly (a JavaScript number)


def run_name(rel: str, run_id: str) -> str:
    """The folder below root when it is named after the run (the usual layout), else the id."""
    parent = Path(rel).parent.as_posix()
    if parent == ".":
        return run_id
    if Path(parent).name == run_id:
        return parent
    return f"{parent}/{run_id}"


def target_label(cfg: RunConfig) -> str:
    """f*(x) as a short formula, e.g. 1·cos(1x) + 0.5·cos(2x); for d > 1 the reflected
    coordinate is x₁ and a transverse term reads 0.5·cos(1x₁)·sin(2(x₂+x₃))."""
    d = cfg.model.input_dim
    x = "x" if d == 1 else "x₁"
    terms = [f"{a:g}·cos({w:g}{x})" for w, a in cfg.target.cosines]
    terms += [f"{a:g}·sin({w:g}{x})" for w, a in cfg.target.sines]
    if cfg.target.transverse:
        s = {2: "x₂", 3: "(x₂+x₃)"}.get(d, f"(x₂+…+x{_subscript(d)})")
        terms += [f"{a:g}·cos({w:g}{x})·sin({v:g}{s})" for w, v, a in cfg.target.transverse]
    return " + ".join(terms)


def _subscript(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def catalog(listings: Sequence[Listing], root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(checkpoints, errors): one row per readable header; one row per file that failed."""
    rows, errors = [], []
    for item in listings:
        rel = Path(item.path).relative_to(root).as_posix()
        if item.header is None:
            errors.append({"file": rel, "error": item.error or "unreadable"})
            continue
        try:
            rows.append(_row(rel, item.header))
        except Exception as e:  # a header field of the wrong type or range: an error row
            errors.append(
                {"file": rel, "error": f"unusable header ({type(e).__name__}: {str(e)[:200]})"}
            )
    _separate_duplicates(rows)
    table = pd.DataFrame(rows, columns=[*COLUMNS, _TARGET_KEY, _TRAIN_KEY])
    table["rank"] = table["rank"].astype("Int64")  # dense has no rank: <NA>, not NaN floats
    table = table.sort_values(["run", "step"], kind="stable").reset_index(drop=True)
    return table, pd.DataFrame(errors, columns=["file", "error"])


def _separate_duplicates(rows: list[dict]) -> None:
    """Two files with the same run and step (a copy, a run id reused by hand) must both stay
    reachable: every file after the first of a (run, step) becomes a run of its own, named
    after the file, instead of silently replacing the other in the run -> step -> file map."""
    seen: set[tuple[str, int]] = set()
    for row in sorted(rows, key=lambda r: r["file"]):
        if (row["run"], row["step"]) in seen:
            row["run"] = f"{row['run']} [{PurePosixPath(row['file']).name}]"
        seen.add((row["run"], row["step"]))


def _row(rel: str, header) -> dict:
    cfg, metrics, step = header.config, header.metrics, header.step
    if not isinstance(step, int) or not 0 <= step <= MAX_STEP:
        raise ValueError(f"step {str(step)[:20]} is outside 0..{MAX_STEP}")
    if not isinstance(metrics, Metrics):
        raise TypeError("rflr.metrics is not a JSON object")
    return {
        "run": run_name(rel, str(cfg.run_id)),
        "step": step,
        "kind": cfg.model.kind,
        "width": cfg.model.width,
        "rank": cfg.model.rank_or_none,
        "depth": cfg.model.depth,
        "seed": cfg.seed,
        "test_mse": as_float(metrics.test_mse),
        "headline_defect": as_float(metrics.headline_defect),
        "output_defect": as_float(metrics.output_defect),
        "status": run_status(metrics),
        "target": target_label(cfg),
        "file": rel,
        _TARGET_KEY: json.dumps(cfg.target.to_dict(), sort_keys=True),
        _TRAIN_KEY: json.dumps(dataclasses.asdict(cfg.train), sort_keys=True),
    }


def visible(table: pd.DataFrame) -> pd.DataFrame:
    """The table as shown: without internal columns."""
    return table[COLUMNS]


def filter_table(
    table: pd.DataFrame,
    kinds: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    text: str = "",
    final_only: bool = False,
) -> pd.DataFrame:
    """Rows of the given kinds and statuses whose run contains `text` (case-insensitive)."""
    keep = pd.Series(True, index=table.index)
    if kinds:
        keep &= table["kind"].isin(kinds)
    if statuses:
        keep &= table["status"].isin(statuses)
    if text.strip():
        keep &= table["run"].str.contains(text.strip(), case=False, regex=False)
    if final_only:
        keep &= table["step"] == table.groupby("run")["step"].transform("max")
    return table[keep]


@dataclass
class Catalog:
    """The table plus the lookups the app makes on every rerun, precomputed once per listing
    (pandas filtering costs milliseconds per call; these are dictionary lookups)."""

    table: pd.DataFrame
    errors: pd.DataFrame
    steps: dict[str, list[int]]  # run -> its snapshot steps, ascending
    files: dict[str, dict[int, str]]  # run -> step -> file
    rows: dict[str, dict]  # file -> its table row
    partners: dict[str, str | None]  # run -> its control (see `partner`)
    default: tuple[str | None, str | None]  # (A, B) the app opens on
    stopped: str | None = None  # why the listing stopped early (too many files, too slow)
    folders: tuple[str, ...] = ()  # the folders the listing walked, relative to the root

    @property
    def runs(self) -> list[str]:
        return sorted(self.steps)

    def file_at(self, run: str, step: int) -> str | None:
        """The run's snapshot at `step`, else the last one before it, else its first one."""
        steps = self.steps.get(run)
        if not steps:
            return None
        before = [s for s in steps if s <= step]
        return self.files[run][before[-1] if before else steps[0]]

    def nearest(self, run: str, step: int) -> int | None:
        """The run's snapshot step closest to `step` (the earlier one on a tie)."""
        steps = self.steps.get(run)
        return min(steps, key=lambda s: (abs(s - step), s)) if steps else None

    def final_file(self, run: str) -> str | None:
        steps = self.steps.get(run)
        return self.files[run][steps[-1]] if steps else None


def build(
    listings: Sequence[Listing],
    root: Path,
    stopped: str | None = None,
    folders: Sequence[str] = (),
) -> Catalog:
    table, errors = catalog(listings, root)
    steps: dict[str, list[int]] = {}
    files: dict[str, dict[int, str]] = {}
    rows = {}
    for row in table[COLUMNS].to_dict("records"):
        run, step = row["run"], int(row["step"])
        steps.setdefault(run, []).append(step)
        files.setdefault(run, {})[step] = row["file"]
        rows[row["file"]] = row
    for run in steps:
        steps[run].sort()
    finals = _finals(table)
    partners = {r["run"]: _partner(r, finals) for r in finals}
    return Catalog(
        table, errors, steps, files, rows, partners, default_runs(table), stopped, tuple(folders)
    )


def _finals(table: pd.DataFrame) -> list[dict]:
    """The last snapshot of each run, as records."""
    return table.sort_values("step").groupby("run").tail(1).to_dict("records")


def _partner(me: dict, finals: list[dict]) -> str | None:
    candidates = [
        r
        for r in finals
        if r["kind"] != me["kind"] and r[_TARGET_KEY] == me[_TARGET_KEY] and r["seed"] == me["seed"]
    ]
    if not candidates:
        return None

    def score(r: dict) -> tuple[int, bool, str]:
        # A control is trained the same way: protocol first, then architecture, then status;
        # among equals, one from the same folder (e.g. the same sweep).
        off = 8 * (r[_TRAIN_KEY] != me[_TRAIN_KEY])
        off += 4 * (r["depth"] != me["depth"]) + 2 * (r["width"] != me["width"])
        same_folder = PurePosixPath(r["run"]).parent == PurePosixPath(me["run"]).parent
        return off + (r["status"] != "ok"), not same_folder, r["run"]

    return str(min(candidates, key=score)["run"])


def default_runs(table: pd.DataFrame) -> tuple[str | None, str | None]:
    """(A, B): the first RF-LR run (one that ended "ok" if any) and its dense control."""
    finals = _finals(table)
    if not finals:
        return None, None
    me = min(finals, key=lambda r: (r["kind"] != "rflr", r["status"] != "ok", r["run"]))
    return str(me["run"]), _partner(me, finals)
