"""The metadata boundary: every hostile header class is a CheckpointError naming the file and
the field; valid headers come back as typed records; fuzzed headers never raise anything else."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rflr.core.config import RFLRConfig, RunConfig, TargetConfig, TrainConfig
from rflr.files.checkpoint import CheckpointError, list_checkpoints, load, read_header
from rflr.files.header import HISTORY_MAX, JSON_MAX_CHARS, NESTING_MAX, History, parse_json
from rflr.measure.record import LayerMetrics, Metrics
from tests import hostile


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile")


@pytest.mark.parametrize("name", sorted(hostile.HEADER_CASES))
def test_each_hostile_header_is_refused_naming_file_and_field(folder, name):
    path = hostile.write_header_case(folder, name)
    fragment = hostile.HEADER_CASES[name][1]
    for read in (read_header, load):
        with pytest.raises(CheckpointError) as e:
            read(path)
        message = str(e.value)
        assert message.startswith(str(path)) and fragment in message, message
        assert len(message) < 400 + len(str(path))  # one line, never a dump of the input
        assert "\n" not in e.value.reason


@pytest.mark.parametrize("name", sorted(hostile.ACCEPTED_CASES))
def test_unusual_but_valid_headers_load(folder, name):
    path = hostile.write_header_case(folder, name)
    ckpt = load(path)
    assert isinstance(ckpt.metrics, Metrics) and isinstance(ckpt.history, History)
    if name == "run-id-markdown":
        assert ckpt.config.run_id == hostile.MARKDOWN_RUN_ID  # kept as data, escaped by viewers
    if name == "no-metrics-no-history":
        assert ckpt.metrics == Metrics() and ckpt.history.step == []
        assert ckpt.status == "unknown"  # nothing says it trained fine (metrics.run_status)


def test_valid_header_becomes_typed_records(tmp_path):
    path = hostile.write_valid(tmp_path / "a.safetensors")
    h = read_header(path)
    assert h.step == 20 and h.metrics.status == "ok" and h.metrics.test_mse == 0.5
    assert h.metrics.layers == [LayerMetrics("bottleneck.1.z", 0.2, 0.2, 0.3, 2, 2, 0, 0, 2, 1.0)]
    assert h.history == History([0, 10, 20], [1.0, 0.5, None], [1.1, 0.6, 0.4])
    # every field is an attribute; the record writes the JSON it came from
    assert h.metrics.grid_points == 1025 and h.metrics.layers[0].name == "bottleneck.1.z"
    assert h.history.test_mse == [1.1, 0.6, 0.4]
    assert json.loads(h.metrics.to_json())["layers"][0]["active"] == 2


def test_transverse_target_terms_round_trip_and_old_headers_lack_them(tmp_path):
    cfg = RunConfig(
        RFLRConfig(width=8, rank=2, depth=2, input_dim=3),
        TargetConfig(transverse=[[1, 2, 0.5], [0, 1.5, -0.25]]),
        TrainConfig(steps=20),
    )
    ckpt = load(hostile.write_valid(tmp_path / "t.safetensors", cfg))
    assert ckpt.config == cfg and ckpt.config.target.transverse == [[1, 2, 0.5], [0, 1.5, -0.25]]
    # without transverse terms the header is the one written before they existed: no key,
    # and such a file reads back with none
    old = hostile.write_valid(tmp_path / "old.safetensors")
    assert "transverse" not in json.loads(hostile.metadata(old)["rflr.config"])["target"]
    assert load(old).config.target.transverse == []


def test_json_bounds_are_checked_without_recursion():
    assert parse_json("f", "[" * (NESTING_MAX - 1) + "]" * (NESTING_MAX - 1)) is not None
    for text in ("[" * (NESTING_MAX + 1) + "]" * (NESTING_MAX + 1), "[" * 10**6):
        with pytest.raises(ValueError, match="f: "):
            parse_json("f", text)
    with pytest.raises(ValueError, match="more than"):
        parse_json("f", " " * (JSON_MAX_CHARS + 1))
    with pytest.raises(ValueError, match="expected JSON text"):
        parse_json("f", 3)


def test_history_at_the_cap_is_accepted():
    n = HISTORY_MAX
    h = History.parse(json.dumps({"step": list(range(n)), "train_loss": [1.0] * n}))
    assert len(h.step) == n and h.test_mse == []


def test_existing_writer_output_round_trips(tmp_path, tiny_dense):
    """What the trainer's metrics function writes passes the boundary unchanged."""
    from tests.test_checkpoint import make

    path = make(tmp_path / "d.safetensors", tiny_dense)
    c = load(path)
    assert c.metrics.layers[0].name == "hidden.1.u"
    assert all(v is None or math.isfinite(v) for v in c.history.test_mse)


# --- property-based: mutated valid headers either load or raise CheckpointError ----------------

_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
_json = st.recursive(
    _json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def _paths(value, prefix=()):
    """Every (path, value) inside a JSON value, for picking a spot to mutate."""
    yield prefix, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


def _set(value, path, new):
    if not path:
        return new
    node = value
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = new
    return value


_FIELDS = ("rflr.config", "rflr.metrics", "rflr.history")


@st.composite
def _mutation(draw):
    field = draw(st.sampled_from((*_FIELDS, "rflr.step", "rflr.format_version")))
    kind = draw(st.sampled_from(("replace", "wrap", "text", "nest", "big")))
    return field, kind, draw(_json), draw(st.integers(0, 10**6)), draw(st.text(max_size=30))


@pytest.fixture(scope="module")
def valid_meta(tmp_path_factory):
    path = hostile.write_valid(tmp_path_factory.mktemp("fuzz") / "valid.safetensors")
    return path, hostile.metadata(path)


@settings(
    max_examples=200,
    deadline=None,
    database=None,  # no .hypothesis/ folder in the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(mutation=_mutation())
def test_fuzzed_headers_load_or_raise_checkpoint_error(valid_meta, tmp_path_factory, mutation):
    field, kind, new, number, text = mutation
    source, meta = valid_meta
    changes = {}
    if field in _FIELDS:
        value = json.loads(meta[field])
        spots = list(_paths(value))
        spot, old = spots[number % len(spots)]
        if kind == "replace":
            value = _set(value, spot, new)
        elif kind == "wrap":
            value = _set(value, spot, [old])
        elif kind == "nest":
            value = _set(value, spot, json.loads("[" * (number % 40) + "0" + "]" * (number % 40)))
        elif kind == "big":
            value = _set(value, spot, number * 10 ** (number % 40))
        changes[field] = text if kind == "text" else json.dumps(value)
    else:
        changes[field] = text if kind == "text" else str(number * 10 ** (number % 30))
    path = tmp_path_factory.mktemp("f") / "x.safetensors"
    path.write_bytes(source.read_bytes())
    hostile.rewrite(path, **changes)
    for read in (read_header, load):
        try:
            read(path)
        except CheckpointError as e:
            assert str(path) in str(e) and "\n" not in e.reason
    # a folder holding the file: one row, a header or an error, never an exception
    (row,) = list_checkpoints(path.parent)
    assert (row.header is None) != (row.error is None)
