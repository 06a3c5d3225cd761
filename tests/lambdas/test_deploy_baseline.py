"""Specification of the deploy function publishing the deployed package's drift baseline (moto).

The pipeline registers each package with ``DriftCheckBaselines.ModelDataQuality.Statistics``
(the SDK's ``model_data_statistics``) pointing at its run's baseline.json. Once the endpoint serves
the package, the function copies that object to MONITORING_BASELINE_URI, the one place the
monitoring job reads, and writes deployed-package.json beside it.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

import pytest

from lambdas.deploy import handler as deploy_handler
from lambdas.deploy.handler import handler
from tests.lambdas.lambda_support import (
    APPROVED,
    APPROVED_EVENT,
    DEPLOYED_PACKAGE_URI,
    ENDPOINT,
    KMS_KEY_ARN,
    MONITORING_BASELINE_URI,
    NOT_UPLOADED,
    Aws,
    FakeLambdaContext,
    FixedClock,
    MotoLacksUpdateEndpoint,
    bias_report,
    evaluation_report,
    state_change_event,
)

BASELINE = {"format": "fraud-drift-baseline", "version": 1, "label": "fraud", "rows": 1954, "columns": {}}
PUBLISHED_AT = datetime.fromisoformat("2026-11-02T10:45:00+00:00")


@pytest.fixture
def publishing(deploy_env: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """The deploy environment with MONITORING_BASELINE_URI set, and the handler's clock fixed."""
    monkeypatch.setenv("MONITORING_BASELINE_URI", MONITORING_BASELINE_URI)
    built = deploy_handler.build_dependencies

    def with_clock(table: str, environment: tuple[str | None, ...]) -> deploy_handler.DeployDependencies:
        return dataclasses.replace(built(table, environment), clock=FixedClock(PUBLISHED_AT))

    monkeypatch.setattr(deploy_handler, "build_dependencies", with_clock)
    return deploy_env


def _approved_package(aws: Aws, baseline: Any = BASELINE) -> str:
    return aws.register_package(
        evaluation=evaluation_report(), bias=bias_report(), status=APPROVED, drift_baseline=baseline
    )


def _deploy(aws: Aws, arn: str, context: FakeLambdaContext, **overrides: Any) -> dict[str, Any]:
    version = aws.package(arn)["ModelPackageVersion"]
    event = state_change_event(arn, APPROVED, version=version, template=APPROVED_EVENT, **overrides)
    return handler(event, context)


