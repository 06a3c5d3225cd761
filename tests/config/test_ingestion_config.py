"""The ``ingestion`` block: how a landed file is ingested, and the rule parameters both sides use."""

from __future__ import annotations

import pytest

from pipeline_def.config import Reader, load_environment, read_context
from pipeline_def.config.ingestion import EVENT_PARAMETERS, MAX_INSTANCES, IngestionSettings
from tests.config.config_support import error_for

KEY = "cdk.json.context.environments.dev.ingestion"


@pytest.fixture(scope="module")
def context() -> Reader:
    return read_context()


def test_every_environment_has_an_ingestion_block(context: Reader) -> None:
    for env in ("dev", "staging", "prod"):
        assert load_environment(context, env).ingestion.instance_count >= 1


def test_dev_shards_over_two_instances_so_the_local_run_shows_the_sharding(context: Reader) -> None:
    assert load_environment(context, "dev").ingestion.instance_count == 2


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("instanceCount", 0, f"{KEY}.instanceCount: 0 is outside [1, {MAX_INSTANCES}]"),
        ("instanceCount", "2", f"{KEY}.instanceCount:"),
        ("workers", 65, f"{KEY}.workers: 65 is outside [1, 64]"),
        ("incomingRetentionDays", 0, f"{KEY}.incomingRetentionDays: 0 is outside [1, 3653]"),
        ("instanceType", "m5.large", f"{KEY}.instanceType: 'm5.large' does not match"),
        ("enabled", "yes", f"{KEY}.enabled: expected true or false"),
    ],
)
def test_a_bad_value_fails_with_the_key(context: Reader, key: str, value: object, message: str) -> None:
    assert error_for(context, f"ingestion.{key}", value).startswith(message)


def test_a_missing_required_key_is_named(context: Reader) -> None:
    assert error_for(context, "ingestion.instanceCount", delete=True).startswith(f"{KEY}.instanceCount")


def test_an_unknown_key_is_refused_with_a_suggestion(context: Reader) -> None:
    assert "did you mean instanceCount?" in error_for(context, "ingestion.instanceCnt", 3)


def test_a_missing_block_names_it(context: Reader) -> None:
    assert KEY in error_for(context, "ingestion", delete=True)


def test_each_groups_rule_passes_the_event_paths_and_its_group() -> None:
    parameters = IngestionSettings.rule_parameters("customers")
    assert parameters == {**EVENT_PARAMETERS, "FeatureGroup": "customers"}
    assert all(value.startswith("$.") for value in EVENT_PARAMETERS.values())
