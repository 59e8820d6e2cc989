"""Per-channel tables, mirror-paired atoms, equivariance, oscillations, and the analyze CLI."""

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rflr.cli import analyze
from rflr.core.config import DenseConfig, RFLRConfig, RunConfig
from rflr.core.model import init_params, outgoing_weights, partial_layers
from rflr.core.targets import symmetric_grid
from rflr.files import checkpoint
from rflr.measure import channels, metrics
from rflr.measure.evaluate import checkpoint_metrics, partials_on_grid
from tests.conftest import write_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def mirror_paired_params(cfg: RunConfig, seed: int = 0) -> tuple[dict, np.ndarray]:
    """Parameters whose atoms come in exact mirror pairs (i, i + N/2) with equal outgoing
    weights; everything after the atoms is random. Returns (params, pairing permutation)."""
    m = cfg.model
    params = init_params(m, torch.Generator().manual_seed(seed), torch.float64)
    half = m.width // 2
    w, b = params["atoms.weight"][:half], params["atoms.bias"][:half]
    w_mirror = w.clone()
    w_mirror[:, 0] *= -1
    params["atoms.weight"] = torch.cat([w, w_mirror])
    params["atoms.bias"] = torch.cat([b, b])
    key = "bottleneck.1.down" if isinstance(m, RFLRConfig) else "hidden.1.weight"
    if m.depth == 1:
        key = "readout.weight"
    o = params[key][:, :half]
    params[key] = torch.cat([o, o], dim=1)  # O[:, i] = O[:, i + N/2]
    pair = np.concatenate([np.arange(half, 2 * half), np.arange(half)])
    return params, pair


def run_cfg(model) -> RunConfig:
    return RunConfig(model=model)


# --- channel table -----------------------------------------------------------------------


def test_channel_table_agrees_with_layer_defect():
    cfg = run_cfg(DenseConfig(width=16, depth=3))
    params = init_params(cfg.model, torch.Generator().manual_seed(3), torch.float64)
    grid = symmetric_grid(cfg.target.domain, 257)
    z = partials_on_grid(cfg, params, grid)
    for name in partial_layers(cfg.model):
        out = outgoing_weights(cfg.model, params, name).numpy()
        table = channels.channel_table(z[name], out, grid.mirror, 0.1, 0.2)
        summary = metrics.layer_defect(z[name], out, grid.mirror, 0.1, 0.2)
        assert table.active.sum() == summary["active"]
        assert np.mean(table.defect[table.active]) == pytest.approx(summary["defect_mean"])
        for kind, n in table.counts().items():
            assert n == summary[kind]
        assert list(table.parity) == list(metrics.parity(table.defect, 0.2))


# --- mirror-paired atoms -----------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        RFLRConfig(width=16, rank=2, depth=3),
        DenseConfig(width=16, depth=2),
        RFLRConfig(width=16, depth=1),
        RFLRConfig(width=16, rank=3, depth=3, input_dim=2),
    ],
    ids=["rflr", "dense", "depth1", "rflr-d2"],
)
def test_exact_mirror_pairs_give_zero_defects_and_even_partials(model):
    cfg = run_cfg(model)
    params, pair = mirror_paired_params(cfg)
    grid = symmetric_grid(cfg.target.domain, 257, model.input_dim)
    z = partials_on_grid(cfg, params, grid)
    p = channels.atom_pairing_of(model, params, z)
    assert p.pairing_defect < 1e-12
    assert p.outgoing_mismatch < 1e-12
    assert np.array_equal(p.perm[p.alive], pair[p.alive])
    if model.depth > 1:  # every channel of every partial layer is even
        for name in partial_layers(model):
            assert np.nanmax(metrics.odd_fraction(z[name], grid.mirror)) < 1e-12
    rec = checkpoint_metrics(cfg, params, grid_points=257)
    assert rec.atom_pairing_defect < 1e-12
    assert rec.atom_outgoing_mismatch < 1e-12
    assert rec.alive_atoms == p.alive_count


