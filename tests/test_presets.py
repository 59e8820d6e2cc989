"""rflr.sweep.presets: typed job values that the command line turns into valid configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from rflr.cli.flags import jobs_from_args
from rflr.sweep.presets import PRESETS


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_builds_valid_jobs_from_its_typed_values(name):
    preset = PRESETS[name]
    for job in preset.jobs:
        assert isinstance(job["seeds"], list) and all(isinstance(s, int) for s in job["seeds"])
        assert isinstance(job["out"], Path)
    _, jobs = jobs_from_args(["--preset", name])
    assert [j.seeds for j in jobs] == [job["seeds"] for job in preset.jobs]
    for job, built in zip(preset.jobs, jobs, strict=True):
        assert built.config.model.kind == job["model"] and built.options.out == job["out"]
        assert built.config.train.steps == job["steps"]


def test_sweep_presets_share_one_output_folder():
    for preset in PRESETS.values():
        if preset.sweep:
            assert len({job["out"] for job in preset.jobs}) == 1
