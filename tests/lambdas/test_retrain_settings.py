"""Specification of the retrain function's environment: what it accepts, and the contract the stack writes."""

from __future__ import annotations

import json

import pytest

from lambdas import constants
from lambdas.environment import RetrainEnvironment
from lambdas.retrain.models import RetrainSettings
from lambdas.shared.settings import ConfigurationError, load_settings

VARIABLES = {
    "PIPELINE_NAME": "fraud-mlops-dev-fraud-detection",
    "IDEMPOTENCY_TABLE": "lambda-idempotency",
    "NOTIFY_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:model-review",
    "COOL_DOWN_SECONDS": "21600",
    "RETRAIN_ALARM_NAMES": "fraud-mlops-dev-monitor-feature-drift, fraud-mlops-dev-monitor-live-auc",
    "PIPELINE_PARAMETERS": '{"MinAuc":"0.8","MinRecall":"0.5"}',
}


def _environment(**changes: object) -> RetrainEnvironment:
    values: dict[str, object] = {
        "pipeline_name": "fraud-mlops-dev-fraud-detection",
        "idempotency_table": "lambda-idempotency",
        "notify_topic_arn": VARIABLES["NOTIFY_TOPIC_ARN"],
        "cool_down_seconds": 21600,
        "alarm_names": ("fraud-mlops-dev-monitor-feature-drift", "fraud-mlops-dev-monitor-live-auc"),
        "pipeline_parameters": {"MinRecall": "0.5", "MinAuc": "0.8"},
    }
    return RetrainEnvironment(**(values | changes))


def test_the_alarm_names_are_split_on_commas_and_trimmed() -> None:
    settings = load_settings(RetrainSettings, VARIABLES)
    assert settings.alarm_names == (
        "fraud-mlops-dev-monitor-feature-drift",
        "fraud-mlops-dev-monitor-live-auc",
    )


def test_the_pipeline_parameters_are_read_from_a_json_object() -> None:
    settings = load_settings(RetrainSettings, VARIABLES)
    assert settings.pipeline_parameters == {"MinAuc": "0.8", "MinRecall": "0.5"}


@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_without_pipeline_parameters_the_definition_defaults_apply(value: str | None) -> None:
    # Given PIPELINE_PARAMETERS unset or empty
    variables = {k: v for k, v in VARIABLES.items() if k != "PIPELINE_PARAMETERS"}
    if value is not None:
        variables["PIPELINE_PARAMETERS"] = value

    # When the settings are read / Then no parameter is passed
    assert load_settings(RetrainSettings, variables).pipeline_parameters == {}


def test_a_zero_cool_down_is_allowed() -> None:
    # Zero: every alarm starts a run, except while a run created after the alarm exists
    assert load_settings(RetrainSettings, VARIABLES | {"COOL_DOWN_SECONDS": "0"}).cool_down_seconds == 0


