"""The path past one machine, in the definition: instance counts per environment and the layout they need.

Training on several instances is XGBoost's distributed training: FraudDataProcess writes one
train part per instance and the train channel is sharded by S3 key, while every instance reads
all of the validation split. The batch transform shares out whole files among its instances, so
the test split is written in one part per transform instance.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from pipeline_def import names as p
from pipeline_def.config import PipelineSettings, load_settings
from pipeline_def.definition.render import SENTINELS, fill, render
from tests.definition.definition_support import find_step, flag_value

VALUES = {name: f"value-of-{name}" for name in SENTINELS}


def definition(settings: PipelineSettings) -> dict:
    return json.loads(fill(render(settings), VALUES))


def channels(document: dict) -> dict[str, str]:
    training = find_step(document, p.STEP_TUNING)["Arguments"]["TrainingJobDefinition"]
    return {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3DataDistributionType"]
        for c in training["InputDataConfig"]
    }


@pytest.fixture(scope="module", params=["dev", "staging", "prod"])
def env_definition(request: pytest.FixtureRequest) -> tuple[PipelineSettings, dict]:
    settings = load_settings(request.param)
    return settings, definition(settings)


def test_tuning_jobs_train_on_the_configured_instance_count(
    env_definition: tuple[PipelineSettings, dict],
) -> None:
    settings, document = env_definition
    training = find_step(document, p.STEP_TUNING)["Arguments"]["TrainingJobDefinition"]
    assert training["HyperParameterTuningResourceConfig"]["InstanceCount"] == settings.training_instance_count


def test_data_process_writes_one_train_part_per_training_instance(
    env_definition: tuple[PipelineSettings, dict],
) -> None:
    settings, document = env_definition
    process = find_step(document, p.STEP_PROCESS)
    assert flag_value(process, "--train-parts") == str(settings.training_instance_count)
    assert flag_value(process, "--test-parts") == str(settings.transform_instance_count)


def test_transform_runs_on_the_configured_instance_count_split_by_line(
    env_definition: tuple[PipelineSettings, dict],
) -> None:
    settings, document = env_definition
    transform = find_step(document, p.STEP_TRANSFORM)["Arguments"]
    assert transform["TransformResources"]["InstanceCount"] == settings.transform_instance_count
    assert transform["TransformInput"]["SplitType"] == "Line"


def test_one_training_instance_reads_everything(env_definition: tuple[PipelineSettings, dict]) -> None:
    settings, document = env_definition
    if settings.training_instance_count == 1:
        assert channels(document) == {"train": "FullyReplicated", "validation": "FullyReplicated"}


def test_several_training_instances_shard_the_train_split_only() -> None:
    settings = dataclasses.replace(load_settings("dev"), training_instance_count=4)
    assert channels(definition(settings)) == {"train": "ShardedByS3Key", "validation": "FullyReplicated"}


def test_prod_trains_distributed_on_two_instances() -> None:
    settings = load_settings("prod")
    assert (settings.training_instance_count, settings.transform_instance_count) == (2, 2)
    assert channels(definition(settings))["train"] == "ShardedByS3Key"


def test_the_drift_baseline_reads_every_transform_output() -> None:
    baseline = find_step(definition(load_settings("prod")), p.STEP_DRIFT_BASELINE)
    assert flag_value(baseline, "--scores-file") == "/opt/ml/processing/input/predictions"
