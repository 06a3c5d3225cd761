"""Ingest loop and sinks: rendering, retry/backoff, rejects, fatal stops, Stubber on a real client."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from pipeline_def.data.ingest.runner import Ingester, IngestStats, Progress, RejectsWriter, RetryPolicy
from pipeline_def.data.ingest.sinks import Failure, FeatureStoreSink, classify, iter_records, render_value
from pipeline_def.schema import CLAIMS, CUSTOMERS, FeatureType
from tests.data.data_fixtures import FakeSink, client_error, frames

GROUP = "fraud-mlops-dev-claims"


def make_ingester(sink: object, tmp_path: Path, **kwargs: object) -> tuple[Ingester, list[float]]:
    """An ingester that records its sleeps instead of sleeping, with jitter = the cap itself."""
    sleeps: list[float] = []
    options = {"workers": 4, "policy": RetryPolicy(max_attempts=4, base_delay=0.1, max_delay=0.3)} | kwargs
    ingester = Ingester(
        sink,
        RejectsWriter(tmp_path / "rejects.jsonl"),
        sleep=sleeps.append,
        jitter=lambda cap: cap,
        **options,
    )
    return ingester, sleeps


def rejects(tmp_path: Path) -> list[dict]:
    path = tmp_path / "rejects.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def assert_counts_add_up(stats: IngestStats) -> None:
    assert stats.ingested + stats.rejected + stats.not_sent == stats.total


@pytest.mark.parametrize(
    ("kind", "value", "text"),
    [
        (FeatureType.INTEGRAL, 3, "3"),
        (FeatureType.INTEGRAL, -12, "-12"),
        (FeatureType.FRACTIONAL, 1.0, "1.0"),
        (FeatureType.FRACTIONAL, 0.1, "0.1"),
        (FeatureType.FRACTIONAL, 1734401693.89, "1734401693.89"),
        (FeatureType.FRACTIONAL, 1 / 3, "0.3333333333333333"),
    ],
)
def test_values_render_as_feature_store_strings(kind: FeatureType, value: float, text: str) -> None:
    assert render_value(kind, value) == text


def test_records_follow_schema_order_with_integers_without_point() -> None:
    customers = frames(3)[1]
    record = next(iter_records(CUSTOMERS, customers))
    assert [item["FeatureName"] for item in record] == list(CUSTOMERS.column_names)
    values = {item["FeatureName"]: item["ValueAsString"] for item in record}
    assert values["policy_id"] == "1"
    assert values["customer_age"] == str(customers.loc[0, "customer_age"])
    assert values["customer_gender_male"] in {"0.0", "1.0"}
    assert float(values["event_time"]) == customers.loc[0, "event_time"]


def test_records_are_rendered_for_every_row_across_chunks() -> None:
    claims = frames(25)[0]
    ids = [r[0]["ValueAsString"] for r in iter_records(CLAIMS, claims, chunk_rows=7)]
    assert ids == [str(i) for i in range(1, 26)]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (client_error("ThrottlingException"), Failure.RETRY),
        (client_error("ServiceUnavailable", 503), Failure.RETRY),
        (client_error("InternalFailure", 500), Failure.RETRY),
        (client_error("SomethingNew", 502), Failure.RETRY),
        (client_error("ValidationError"), Failure.REJECT),
        (client_error("AccessForbidden", 403), Failure.FATAL),
        (client_error("ResourceNotFound"), Failure.FATAL),
        (NoCredentialsError(), Failure.FATAL),
        (EndpointConnectionError(endpoint_url="http://x"), Failure.RETRY),
        (ValueError("odd"), Failure.REJECT),
    ],
)
def test_errors_are_classified(error: BaseException, expected: Failure) -> None:
    assert classify(error) is expected


def test_backoff_caps_grow_exponentially_up_to_max_delay() -> None:
    policy = RetryPolicy(max_attempts=8, base_delay=0.05, max_delay=0.5)
    assert [policy.cap(n) for n in range(1, 7)] == [0.05, 0.1, 0.2, 0.4, 0.5, 0.5]


def test_invalid_retry_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid retry policy"):
        RetryPolicy(max_attempts=0)


def test_throttled_records_are_retried_with_backoff_then_ingested(tmp_path: Path) -> None:
    claims = frames(50)[0]
    sink = FakeSink(lambda pid, n: client_error("ThrottlingException") if pid % 10 == 0 and n <= 2 else None)
    ingester, sleeps = make_ingester(sink, tmp_path)
    stats = ingester.ingest(CLAIMS, GROUP, claims, source="claims.csv")
    assert (stats.ingested, stats.rejected, stats.retried) == (50, 0, 10)
    assert sorted(sleeps) == [0.1] * 5 + [0.2] * 5
    assert len(sink.store) == 50
    assert not (tmp_path / "rejects.jsonl").exists()


def test_permanent_failures_go_to_the_rejects_file_with_their_line(tmp_path: Path) -> None:
    claims = frames(40)[0]
    sink = FakeSink(lambda pid, _n: client_error("ValidationError") if pid in {3, 17} else None)
    ingester, sleeps = make_ingester(sink, tmp_path)
    stats = ingester.ingest(CLAIMS, GROUP, claims, source="claims.csv")
    ingester.rejects.close()
    assert (stats.ingested, stats.rejected, stats.not_sent) == (38, 2, 0)
    assert sleeps == []  # a refused record is not retried
    entries = sorted(rejects(tmp_path), key=lambda e: e["row"])
    assert [(e["record_id"], e["line"], e["row"], e["error_code"], e["attempts"]) for e in entries] == [
        ("3", 4, 2, "ValidationError", 1),
        ("17", 18, 16, "ValidationError", 1),
    ]
    assert entries[0]["record"] == {
        item["FeatureName"]: item["ValueAsString"] for item in list(iter_records(CLAIMS, claims))[2]
    }
    assert entries[0]["feature_group"] == GROUP


def test_still_throttled_after_the_last_attempt_is_rejected(tmp_path: Path) -> None:
    claims = frames(5)[0]
    sink = FakeSink(lambda pid, _n: client_error("ThrottlingException") if pid == 2 else None)
    ingester, sleeps = make_ingester(sink, tmp_path)
    stats = ingester.ingest(CLAIMS, GROUP, claims, source="claims.parquet", first_line=None)
    ingester.rejects.close()
    assert (stats.ingested, stats.rejected, stats.retried) == (4, 1, 3)
    assert sleeps == [0.1, 0.2, 0.3]
    (entry,) = rejects(tmp_path)
    assert (entry["error_code"], entry["attempts"], entry["line"], entry["row"]) == (
        "ThrottlingException",
        4,
        None,
        1,
    )


def _ingest_into_a_forbidden_sink(tmp_path: Path) -> tuple[Ingester, IngestStats, FakeSink]:
    """200 claims sent by 2 workers to a sink that answers AccessForbidden from policy 20 on."""
    claims = frames(200)[0]
    sink = FakeSink(lambda pid, _n: client_error("AccessForbidden", 403) if pid >= 20 else None)
    ingester, _ = make_ingester(sink, tmp_path, workers=2)
    return ingester, ingester.ingest(CLAIMS, GROUP, claims, source="claims.csv"), sink


def test_fatal_error_stops_the_run(tmp_path: Path) -> None:
    # Given a sink that forbids access part-way / When the claims are ingested
    ingester, stats, _ = _ingest_into_a_forbidden_sink(tmp_path)
    # Then the run stops on the fatal error, naming it
    assert stats.fatal is not None
    assert stats.fatal.startswith("AccessForbidden")
    assert ingester.stopped


def test_fatal_error_counts_the_rest_as_not_sent(tmp_path: Path) -> None:
    # Given a sink that forbids access part-way / When the claims are ingested
    _, stats, sink = _ingest_into_a_forbidden_sink(tmp_path)
    # Then the rest is not sent rather than rejected, and the counts match what was stored
    assert stats.rejected == 0
    assert stats.not_sent > 100
    assert_counts_add_up(stats)
    assert len(sink.store) == stats.ingested


def test_unreachable_endpoint_stops_after_retries(tmp_path: Path) -> None:
    claims = frames(30)[0]
    sink = FakeSink(lambda _pid, _n: EndpointConnectionError(endpoint_url="http://127.0.0.1:9"))
    ingester, _ = make_ingester(sink, tmp_path, workers=1)
    stats = ingester.ingest(CLAIMS, GROUP, claims, source="claims.csv")
    assert stats.fatal is not None
    assert "EndpointConnectionError" in stats.fatal
    assert (stats.ingested, stats.rejected, stats.not_sent) == (0, 0, 30)


def _ingest_interrupted_at_policy_10(tmp_path: Path) -> IngestStats:
    """100 claims sent by 1 worker, Ctrl-C pressed while policy 10 is being sent."""
    claims = frames(100)[0]
    sink = FakeSink(lambda pid, _n: KeyboardInterrupt() if pid == 10 else None)
    ingester, _ = make_ingester(sink, tmp_path, workers=1)
    return ingester.ingest(CLAIMS, GROUP, claims, source="claims.csv")


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    # Given Ctrl-C part-way / When the claims are ingested
    stats = _ingest_interrupted_at_policy_10(tmp_path)
    # Then the run ends with the interruption as its fatal error, not a traceback
    assert stats.fatal == "interrupted (Ctrl-C)"


def test_ctrl_c_keeps_counts(tmp_path: Path) -> None:
    # Given Ctrl-C part-way / When the claims are ingested
    stats = _ingest_interrupted_at_policy_10(tmp_path)
    # Then what was sent before and what was not are both counted
    assert stats.ingested >= 9
    assert stats.not_sent > 0
    assert_counts_add_up(stats)


def test_many_workers_send_every_record_exactly_once(tmp_path: Path) -> None:
    claims = frames(1000)[0]
    sink = FakeSink(
        lambda pid, n: client_error("ServiceUnavailable", 503) if pid % 7 == 0 and n == 1 else None
    )
    ingester, _ = make_ingester(sink, tmp_path, workers=8)
    stats = ingester.ingest(CLAIMS, GROUP, claims, source="claims.csv")
    assert (stats.ingested, stats.retried) == (1000, 142)
    assert sorted(int(k[1]) for k in sink.store) == list(range(1, 1001))
    assert set(sink.attempts.values()) == {1, 2}


def test_rerunning_the_same_frame_overwrites_instead_of_duplicating(tmp_path: Path) -> None:
    claims = frames(60)[0]
    sink = FakeSink()
    for _ in range(2):
        ingester, _ = make_ingester(sink, tmp_path)
        assert ingester.ingest(CLAIMS, GROUP, claims, source="claims.csv").ingested == 60
    assert len(sink.store) == 60


def test_progress_line_reports_records_per_second_at_most_once_per_interval() -> None:
    stream = io.StringIO()  # not a terminal: whole lines, at most one per 10 s
    ticks = iter([0.0, 5.0, 40.0])
    progress = Progress(stream, clock=lambda: next(ticks))
    stats = IngestStats(total=100, ingested=38, rejected=2, retried=3)
    progress.update("claims", stats, started=-10.0)
    progress.update("claims", stats, started=-10.0)  # 5 s later: skipped
    progress.update("claims", stats, started=-10.0, final=True)
    assert stream.getvalue().splitlines() == [
        "claims: 40/100 records (4/s), retried 3, rejected 2",
        "claims: 40/100 records (1/s), retried 3, rejected 2",
    ]


def _stub_client() -> object:
    return boto3.client(
        "sagemaker-featurestore-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _ingest_through_a_stubbed_client(tmp_path: Path) -> tuple[IngestStats, list[float]]:
    """Two claims through a real client: the first throttled twice then stored, the second invalid.

    Asserts that the client received exactly the stubbed calls; returns the stats and the sleeps.
    """
    claims = frames(2)[0]
    records = list(iter_records(CLAIMS, claims))
    client = _stub_client()
    stubber = Stubber(client)
    first = {"FeatureGroupName": GROUP, "Record": records[0]}
    second = {"FeatureGroupName": GROUP, "Record": records[1]}
    stubber.add_client_error("put_record", "ThrottlingException", "slow down", 400, expected_params=first)
    stubber.add_client_error("put_record", "ServiceUnavailable", "busy", 503, expected_params=first)
    stubber.add_response("put_record", {}, expected_params=first)
    stubber.add_client_error("put_record", "ValidationError", "bad value", 400, expected_params=second)
    ingester, sleeps = make_ingester(FeatureStoreSink(client), tmp_path, workers=1)
    with stubber:
        stats = ingester.ingest(CLAIMS, GROUP, claims, source="claims.csv")
    ingester.rejects.close()
    stubber.assert_no_pending_responses()
    return stats, sleeps


def test_stubbed_put_record_retries_throttling(tmp_path: Path) -> None:
    # Given a first record throttled twice, then stored / When both claims are ingested
    stats, sleeps = _ingest_through_a_stubbed_client(tmp_path)
    # Then it is retried with growing waits and stored
    assert (stats.ingested, stats.retried) == (1, 2)
    assert sleeps == [0.1, 0.2]


def test_stubbed_put_record_rejects_validation_errors(tmp_path: Path) -> None:
    # Given a second record the service finds invalid / When both claims are ingested
    stats, _ = _ingest_through_a_stubbed_client(tmp_path)
    # Then it is rejected at once, and the rejects file says which record and why
    assert stats.rejected == 1
    (entry,) = rejects(tmp_path)
    assert (entry["record_id"], entry["error_code"]) == ("2", "ValidationError")
    assert "bad value" in entry["error"]


def _sink_client() -> Any:
    """The boto3 client of a sink created for eu-west-1, a local endpoint and 32 connections."""
    sink = FeatureStoreSink.create("eu-west-1", endpoint_url="http://127.0.0.1:4566", max_connections=32)
    return sink._client


def test_feature_store_sink_uses_the_region_endpoint() -> None:
    # Given a sink created for a region and an endpoint / When its client is inspected
    client = _sink_client()
    # Then the client calls that endpoint in that region
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.endpoint_url == "http://127.0.0.1:4566"


def test_feature_store_sink_makes_no_hidden_retries() -> None:
    # Given a sink / When its client is inspected
    client = _sink_client()
    # Then boto3 tries each call once: the ingester's own policy is the only retry
    assert client.meta.config.retries["total_max_attempts"] == 1


def test_feature_store_sink_pools_the_connections_asked_for() -> None:
    # Given a sink created for 32 connections / When its client is inspected
    client = _sink_client()
    # Then its pool holds the 32 connections asked for
    assert client.meta.config.max_pool_connections == 32


def test_frame_rows_reach_the_sink_as_typed_strings(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {f.name: [0.0 if f.type is FeatureType.FRACTIONAL else 0] for f in CUSTOMERS.features}
    )
    frame = frame.astype(CUSTOMERS.dtypes)
    frame.loc[0, ["policy_id", "customer_age", "event_time"]] = [7, 44, 1700000000.25]
    sink = FakeSink()
    ingester, _ = make_ingester(sink, tmp_path)
    ingester.ingest(CUSTOMERS, "customers-group", frame, source="frame")
    (stored,) = sink.store.values()
    assert (stored["policy_id"], stored["customer_age"], stored["event_time"]) == ("7", "44", "1700000000.25")
    assert stored["policy_state_ca"] == "0.0"
