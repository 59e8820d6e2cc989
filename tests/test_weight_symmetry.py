"""Weight symmetry per layer, against hand-built exactly weight-symmetric networks."""

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from rflr.core.config import DenseConfig, RFLRConfig, RunConfig
from rflr.core.model import build, init_params, outgoing_weights
from rflr.core.seeds import initial_params
from rflr.core.targets import Grid, symmetric_grid
from rflr.files.checkpoint import load
from rflr.measure import channels, metrics
from rflr.measure.evaluate import partials_on_grid
from rflr.measure.rescaling import _products
from rflr.measure.weight_symmetry import layer_pairing, unit_layers, weight_symmetry_of

ROOT = Path(__file__).resolve().parents[1]
HALF = 8  # units i and i + HALF are mirror partners in the hand-built networks


def _pair_rows(t: torch.Tensor, sign: torch.Tensor | float = 1.0) -> None:
    """Rows i + HALF := sign * rows i (in place): unit i + HALF is unit i's mirror."""
    t[HALF:] = sign * t[:HALF]


def _pair_cols(t: torch.Tensor, sign: torch.Tensor) -> None:
    """Columns i + HALF := sign[f] * columns i, row f by row f: each fed channel f is even
    (sign +1) or odd (sign -1) in x."""
    t[:, HALF:] = sign[:, None] * t[:, :HALF]


def symmetric_rflr(seed: int = 0) -> tuple[RunConfig, dict[str, torch.Tensor]]:
    """RF-LR whose every layer is mirror-paired: atoms (w, b) / (-w, b); the bottleneck
    channels z_1 have parities (-, +, -) and z_2 (+, -, +); the units of each later layer
    pair under those signs; the readout is matched, so y is even."""
    cfg = RunConfig(RFLRConfig(width=2 * HALF, rank=3, depth=3), seed=seed)
    p = init_params(cfg.model, torch.Generator().manual_seed(seed), torch.float64)
    _pair_rows(p["atoms.weight"], -1.0)
    _pair_rows(p["atoms.bias"])
    for k, sign in ((1, torch.tensor([-1.0, 1, -1])), (2, torch.tensor([1.0, -1, 1]))):
        _pair_cols(p[f"bottleneck.{k}.down"], sign)  # z_k[j] has parity sign[j]
        _pair_rows(p[f"bottleneck.{k}.up"], sign)  # U[i + HALF] = sign * U[i]
        _pair_rows(p[f"bottleneck.{k}.bias"])
    _pair_cols(p["readout.weight"], torch.ones(1))
    return cfg, p


def symmetric_dense(seed: int = 0) -> tuple[RunConfig, dict[str, torch.Tensor]]:
    """A tanh MLP: mirror-paired atoms (each one mixed); W_1 makes every u_1 channel even or
    odd (odd ones without bias), so the units of h_2 = tanh(u_1) have pure parities; the units
    of h_3 pair under those parities; the readout is matched."""
    cfg = RunConfig(DenseConfig(width=2 * HALF, depth=3, activation="tanh"), seed=seed)
    p = init_params(cfg.model, torch.Generator().manual_seed(seed), torch.float64)
    # steps at |x| in [1.3, 1.7]: clearly mixed; not all at one place, since in d = 1 atoms
    # with one step and side share a direction, and pairing among equals would be arbitrary
    place = 1.3 + 0.4 * torch.rand(2 * HALF, generator=torch.Generator().manual_seed(seed + 7))
    p["atoms.bias"] = place.double() * p["atoms.weight"][:, 0].abs()
    _pair_rows(p["atoms.weight"], -1.0)
    _pair_rows(p["atoms.bias"])
    sign = torch.tensor([1.0, -1] * HALF)
    _pair_cols(p["hidden.1.weight"], sign)
    p["hidden.1.bias"][sign < 0] = 0.0
    _pair_rows(p["hidden.2.weight"], sign)
    _pair_rows(p["hidden.2.bias"])
    _pair_cols(p["readout.weight"], torch.ones(1))
    return cfg, p


