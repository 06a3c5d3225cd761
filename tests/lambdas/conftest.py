"""Fixtures for the Lambda tests: a moto server, AWS clients, and each function's environment.

The handlers are imported by their full names (``lambdas.approval.handler``), as Lambda imports
them from the asset root, so the modules the tests patch are the ones the handlers use.

One moto server runs for the session (``moto_url`` in ``tests/conftest.py``) and is reset
before each test. The handlers reach it the way the local run does: through
``AWS_ENDPOINT_URL``, which boto3 honours; the tests' own clients pass ``endpoint_url``.
"""

from __future__ import annotations

import dataclasses
import io
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.approval import handler as approval_handler
from lambdas.deploy import handler as deploy_handler
from lambdas.pipeline_failure import handler as pipeline_failure_handler
from lambdas.retrain import handler as retrain_handler
from lambdas.shared.observability import logger
from lambdas.shared.registry import client_environment
from tests.lambdas.lambda_support import (
    ACCOUNT,
    BUCKET,
    CAPTURE_URI,
    COOL_DOWN_SECONDS,
    DRIFT_ALARM,
    ENDPOINT,
    GROUP,
    KMS_KEY_ARN,
    OPERATORS_TOPIC,
    PIPELINE_ARN,
    PREDICTION_ALARM,
    QUALITY_GATE_STEP,
    REGION,
    ROLE_ARN,
    RUN_PARAMETERS,
    TABLE,
    TOPIC,
    TRAINING_PIPELINE,
    ApiCallRecorder,
    Aws,
    FakeLambdaContext,
    FixedClock,
    MotoKeepsModelCardFields,
    MotoLacksUpdateEndpoint,
    ReviewerInbox,
)


