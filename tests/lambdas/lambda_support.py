"""Test doubles, document builders and constants for the Lambda tests.

Everything is imported by its full name (``lambdas.shared.registry`` here is the module the
handlers use), and the tests import this module as ``tests.lambdas.lambda_support``.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from botocore.awsrequest import AWSResponse

from lambdas.retrain.models import LatestExecution, StartRequest
from lambdas.shared.context import LocalLambdaContext
from lambdas.shared.notify import Notifier
from lambdas.shared.registry import (
    ArnScope,
    Endpoint,
    EvidenceUnavailableError,
    ModelPackage,
    PackageNotFoundError,
    RegistryAdapter,
    decode_json,
)

#: The fake LambdaContext the tests pass: the same dataclass the local run uses.
FakeLambdaContext = LocalLambdaContext

EVENTS_DIR = Path(__file__).parent / "events"
PENDING_EVENT = "model-package-state-change.pending.json"
APPROVED_EVENT = "model-package-state-change.approved-epoch-ms.json"
SAMPLE_EVENTS = sorted(path.name for path in EVENTS_DIR.glob("*.json"))
GROUP = "fraud-detection"
REGION = "us-east-1"
ACCOUNT = "123456789012"
TABLE = "lambda-idempotency"
TOPIC = "model-review"
BUCKET = "fraud-mlops-evidence"
ENDPOINT = "fraud-detection-dev"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-model-execution"
KMS_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CAPTURE_URI = f"s3://{BUCKET}/data-capture/{ENDPOINT}"
OPERATORS_TOPIC = "operators"
PIPELINE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/fraud-mlops-dev-fraud-detection"
EXECUTION_ARN = f"{PIPELINE_ARN}/execution/k4q2bd8c1m7z"
QUALITY_GATE_STEP = "FraudModelBelowQualityBar"
PIPELINE_FAILED_EVENT = "pipeline-execution/failed.json"
PENDING = "PendingManualApproval"
APPROVED = "Approved"
REJECTED = "Rejected"
#: The retrain function's pipeline, the alarm of the sample event, and the baseline's target.
TRAINING_PIPELINE = PIPELINE_ARN.rpartition("/")[2]
ALARM_EVENT = "cloudwatch-alarm/alarm.json"
DRIFT_ALARM = "fraud-mlops-dev-monitor-feature-drift"
PREDICTION_ALARM = "fraud-mlops-dev-monitor-prediction-drift"
#: Six hours, as cdk.json's monitoring.coolDownHours renders it; the parameters the schedule passes.
COOL_DOWN_SECONDS = 6 * 3600
RUN_PARAMETERS = {"MinAuc": "0.8", "MinRecall": "0.5", "ModelApprovalStatus": "PendingManualApproval"}
MONITORING_BASELINE_URI = f"s3://{BUCKET}/fraud-detection/monitoring/baseline/baseline.json"
DEPLOYED_PACKAGE_URI = f"s3://{BUCKET}/fraud-detection/monitoring/baseline/deployed-package.json"

#: Passed as ``evaluation=``/``bias=`` to leave the evidence URI pointing at nothing.
NOT_UPLOADED = object()


# --- Events ----------------------------------------------------------------------------------
def load_event(name: str) -> dict[str, Any]:
    """A sample event from tests/lambdas/events/ (copies of the shared reference samples)."""
    return json.loads((EVENTS_DIR / name).read_text())


def state_change_event(
    package_arn: str,
    status: str,
    *,
    group: str = GROUP,
    version: int = 1,
    template: str = PENDING_EVENT,
    last_modified: str | None = None,
) -> dict[str, Any]:
    """A sample event re-pointed at a package that exists in the test's registry.

    ``last_modified`` replaces the sample's LastModifiedTime: a new state change of the package.
    """
    event = load_event(template)
    event["resources"] = [package_arn]
    event["detail"].update(
        ModelPackageArn=package_arn,
        ModelPackageGroupName=group,
        ModelPackageVersion=version,
        ModelApprovalStatus=status,
    )
    if last_modified is not None:
        event["detail"]["LastModifiedTime"] = last_modified
    return event


def alarm_event(
    *, name: str = DRIFT_ALARM, state: str = "ALARM", at: datetime | None = None, reason: str | None = None
) -> dict[str, Any]:
    """The sample CloudWatch Alarm State Change event for alarm ``name`` entering ``state`` at ``at``.

    The alarm ARN in ``resources`` follows the name, as CloudWatch writes it.
    """
    event = load_event(ALARM_EVENT)
    event["detail"]["alarmName"] = name
    event["resources"] = [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"]
    event["detail"]["state"]["value"] = state
    if at is not None:
        event["detail"]["state"]["timestamp"] = at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    if reason is not None:
        event["detail"]["state"]["reason"] = reason
    return event


@dataclass
class FixedClock:
    """The injected clock of the logic under test: ``now`` until a test moves it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def execution_event(status: str = "Failed", **detail: str) -> dict[str, Any]:
    """The sample Pipeline Execution Status Change event with ``status`` and other detail changed."""
    event = load_event(PIPELINE_FAILED_EVENT)
    event["detail"].update(currentPipelineExecutionStatus=status, **detail)
    return event