def measure(cfg: RunConfig, p: dict[str, torch.Tensor], **kw) -> tuple[dict, dict, Grid]:
    """Weight symmetry by layer name, the partials and the grid (257 points: fast)."""
    grid = symmetric_grid(cfg.target.domain, 257, cfg.model.input_dim)
    z = partials_on_grid(cfg, p, grid)
    return {r.name: r for r in weight_symmetry_of(cfg, p, z, grid, **kw)}, z, grid


def permuted(cfg: RunConfig, p: dict[str, torch.Tensor], seed: int = 1) -> dict:
    """The same function with every layer's units (and every bottleneck's channels)
    shuffled: rows of the incoming weights and bias, columns of what they feed."""
    gen = torch.Generator().manual_seed(seed)
    q = {k: v.clone() for k, v in p.items()}
    layers = unit_layers(cfg.model)
    feeds = [layer.weight for layer in layers[1:]] + ["readout.weight"]
    if isinstance(cfg.model, RFLRConfig):
        feeds = [f"bottleneck.{k}.down" for k in range(1, cfg.model.depth)] + ["readout.weight"]
    for layer, feed in zip(layers, feeds, strict=True):
        pi = torch.randperm(cfg.model.width, generator=gen)
        q[layer.weight], q[layer.bias], q[feed] = (
            q[layer.weight][pi],
            q[layer.bias][pi],
            q[feed][:, pi],
        )
    for k in range(1, cfg.model.depth if isinstance(cfg.model, RFLRConfig) else 1):
        pi = torch.randperm(cfg.model.rank, generator=gen)
        q[f"bottleneck.{k}.down"] = q[f"bottleneck.{k}.down"][pi]
        q[f"bottleneck.{k}.up"] = q[f"bottleneck.{k}.up"][:, pi]
    return q


BUILDERS = {"rflr": symmetric_rflr, "dense": symmetric_dense}


@pytest.mark.parametrize("kind", BUILDERS)
def test_hand_built_symmetric_networks_have_zero_defects(kind):
    cfg, p = BUILDERS[kind]()
    ws, z, grid = measure(cfg, p)
    assert metrics.odd_fraction(z["readout.y"][0], grid.mirror) < 1e-20  # the function is even
    for r in ws.values():
        assert r.alive >= 4 and r.alive % 2 == 0  # dead units die in pairs
        assert r.pairing_defect < 1e-24, r.name
        if r.trivial:  # every unit is its own mirror: nothing to check on the outgoing side
            continue
        assert r.outgoing_mismatch < 1e-24, r.name
        assert_mirror_partners(r)
        assert r.init_pairing_defect > 1e-2  # the seed's random init is far from paired


def assert_mirror_partners(r) -> None:
    """The partner of alive unit i is i + HALF (mod 2 HALF); dead units are unmatched."""
    alive = r.perm >= 0
    partner = (np.arange(2 * HALF) + HALF) % (2 * HALF)
    assert np.array_equal(r.perm[alive], partner[alive]) and np.all(alive[partner[alive]])


def test_rflr_layers_see_the_parities_of_their_inputs_and_results():
    cfg, p = symmetric_rflr()
    ws, _, _ = measure(cfg, p)
    for name in ("atoms.h", "bottleneck.1.h", "bottleneck.2.h"):
        r = ws[name]
        assert not r.trivial and r.self_paired == 0
        assert r.input_used == r.input_channels and r.input_mixed == r.input_inactive == 0
        assert r.result_used == r.result_channels
        assert_mirror_partners(r)
        assert r.outgoing_mismatch < 1e-24
    # z_1 has odd channels, so the atoms' outgoing weights are anti-matched there: the
    # unsigned (SPEC atom) mismatch is large, the signed one is 0
    assert ws["atoms.h"].outgoing_mismatch_matched > 0.1


def test_dense_mixed_inputs_are_left_out_and_counted():
    cfg, p = symmetric_dense()
    ws, _, _ = measure(cfg, p)
    h2 = ws["hidden.1.h"]  # its inputs are the atoms, every one mixed
    assert h2.input_mixed == 2 * HALF and h2.input_used == 0 and h2.trivial
    assert h2.self_paired == 2 * HALF
    h3 = ws["hidden.2.h"]  # its inputs are h_2, every one even or odd
    assert h3.input_used == 2 * HALF and not h3.trivial and h3.self_paired == 0
    assert ws["atoms.h"].result_used == 2 * HALF  # u_1: even and odd channels


