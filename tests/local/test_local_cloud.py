"""The local run's moto server (each service routed as moto routes it, each host looked up once) and
the functions' log files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from moto.server import DomainDispatcherApplication

from lambdas.shared.observability import logger
from pipeline_def.local.registry import LambdaSetup, LocalCloud, LocalRegistry
from pipeline_def.local.storage import LocalS3


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Counter[str | None]:
    """How often moto's own host-to-backend search runs, by host."""
    counted: Counter[str | None] = Counter()
    search = DomainDispatcherApplication.get_backend_for_host

    def counting(self: DomainDispatcherApplication, host: str | None) -> Any:
        counted[host] += 1
        return search(self, host)

    monkeypatch.setattr(DomainDispatcherApplication, "get_backend_for_host", counting)
    return counted


def test_each_service_answers_as_moto_routes_it() -> None:
    with LocalCloud("us-east-1") as cloud:
        s3, sagemaker, sns = (cloud.client(name) for name in ("s3", "sagemaker", "sns"))
        s3.create_bucket(Bucket="routed-bucket")
        sagemaker.create_model_package_group(ModelPackageGroupName="routed-group")
        topic = sns.create_topic(Name="routed-topic")["TopicArn"]
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["routed-bucket"]
        groups = sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
        assert [g["ModelPackageGroupName"] for g in groups] == ["routed-group"]
        assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [topic]


def test_moto_searches_for_a_hosts_backend_once_however_many_calls_it_serves(
    lookups: Counter[str | None],
) -> None:
    with LocalCloud("us-east-1") as cloud:
        s3 = cloud.client("s3")
        for _ in range(5):
            s3.list_buckets()
        sagemaker = cloud.client("sagemaker")
        for _ in range(5):
            sagemaker.list_model_package_groups()
    assert lookups, "moto's search was never reached: the routing under test is not moto's"
    assert max(lookups.values()) == 1, lookups
    assert {"s3.us-east-1.amazonaws.com", "api.sagemaker.us-east-1.amazonaws.com"} <= set(lookups)


def test_a_functions_log_lines_go_to_its_file_and_the_stream_comes_back(tmp_path: Path) -> None:
    handler = logger.registered_handler
    before = handler.stream
    with LocalCloud("us-east-1") as cloud:
        registry = LocalRegistry(cloud, LocalS3(tmp_path / "s3"), "group", LambdaSetup({}, {}), logs=tmp_path)

        def failing_function() -> None:
            with registry._function_log("approval"):
                logger.warning("from inside the function")
                raise RuntimeError("the function failed")

        with pytest.raises(RuntimeError, match="the function failed"):
            failing_function()
    assert handler.stream is before
    (line,) = (tmp_path / "approval.log").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["message"] == "from inside the function"


def test_a_logger_made_with_a_stream_closed_since_still_logs_to_the_functions_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the functions' Logger holding a stream closed since (a test's captured stdout, say)
    closed = (tmp_path / "closed.txt").open("w", encoding="utf-8")
    closed.write("unflushed")
    closed.close()
    monkeypatch.setattr(logger.registered_handler, "stream", closed)
    with LocalCloud("us-east-1") as cloud:
        logs = tmp_path / "functions"
        registry = LocalRegistry(cloud, LocalS3(tmp_path / "s3"), "group", LambdaSetup({}, {}), logs=logs)
        # When a function logs
        with registry._function_log("deploy"):
            logger.warning("deployed")
    # Then its line is in its file, and the closed stream is handed back untouched
    (line,) = (tmp_path / "functions" / "deploy.log").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["message"] == "deployed"
    assert logger.registered_handler.stream is closed