def set_variables(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]) -> dict[str, str]:
    """Set every variable for the test (undone after it), and return them."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return variables


def _reset_moto(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310 (local moto)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


#: The handlers' cached builders, taken before any test swaps one (``retrain_clock`` wraps its own).
_CACHED_BUILDERS = (
    approval_handler.build_dependencies,
    deploy_handler.build_dependencies,
    pipeline_failure_handler.build_dependencies,
    retrain_handler.build_dependencies,
)


def _clear_cached_dependencies() -> None:
    """Each test gets clients built from its own environment, as a cold start would."""
    for builder in _CACHED_BUILDERS:
        builder.cache_clear()


@dataclass(frozen=True)
class Clients:
    sagemaker: Any
    s3: Any
    sns: Any
    sqs: Any
    dynamodb: Any


@pytest.fixture(scope="session")
def clients(moto_url: str) -> Clients:
    """The tests' own clients, built once: creating a boto3 client costs tens of milliseconds."""

    def client(service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=moto_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return Clients(*(client(service) for service in ("sagemaker", "s3", "sns", "sqs", "dynamodb")))


@pytest.fixture
def aws(moto_url: str, clients: Clients, monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """A freshly reset moto with the evidence bucket and idempotency table, and fake credentials."""
    set_variables(
        monkeypatch,
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": moto_url,
        },
    )
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    _reset_moto(moto_url)
    _clear_cached_dependencies()
    world = Aws(
        url=moto_url,
        sagemaker=clients.sagemaker,
        s3=clients.s3,
        sns=clients.sns,
        sqs=clients.sqs,
        dynamodb=clients.dynamodb,
    )
    world.s3.create_bucket(Bucket=BUCKET)
    world.dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield world
    _clear_cached_dependencies()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    """A fake LambdaContext (a frozen dataclass with the attributes Powertools reads)."""
    return FakeLambdaContext(function_name="model-function-test")


@pytest.fixture
def function_logs(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What the functions' Powertools Logger writes (its handler kept the stdout of import time)."""
    buffer = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", buffer)
    return buffer


# --- Approval function -----------------------------------------------------------------------
@pytest.fixture
def approval_variables(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The approval function's environment variables alone (AUTO_APPROVE=true); no AWS resources."""
    return set_variables(
        monkeypatch,
        {
            "MODEL_PACKAGE_GROUP_NAME": GROUP,
            "IDEMPOTENCY_TABLE": TABLE,
            "NOTIFY_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC}",
            "AUTO_APPROVE": "true",
            "MIN_AUC": "0.8",
            "MIN_RECALL": "0.6",
            "DI_MIN": "0.8",
            "DI_MAX": "1.25",
            "MAX_ABS_DPPL": "0.1",
        },
    )


def _inbox(aws: Aws, topic: str) -> tuple[str, ReviewerInbox]:
    """A topic in moto with an SQS queue subscribed to it: what a subscriber would receive."""
    topic_arn = aws.sns.create_topic(Name=topic)["TopicArn"]
    queue_url = aws.sqs.create_queue(QueueName=f"{topic}-inbox")["QueueUrl"]
    attributes = aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    aws.sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=attributes["Attributes"]["QueueArn"])
    return topic_arn, ReviewerInbox(aws.sqs, queue_url)


@pytest.fixture
def approval_env(aws: Aws, approval_variables: dict[str, str]) -> ReviewerInbox:
    """The approval environment plus its reviewer topic in moto, with an inbox subscribed to it.

    The handler's client keeps a card's other field on UpdateModelCard, as SageMaker does.
    """
    topic_arn, inbox = _inbox(aws, TOPIC)
    assert topic_arn == approval_variables["NOTIFY_TOPIC_ARN"]
    MotoKeepsModelCardFields(
        approval_handler.build_dependencies(TABLE, client_environment()).registry.sagemaker
    )
    return inbox


@pytest.fixture
def approval_calls(approval_env: ReviewerInbox) -> ApiCallRecorder:
    """SageMaker calls made by the approval handler's own client (the one it will reuse)."""
    return ApiCallRecorder(
        approval_handler.build_dependencies(TABLE, client_environment()).registry.sagemaker
    )


# --- Deploy function -------------------------------------------------------------------------
@pytest.fixture
def deploy_env(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """The deploy function's environment, without rollback alarms, cost tags or a monitoring baseline."""
    set_variables(
        monkeypatch,
        {
            "MODEL_PACKAGE_GROUP_NAME": GROUP,
            "IDEMPOTENCY_TABLE": TABLE,
            "ENDPOINT_NAME": ENDPOINT,
            "ENDPOINT_INSTANCE_TYPE": "ml.m5.large",
            "ENDPOINT_INSTANCE_COUNT": "2",
            "MODEL_EXECUTION_ROLE_ARN": ROLE_ARN,
            "DATA_CAPTURE_S3_URI": CAPTURE_URI,
            "DATA_CAPTURE_SAMPLING_PERCENTAGE": "50",
            "KMS_KEY_ARN": KMS_KEY_ARN,
        },
    )
    for optional in ("ROLLBACK_ALARM_NAMES", "COST_TAGS", "MONITORING_BASELINE_URI"):
        monkeypatch.delenv(optional, raising=False)
    return aws


@pytest.fixture
def deploy_calls(deploy_env: Aws) -> ApiCallRecorder:
    """SageMaker calls made by the deploy handler's own client."""
    return ApiCallRecorder(deploy_handler.build_dependencies(TABLE, client_environment()).registry.sagemaker)


@pytest.fixture
def update_endpoint(deploy_env: Aws) -> MotoLacksUpdateEndpoint:
    """Answers UpdateEndpoint on the deploy handler's client, which moto cannot."""
    return MotoLacksUpdateEndpoint(
        deploy_handler.build_dependencies(TABLE, client_environment()).registry.sagemaker
    )


# --- Failure-alert function ------------------------------------------------------------------
@pytest.fixture
def operators_inbox(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> ReviewerInbox:
    """The failure-alert function's environment, and the operators' topic in moto with an inbox."""
    topic_arn, inbox = _inbox(aws, OPERATORS_TOPIC)
    set_variables(
        monkeypatch,
        {
            "OPERATORS_TOPIC_ARN": topic_arn,
            "PIPELINE_ARN": PIPELINE_ARN,
            "QUALITY_GATE_STEP": QUALITY_GATE_STEP,
        },
    )
    return inbox


@pytest.fixture
def pipeline_steps(operators_inbox: ReviewerInbox) -> Iterator[Stubber]:
    """A Stubber on the function's own SageMaker client: moto 5.2.5 has no ListPipelineExecutionSteps.

    Requests are still validated against the service model, and the canned answers against the
    output shape. SNS stays on moto.
    """
    client = pipeline_failure_handler.build_dependencies(client_environment()).executions.sagemaker
    with Stubber(client) as stubber:
        yield stubber


# --- Retrain function ---------------------------------------------------------------------------
@pytest.fixture
def retrain_variables(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The retrain function's environment variables alone; no AWS resources."""
    return set_variables(
        monkeypatch,
        {
            "PIPELINE_NAME": TRAINING_PIPELINE,
            "IDEMPOTENCY_TABLE": TABLE,
            "NOTIFY_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC}",
            "COOL_DOWN_SECONDS": str(COOL_DOWN_SECONDS),
            "RETRAIN_ALARM_NAMES": f"{DRIFT_ALARM},{PREDICTION_ALARM}",
            "PIPELINE_PARAMETERS": json.dumps(RUN_PARAMETERS),
        },
    )


@pytest.fixture
def retrain_env(aws: Aws, retrain_variables: dict[str, str]) -> ReviewerInbox:
    """The retrain environment, the training pipeline in moto, and the reviewers' inbox."""
    topic_arn, inbox = _inbox(aws, TOPIC)
    assert topic_arn == retrain_variables["NOTIFY_TOPIC_ARN"]
    aws.create_training_pipeline()
    return inbox


@pytest.fixture
def retrain_calls(retrain_env: ReviewerInbox) -> ApiCallRecorder:
    """SageMaker calls made by the retrain handler's own client."""
    dependencies = retrain_handler.build_dependencies(TABLE, client_environment())
    return ApiCallRecorder(dependencies.starter.sagemaker)


@pytest.fixture
def retrain_clock(retrain_env: ReviewerInbox, monkeypatch: pytest.MonkeyPatch) -> FixedClock:
    """The handler's clock, fixed: moto stamps runs with the real time, tests place alarms around them."""
    clock = FixedClock(now=datetime.now(UTC))
    built = retrain_handler.build_dependencies

    def with_clock(table: str, environment: tuple[str | None, ...]) -> retrain_handler.RetrainDependencies:
        return dataclasses.replace(built(table, environment), clock=clock)

    monkeypatch.setattr(retrain_handler, "build_dependencies", with_clock)
    return clock