@pytest.mark.parametrize("kind", BUILDERS)
def test_unit_permutations_leave_the_defects_unchanged(kind):
    cfg, p = BUILDERS[kind]()
    q = permuted(cfg, p)
    ws, z, grid = measure(cfg, q)
    ref, z_ref, _ = measure(cfg, p)
    assert np.allclose(z["readout.y"], z_ref["readout.y"], atol=1e-12)  # the same function
    assert any(not torch.equal(p[k], q[k]) for k in p)
    for name, r in ws.items():
        want = ref[name].record()
        for key, value in r.record().items():
            if key.startswith("init_") or key == "movement":  # against an init not permuted
                continue
            if isinstance(value, float):
                assert value == pytest.approx(want[key], abs=1e-12, nan_ok=True), (name, key)
            else:
                assert value == want[key], (name, key)
        assert r.pairing_defect < 1e-24


@pytest.mark.parametrize("kind", BUILDERS)
def test_broken_copies_have_clear_defects(kind):
    cfg, p = BUILDERS[kind]()
    layers = unit_layers(cfg.model)
    q = {k: v.clone() for k, v in p.items()}
    q[layers[1].weight][0] += 0.5  # one unit of h_2 loses its partner
    q[layers[2].weight][1] += 0.5
    q["readout.weight"][0, 3] += 0.5  # one pair of last units feeds the output unequally
    ws, _, _ = measure(cfg, q)
    if kind == "rflr":  # (dense h_2 sees only mixed inputs: nothing to break there)
        assert ws[layers[1].name].pairing_defect > 1e-3
    assert ws[layers[2].name].pairing_defect > 1e-3
    assert ws[layers[2].name].outgoing_mismatch_matched > 1e-3


def test_layer_pairing_is_the_best_signed_permutation_by_brute_force():
    rng = np.random.default_rng(0)
    n, k, f = 5, 3, 2
    w, b, o = rng.normal(size=(n, k)), rng.normal(size=n), rng.normal(size=(n, f))
    in_sign, out_sign = np.array([-1.0, 0, 1]), np.array([1.0, -1])
    got = layer_pairing(w, b, in_sign, o, out_sign, np.ones(n, bool))
    v = np.concatenate([w[:, [0, 2]], b[:, None]], 1)
    mv = np.concatenate([w[:, [0, 2]] * [-1, 1], b[:, None]], 1)
    best = min(np.sum((v[list(pi)] - mv) ** 2) for pi in itertools.permutations(range(n)))
    assert got.pairing_defect == pytest.approx(best / np.sum(v**2), rel=1e-12)
    pi = got.perm
    assert got.outgoing_mismatch == pytest.approx(
        np.sum((o[pi] - out_sign * o) ** 2) / np.sum(o**2), rel=1e-12
    )


def atom_pairing_with(cfg, params, alive) -> channels.AtomPairing:
    """The atoms' SPEC pairing of `params`, over a given alive set."""
    p64 = {k: v.to(torch.float64) for k, v in params.items()}
    out = outgoing_weights(cfg.model, p64, "atoms.h").numpy()
    return channels.atom_pairing(p64["atoms.weight"].numpy(), p64["atoms.bias"].numpy(), out, alive)


def test_init_levels_are_the_defects_of_the_seed_init_on_the_same_units(tiny_rflr):
    cfg = tiny_rflr
    p = init_params(cfg.model, torch.Generator().manual_seed(3), torch.float64)
    ws, z, grid = measure(cfg, p)
    init = initial_params(cfg, torch.float64)
    atoms_init = atom_pairing_with(cfg, init, channels.alive_atoms(cfg.model, z))
    assert ws["atoms.h"].init_pairing_defect == pytest.approx(atoms_init.pairing_defect, rel=1e-12)
    assert ws["atoms.h"].init_outgoing_mismatch_matched == pytest.approx(
        atoms_init.outgoing_mismatch, rel=1e-12
    )
    ws_init, _, _ = measure(cfg, init)
    for r in ws_init.values():  # measured at its own init: trained level = init level
        for key in ("pairing_defect", "identity_defect", "outgoing_mismatch"):
            assert getattr(r, key) == pytest.approx(getattr(r, "init_" + key), nan_ok=True)
    assert ws_init["atoms.h"].pairing_defect > 0.01  # random atoms are not paired
    # every unit its own mirror: |v - Rv|^2 = 4 |odd part|^2, an upper bound of the pairing
    for r in ws.values():
        assert r.pairing_defect <= r.identity_defect + 1e-12


