"""The AWS calls both functions make, behind one abstract adapter.

The logic modules only see :class:`RegistryAdapter`, so they run unchanged against the boto3
implementation (production, the local run against moto) and against in-memory fakes (the fuzz
tests, where a network round trip per generated event would be far too slow).

Error policy, shared by every implementation:

* a package that does not exist -> :class:`PackageNotFoundError` (nothing to act on);
* evidence that is missing, too large or not JSON -> :class:`EvidenceUnavailableError`, which the
  approval logic turns into a rejection: re-running would read the same broken file;
* any other AWS error (throttling, AccessDenied, 5xx) propagates unchanged, so the invocation fails,
  Lambda retries it and finally sends it to the failure destination, while the package is untouched.
"""

from __future__ import annotations

import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from lambdas.shared.documents import dig
from lambdas.shared.text import printable

#: Clarify's analysis.json holds SHAP values per feature; a few MB at most for tabular data.
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>.+)$")
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})
_NOT_FOUND_MESSAGES = ("could not find", "does not exist", "not found")
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


class PackageNotFoundError(LookupError):
    """DescribeModelPackage says the package does not exist (deleted after the event)."""


class EvidenceUnavailableError(Exception):
    """An evidence file cannot be used: not found, too large, not UTF-8 JSON, or a bad URI."""

    def __init__(self, uri: str, reason: str) -> None:
        super().__init__(f"{uri}: {reason}")
        self.uri = uri
        self.reason = reason


class ModelPackage(BaseModel):
    """The parts of a DescribeModelPackage response the functions act on."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    arn: str = Field(alias="ModelPackageArn")
    group_name: str | None = Field(default=None, alias="ModelPackageGroupName")
    version: int | None = Field(default=None, alias="ModelPackageVersion")
    approval_status: str | None = Field(default=None, alias="ModelApprovalStatus")
    model_metrics: dict[str, Any] = Field(default_factory=dict, alias="ModelMetrics")
    #: What the pipeline registered about the run (data cut-off, feature groups, code version...).
    customer_metadata: dict[str, str] = Field(default_factory=dict, alias="CustomerMetadataProperties")
    #: The baselines the monitoring job compares the deployed model's traffic with.
    drift_check_baselines: dict[str, Any] = Field(default_factory=dict, alias="DriftCheckBaselines")
    approval_description: str | None = Field(default=None, alias="ApprovalDescription")
    last_modified_time: datetime | None = Field(default=None, alias="LastModifiedTime")
    #: SageMaker's UserContext of the last change (UserProfileName, IamIdentity.Arn...), if it says.
    last_modified_by: dict[str, Any] = Field(default_factory=dict, alias="LastModifiedBy")

    @property
    def quality_statistics_uri(self) -> str | None:
        """``ModelMetrics.ModelQuality.Statistics.S3Uri``: the evaluation.json written by the pipeline."""
        uri = dig(self.model_metrics, "ModelQuality", "Statistics", "S3Uri")
        return uri if isinstance(uri, str) else None

    @property
    def bias_report_uri(self) -> str | None:
        """``ModelMetrics.Bias.Report.S3Uri``: the Clarify analysis.json."""
        uri = dig(self.model_metrics, "Bias", "Report", "S3Uri")
        return uri if isinstance(uri, str) else None

    @property
    def drift_baseline_uri(self) -> str | None:
        """``DriftCheckBaselines.ModelDataQuality.Statistics.S3Uri``: the run's drift baseline.json.

        The SDK's ``DriftCheckBaselines(model_data_statistics=...)`` lands there in the API.
        Packages registered before the pipeline wrote a baseline have none.
        """
        uri = dig(self.drift_check_baselines, "ModelDataQuality", "Statistics", "S3Uri")
        return uri if isinstance(uri, str) else None

    @property
    def last_modified_by_name(self) -> str | None:
        """Who made the last change: the Studio user profile, else the IAM identity's ARN."""
        for name in (
            dig(self.last_modified_by, "UserProfileName"),
            dig(self.last_modified_by, "IamIdentity", "Arn"),
        ):
            if isinstance(name, str) and name:
                return name
        return None


