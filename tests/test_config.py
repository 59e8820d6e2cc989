"""rflr.core.config: round trips through the header JSON, validation, json_safe."""

from __future__ import annotations

import json
import math

import pytest

from rflr.core.config import (
    DenseConfig,
    RFLRConfig,
    RunConfig,
    TargetConfig,
    TrainConfig,
    json_safe,
)
from rflr.core.kinds import KIND_LABELS, MODEL_CONFIGS


@pytest.mark.parametrize(
    "cfg",
    [
        RunConfig(RFLRConfig(width=16, rank=3, depth=2), TargetConfig(sines=[[1.0, 0.5]]), seed=7),
        RunConfig(DenseConfig(width=8, depth=1), train=TrainConfig(lr=0.3, steps=11)),
        RunConfig(
            DenseConfig(width=8, depth=1, input_dim=2), TargetConfig(transverse=[[1, 2, 0.5]])
        ),
    ],
)
def test_run_config_round_trips_through_json(cfg):
    back = RunConfig.from_json(cfg.to_json())
    assert back == cfg and back.to_dict() == cfg.to_dict()


def test_run_id_names_the_model_and_seed_and_unknown_kinds_are_refused():
    a = RunConfig(RFLRConfig(width=16, rank=2), seed=3)
    b = RunConfig(DenseConfig(width=16), seed=3)
    assert a.run_id != b.run_id and a.run_id.endswith("s3") and "dense" in b.run_id
    with pytest.raises(ValueError, match="unknown model kind"):
        RunConfig.from_dict({**a.to_dict(), "model": "resnet"})


def test_validate_refuses_impossible_values():
    RunConfig().validate()
    with pytest.raises(ValueError):
        RunConfig(RFLRConfig(depth=0)).validate()
    with pytest.raises(ValueError):
        RunConfig(train=TrainConfig(steps=-1)).validate()


def test_transverse_terms_are_validated_and_stored_only_when_present():
    d2 = RFLRConfig(width=8, rank=1, input_dim=2)
    RunConfig(d2, TargetConfig(transverse=[[1, 2, 0.5]] * 64)).validate()
    bad = {
        "at most 64 terms": [[1, 2, 0.5]] * 65,
        r"\[w, v, amplitude\] triples": [[1, 2]],
        "transverse v must be a finite number": [[1, math.nan, 0.5]],
        "transverse w must be a finite number": [[1e5, 1, 0.5]],
        "transverse amplitude must be a finite number": [[1, 1, math.inf]],
    }
    for message, terms in bad.items():
        with pytest.raises(ValueError, match=message):
            RunConfig(d2, TargetConfig(transverse=terms)).validate()
    with pytest.raises(ValueError, match="transverse target terms need input_dim >= 2"):
        RunConfig(RFLRConfig(input_dim=1), TargetConfig(transverse=[[1, 2, 0.5]])).validate()
    assert TargetConfig(transverse=[[1, 2, 0.5]]).is_even  # even by construction
    assert "transverse" not in RunConfig().to_dict()["target"]  # old headers, byte for byte
    assert RunConfig(d2, TargetConfig(transverse=[[1, 2, 0.5]])).to_dict()["target"][
        "transverse"
    ] == [[1, 2, 0.5]]


def test_json_safe_turns_non_finite_floats_into_null_everywhere():
    record = {"a": math.nan, "b": [1.0, math.inf, {"c": -math.inf}], "d": (2.0, "x"), "e": 3}
    out = json_safe(record)
    assert out == {"a": None, "b": [1.0, None, {"c": None}], "d": [2.0, "x"], "e": 3}
    json.dumps(out, allow_nan=False)  # strict JSON now


def test_every_model_kind_has_a_label():
    assert set(KIND_LABELS) == set(MODEL_CONFIGS)