@pytest.mark.parametrize("input_dim", [1, 2])
def test_random_atoms_are_not_paired(input_dim):
    cfg = run_cfg(RFLRConfig(width=16, depth=2, input_dim=input_dim))
    params = init_params(cfg.model, torch.Generator().manual_seed(1), torch.float64)
    grid = symmetric_grid(cfg.target.domain, 257, input_dim)
    p = channels.atom_pairing_of(cfg.model, params, partials_on_grid(cfg, params, grid))
    assert p.pairing_defect > 0.1
    assert p.outgoing_mismatch > 0.1


def test_pairing_is_the_best_permutation_by_brute_force():
    rng = np.random.default_rng(0)
    w, b, o = rng.normal(size=(6, 2)), rng.normal(size=6), rng.normal(size=(6, 3))
    alive = np.ones(6, dtype=bool)
    p = channels.atom_pairing(w, b, o, alive)
    atoms = np.column_stack([w, b])
    mirrored = np.column_stack([-w[:, :1], w[:, 1:], b])

    def cost(perm):
        return sum(np.sum((atoms[perm[i]] - mirrored[i]) ** 2) for i in range(6))

    best = min(itertools.permutations(range(6)), key=cost)
    assert cost(p.perm) == pytest.approx(cost(best), rel=1e-12)
    assert p.pairing_defect == pytest.approx(cost(best) / np.sum(atoms**2), rel=1e-12)
    mismatch = np.sum((o[p.perm] - o) ** 2) / np.sum(o**2)
    assert p.outgoing_mismatch == pytest.approx(mismatch, rel=1e-12)
    assert p.pairs.shape == (6, 2) and p.pair_outgoing.shape == (6, 2, 3)


def test_dead_atoms_take_no_part():
    w = np.array([[1.0], [-1.0], [0.01], [0.1]])
    b = np.array([0.5, 0.5, -10.0, 1.0])  # atom 2 is dead on [-pi, pi]
    o = np.array([[1.0], [1.0], [5.0], [3.0]])
    cfg = RFLRConfig(width=4, depth=1)
    partials = {"atoms.h": np.maximum(w * np.linspace(-np.pi, np.pi, 101) + b[:, None], 0)}
    alive = channels.alive_atoms(cfg, partials)
    assert alive.tolist() == [True, True, False, True]
    p = channels.atom_pairing(w, b, o, alive)
    assert p.perm.tolist()[:3] == [1, 0, -1]
    assert p.perm[3] == 3  # (0.1, 1) mirrors to (-0.1, 1): nearest is itself, at 0.04
    expected = 0.04 / (1.25 + 1.25 + 1.01)
    assert p.pairing_defect == pytest.approx(expected)
    assert p.outgoing_mismatch == 0.0
    assert channels.alive_atoms(DenseConfig(width=4, activation="tanh"), partials).all()


def test_no_alive_atom_gives_nan():
    p = channels.atom_pairing(np.ones((3, 1)), np.zeros(3), np.ones((3, 1)), np.zeros(3, bool))
    assert np.isnan(p.pairing_defect) and np.isnan(p.outgoing_mismatch)
    assert (p.perm == -1).all() and p.alive_count == 0


# --- equivariance ------------------------------------------------------------------------