@dataclass(frozen=True)
class ArnScope:
    """Where a resource lives (partition, region, account), or where this function acts.

    A package ARN is compared with the function's own scope before anything is described: an
    ARN of another account, region or partition is a misrouted or forged event, and saying so
    is more useful than the "does not exist" or AccessDenied that DescribeModelPackage would give.
    """

    partition: str
    region: str
    account: str

    @classmethod
    def of_arn(cls, arn: str) -> ArnScope:
        """The scope an ARN names (``arn:<partition>:<service>:<region>:<account>:...``).

        Examples
        --------
        >>> ArnScope.of_arn("arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/g/1").partition
        'aws-cn'
        """
        parts = arn.split(":", 5)
        parts += [""] * (6 - len(parts))
        return cls(partition=parts[1], region=parts[3], account=parts[4])

    def differences(self, other: ArnScope) -> list[str]:
        """``"account 999999999999 (this function's: 123456789012)"`` per field that differs."""
        fields = ("partition", "region", "account")
        return [
            f"{name} {printable(getattr(self, name), 40)} (this function's: {getattr(other, name)})"
            for name in fields
            if getattr(self, name) != getattr(other, name)
        ]


@dataclass(frozen=True)
class Endpoint:
    """The state of an existing SageMaker endpoint."""

    name: str
    arn: str
    status: str
    config_name: str


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` into bucket and key.

    Raises
    ------
    EvidenceUnavailableError
        If ``uri`` is not an S3 object URI.

    Examples
    --------
    >>> parse_s3_uri("s3://bucket/eval/evaluation.json")
    ('bucket', 'eval/evaluation.json')
    """
    match = _S3_URI.match(uri)
    if match is None:
        raise EvidenceUnavailableError(uri[:200], "not an s3://bucket/key URI")
    return match["bucket"], match["key"]


def decode_json(data: bytes, uri: str) -> Any:
    """Parse an evidence file, turning every way it can be broken into EvidenceUnavailableError.

    ``NaN``/``Infinity`` literals are accepted here on purpose: the gates then reject them with a
    precise "not a finite number" reason instead of a generic parse error.
    """
    if len(data) > MAX_EVIDENCE_BYTES:
        raise EvidenceUnavailableError(uri, f"larger than {MAX_EVIDENCE_BYTES} bytes")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise EvidenceUnavailableError(uri, "not UTF-8 text") from error
    except json.JSONDecodeError as error:
        raise EvidenceUnavailableError(uri, f"invalid JSON ({error.msg} at line {error.lineno})") from error
    except RecursionError as error:
        raise EvidenceUnavailableError(uri, "JSON nested too deeply") from error


#: What boto3 reads from the environment when it builds a client. Cached clients are keyed on these
#: values, so a process that moves to another endpoint (a new local moto server, say) gets new ones.
CLIENT_ENVIRONMENT = ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID")


def client_environment() -> tuple[str | None, ...]:
    """The current values of :data:`CLIENT_ENVIRONMENT`, as a cache key."""
    return tuple(os.environ.get(name) for name in CLIENT_ENVIRONMENT)


def dynamodb_client_from_environment() -> Any:
    """The idempotency table's client, from boto3's default session like the other clients.

    Powertools would otherwise open a fresh boto3 Session, reloading every service model.
    """
    return boto3.client("dynamodb", config=_CLIENT_CONFIG)


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """SageMaker's ``[{"Key": k, "Value": v}]`` form of a tag mapping."""
    return [{"Key": key, "Value": value} for key, value in tags.items()]


class RegistryAdapter(ABC):
    """Everything the approval and deploy logic needs from SageMaker and S3.

    S3 writes (the deploy function publishing the monitoring baseline) always name their KMS key.
    """

    @abstractmethod
    def home(self) -> ArnScope:
        """The partition, region and account this adapter's credentials act in."""

    @abstractmethod
    def describe_model_package(self, arn: str) -> ModelPackage:
        """DescribeModelPackage; raises PackageNotFoundError if it does not exist."""

    @abstractmethod
    def read_json(self, s3_uri: str) -> Any:
        """Read and parse an evidence file; raises EvidenceUnavailableError if unusable."""

    @abstractmethod
    def update_approval(self, arn: str, status: str, description: str) -> None:
        """UpdateModelPackage with a new approval status and its description."""

    @abstractmethod
    def write_model_card(self, name: str, content: str, status: str, kms_key_arn: str | None) -> None:
        """CreateModelCard, or UpdateModelCard (a new card version) if the card exists."""

    @abstractmethod
    def read_model_card(self, name: str) -> str | None:
        """The Content of the card's latest version (DescribeModelCard), or ``None`` if there is no card."""

    @abstractmethod
    def copy_object(self, *, source_uri: str, target_uri: str, kms_key_arn: str) -> None:
        """CopyObject, the copy encrypted with SSE-KMS under ``kms_key_arn``.

        Raises EvidenceUnavailableError if the source does not exist or either URI is not s3://.
        """

    @abstractmethod
    def put_json(self, uri: str, body: str, kms_key_arn: str) -> None:
        """PutObject of a JSON document, encrypted with SSE-KMS under ``kms_key_arn``."""

    @abstractmethod
    def model_exists(self, name: str) -> bool:
        """Whether a SageMaker model with this name exists."""

    @abstractmethod
    def create_model(
        self, *, name: str, package_arn: str, execution_role_arn: str, tags: Mapping[str, str]
    ) -> None:
        """CreateModel whose only container is the model package."""

    @abstractmethod
    def endpoint_config_exists(self, name: str) -> bool:
        """Whether an endpoint configuration with this name exists."""

    @abstractmethod
    def create_endpoint_config(
        self,
        *,
        name: str,
        production_variant: Mapping[str, Any],
        data_capture: Mapping[str, Any],
        tags: Mapping[str, str],
    ) -> None:
        """CreateEndpointConfig with one production variant and data capture."""

    @abstractmethod
    def endpoint_config_tags(self, name: str) -> dict[str, str]:
        """The tags of an endpoint configuration; empty if it no longer exists."""

    @abstractmethod
    def describe_endpoint(self, name: str) -> Endpoint | None:
        """DescribeEndpoint, or ``None`` if there is no endpoint with this name."""

    @abstractmethod
    def create_endpoint(self, *, name: str, config_name: str, tags: Mapping[str, str]) -> None:
        """CreateEndpoint from an endpoint configuration."""

    @abstractmethod
    def update_endpoint(self, *, name: str, config_name: str, deployment_config: Mapping[str, Any]) -> None:
        """UpdateEndpoint to a new configuration with a blue/green deployment."""

    @abstractmethod
    def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        """AddTags (overwrites the values of existing keys)."""


def _sse_kms(kms_key_arn: str) -> dict[str, str]:
    """The request fields that encrypt a written object with the given KMS key."""
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_arn}


def _is_not_found(error: ClientError) -> bool:
    """SageMaker signals a missing resource with ValidationException and a message, not a code."""
    code = error.response.get("Error", {}).get("Code", "")
    message = str(error.response.get("Error", {}).get("Message", "")).lower()
    if code in _NOT_FOUND_CODES:
        return True
    return code in {"ValidationException", "ResourceNotFound"} and any(
        text in message for text in _NOT_FOUND_MESSAGES
    )


class Boto3RegistryAdapter(RegistryAdapter):
    """The adapter over real boto3 clients (or moto, through ``AWS_ENDPOINT_URL``)."""

    def __init__(self, sagemaker: Any, s3: Any, sts: Any = None) -> None:
        self.sagemaker = sagemaker
        self.s3 = s3
        self.sts = sts
        self._home: ArnScope | None = None

    @classmethod
    def from_environment(cls) -> Boto3RegistryAdapter:
        """Build clients from the standard AWS environment (region, credentials, endpoint URL)."""
        return cls(
            sagemaker=boto3.client("sagemaker", config=_CLIENT_CONFIG),
            s3=boto3.client("s3", config=_CLIENT_CONFIG),
            sts=boto3.client("sts", config=_CLIENT_CONFIG),
        )

    def home(self) -> ArnScope:
        """Region and partition of the SageMaker client; the account from STS GetCallerIdentity.

        GetCallerIdentity needs no IAM permission and answers for the credentials actually in
        use (in Lambda, in the local run and in the tests alike); it is called once per adapter,
        so once per cold start.
        """
        if self._home is None:
            sts = self.sts or boto3.client(
                "sts", region_name=self.sagemaker.meta.region_name, config=_CLIENT_CONFIG
            )
            meta = self.sagemaker.meta
            account = sts.get_caller_identity()["Account"]
            self._home = ArnScope(partition=meta.partition, region=meta.region_name, account=account)
        return self._home

    def describe_model_package(self, arn: str) -> ModelPackage:
        try:
            response = self.sagemaker.describe_model_package(ModelPackageName=arn)
        except ClientError as error:
            if _is_not_found(error):
                raise PackageNotFoundError(arn) from error
            raise
        return ModelPackage.model_validate(response)

    def read_json(self, s3_uri: str) -> Any:
        bucket, key = parse_s3_uri(s3_uri)
        try:
            response = self.s3.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if _is_not_found(error):
                raise EvidenceUnavailableError(s3_uri, "object not found") from error
            raise
        body = response["Body"]
        try:
            data = body.read(MAX_EVIDENCE_BYTES + 1)
        finally:
            body.close()
        return decode_json(data, s3_uri)

    def update_approval(self, arn: str, status: str, description: str) -> None:
        self.sagemaker.update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus=status, ApprovalDescription=description
        )

    def write_model_card(self, name: str, content: str, status: str, kms_key_arn: str | None) -> None:
        """Create the card, or update it: content first, then the status if it changes.

        SageMaker refuses an UpdateModelCard that sets both Content and ModelCardStatus, so an
        update is two calls. A retry after the second failed writes the same content again.
        """
        current = self._described(self.sagemaker.describe_model_card, ModelCardName=name)
        if current is not None:
            self.sagemaker.update_model_card(ModelCardName=name, Content=content)
            if current.get("ModelCardStatus") != status:
                self.sagemaker.update_model_card(ModelCardName=name, ModelCardStatus=status)
            return
        security = {"SecurityConfig": {"KmsKeyId": kms_key_arn}} if kms_key_arn else {}
        self.sagemaker.create_model_card(
            ModelCardName=name, Content=content, ModelCardStatus=status, **security
        )

    def read_model_card(self, name: str) -> str | None:
        response = self._described(self.sagemaker.describe_model_card, ModelCardName=name) or {}
        content = response.get("Content")
        return content if isinstance(content, str) else None

    def copy_object(self, *, source_uri: str, target_uri: str, kms_key_arn: str) -> None:
        source_bucket, source_key = parse_s3_uri(source_uri)
        bucket, key = parse_s3_uri(target_uri)
        try:
            self.s3.copy_object(
                Bucket=bucket,
                Key=key,
                CopySource={"Bucket": source_bucket, "Key": source_key},
                **_sse_kms(kms_key_arn),
            )
        except ClientError as error:
            # NoSuchKey is the source; a missing bucket (NoSuchBucket) is a broken setting: it propagates.
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise EvidenceUnavailableError(source_uri, "object not found") from error
            raise

    def put_json(self, uri: str, body: str, kms_key_arn: str) -> None:
        bucket, key = parse_s3_uri(uri)
        self.s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body.encode(),
            ContentType="application/json",
            **_sse_kms(kms_key_arn),
        )

    def model_exists(self, name: str) -> bool:
        return self._exists(self.sagemaker.describe_model, ModelName=name)

    def create_model(
        self, *, name: str, package_arn: str, execution_role_arn: str, tags: Mapping[str, str]
    ) -> None:
        self.sagemaker.create_model(
            ModelName=name,
            Containers=[{"ModelPackageName": package_arn}],
            ExecutionRoleArn=execution_role_arn,
            Tags=tag_list(tags),
        )

    def endpoint_config_exists(self, name: str) -> bool:
        return self._exists(self.sagemaker.describe_endpoint_config, EndpointConfigName=name)

    def create_endpoint_config(
        self,
        *,
        name: str,
        production_variant: Mapping[str, Any],
        data_capture: Mapping[str, Any],
        tags: Mapping[str, str],
    ) -> None:
        self.sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[dict(production_variant)],
            DataCaptureConfig=dict(data_capture),
            Tags=tag_list(tags),
        )

    def endpoint_config_tags(self, name: str) -> dict[str, str]:
        config = self._described(self.sagemaker.describe_endpoint_config, EndpointConfigName=name)
        if config is None:
            return {}
        pages = self.sagemaker.get_paginator("list_tags").paginate(ResourceArn=config["EndpointConfigArn"])
        # Later duplicates win, which is what AddTags' overwrite semantics mean.
        return {tag["Key"]: tag["Value"] for page in pages for tag in page.get("Tags", [])}

    def describe_endpoint(self, name: str) -> Endpoint | None:
        response = self._described(self.sagemaker.describe_endpoint, EndpointName=name)
        if response is None:
            return None
        return Endpoint(
            name=response["EndpointName"],
            arn=response["EndpointArn"],
            status=response["EndpointStatus"],
            config_name=response["EndpointConfigName"],
        )

    def create_endpoint(self, *, name: str, config_name: str, tags: Mapping[str, str]) -> None:
        self.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config_name, Tags=tag_list(tags))

    def update_endpoint(self, *, name: str, config_name: str, deployment_config: Mapping[str, Any]) -> None:
        self.sagemaker.update_endpoint(
            EndpointName=name,
            EndpointConfigName=config_name,
            DeploymentConfig=dict(deployment_config),
        )

    def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        self.sagemaker.add_tags(ResourceArn=arn, Tags=tag_list(tags))

    @staticmethod
    def _described(describe: Any, **kwargs: str) -> dict[str, Any] | None:
        """A Describe* call's answer, or ``None`` if the resource does not exist; other errors propagate."""
        try:
            return describe(**kwargs)
        except ClientError as error:
            if _is_not_found(error):
                return None
            raise

    @classmethod
    def _exists(cls, describe: Any, **kwargs: str) -> bool:
        return cls._described(describe, **kwargs) is not None
