"""The Model Registry and the approval/deploy Lambdas, run locally against a moto server.

The run starts moto on 127.0.0.1 (a real HTTP endpoint), creates what the stacks would
(model package group, idempotency table, notification topic, buckets), registers the package
with the RegisterModel step's own CreateModelPackage request, and then hands the Lambda
handlers the "SageMaker Model Package State Change" events EventBridge would deliver:
PendingManualApproval to the approval function and, once approved, Approved to the deploy one.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from lambdas import constants
from pipeline_def.local.expressions import ExecutionError
from pipeline_def.local.storage import LocalS3

ACCOUNT = "123456789012"
_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}


@dataclass(frozen=True)
class LambdaContext:
    """What the Lambda runtime passes as ``context`` (Powertools reads these attributes)."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = ""
    log_group_name: str = "local"
    log_stream_name: str = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


@dataclass
class Invocation:
    function: str
    event: dict
    result: dict | None = None
    error: str | None = None


@dataclass
class RegistryOutcome:
    model_package_arn: str
    approval_status: str
    approval_description: str
    invocations: list[Invocation] = field(default_factory=list)
    endpoint: dict | None = None
    customer_metadata: dict[str, str] = field(default_factory=dict)


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


class _RoutedOnce(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend serves each host name.

    moto finds a host's backend by listing its own package folder and testing each entry with a
    ``stat``, twice per request: a third of the server's time for one API call. Its package and
    its URL patterns do not change while a process runs, so the answer for a host does not either.
    """

    def __init__(self, create_app: Any) -> None:
        super().__init__(create_app)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        if host not in self._backends:
            self._backends[host] = super().get_backend_for_host(host)
        return self._backends[host]


class LocalCloud:
    """A moto server for the AWS APIs the registry and the Lambdas use, started and stopped here.

    moto's own application and request handler, served from a thread the way its
    ``ThreadedMotoServer`` serves them, except that the loop checks for shutdown every 20 ms
    rather than werkzeug's 0.5 s: that half second was spent at the end of every local run.
    """

    SHUTDOWN_POLL_SECONDS = 0.02

    def __init__(self, region: str) -> None:
        self.region = region
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1",
            0,
            _RoutedOnce(create_backend_app),
            threaded=True,
            request_handler=MotoRequestHandler,
        )
        self.port: int = self._server.server_port
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(self.SHUTDOWN_POLL_SECONDS,), daemon=True
        )
        self._clients_lock = threading.Lock()

    def __enter__(self) -> LocalCloud:
        self._thread.start()
        # moto's backends live in this process, shared by every server it starts: a fresh run
        # must not see an earlier run's registry (tests, or a notebook calling run() twice).
        reset = f"{self.endpoint}/moto-api/reset"
        request = urllib.request.Request(reset, method="POST")  # noqa: S310 - http://127.0.0.1 only
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - same URL
            response.read()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def environment(self) -> dict[str, str]:
        return {**_CREDENTIALS, "AWS_DEFAULT_REGION": self.region, "AWS_ENDPOINT_URL": self.endpoint}

    def client(self, service: str) -> Any:
        """A client of this server, made one at a time from any thread.

        From boto3's default session, as the functions make theirs: one cache of service models
        for both (a session of its own would load SageMaker's again, 0.2 s). The run makes its
        registry in a second thread while this process's other thread makes no client.
        """
        with self._clients_lock:
            return boto3.client(
                service,
                region_name=self.region,
                endpoint_url=self.endpoint,
                aws_access_key_id="local",
                aws_secret_access_key="local",  # noqa: S106 - moto's
            )


@dataclass(frozen=True)
class LambdaSetup:
    """Environment of the two functions, as the approval stack configures them."""

    approval: dict[str, str]
    deploy: dict[str, str]


class LocalRegistry:
    """Registers packages in moto and plays EventBridge for the two Lambda functions.

    With ``logs``, each function's log lines go to ``<logs>/<function>.log``, kept apart from the
    run's own output as CloudWatch Logs keeps them in the cloud; without, to standard output.
    """

    def __init__(
        self, cloud: LocalCloud, s3: LocalS3, group_name: str, lambdas: LambdaSetup, logs: Path | None = None
    ) -> None:
        self.cloud = cloud
        self.s3 = s3
        self.group_name = group_name
        self.lambdas = lambdas
        self.logs = logs
        self.sagemaker = cloud.client("sagemaker")

    def provision(self, *, buckets: list[str], table: str, topic: str) -> dict[str, str]:
        """Create what the stacks would; returns the created ARNs by name."""
        self.sagemaker.create_model_package_group(
            ModelPackageGroupName=self.group_name,
            ModelPackageGroupDescription="Fraud detection models (local run)",
        )
        s3 = self.cloud.client("s3")
        for bucket in buckets:
            s3.create_bucket(Bucket=bucket)
        self.cloud.client("dynamodb").create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        topic_arn = self.cloud.client("sns").create_topic(Name=topic)["TopicArn"]
        return {"topic_arn": topic_arn}

    def _mirror_evidence(self, request: dict) -> None:
        """The functions read the metrics and the drift baseline from S3: put the local objects in moto's."""
        s3 = self.cloud.client("s3")
        for uri in _metric_sources(request):
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            path = self.s3.path(uri)
            if not path.is_file():
                raise ExecutionError(f"model metrics object {uri} does not exist")
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())

    def sync_back(self, prefix_uri: str) -> list[str]:
        """Copy what the functions wrote under a prefix in moto's S3 into the local S3 folder."""
        s3 = self.cloud.client("s3")
        bucket, _, prefix = prefix_uri.removeprefix("s3://").partition("/")
        copied = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                uri = f"s3://{bucket}/{item['Key']}"
                target = self.s3.path(uri)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
                copied.append(uri)
        return copied

    def register(self, step: str, request: dict, execution_id: str) -> dict:
        """The RegisterModel step: its resolved CreateModelPackage request, sent to the registry."""
        self._mirror_evidence(request)
        response = self.sagemaker.create_model_package(**request)
        return {"ModelPackageArn": response["ModelPackageArn"]}

    def package_count(self) -> int:
        """Versions in the group: what a reviewer would see in the registry after the run."""
        pages = self.sagemaker.get_paginator("list_model_packages").paginate(
            ModelPackageGroupName=self.group_name
        )
        return sum(len(page["ModelPackageSummaryList"]) for page in pages)

    def state_change_event(self, arn: str) -> dict:
        """What EventBridge delivers: the DescribeModelPackage view of the package as ``detail``."""
        detail = _json_safe(self.sagemaker.describe_model_package(ModelPackageName=arn))
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "SageMaker Model Package State Change",
            "source": "aws.sagemaker",
            "account": ACCOUNT,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.cloud.region,
            "resources": [arn],
            "detail": detail,
        }

    def _invoke(self, function: str, handler_path: str, env: dict[str, str], event: dict) -> Invocation:
        invocation = Invocation(function, event)
        module_name, _, attribute = handler_path.rpartition(".")
        with environment({**self.cloud.environment, **env}), self._function_log(function):
            handler = getattr(importlib.import_module(module_name), attribute)
            context = LambdaContext(function_name=function, aws_request_id=str(uuid.uuid4()))
            invocation.result = handler(event, context)
        return invocation

    @contextmanager
    def _function_log(self, function: str) -> Iterator[None]:
        if self.logs is None:
            yield
            return
        from lambdas.shared.observability import logger  # the functions' one Logger

        self.logs.mkdir(parents=True, exist_ok=True)
        handler = logger.registered_handler
        with (self.logs / f"{function}.log").open("a", encoding="utf-8") as sink:
            # Swapped, not setStream: that flushes the stream being replaced, which is whatever
            # sys.stdout was when the Logger was made, possibly closed by now (a test's capture).
            with handler.lock:
                previous, handler.stream = handler.stream, sink
            try:
                yield
            finally:
                with handler.lock:
                    handler.stream = previous

    def review(self, arn: str) -> RegistryOutcome:
        """Deliver the pending event to the approval function, and an approval to the deploy one.

        What the deploy function publishes for the monitoring job (the served package's baseline)
        is copied back to the local S3 folder, where ``monitor`` reads it as the job would.
        """
        pending = self.state_change_event(arn)
        invocations = [self._invoke("approval", constants.APPROVAL_HANDLER, self.lambdas.approval, pending)]
        package = self.sagemaker.describe_model_package(ModelPackageName=arn)
        outcome = RegistryOutcome(
            arn,
            package["ModelApprovalStatus"],
            package.get("ApprovalDescription", ""),
            invocations,
            # As registered: moto's UpdateModelPackage drops these when the update omits them
            # (the real API keeps them), so read them from the event sent before any update.
            customer_metadata=pending["detail"].get("CustomerMetadataProperties", {}),
        )
        if outcome.approval_status == constants.STATUS_APPROVED:
            event = self.state_change_event(arn)
            invocations.append(self._invoke("deploy", constants.DEPLOY_HANDLER, self.lambdas.deploy, event))
            name = self.lambdas.deploy[constants.ENV_ENDPOINT_NAME]
            baseline = self.lambdas.deploy.get(constants.ENV_MONITORING_BASELINE_URI)
            if baseline:
                self.sync_back(baseline.rpartition("/")[0] + "/")
            outcome.endpoint = _json_safe(self.sagemaker.describe_endpoint(EndpointName=name))
        return outcome


def _metric_sources(request: Mapping[str, Any]) -> list[str]:
    """Every S3Uri under ModelMetrics and DriftCheckBaselines (two or three levels deep)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            if isinstance(value.get("S3Uri"), str):
                found.append(value["S3Uri"])
            for item in value.values():
                walk(item)

    walk({key: request.get(key, {}) for key in ("ModelMetrics", "DriftCheckBaselines")})
    return found


def events_json(outcome: RegistryOutcome) -> str:
    return json.dumps(
        [{"function": i.function, "event": i.event, "result": i.result} for i in outcome.invocations],
        indent=2,
        default=str,
    )
