"""The tables the explorer draws, computed from a checkpoint by rflr.measure.evaluate, rflr.measure.metrics and
(when present) rflr.measure.channels and rflr.measure.plateaus. Nothing here defines a measurement: this
module selects layers, evaluates partial functions on the symmetric grid, and reshapes the
results into pandas DataFrames the chart builders take.

Layers are addressed by an index k and a part, so that an RF-LR network and its dense
control can be compared at the same depth:

    k = 0          the atoms' outputs h_1 (atoms.h)
    k = 1 .. L-1   mixing layer k: part "partial" is the layer's partial function
                   (bottleneck.k.z for RF-LR, hidden.k.u for dense), "u" the pre-activation,
                   "h" the hidden features h_{k+1}
    k = L          the output y (readout.y)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from rflr.core.config import ModelConfig
from rflr.core.model import as_float64, layer_index, layer_name, outgoing_weights, partial_layers
from rflr.core.targets import Grid, symmetric_grid, target_values
from rflr.files.checkpoint import Checkpoint
from rflr.measure import channels, metrics, plateaus, weight_symmetry
from rflr.measure.evaluate import partials_on_grid
from rflr.measure.record import Metrics
from rflr.views import budget, names

PARTS = {
    "partial": "partial function (z for RF-LR, u for dense)",
    "u": "pre-activation u",
    "h": "hidden features h",
}
PLOT_POINTS = 129  # points per curve sent to the browser (a panel is ~130 px wide); D is
# always computed on the full grid


# --- layers ----------------------------------------------------------------------------------


def layer_label(k: int, depth: int) -> str:
    """The layer selector's name of layer k, shared by every kind (rflr.views.names)."""
    return names.layer_label(None, k, depth)


# --- partial functions on the grid ---------------------------------------------------------


@dataclass
class Partials:
    """Every captured layer of one checkpoint on the symmetric grid (read-only arrays)."""

    cfg: ModelConfig
    x0: np.ndarray  # [G] coordinate 0 of the grid
    mirror: np.ndarray  # [G] index of each point's reflection
    z: dict[str, np.ndarray]  # name -> [C, G] float64
    params64: dict[str, torch.Tensor] = field(repr=False, default_factory=dict)
    target: np.ndarray | None = None  # [G] f*(x) on the grid, drawn on the output layer

    def outgoing(self, name: str) -> np.ndarray:
        """[C, F]: the weights through which each channel of `name` reaches the next layer."""
        return outgoing_weights(self.cfg, self.params64, name).numpy()


def metrics_grid(ckpt: Checkpoint) -> Grid:
    """The symmetric grid the checkpoint's metrics were measured on (default 1025 points),
    at most rflr.views.budget's cap: a header does not choose how much is computed."""
    cfg = ckpt.config
    points = budget.grid_points(ckpt.metrics.grid_points)  # None: not recorded
    return symmetric_grid(cfg.target.domain, points, cfg.model.input_dim)


def compute_partials(ckpt: Checkpoint) -> Partials:
    """Evaluate the network on the grid its metrics were measured on (metrics_grid)."""
    cfg = ckpt.config
    grid = metrics_grid(ckpt)
    z = partials_on_grid(cfg, ckpt.params, grid)
    for a in z.values():
        a.flags.writeable = False  # shared by cached views: nobody may change it
    params64 = as_float64(ckpt.params)
    target = target_values(cfg.target, torch.from_numpy(grid.x)).numpy()
    return Partials(cfg.model, grid.x0.copy(), grid.mirror, z, params64, target)