@pytest.mark.parametrize(
    "run", ["rflr-w128-r2-L4-even-s1", "dense-w128-L4-even-s1"], ids=["rflr", "dense"]
)
def test_layer_zero_is_the_atom_pairing_on_a_shipped_file(run):
    """The atoms' record is exactly rflr.measure.channels.atom_pairing (the stored SPEC numbers), and
    the seed-derived init is the run's step-0 snapshot."""
    final = load(ROOT / "checkpoints" / run / "step-00030000.safetensors")
    start = load(ROOT / "checkpoints" / run / "step-00000000.safetensors")
    cfg = final.config
    grid = symmetric_grid(cfg.target.domain, 1025, cfg.model.input_dim)
    z = partials_on_grid(cfg, final.params, grid)
    ws = weight_symmetry_of(cfg, final.params, z, grid)
    atoms = channels.atom_pairing_of(cfg.model, final.params, z)
    assert ws[0].name == "atoms.h" and ws[0].alive == atoms.alive_count
    assert ws[0].pairing_defect == pytest.approx(atoms.pairing_defect, rel=1e-12)
    assert ws[0].outgoing_mismatch_matched == pytest.approx(atoms.outgoing_mismatch, rel=1e-12)
    assert ws[0].pairing_defect == pytest.approx(final.metrics.atom_pairing_defect, rel=1e-6)
    at_start = atom_pairing_with(cfg, start.params, atoms.alive)  # the step-0 file, float32
    assert ws[0].init_pairing_defect == pytest.approx(at_start.pairing_defect, rel=1e-5)
    assert len(ws) == cfg.model.depth


# --- the rescale-invariant measures ---------------------------------------------------------

INVARIANT = ("direction_pairing", "outgoing_match")  # trained numbers, on the unit indices


def rescaled(cfg: RunConfig, p: dict[str, torch.Tensor], seed: int = 2) -> dict:
    """The same ReLU function with every unit scaled by c in [0.25, 4] (its incoming weights
    and bias) and what it feeds by 1 / c; RF-LR's linear z channels also by +-c."""
    gen = torch.Generator().manual_seed(seed)
    q = {k: v.clone() for k, v in p.items()}
    products = _products(cfg.model)
    feeds = [w for w, _, _ in products[1:]] + ["readout.weight"]
    for (weight, bias, layer), feed in zip(products, feeds, strict=True):
        n = q[weight].shape[0]
        c = 0.25 * 16 ** torch.rand(n, generator=gen, dtype=torch.float64)  # in [0.25, 4]
        if layer is None:  # a linear channel: any nonzero factor
            c = c * torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0).double()
        q[weight] = q[weight] * c[:, None].to(q[weight].dtype)
        if bias is not None:
            q[bias] = q[bias] * c.to(q[bias].dtype)
        q[feed] = q[feed] / c[None, :].to(q[feed].dtype)
    return q


def relu_dense(seed: int = 0) -> tuple[RunConfig, dict[str, torch.Tensor]]:
    """A ReLU MLP at a random init that is not its own seed's."""
    cfg = RunConfig(DenseConfig(width=2 * HALF, depth=3), seed=seed)
    return cfg, init_params(cfg.model, torch.Generator().manual_seed(seed + 11), torch.float64)


RELU = {"rflr": symmetric_rflr, "dense": relu_dense}


@pytest.mark.parametrize("kind", BUILDERS)
def test_hand_built_symmetric_networks_have_zero_invariant_measures(kind):
    cfg, p = BUILDERS[kind]()
    ws, _, _ = measure(cfg, p)
    for r in ws.values():
        assert r.direction_pairing < 1e-24, r.name
        if r.trivial:
            continue
        assert r.outgoing_match < 1e-24, r.name
        assert np.array_equal(r.direction_perm, r.perm), r.name  # the same mirror partners
        assert r.init_direction_pairing > 1e-2 and r.init_outgoing_match > 1e-2
        assert r.movement > 0.1  # hand-built from another draw than the seed's init