def execution_step(name: str, status: str = "Succeeded", **fields: Any) -> dict[str, Any]:
    """One entry of ListPipelineExecutionSteps' answer, as SageMaker writes it."""
    return {"StepName": name, "StepDisplayName": name, "StepStatus": status, "AttemptCount": 1, **fields}


# --- Evidence documents ----------------------------------------------------------------------
def evaluation_report(*, auc: Any = 0.91, recall: Any = 0.72) -> dict[str, Any]:
    """evaluation.json in Model Monitor's binary-classification layout."""
    return {
        "binary_classification_metrics": {
            "confusion_matrix": {"0": {"0": 1780, "1": 52}, "1": {"0": 34, "1": 88}},
            "recall": {"value": recall, "standard_deviation": 0.012},
            "precision": {"value": 0.63, "standard_deviation": 0.011},
            "accuracy": {"value": 0.956, "standard_deviation": 0.003},
            "f1": {"value": 0.67, "standard_deviation": 0.01},
            "auc": {"value": auc, "standard_deviation": 0.008},
        },
        "decision_threshold": {"value": 0.5},
    }


def facet_entry(
    value_or_threshold: str = "1",
    *,
    di: Any = 0.95,
    dppl: Any = 0.02,
    flagged: Any = (0.031, 0.034),
) -> dict[str, Any]:
    """One facet value's metrics as step 7 writes them; ``None`` leaves that item out entirely.

    ``flagged`` is (facet d, facet a)'s predicted-positive rate.
    """
    metrics = [
        {"name": "AD", "description": "Accuracy Difference (AD)", "value": 0.01},
        {"name": "DAR", "description": "Difference in Acceptance Rates (DAR)", "value": 0.02},
    ]
    if di is not None:
        metrics.append({"name": "DI", "description": "Disparate Impact (DI)", "value": di})
    if dppl is not None:
        metrics.append(
            {
                "name": "DPPL",
                "description": "Difference in Positive Proportions in Predicted Labels (DPPL)",
                "value": dppl,
            }
        )
    entry: dict[str, Any] = {"value_or_threshold": value_or_threshold, "metrics": metrics}
    if flagged is not None:
        entry["predicted_positive_rate"] = {
            "definition": "share of rows with score > probability_threshold (predicted label 1)",
            "facet_d": flagged[0],
            "facet_a": flagged[1],
            "rows_d": 120,
            "rows_a": 280,
        }
    return entry