def _baseline_source(aws: Aws, arn: str) -> str:
    return aws.package(arn)["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["S3Uri"]


@pytest.fixture
def first_deployment(publishing: Aws, lambda_context: FakeLambdaContext) -> dict[str, Any]:
    """Version 1, with its baseline, approved and deployed to a new endpoint."""
    arn = _approved_package(publishing)
    return _deploy(publishing, arn, lambda_context) | {"package_arn": arn}


def test_the_deployed_packages_baseline_is_copied_byte_for_byte(
    publishing: Aws, first_deployment: dict[str, Any]
) -> None:
    # Given version 1 deployed (fixture) / Then the monitoring baseline holds its run's baseline.json
    source = publishing.object(_baseline_source(publishing, first_deployment["package_arn"]))["Body"]
    assert publishing.object(MONITORING_BASELINE_URI)["Body"] == source


def test_the_copy_is_encrypted_with_the_configured_kms_key(
    publishing: Aws, first_deployment: dict[str, Any]
) -> None:
    copied = publishing.object(MONITORING_BASELINE_URI)
    assert (copied["ServerSideEncryption"], copied["SSEKMSKeyId"]) == ("aws:kms", KMS_KEY_ARN)


def test_the_result_says_the_baseline_was_published(first_deployment: dict[str, Any]) -> None:
    assert (first_deployment["outcome"], first_deployment["monitoring_baseline"]) == (
        "endpoint_created",
        "published",
    )


def test_deployed_package_json_names_the_package_its_baseline_and_the_endpoint(
    publishing: Aws, first_deployment: dict[str, Any]
) -> None:
    # Given version 1 deployed / Then deployed-package.json beside the baseline says whose it is
    arn = first_deployment["package_arn"]
    document = json.loads(publishing.object(DEPLOYED_PACKAGE_URI)["Body"])
    assert document == {
        "baseline_source_uri": _baseline_source(publishing, arn),
        "endpoint_name": ENDPOINT,
        "model_package_arn": arn,
        "model_package_version": 1,
        "published_at": "2026-11-02T10:45:00+00:00",
    }


def test_deployed_package_json_is_written_with_sorted_keys(
    publishing: Aws, first_deployment: dict[str, Any]
) -> None:
    text = publishing.object(DEPLOYED_PACKAGE_URI)["Body"].decode()
    assert list(json.loads(text)) == sorted(json.loads(text))


def test_deployed_package_json_is_encrypted_json(publishing: Aws, first_deployment: dict[str, Any]) -> None:
    written = publishing.object(DEPLOYED_PACKAGE_URI)
    assert (written["ContentType"], written["ServerSideEncryption"], written["SSEKMSKeyId"]) == (
        "application/json",
        "aws:kms",
        KMS_KEY_ARN,
    )


def test_an_update_to_a_new_version_publishes_its_baseline(
    publishing: Aws,
    first_deployment: dict[str, Any],
    update_endpoint: MotoLacksUpdateEndpoint,
    lambda_context: FakeLambdaContext,
) -> None:
    # Given version 1 in service / When version 2, with another baseline, is approved
    newer = _approved_package(publishing, baseline=BASELINE | {"rows": 2500})
    result = _deploy(publishing, newer, lambda_context)

    # Then the endpoint moves and the monitor now compares with version 2's baseline
    assert (result["outcome"], result["monitoring_baseline"]) == ("endpoint_updated", "published")
    assert json.loads(publishing.object(MONITORING_BASELINE_URI)["Body"])["rows"] == 2500


def test_a_redelivered_event_for_the_serving_version_publishes_again(
    publishing: Aws, first_deployment: dict[str, Any], lambda_context: FakeLambdaContext
) -> None:
    # Given version 1 in service, and its published baseline lost
    publishing.s3.delete_object(
        Bucket=MONITORING_BASELINE_URI.split("/")[2], Key=_key(MONITORING_BASELINE_URI)
    )

    # When its Approved event is re-driven (a new delivery, not a duplicate)
    result = _deploy(
        publishing, first_deployment["package_arn"], lambda_context, last_modified="2026-11-03T08:00:00Z"
    )

    # Then nothing is redeployed, but the baseline is published again
    assert (result["outcome"], result["monitoring_baseline"]) == ("already_deployed", "published")
    assert publishing.object_exists(MONITORING_BASELINE_URI)


def _key(uri: str) -> str:
    return uri.split("/", 3)[3]


# --- Nothing to publish, or not this package's -----------------------------------------------
def test_a_package_without_a_drift_baseline_is_deployed_and_reported_missing(
    publishing: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given a package registered before the pipeline made baselines (no DriftCheckBaselines)
    arn = _approved_package(publishing, baseline=None)

    # When it is approved
    result = _deploy(publishing, arn, lambda_context)

    # Then it is deployed all the same, and the result says the baseline is missing
    assert (result["outcome"], result["monitoring_baseline"]) == ("endpoint_created", "missing")


def test_a_package_without_a_drift_baseline_publishes_nothing(
    publishing: Aws, lambda_context: FakeLambdaContext
) -> None:
    _deploy(publishing, _approved_package(publishing, baseline=None), lambda_context)
    assert not publishing.object_exists(MONITORING_BASELINE_URI)
    assert not publishing.object_exists(DEPLOYED_PACKAGE_URI)


def test_a_missing_baseline_is_logged_as_a_warning(
    publishing: Aws, lambda_context: FakeLambdaContext, function_logs: Any
) -> None:
    # Given a package without a baseline / When it is deployed
    _deploy(publishing, _approved_package(publishing, baseline=None), lambda_context)

    # Then a warning says so
    warnings = [json.loads(line) for line in function_logs.getvalue().splitlines() if '"WARNING"' in line]
    assert [line["message"] for line in warnings] == [
        "no drift baseline published: the monitor keeps comparing with the previous one"
    ]


def test_a_declared_baseline_that_is_not_in_s3_is_reported_missing(
    publishing: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given a package whose DriftCheckBaselines point at an object that does not exist
    arn = _approved_package(publishing, baseline=NOT_UPLOADED)

    # When it is approved / Then it is deployed, the baseline reported missing, nothing written
    result = _deploy(publishing, arn, lambda_context)
    assert (result["outcome"], result["monitoring_baseline"]) == ("endpoint_created", "missing")
    assert not publishing.object_exists(DEPLOYED_PACKAGE_URI)


def test_a_late_event_for_an_older_version_publishes_nothing(
    publishing: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given versions 1 and 2, each with its baseline, and version 2 deployed first
    older = _approved_package(publishing, baseline=BASELINE | {"rows": 1})
    _deploy(publishing, _approved_package(publishing, baseline=BASELINE | {"rows": 2}), lambda_context)

    # When version 1's event arrives late
    result = _deploy(publishing, older, lambda_context)

    # Then the endpoint keeps version 2, and so does the monitor
    assert (result["outcome"], result["monitoring_baseline"]) == ("newer_version_deployed", "not_serving")
    assert json.loads(publishing.object(MONITORING_BASELINE_URI)["Body"])["rows"] == 2
    assert json.loads(publishing.object(DEPLOYED_PACKAGE_URI)["Body"])["model_package_version"] == 2


def test_without_the_variable_nothing_is_published(
    deploy_env: Aws, lambda_context: FakeLambdaContext
) -> None:
    # Given MONITORING_BASELINE_URI unset (deploy_env) / When a package with a baseline is deployed
    result = _deploy(deploy_env, _approved_package(deploy_env), lambda_context)

    # Then no object is written, and the result says the environment publishes none
    assert result["monitoring_baseline"] == "not_configured"
    assert not deploy_env.object_exists(MONITORING_BASELINE_URI)


def test_with_the_variable_empty_nothing_is_published(
    deploy_env: Aws, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITORING_BASELINE_URI", "")
    result = _deploy(deploy_env, _approved_package(deploy_env), lambda_context)
    assert result["monitoring_baseline"] == "not_configured"