@pytest.mark.parametrize("kind", RELU)
def test_rescaled_and_permuted_copies_give_the_same_invariant_numbers(kind):
    cfg, p = RELU[kind]()
    ref, z_ref, _ = measure(cfg, p)
    for q, compare_init in ((rescaled(cfg, p), True), (permuted(cfg, rescaled(cfg, p)), False)):
        ws, z, _ = measure(cfg, q)
        assert np.allclose(z["readout.y"], z_ref["readout.y"], atol=1e-12)  # the same function
        for name, r in ws.items():
            # the init is neither permuted nor rescaled, but its measure stays on the same
            # units and signs, so only a permutation moves it
            keys = INVARIANT + tuple("init_" + k for k in INVARIANT) * compare_init
            for key in keys:
                assert getattr(r, key) == pytest.approx(
                    getattr(ref[name], key), abs=1e-9, nan_ok=True
                ), (name, key)


def test_the_raw_defects_are_not_rescale_invariant():
    """Why the invariant measures exist: the SPEC's raw pairing defect and outgoing mismatch
    change on a rescaled copy of the same function (by tens of percent here)."""
    cfg, p = relu_dense()
    ref, _, _ = measure(cfg, p)
    ws, _, _ = measure(cfg, rescaled(cfg, p))
    for key in ("pairing_defect", "outgoing_mismatch"):
        assert getattr(ws["atoms.h"], key) != pytest.approx(getattr(ref["atoms.h"], key), rel=1e-6)


@pytest.mark.parametrize("kind", RELU)
def test_init_levels_are_the_invariant_measures_of_the_seed_init(kind):
    cfg, p = RELU[kind]()
    ws, z, grid = measure(cfg, p)
    init = initial_params(cfg, torch.float64)
    # the init, measured on the trained network's units and signs (the init level's rule)
    at_init = {r.name: r for r in weight_symmetry_of(cfg, init, z, grid, init_params=init)}
    for name, r in ws.items():
        for key in INVARIANT:
            assert getattr(r, "init_" + key) == pytest.approx(
                getattr(at_init[name], key), rel=1e-12, nan_ok=True
            )
        assert at_init[name].movement == 0.0
    ws_init, _, _ = measure(cfg, init)  # measured at its own init: trained level = init level
    for r in ws_init.values():
        for key in INVARIANT:
            assert getattr(r, key) == pytest.approx(getattr(r, "init_" + key), nan_ok=True)


@pytest.mark.parametrize("run", ["rflr-w128-r2-L4-even-s1", "dense-w128-L4-even-s1"])
def test_shipped_checkpoint_numbers_survive_permutation_and_rescaling(run):
    final = load(ROOT / "checkpoints" / run / "step-00030000.safetensors")
    cfg = final.config
    p = {k: v.to(torch.float64) for k, v in final.params.items()}
    q = permuted(cfg, rescaled(cfg, p, seed=5), seed=6)
    grid = symmetric_grid(cfg.target.domain, 1025, cfg.model.input_dim)
    x = torch.as_tensor(grid.x, dtype=torch.float64)
    assert torch.allclose(build(cfg.model, q)(x), build(cfg.model, p)(x), atol=1e-10)
    ref = weight_symmetry_of(cfg, p, partials_on_grid(cfg, p, grid), grid)
    got = weight_symmetry_of(cfg, q, partials_on_grid(cfg, q, grid), grid)
    for r, g in zip(ref, got, strict=True):
        assert r.alive == g.alive and r.input_used == g.input_used
        for key in INVARIANT:
            want = pytest.approx(getattr(r, key), abs=1e-9, nan_ok=True)
            assert getattr(g, key) == want, (r.name, key)
    # (an outgoing match is NaN where every result channel is mixed, as with the raw one)
    assert all(np.isfinite(r.direction_pairing) for r in ref)
    assert any(np.isfinite(r.outgoing_match) for r in ref)