def bias_report(facets: Mapping[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """analysis.json in Clarify's layout; by default one passing facet."""
    post_facets = {"customer_gender_female": [facet_entry()]} if facets is None else dict(facets)
    return {
        "version": "1.0",
        "pre_training_bias_metrics": {
            "label": "fraud",
            "facets": {
                "customer_gender_female": [
                    {
                        "value_or_threshold": "1",
                        "metrics": [{"name": "CI", "description": "Class Imbalance (CI)", "value": 0.4}],
                    }
                ]
            },
            "label_value_or_threshold": "1",
        },
        "post_training_bias_metrics": {
            "label": "fraud",
            "facets": post_facets,
            "label_value_or_threshold": "1",
        },
        "explanations": {},
    }


# --- Recording AWS calls without patching our code -------------------------------------------
class ApiCallRecorder:
    """Records every API call a boto3 client makes, after botocore accepted its parameters."""

    def __init__(self, client: Any) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-parameter-build.{service}", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, copy.deepcopy(params)))

    def named(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]


class MotoLacksUpdateEndpoint:
    """moto 5.2.5 does not implement UpdateEndpoint (HTTP 500 in server mode).

    Registered on one client, this answers that single operation inside botocore after the
    request was serialised and validated against the SageMaker service model (so a malformed
    DeploymentConfig still fails the test), and keeps the parameters for assertions. moto's
    endpoint is left as it was.
    """

    def __init__(self, client: Any) -> None:
        self.requests: list[dict[str, Any]] = []
        events = client.meta.events
        events.register("before-parameter-build.sagemaker.UpdateEndpoint", self._record)
        events.register("before-call.sagemaker.UpdateEndpoint", self._respond)

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.requests.append(copy.deepcopy(params))

    def _respond(self, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        name = self.requests[-1]["EndpointName"]
        arn = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name.lower()}"
        return AWSResponse("https://sagemaker", 200, {}, None), {"EndpointArn": arn}


class MotoKeepsModelCardFields:
    """moto 5.2.5 writes an UpdateModelCard's new version from the request alone, so the field a
    request leaves out (SageMaker keeps it) would become null.

    Registered on one client, this fills the left-out Content or ModelCardStatus from the card's
    latest version before the request is built, which is what SageMaker keeps. The adapter's own
    requests (one field each) are checked against SageMaker's rule with a Stubber instead.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        client.meta.events.register("provide-client-params.sagemaker.UpdateModelCard", self._keep)

    def _keep(self, params: dict[str, Any], **_: Any) -> None:
        if "Content" in params and "ModelCardStatus" in params:
            return
        current = self.client.describe_model_card(ModelCardName=params["ModelCardName"])
        params.setdefault("Content", current["Content"])
        params.setdefault("ModelCardStatus", current["ModelCardStatus"])


# --- In-memory fakes (no network: the fuzz tests run thousands of examples) ------------------
@dataclass
class InMemoryRegistry(RegistryAdapter):
    """A RegistryAdapter over dictionaries, with the boto3 adapter's error behaviour."""

    packages: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[str, bytes] = field(default_factory=dict)
    approvals: list[tuple[str, str, str]] = field(default_factory=list)
    model_cards: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    endpoint_configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    endpoint_updates: list[dict[str, Any]] = field(default_factory=list)
    #: Objects written to S3 (the published baseline): URI -> (body, KMS key).
    written: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    read_error: Exception | None = None
    scope: ArnScope = field(default_factory=lambda: ArnScope("aws", REGION, ACCOUNT))

    def home(self) -> ArnScope:
        return self.scope

    def describe_model_package(self, arn: str) -> ModelPackage:
        if arn not in self.packages:
            raise PackageNotFoundError(arn)
        return ModelPackage.model_validate(self.packages[arn])

    def read_json(self, s3_uri: str) -> Any:
        if self.read_error is not None:
            raise self.read_error
        if s3_uri not in self.documents:
            raise EvidenceUnavailableError(s3_uri, "object not found")
        return decode_json(self.documents[s3_uri], s3_uri)

    def update_approval(self, arn: str, status: str, description: str) -> None:
        self.approvals.append((arn, status, description))
        self.packages[arn]["ModelApprovalStatus"] = status

    def write_model_card(self, name: str, content: str, status: str, kms_key_arn: str | None) -> None:
        self.model_cards.setdefault(name, []).append((content, status))

    def read_model_card(self, name: str) -> str | None:
        versions = self.model_cards.get(name)
        return versions[-1][0] if versions else None

    def copy_object(self, *, source_uri: str, target_uri: str, kms_key_arn: str) -> None:
        if source_uri not in self.documents:
            raise EvidenceUnavailableError(source_uri, "object not found")
        self.written[target_uri] = (self.documents[source_uri], kms_key_arn)

    def put_json(self, uri: str, body: str, kms_key_arn: str) -> None:
        self.written[uri] = (body.encode(), kms_key_arn)

    def model_exists(self, name: str) -> bool:
        return name in self.models

    def create_model(
        self, *, name: str, package_arn: str, execution_role_arn: str, tags: Mapping[str, str]
    ) -> None:
        self.models[name] = {"package_arn": package_arn, "role": execution_role_arn, "tags": dict(tags)}

    def endpoint_config_exists(self, name: str) -> bool:
        return name in self.endpoint_configs

    def create_endpoint_config(
        self,
        *,
        name: str,
        production_variant: Mapping[str, Any],
        data_capture: Mapping[str, Any],
        tags: Mapping[str, str],
    ) -> None:
        self.endpoint_configs[name] = {"variant": dict(production_variant), "tags": dict(tags)}

    def endpoint_config_tags(self, name: str) -> dict[str, str]:
        return dict(self.endpoint_configs.get(name, {}).get("tags", {}))

    def describe_endpoint(self, name: str) -> Endpoint | None:
        return self.endpoints.get(name)

    def create_endpoint(self, *, name: str, config_name: str, tags: Mapping[str, str]) -> None:
        self.endpoints[name] = Endpoint(
            name=name, arn=f"arn:endpoint/{name}", status="Creating", config_name=config_name
        )

    def update_endpoint(self, *, name: str, config_name: str, deployment_config: Mapping[str, Any]) -> None:
        self.endpoint_updates.append({"name": name, "config_name": config_name})

    def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        """Tags on endpoints are not inspected through the fake."""


@dataclass
class RecordingStarter:
    """A PipelineStarter over a list, as the local emulator would pass its own (no SageMaker)."""

    executions: list[LatestExecution] = field(default_factory=list)
    started: list[StartRequest] = field(default_factory=list)
    clock: FixedClock | None = None

    def latest_execution(self, pipeline_name: str) -> LatestExecution | None:
        return max(self.executions, key=lambda run: run.created_at, default=None)

    def start(self, request: StartRequest) -> str:
        self.started.append(request)
        arn = f"{PIPELINE_ARN}/execution/local{len(self.started)}"
        created = self.clock() if self.clock else datetime.fromisoformat("2026-11-02T10:31:00+00:00")
        self.executions.append(LatestExecution(arn, created, "Executing"))
        return arn


@dataclass
class RecordingNotifier(Notifier):
    messages: list[tuple[str, str, str]] = field(default_factory=list)

    def publish(self, topic_arn: str, subject: str, message: str) -> None:
        self.messages.append((topic_arn, subject, message))


class InMemoryPersistenceLayer(BasePersistenceLayer):
    """Powertools idempotency records in a dict, with DynamoDB's conditional-put semantics."""

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, DataRecord] = {}

    def _get_record(self, idempotency_key: str) -> DataRecord:
        try:
            return self.records[idempotency_key]
        except KeyError as error:
            raise IdempotencyItemNotFoundError from error

    def _put_record(self, data_record: DataRecord) -> None:
        existing = self.records.get(data_record.idempotency_key)
        if existing is not None and not existing.is_expired:
            raise IdempotencyItemAlreadyExistsError(old_data_record=existing)
        self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        self.records.pop(data_record.idempotency_key, None)


# --- moto-backed world ------------------------------------------------------------------------
@dataclass
class Aws:
    """Clients on the moto server plus helpers to arrange registry state and evidence."""

    url: str
    sagemaker: Any
    s3: Any
    sns: Any
    sqs: Any
    dynamodb: Any
    _groups: set[str] = field(default_factory=set)
    _keys: itertools.count = field(default_factory=itertools.count)

    def put_evidence(self, name: str, document: Any) -> str:
        """Upload a JSON document (or raw bytes) and return its s3:// URI."""
        key = f"evidence/{next(self._keys)}/{name}"
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        return f"s3://{BUCKET}/{key}"

    def put_evidence_at(self, uri: str, document: Any) -> None:
        """Overwrite the evidence object at ``uri`` (an s3:// URI in the evidence bucket)."""
        key = uri.removeprefix(f"s3://{BUCKET}/")
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(document).encode())

    def _evidence_uri(self, name: str, document: Any) -> str:
        if document is NOT_UPLOADED:
            return f"s3://{BUCKET}/evidence/never-uploaded/{name}"
        return self.put_evidence(name, document)

    def register_package(
        self,
        *,
        evaluation: Any,
        bias: Any,
        group: str = GROUP,
        status: str = PENDING,
        with_metrics: bool = True,
        metadata: Mapping[str, str] | None = None,
        drift_baseline: Any = None,
    ) -> str:
        """Register a package version the way the pipeline's RegisterModel step does.

        ``drift_baseline`` (a document, or NOT_UPLOADED) adds DriftCheckBaselines as the pipeline
        registers them; ``None`` leaves them out, like a package from before the baseline step.
        """
        if group not in self._groups:
            self.sagemaker.create_model_package_group(ModelPackageGroupName=group)
            self._groups.add(group)
        metrics = {
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": self._evidence_uri("evaluation.json", evaluation),
                }
            },
            "Bias": {
                "Report": {
                    "ContentType": "application/json",
                    "S3Uri": self._evidence_uri("analysis.json", bias),
                }
            },
        }
        response = self.sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelApprovalStatus=status,
            InferenceSpecification={
                "Containers": [
                    {
                        "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                        "ModelDataUrl": f"s3://{BUCKET}/models/model.tar.gz",
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            **({"ModelMetrics": metrics} if with_metrics else {}),
            **({"CustomerMetadataProperties": dict(metadata)} if metadata else {}),
            **self._drift_baselines(drift_baseline),
        )
        return response["ModelPackageArn"]

    def _drift_baselines(self, document: Any) -> dict[str, Any]:
        if document is None:
            return {}
        uri = self._evidence_uri("baseline.json", document)
        statistics = {"ContentType": "application/json", "S3Uri": uri}
        return {"DriftCheckBaselines": {"ModelDataQuality": {"Statistics": statistics}}}

    def package(self, arn: str) -> dict[str, Any]:
        return self.sagemaker.describe_model_package(ModelPackageName=arn)

    def create_training_pipeline(self) -> str:
        """The training pipeline the retrain function starts (moto runs no step of it)."""
        definition = {"Version": "2020-12-01", "Parameters": [], "Steps": []}
        return self.sagemaker.create_pipeline(
            PipelineName=TRAINING_PIPELINE,
            PipelineDefinition=json.dumps(definition),
            RoleArn=ROLE_ARN,
        )["PipelineArn"]

    def start_scheduled_run(self) -> LatestExecution:
        """A run started outside the function (the schedule, a person), as SageMaker lists it."""
        token = f"scheduled-{next(self._keys):024d}"
        self.sagemaker.start_pipeline_execution(PipelineName=TRAINING_PIPELINE, ClientRequestToken=token)
        return self.latest_run()

    def latest_run(self) -> LatestExecution:
        summaries = self.sagemaker.list_pipeline_executions(PipelineName=TRAINING_PIPELINE)[
            "PipelineExecutionSummaries"
        ]
        newest = max(summaries, key=lambda summary: summary["StartTime"])
        return LatestExecution(newest["PipelineExecutionArn"], newest["StartTime"])

    def pipeline_runs(self) -> list[dict[str, Any]]:
        return self.sagemaker.list_pipeline_executions(PipelineName=TRAINING_PIPELINE)[
            "PipelineExecutionSummaries"
        ]

    def object(self, uri: str) -> dict[str, Any]:
        """GetObject of an s3:// URI in the evidence bucket (body read)."""
        response = self.s3.get_object(Bucket=BUCKET, Key=uri.removeprefix(f"s3://{BUCKET}/"))
        return response | {"Body": response["Body"].read()}

    def object_exists(self, uri: str) -> bool:
        listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=uri.removeprefix(f"s3://{BUCKET}/"))
        return listed.get("KeyCount", 0) > 0

    def idempotency_records(self) -> list[dict[str, Any]]:
        return self.dynamodb.scan(TableName=TABLE)["Items"]


@dataclass
class ReviewerInbox:
    """An SQS queue subscribed to the notification topic: what a reviewer would receive."""

    sqs: Any
    queue_url: str

    def messages(self) -> list[dict[str, str]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        return [json.loads(message["Body"]) for message in response.get("Messages", [])]
