"""rflr.measure.record: one typed metrics record from evaluation to the header and back."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

import pytest
import torch

from rflr.core.config import RFLRConfig, RunConfig, TrainConfig
from rflr.core.model import init_params
from rflr.files.checkpoint import load, save
from rflr.files.header import metrics_from_json
from rflr.measure.evaluate import checkpoint_metrics
from rflr.measure.record import LayerMetrics, Metrics


@pytest.mark.parametrize("input_dim", [1, 2])  # d = 2: oscillations undefined, stored as null
def test_record_survives_the_header_field_for_field(tmp_path, input_dim):
    cfg = RunConfig(
        RFLRConfig(width=8, rank=2, depth=3, input_dim=input_dim), train=TrainConfig(steps=9)
    )
    params = init_params(cfg.model, torch.Generator().manual_seed(0))
    written = dataclasses.replace(
        checkpoint_metrics(cfg, params, grid_points=129), status="diverged", diverged_at_step=9
    )
    for read in (
        metrics_from_json(written.to_json()),
        load(save(tmp_path / "a.safetensors", cfg, params, 3, written, {})).metrics,
    ):
        assert read == written
        for f in dataclasses.fields(Metrics):
            assert getattr(read, f.name) == getattr(written, f.name), f.name
        for a, b in zip(read.layers, written.layers, strict=True):
            for f in dataclasses.fields(LayerMetrics):
                assert getattr(a, f.name) == getattr(b, f.name), f.name
    if input_dim == 2:
        assert all(layer.oscillations_median is None for layer in written.layers)


def test_the_file_keys_follow_the_fields_and_unset_trainer_fields_are_left_out():
    text = Metrics(test_mse=0.5, layers=[LayerMetrics("hidden.1.u", 0.1)]).to_json()
    keys = list(json.loads(text))
    assert keys == [f.name for f in dataclasses.fields(Metrics)][:-2]  # no status, no step
    assert list(json.loads(text)["layers"][0]) == [f.name for f in dataclasses.fields(LayerMetrics)]
    done = json.loads(Metrics(status="ok").to_json())
    assert list(done)[-1] == "status" and "diverged_at_step" not in done


def test_undefined_is_none_in_memory_as_in_the_file():
    m = Metrics(test_mse=float("inf"), headline_defect=float("nan"))
    assert m.test_mse is None and m.headline_defect is None
    assert LayerMetrics("x", defect_mean=float("nan")).defect_mean is None
    assert '"test_mse": null' in m.to_json()


@pytest.mark.parametrize("record", [Metrics(test_mse=0.5), LayerMetrics("hidden.1.u", 0.1)])
def test_records_have_no_dict_access(record):
    assert not isinstance(record, Mapping)
    for name in ("__getitem__", "get", "keys", "items", "values", "__iter__", "__contains__"):
        assert not hasattr(record, name), name
    with pytest.raises(TypeError):
        record["test_mse"]  # noqa: B018
    with pytest.raises(TypeError):
        "test_mse" in record  # noqa: B015