def test_equivariant_dense_layer_with_asymmetric_units():
    """Mirror-paired atoms, then a dense layer whose weights commute with the pairing: the
    reflection permutes the units exactly, though each unit alone is far from even."""
    cfg = run_cfg(DenseConfig(width=16, depth=2))
    params, pair = mirror_paired_params(cfg, seed=2)
    perm_matrix = torch.eye(16, dtype=torch.float64)[pair]
    a = torch.randn(16, 16, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    params["hidden.1.weight"] = a + perm_matrix @ a @ perm_matrix.T  # W[P i, P j] = W[i, j]
    params["hidden.1.bias"] = params["hidden.1.bias"] + params["hidden.1.bias"][pair]
    grid = symmetric_grid(cfg.target.domain, 257)
    z = partials_on_grid(cfg, params, grid)
    for name in ("atoms.h", "hidden.1.h"):
        e = channels.equivariance(z[name], grid.mirror)
        assert e.defect < 1e-12
        active = np.ptp(z[name], axis=1) > 0
        assert np.array_equal(e.perm[active], pair[active])
        assert np.nanmean(e.unit_defect) > 0.1  # single units are asymmetric
    assert set(channels.equivariance_of(cfg.model, z, grid.mirror)) == {"atoms.h", "hidden.1.h"}


def test_equivariance_against_brute_force_and_random_layer():
    rng = np.random.default_rng(1)
    h = rng.normal(size=(5, 21)).cumsum(axis=1)
    mirror = np.arange(21)[::-1]
    e = channels.equivariance(h, mirror)
    hr = h[:, mirror]

    def cost(perm):
        return np.sum((hr - h[list(perm)]) ** 2)

    best = min(itertools.permutations(range(5)), key=cost)
    energy = np.sum((h - h.mean(axis=1, keepdims=True)) ** 2)
    assert e.defect == pytest.approx(cost(best) / energy, rel=1e-12)
    assert e.defect > 0.1
    assert np.isnan(channels.equivariance(np.ones((3, 21)), mirror).defect)


# --- oscillations ------------------------------------------------------------------------


def naive_hysteresis(z: np.ndarray, tol: float) -> int:
    """The same walk over every grid point: the reference for the turning-point shortcut."""
    eps = tol * (z.max() - z.min())
    count, direction, extreme = 0, 0, z[0]
    if z.max() == z.min():
        return 0
    for v in z[1:]:
        if direction == 0:
            if abs(v - extreme) > eps:
                direction, extreme = (1 if v > extreme else -1), v
        elif direction * (v - extreme) >= 0:
            extreme = v
        elif abs(v - extreme) > eps:
            count, direction, extreme = count + 1, -direction, v
    return count


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
def test_cosine_oscillations_count_interior_extrema(k):
    x = np.linspace(-np.pi, np.pi, 1025)
    z = np.cos(k * x)
    assert channels.oscillation_count(z) == 2 * k - 1  # the endpoints x = +-pi do not count
    noisy = z + 1e-9 * np.random.default_rng(k).standard_normal(len(x))
    assert channels.oscillation_count(noisy) == 2 * k - 1
    assert channels.oscillation_count(np.sin(k * x)) == 2 * k


def test_oscillation_tolerance_and_flat_signals():
    x = np.linspace(-1, 1, 1001)
    assert channels.oscillation_count(np.zeros(11)) == 0
    assert channels.oscillation_count(x) == 0
    wiggle = x + 0.02 * np.sin(40 * x)  # slope 1 + 0.8 cos: monotone, no extremum at all
    assert channels.oscillation_count(wiggle) == 0
    bumps = x + 0.005 * np.sign(np.sin(40 * x))  # 0.25% of the range: below the 1% tolerance
    assert channels.oscillation_count(bumps) == 0
    assert channels.oscillation_count(bumps, tol=1e-3) > 10


def test_turning_point_shortcut_matches_the_full_walk():
    rng = np.random.default_rng(0)
    for _ in range(50):
        z = rng.normal(size=200).cumsum()
        if rng.random() < 0.5:
            z = np.round(z)  # repeated values: zero increments
        for tol in (0.0, 0.01, 0.1):
            assert channels.oscillation_count(z, tol) == naive_hysteresis(z, tol)


def test_oscillations_median_over_active_channels():
    x = np.linspace(-np.pi, np.pi, 513)
    z = np.stack([np.cos(k * x) for k in (1, 2, 3, 4)])
    assert channels.oscillation_counts(z).tolist() == [1, 3, 5, 7]
    assert channels.oscillations_median(z, np.array([1, 1, 1, 0], bool)) == 3.0
    assert np.isnan(channels.oscillations_median(z, np.zeros(4, bool)))


def test_checkpoint_metrics_store_the_cheap_measurements():
    cfg = run_cfg(RFLRConfig(width=16, depth=3))
    params = init_params(cfg.model, torch.Generator().manual_seed(0))
    rec = checkpoint_metrics(cfg, params, grid_points=257)
    for key in ("atom_pairing_defect", "atom_outgoing_mismatch", "alive_atoms"):
        assert hasattr(rec, key)
    assert all(hasattr(layer, "oscillations_median") for layer in rec.layers)
    d2 = run_cfg(RFLRConfig(width=16, depth=2, input_dim=2))
    rec2 = checkpoint_metrics(d2, init_params(d2.model, torch.Generator()), grid_points=257)
    assert rec2.layers[0].oscillations_median is None  # no order on the d > 1 grid: undefined


# --- CLI ---------------------------------------------------------------------------------


@pytest.fixture
def ckpt_files(tmp_path):
    paths = []
    for model in (RFLRConfig(width=16, depth=3), DenseConfig(width=16, depth=2)):
        cfg = run_cfg(model)
        params = init_params(model, torch.Generator().manual_seed(0))
        paths.append(write_checkpoint(tmp_path / f"{model.kind}.safetensors", cfg, params, 100))
    return paths


@pytest.fixture
def one_thread():
    """As `python -m rflr.analyze` runs: tiny models are slowest with threads on a busy box."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_cli_prints_tables(ckpt_files, capsys, one_thread):
    assert analyze.main([str(p) for p in ckpt_files] + ["--basin", "--hessian"]) == 0
    out = capsys.readouterr().out
    for text in (
        "bottleneck.2.z",
        "hidden.1.u",
        "pairing defect",
        "equivariance",
        "weight symmetry",
        "direction pairing (init)",  # the rescale-invariant table
        "moved from init",
        "flat radius",
        "top Hessian eigenvalue",
    ):
        assert text in out


def test_cli_json_uses_the_stored_measurements(ckpt_files, capsys):
    assert analyze.main([str(ckpt_files[0]), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    stored = checkpoint.read_header(ckpt_files[0]).metrics
    got = records[0]["metrics"]
    assert got["headline_defect"] == pytest.approx(stored.headline_defect, rel=1e-12)
    assert got["atom_pairing_defect"] == pytest.approx(stored.atom_pairing_defect, rel=1e-12)
    assert set(records[0]["equivariance"]) == {"atoms.h", "bottleneck.1.h", "bottleneck.2.h"}
    weights = records[0]["weight_symmetry"]  # rflr.measure.weight_symmetry, its layer 0 the atoms'
    assert [w["name"] for w in weights] == ["atoms.h", "bottleneck.1.h", "bottleneck.2.h"]
    assert weights[0]["pairing_defect"] == pytest.approx(stored.atom_pairing_defect, rel=1e-12)
    assert {"direction_pairing", "outgoing_match", "init_outgoing_match", "movement"} <= set(
        weights[0]
    )
    assert "basin" not in records[0]


def test_cli_reports_bad_files_and_continues(ckpt_files, tmp_path):
    """As a real process: the module entry point, stderr, and the exit code."""
    bad = tmp_path / "corrupt.safetensors"
    bad.write_bytes(b"\x00" * 5)
    cmd = [sys.executable, "-m", "rflr.analyze", str(bad), str(ckpt_files[1]), "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 1 and "corrupt.safetensors" in errors[0]
    records = json.loads(done.stdout)
    assert "error" in records[0] and records[1]["config"]["model"] == "dense"


def test_cli_numbers_are_the_apps_numbers_on_a_shipped_file(capsys):
    """`python -m rflr.analyze <shipped file>` and the explorer's depth profile agree."""
    from pathlib import Path

    from rflr.files.checkpoint import load
    from rflr.views import data

    path = (
        Path(__file__).resolve().parents[1]
        / "checkpoints/rflr-w128-r2-L4-even-s2/step-00030000.safetensors"
    )
    assert analyze.main([str(path), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    cli = cli[0] if isinstance(cli, list) else cli
    ckpt = load(path)
    p = data.compute_partials(ckpt)
    app = data.depth_profile(p).set_index("layer")
    for layer in cli["metrics"]["layers"]:
        assert app.loc[layer["name"], "defect_mean"] == pytest.approx(
            layer["defect_mean"], rel=1e-12
        )
        assert app.loc[layer["name"], "active"] == layer["active"]
    assert data.output_defect(p) == pytest.approx(cli["metrics"]["output_defect"], rel=1e-12)
    # and both agree with what the trainer stored in the file
    assert cli["metrics"]["headline_defect"] == pytest.approx(
        ckpt.metrics.headline_defect, rel=1e-9
    )
