"""Where records go: the :class:`RecordSink` interface and its Feature Store implementation.

moto implements no Feature Store runtime API (``sagemaker-featurestore-runtime``), so the ingester
talks to this small interface: production uses :class:`FeatureStoreSink` (one ``PutRecord`` per
record), tests use a fake or a botocore ``Stubber`` on a real client. This module also decides
how a failure is treated, because that depends on the service's errors, not on the ingest loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from typing import Any, Protocol

import boto3
import pandas as pd
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from pipeline_def.schema import FeatureGroupSchema, FeatureType

#: One Feature Store record as PutRecord takes it.
Record = list[dict[str, str]]
#: Seconds to connect and, separately, to wait for an answer, per PutRecord call. PutRecord
#: answers in milliseconds; 10 s means an endpoint that accepts and never answers stops the run
#: (see :meth:`Ingester._put`) well within 30 s instead of after every retry of every record.
DEFAULT_TIMEOUT_SECONDS = 10.0

#: Error codes worth retrying: throttling and the service's 5xx faults.
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
#: Error codes that will fail every record the same way: stop instead of rejecting them all.
FATAL_CODES = frozenset(
    {
        "AccessForbidden",
        "AccessDenied",
        "AccessDeniedException",
        "ResourceNotFound",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "MissingAuthenticationToken",
    }
)


class Failure(Enum):
    """What to do after a failed put."""

    RETRY = "retry"  # transient: back off and try again
    REJECT = "reject"  # this record is refused: write it to the rejects file
    FATAL = "fatal"  # every record would fail: stop the run


class RecordSink(Protocol):
    """Stores one record of a feature group; raises on failure (e.g. botocore ``ClientError``)."""

    def put_record(self, feature_group_name: str, record: Record) -> None: ...


class FeatureStoreSink:
    """:class:`RecordSink` over the ``sagemaker-featurestore-runtime`` PutRecord API.

    PutRecord overwrites a record with the same record id and event time, so re-sending a
    file is safe. botocore's own retries are off: the ingester retries with backoff and
    counts the retries, and two nested retry loops would multiply the waiting.
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    @classmethod
    def create(
        cls,
        region: str,
        *,
        endpoint_url: str | None = None,
        max_connections: int = 10,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> FeatureStoreSink:
        """A sink on a new client; credentials come from boto3's usual chain."""
        config = Config(
            retries={"total_max_attempts": 1},
            max_pool_connections=max(10, max_connections),
            connect_timeout=timeout,
            read_timeout=timeout,
        )
        client = boto3.client(
            "sagemaker-featurestore-runtime", region_name=region, endpoint_url=endpoint_url, config=config
        )
        return cls(client)

    def put_record(self, feature_group_name: str, record: Record) -> None:
        self._client.put_record(FeatureGroupName=feature_group_name, Record=record)


def error_code(error: BaseException) -> str:
    """The service error code (``ThrottlingException``) or the exception's class name."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__


def classify(error: BaseException) -> Failure:
    """Decide between retry, reject and stop for an exception raised by a sink.

    Connection problems are retried; the ingester stops the run if one still fails after
    all retries, since an unreachable endpoint would fail every remaining record too.
    """
    if isinstance(error, NoCredentialsError | PartialCredentialsError | NoRegionError):
        return Failure.FATAL
    if isinstance(error, BotoConnectionError | HTTPClientError):
        return Failure.RETRY
    if not isinstance(error, ClientError):
        return Failure.REJECT
    code = error_code(error)
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in RETRYABLE_CODES or status >= 500 or status == 429:
        return Failure.RETRY
    if code in FATAL_CODES or status in (401, 403):
        return Failure.FATAL
    return Failure.REJECT


def is_connection_error(error: BaseException) -> bool:
    """True when the endpoint could not be reached (as opposed to the service refusing)."""
    return isinstance(error, BotoConnectionError | HTTPClientError)


def is_timeout(error: BaseException | None) -> bool:
    """True when the endpoint did not connect or answer within the per-call timeout."""
    return isinstance(error, ReadTimeoutError | ConnectTimeoutError)


def render_value(kind: FeatureType, value: int | float) -> str:
    """Feature Store's ``ValueAsString``: integers without ``.0``, floats at ``repr`` precision.

    ``repr`` is the shortest text that reads back to the same double, so nothing is rounded.

    Examples
    --------
    >>> render_value(FeatureType.INTEGRAL, 3), render_value(FeatureType.FRACTIONAL, 0.1)
    ('3', '0.1')
    """
    if kind is FeatureType.INTEGRAL:
        return str(int(value))
    return repr(float(value))


def iter_records(
    schema: FeatureGroupSchema, frame: pd.DataFrame, *, chunk_rows: int = 10_000
) -> Iterator[Record]:
    """Records of a validated frame, rendered lazily in chunks to keep memory flat."""
    features = schema.features
    for start in range(0, len(frame), chunk_rows):
        chunk = frame.iloc[start : start + chunk_rows]
        columns = [chunk[f.name].tolist() for f in features]  # Python ints/floats, not numpy scalars
        for values in zip(*columns, strict=True):
            yield [
                {"FeatureName": f.name, "ValueAsString": render_value(f.type, v)}
                for f, v in zip(features, values, strict=True)
            ]