def test_every_missing_required_variable_is_named_at_once() -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings(RetrainSettings, {})
    assert all(name in str(raised.value) for name in constants.RETRAIN_REQUIRED_ENV)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("COOL_DOWN_SECONDS", "-1"),
        ("COOL_DOWN_SECONDS", "6h"),
        ("COOL_DOWN_SECONDS", "1.5"),
        ("COOL_DOWN_SECONDS", str(400 * 24 * 3600)),
        ("PIPELINE_PARAMETERS", "MinAuc=0.8"),
        ("PIPELINE_PARAMETERS", '["MinAuc", "0.8"]'),
        ("PIPELINE_PARAMETERS", '"MinAuc"'),
        ("PIPELINE_PARAMETERS", '{"MinAuc": 0.8}'),
        ("PIPELINE_PARAMETERS", '{"MinAuc": true}'),
        ("PIPELINE_PARAMETERS", '{"MinAuc": null}'),
        ("PIPELINE_PARAMETERS", '{"MinAuc": {"value": "0.8"}}'),
        ("PIPELINE_PARAMETERS", '{"Min Auc": "0.8"}'),
        ("PIPELINE_PARAMETERS", '{"": "0.8"}'),
        ("PIPELINE_PARAMETERS", json.dumps({"MinAuc": "x" * 1025})),
        ("PIPELINE_PARAMETERS", "[" * 100_000),
        ("RETRAIN_ALARM_NAMES", ""),
        ("RETRAIN_ALARM_NAMES", " , "),
        ("RETRAIN_ALARM_NAMES", "drift\nalarm"),
        ("PIPELINE_NAME", "fraud_pipeline"),
        ("PIPELINE_NAME", "arn:aws:sagemaker:us-east-1:123456789012:pipeline/fraud"),
        ("NOTIFY_TOPIC_ARN", "model-review"),
        ("IDEMPOTENCY_TABLE", "a"),
    ],
    ids=[
        "negative-cool-down",
        "cool-down-with-unit",
        "fractional-cool-down",
        "cool-down-over-a-year",
        "parameters-not-json",
        "parameters-a-list",
        "parameters-a-string",
        "parameter-a-number",
        "parameter-a-boolean",
        "parameter-null",
        "parameter-an-object",
        "parameter-name-with-space",
        "parameter-name-empty",
        "parameter-value-too-long",
        "parameters-nested-too-deeply",
        "no-alarms",
        "only-commas",
        "alarm-name-with-newline",
        "pipeline-name-with-underscore",
        "pipeline-arn-instead-of-name",
        "topic-not-an-arn",
        "table-name-too-short",
    ],
)
def test_an_invalid_variable_is_a_configuration_error_naming_it(name: str, value: str) -> None:
    # Given one variable the function or SageMaker would refuse
    # When / Then the settings are refused, naming the variable
    with pytest.raises(ConfigurationError, match=name):
        load_settings(RetrainSettings, VARIABLES | {name: value})


def test_too_many_pipeline_parameters_are_refused() -> None:
    # StartPipelineExecution takes at most 200 parameters
    parameters = json.dumps({f"P{i}": "1" for i in range(201)})
    with pytest.raises(ConfigurationError, match="PIPELINE_PARAMETERS"):
        load_settings(RetrainSettings, VARIABLES | {"PIPELINE_PARAMETERS": parameters})


# --- The contract with the stack: RetrainEnvironment ------------------------------------------
def test_the_environment_the_stack_renders_is_accepted() -> None:
    # Given the variables rendered from a RetrainEnvironment
    variables = _environment().variables()

    # When the function reads them / Then they hold what the stack meant
    settings = load_settings(RetrainSettings, variables)
    assert (settings.cool_down_seconds, settings.pipeline_parameters["MinAuc"]) == (21600, "0.8")


def test_the_rendered_parameters_are_sorted_compact_json() -> None:
    # Given parameters in any order / When rendered / Then the text is deterministic
    assert _environment().variables()["PIPELINE_PARAMETERS"] == '{"MinAuc":"0.8","MinRecall":"0.5"}'


def test_the_rendered_alarm_names_are_comma_separated() -> None:
    variables = _environment().variables()
    assert variables["RETRAIN_ALARM_NAMES"] == (
        "fraud-mlops-dev-monitor-feature-drift,fraud-mlops-dev-monitor-live-auc"
    )


def test_the_rendered_variables_name_the_service() -> None:
    assert _environment().variables()["POWERTOOLS_SERVICE_NAME"] == "retrain-on-drift"


def test_the_rendered_variables_are_exactly_the_documented_ones() -> None:
    # Given the rendered variables / Then they are the declared required and optional ones
    names = set(_environment().variables()) - {"POWERTOOLS_SERVICE_NAME"}
    assert names == {*constants.RETRAIN_REQUIRED_ENV, *constants.RETRAIN_OPTIONAL_ENV}


def test_without_parameters_the_rendered_variable_is_an_empty_object() -> None:
    environment = _environment(pipeline_parameters={})
    assert environment.variables()["PIPELINE_PARAMETERS"] == "{}"