def channel_frame(
    p: Partials,
    name: str,
    threshold: float = metrics.ACTIVITY_THRESHOLD,
    tau: float = metrics.PARITY_TAU,
) -> pd.DataFrame:
    """One row per channel: D, parity, activity (absolute and relative to the layer's largest),
    active flag and oscillation count; active channels first, by decreasing activity."""
    z = p.z[name]
    out = p.outgoing(name)
    t = channels.channel_table(z, out, p.mirror, threshold, tau)
    d, activity, active, parity = t.defect, t.activity, t.active, t.parity
    osc = channels.oscillation_counts(z) if p.cfg.input_dim == 1 else np.full(len(z), -1)
    top = float(np.max(activity)) if activity.size else 0.0
    frame = pd.DataFrame(
        {
            "channel": np.arange(len(z)),
            "D": d,
            "parity": parity.astype(str),
            "activity": activity,
            "relative_activity": activity / top if top > 0 else np.zeros_like(activity),
            "active": active,
            "oscillations": osc,
        }
    )
    return frame.sort_values(["active", "activity"], ascending=[False, False], kind="stable")


def curve_frame(p: Partials, name: str, channels: list[int]) -> pd.DataFrame:
    """z(x), z(-x) and the odd part o(x) of the given channels, on PLOT_POINTS grid points;
    on the output layer (readout.y) also the target f*(x).

    The subsample keeps every stride-th point of the symmetric grid, which stays symmetric;
    z(-x) and o(x) are taken from the full-resolution arrays before subsampling.
    """
    z = p.z[name][channels]
    zm = metrics.reflect(z, p.mirror)
    odd = metrics.odd_part(z, p.mirror)
    g = len(p.x0)
    stride = max(1, (g - 1) // (PLOT_POINTS - 1))
    idx = np.arange(0, g, stride)
    idx = idx[np.argsort(p.x0[idx], kind="stable")]  # d > 1: plot along coordinate 0
    n = len(idx)
    frame = pd.DataFrame(
        {
            "channel": np.repeat(np.asarray(channels, dtype=int), n),
            "x": np.tile(p.x0[idx], len(channels)),
            "z(x)": z[:, idx].ravel(),
            "z(-x)": zm[:, idx].ravel(),
            "o(x)": odd[:, idx].ravel(),
        }
    )
    if name == "readout.y" and p.target is not None:
        frame["f*(x)"] = np.tile(p.target[idx], len(channels))
    return frame


def stable_order(now: pd.DataFrame, final: pd.DataFrame | None) -> pd.DataFrame:
    """`now`'s channel table ordered so that a channel keeps its place at every step: the
    channels active at the run's final snapshot first, by final activity, then the others
    active now (by activity now), then the rest. Without `final`, `now` as it is."""
    if final is None or len(final) != len(now):
        return now
    rank = {int(c): i for i, c in enumerate(final.loc[final["active"], "channel"])}
    key = now["channel"].map(rank)
    later = ~now["active"] * 1  # not in the final set: active now first
    order = np.lexsort((-now["activity"].to_numpy(), later.to_numpy(), key.fillna(1e9).to_numpy()))
    return now.iloc[order]


def drawn_channels(ordered: pd.DataFrame, final: pd.DataFrame | None, count: int) -> pd.DataFrame:
    """The first `count` channels of `ordered` that are active now or at the final step."""
    keep = ordered["active"].to_numpy().copy()
    if final is not None and len(final) == len(ordered):
        at_end = set(final.loc[final["active"], "channel"].astype(int))
        keep |= ordered["channel"].astype(int).isin(at_end).to_numpy()
    return ordered[keep].head(count)


def output_defect(p: Partials) -> float:
    return float(metrics.odd_fraction(p.z["readout.y"][0], p.mirror))


def depth_profile(
    p: Partials,
    threshold: float = metrics.ACTIVITY_THRESHOLD,
    tau: float = metrics.PARITY_TAU,
    equivariance: bool = False,
) -> pd.DataFrame:
    """Active defect of every partial layer (part "partial") and hidden feature layer (part
    "h") by depth index k; with `equivariance` (and rflr.measure.channels), also the equivariance
    defect of each h layer (a Hungarian matching of N units: ~25 ms per layer at N = 256)."""
    rows = []
    hidden = ["atoms.h"] + [layer_name(p.cfg, k, "h") for k in range(1, p.cfg.depth)]
    layers = [("partial", n) for n in partial_layers(p.cfg)] + [("h", n) for n in hidden]
    for part, name in layers:
        stats = metrics.layer_defect(p.z[name], p.outgoing(name), p.mirror, threshold, tau)
        k = layer_index(name)
        row = {"k": k, "part": part, "layer": name, **stats, "equivariance": float("nan")}
        if equivariance and part == "h":
            row["equivariance"] = channels.equivariance(p.z[name], p.mirror).defect
        rows.append(row)
    return pd.DataFrame(rows)


# --- training history ------------------------------------------------------------------------


def history_frame(history: dict) -> pd.DataFrame:
    """Long format (step, series, value) of the logged losses; missing or non-finite values
    (diverged steps are stored as null) are dropped."""
    steps = history.get("step") or []
    parts = []
    for key, label in (("train_loss", "train loss"), ("test_mse", "test MSE")):
        values = history.get(key) or []
        n = min(len(steps), len(values))
        v = np.array([np.nan if x is None else x for x in values[:n]], dtype=float)
        frame = pd.DataFrame(
            {"step": np.asarray(steps[:n], dtype=float), "series": label, "value": v}
        )
        parts.append(frame[np.isfinite(frame["value"])])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def plateau_frame(history: dict, key: str = "test_mse") -> pd.DataFrame:
    """Plateaus and drops of the history as shaded step ranges (rflr.measure.plateaus)."""
    shape = plateaus.history_plateaus(history, key)
    # The rule works on a smoothed log-step axis; its bounds are read as whole steps.
    rows = [
        {
            "kind": "plateau",
            "start": _whole(q.start_step),
            "end": _whole(q.end_step),
            "loss": q.loss,
        }
        for q in shape.plateaus
    ]
    rows += [
        {
            "kind": "drop",
            "start": _whole(q.start_step),
            "end": _whole(q.end_step),
            "loss": q.loss_after,
        }
        for q in shape.drops
    ]
    return pd.DataFrame(rows, columns=["kind", "start", "end", "loss"]).astype(
        {"start": "int64", "end": "int64"}
    )


def _whole(step: float) -> int:
    return int(round(step))


def smooth_series(history: pd.DataFrame, series: str, window: int) -> pd.DataFrame:
    """`history` with `series` replaced by its centred rolling geometric mean over `window`
    logged points (a mean of log10 values: the noisy train loss spans decades)."""
    if window <= 1 or history.empty:
        return history
    pick = history["series"] == series
    part = history[pick].sort_values("step")
    logv = np.log10(part["value"].clip(lower=np.finfo(float).tiny))
    smoothed = 10 ** logv.rolling(window, center=True, min_periods=1).mean()
    return pd.concat([history[~pick], part.assign(value=smoothed)], ignore_index=True)


def defect_history(snapshots: list[tuple[int, Metrics]]) -> pd.DataFrame:
    """Active partial defect of every partial layer at every snapshot, read from the
    snapshots' header metrics (rflr.metrics.layers[*]): no tensor is loaded.

    snapshots: (step, metrics record) pairs. Returns step, layer, k, defect_mean, active,
    channels; a layer whose defect is undefined (no active channel) or whose name is not a
    layer's is left out.
    """
    rows = []
    for step, m in snapshots:
        for rec in m.layers:
            if rec.defect_mean is None:
                continue
            try:
                k = layer_index(rec.name)
            except (ValueError, IndexError):
                continue
            rows.append(
                {
                    "step": int(step),
                    "layer": rec.name,
                    "k": k,
                    "defect_mean": float(rec.defect_mean),
                    "active": rec.active,
                    "channels": rec.channels,
                }
            )
    cols = ["step", "layer", "k", "defect_mean", "active", "channels"]
    return pd.DataFrame(rows, columns=cols).sort_values(["layer", "step"], ignore_index=True)


# --- weights -----------------------------------------------------------------------------------


@dataclass
class AtomFrames:
    atoms: pd.DataFrame  # atom, w, b, alive
    links: pd.DataFrame  # pair, w, b: two rows per matched pair (a segment)
    outgoing: pd.DataFrame  # pair, i, j, entry, o_i, o_j
    alive: int
    pairing_defect: float
    outgoing_mismatch: float


def atom_frames(ckpt: Checkpoint, p: Partials) -> AtomFrames:
    """Atoms (w, b) with their mirror matches, and the outgoing weights of matched pairs
    (rflr.measure.channels.atom_pairing_of)."""
    pairing = channels.atom_pairing_of(p.cfg, ckpt.params, p.z)
    atoms = pd.DataFrame(
        {
            "atom": np.arange(len(pairing.atoms)),
            "w": pairing.atoms[:, 0],
            "b": pairing.atoms[:, -1],
            "alive": pairing.alive,
        }
    )
    pairs = pairing.pairs
    pairs = pairs[pairs[:, 0] <= pairs[:, 1]]  # (i, j) and (j, i) are the same segment
    links = pd.DataFrame(
        {
            "pair": np.repeat(np.arange(len(pairs)), 2),
            "w": pairing.atoms[pairs.ravel(), 0],
            "b": pairing.atoms[pairs.ravel(), -1],
        }
    )
    o = pairing.outgoing
    f = o.shape[1]
    outgoing = pd.DataFrame(
        {
            "pair": np.repeat(np.arange(len(pairs)), f),
            "i": np.repeat(pairs[:, 0], f),
            "j": np.repeat(pairs[:, 1], f),
            "entry": np.tile(np.arange(f), len(pairs)),
            "o_i": o[pairs[:, 0]].ravel(),
            "o_j": o[pairs[:, 1]].ravel(),
        }
    )
    return AtomFrames(
        atoms,
        links,
        outgoing,
        pairing.alive_count,
        pairing.pairing_defect,
        pairing.outgoing_mismatch,
    )


WEIGHT_COLUMNS = [
    "layer",
    "k",
    "units",
    "alive",
    "trivial",
    "pairing_defect",
    "init_pairing_defect",
    "outgoing_mismatch",
    "init_outgoing_mismatch",
    "input_used",
    "input_channels",
    "direction_pairing",  # rescale-invariant (rflr.measure.rescaling)
    "init_direction_pairing",
    "outgoing_match",
    "init_outgoing_match",
    "movement",
]


def weight_symmetry_frame(ckpt: Checkpoint, p: Partials) -> pd.DataFrame:
    """Per layer of units (atoms.h, then bottleneck.k.h / hidden.k.h): the mirror pairing
    defect and the (parity-signed) outgoing mismatch, their rescale-invariant versions
    (direction pairing, outgoing match), each beside its value for the same network at its
    seed's random init, and the movement from init
    (rflr.measure.weight_symmetry.weight_symmetry_of)."""
    cfg = ckpt.config
    grid = metrics_grid(ckpt)
    records = weight_symmetry.weight_symmetry_of(cfg, ckpt.params, p.z, grid)
    rows = [
        {
            "layer": r.name,
            "k": layer_index(r.name),
            "units": r.units,
            "alive": r.alive,
            "trivial": r.trivial,
            "pairing_defect": r.pairing_defect,
            "init_pairing_defect": r.init_pairing_defect,
            "outgoing_mismatch": r.outgoing_mismatch,
            "init_outgoing_mismatch": r.init_outgoing_mismatch,
            "input_used": r.input_used,
            "input_channels": r.input_channels,
            "direction_pairing": r.direction_pairing,
            "init_direction_pairing": r.init_direction_pairing,
            "outgoing_match": r.outgoing_match,
            "init_outgoing_match": r.init_outgoing_match,
            "movement": r.movement,
        }
        for r in records
    ]
    return pd.DataFrame(rows, columns=WEIGHT_COLUMNS)


# --- inspector -------------------------------------------------------------------------------


def tensor_frame(ckpt: Checkpoint) -> pd.DataFrame:
    """name, shape, dtype and parameter count of every stored tensor."""
    rows = [
        {
            "tensor": n,
            "shape": str(list(t.shape)),
            "dtype": str(t.dtype).removeprefix("torch."),
            "parameters": int(t.numel()),
        }
        for n, t in ckpt.params.items()
    ]
    return pd.DataFrame(rows, columns=["tensor", "shape", "dtype", "parameters"])
