"""The deployed ingestion job (``pipeline_def/data/ingest/job.py``): validate, quarantine, put.

The job runs the ingest CLI's validation, encoding and PutRecord code inside SageMaker; these
tests call its ``main`` with the arguments the ingestion definition passes, in folders standing
for the container's, with an in-memory sink and store (and S3 on a moto server for the real one).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline_def.data.encoding import InputFormat
from pipeline_def.data.ingest import job
from pipeline_def.data.validation import validate
from pipeline_def.local.registry import LocalCloud
from pipeline_def.schema import CLAIMS, CUSTOMERS
from tests.data.data_fixtures import NOW, FakeSink, client_error, edit_csv, write_csvs, write_raw_csvs

SOURCE = "s3://data-bucket/incoming/claims/claims.csv"
LANDED_AT = "2026-12-03T10:00:00Z"


def _validate(
    tmp_path: Path, landed: Path, *extra: str, source: str = SOURCE, group: str = "claims", stage: bool = True
) -> int:
    folder = tmp_path / "landed"
    folder.mkdir(exist_ok=True)
    if stage:  # what the processing input copies into the container
        shutil.copy2(landed, folder / Path(source).name)
    return job.main(
        [
            "validate",
            "--source-uri",
            source,
            "--group",
            group,
            "--input",
            str(folder),
            "--landed-at",
            LANDED_AT,
            *("--parts-out", str(tmp_path / "parts")),
            *("--report-out", str(tmp_path / "report")),
            *("--rejected-out", str(tmp_path / "rejected")),
            *extra,
        ]
    )


def _report(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "report" / job.REPORT_FILE).read_text())


# --- where a file landed ---------------------------------------------------------------------


def test_the_group_is_the_folder_under_incoming() -> None:
    assert job.landed_group("s3://b/incoming/customers/2026-12.parquet") == "customers"


@pytest.mark.parametrize(
    "uri",
    [
        "s3://b/incoming/claims/",
        "s3://b/incoming/claims/sub/x.csv",
        "s3://b/incoming/policies/x.csv",
        "s3://b/landing/claims/x.csv",
        "s3://b",
        "https://b/incoming/claims/x.csv",
    ],
)
def test_a_key_outside_incoming_group_name_is_refused(uri: str) -> None:
    with pytest.raises(
        ValueError, match=r"expected incoming/<claims\|customers>/<file name>|s3://bucket/key"
    ):
        job.landed_group(uri)


def test_a_file_landed_under_the_other_group_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    claims, _ = write_csvs(tmp_path / "src")
    code = _validate(tmp_path, claims, "--parts", "2", group="customers")
    assert code == job.EXIT_INVALID
    assert not (tmp_path / "report").exists()
    assert not (tmp_path / "parts").exists()


def test_a_landed_object_that_is_not_there_fails_the_step(tmp_path: Path) -> None:
    claims, _ = write_csvs(tmp_path / "src")
    code = _validate(tmp_path, claims, "--parts", "2", stage=False)
    assert code == job.EXIT_INVALID
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize("parts", ["0", "1001", "two"])
def test_a_parts_count_out_of_range_is_refused(tmp_path: Path, parts: str, capsys) -> None:
    claims, _ = write_csvs(tmp_path / "src")
    with pytest.raises(SystemExit) as stop:
        _validate(tmp_path, claims, "--parts", parts)
    assert stop.value.code == 2
    assert "--parts" in capsys.readouterr().err


# --- validate: valid files become parts --------------------------------------------------------


def test_a_valid_raw_file_becomes_parts_in_the_features_layout(tmp_path: Path) -> None:
    # Given an insurer's raw claims export of 300 policies
    raw_claims, _ = write_raw_csvs(tmp_path / "src")
    # When the job validates it for 3 put instances
    assert _validate(tmp_path, raw_claims, "--parts", "3") == job.EXIT_OK
    # Then the report says valid, and 3 parts hold every row, encoded, in schema order
    report = _report(tmp_path)
    assert report["status"] == job.STATUS_VALID
    assert report["input_format"] == "raw"
    assert report["rows"] == 300
    parts = sorted((tmp_path / "parts").glob("*.csv"))
    assert [p.name for p in parts] == ["part-00000.csv", "part-00001.csv", "part-00002.csv"]
    frames = [pd.read_csv(p) for p in parts]
    assert [len(f) for f in frames] == [100, 100, 100]
    assert list(frames[0].columns) == list(CLAIMS.column_names)
    assert not (tmp_path / "rejected").exists()


def test_parts_hold_the_same_feature_rows_as_the_encoded_file(tmp_path: Path) -> None:
    # Given the raw and the encoded form of the same policies
    raw_claims, _ = write_raw_csvs(tmp_path / "raw")
    encoded, _ = write_csvs(tmp_path / "encoded")
    _validate(tmp_path, raw_claims, "--parts", "2")
    # Then the parts read back to exactly the encoded file's rows
    parts = pd.concat([pd.read_csv(p) for p in sorted((tmp_path / "parts").glob("*.csv"))], ignore_index=True)
    expected = validate(CLAIMS, encoded, source_name="e", now=NOW, input_format=InputFormat.FEATURES)
    pd.testing.assert_frame_equal(
        parts, expected.raise_if_invalid().reset_index(drop=True), check_dtype=False
    )


def test_no_more_parts_than_rows(tmp_path: Path) -> None:
    claims, _ = write_csvs(tmp_path / "src", rows=3)
    _validate(tmp_path, claims, "--parts", "8")
    assert len(list((tmp_path / "parts").glob("*.csv"))) == 3


def test_a_file_without_event_time_is_stamped_with_the_landing_time(tmp_path: Path) -> None:
    claims, _ = write_csvs(tmp_path / "src")
    frame = pd.read_csv(claims).drop(columns=["event_time"])
    frame.to_csv(claims, index=False)
    _validate(tmp_path, claims, "--parts", "1")
    stamped = pd.read_csv(tmp_path / "parts" / "part-00000.csv")["event_time"]
    assert set(stamped) == {pd.Timestamp(LANDED_AT).timestamp()}


# --- validate: invalid files are rejected whole ------------------------------------------------


def test_an_invalid_file_is_copied_with_its_report_and_nothing_is_parted(tmp_path: Path) -> None:
    # Given a raw claims file with an unknown category on line 3 and a negative count on line 5
    raw_claims, _ = write_raw_csvs(tmp_path / "src")
    edit_csv(raw_claims, {(3, "incident_type"): "Crash", (5, "num_injuries"): "-1"})
    # When it is validated
    assert _validate(tmp_path, raw_claims, "--parts", "2") == job.EXIT_OK
    # Then the report lists each error as file:line:column, and no part exists
    report = _report(tmp_path)
    assert report["status"] == "rejected"
    assert report["error_count"] == 2
    assert report["errors"][0].startswith(f"{SOURCE}:3:incident_type:")
    assert report["errors"][1].startswith(f"{SOURCE}:5:num_injuries:")
    assert not list((tmp_path / "parts").glob("*.csv"))
    # And the rejected output holds the file, byte for byte, and the same report beside it
    copy = tmp_path / "rejected" / "claims.csv"
    assert copy.read_bytes() == raw_claims.read_bytes()
    assert json.loads((tmp_path / "rejected" / "claims.csv.report.json").read_text()) == report


def test_an_unreadable_file_is_rejected_with_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "src" / "claims.csv"
    bad.parent.mkdir()
    bad.write_text("nothing,like,the,layout\n1,2,3,4\n")
    assert _validate(tmp_path, bad, "--parts", "2") == job.EXIT_OK
    report = _report(tmp_path)
    assert report["status"] == "rejected"
    assert report["errors"]
    assert (tmp_path / "rejected" / "claims.csv").is_file()


# --- quarantine: the landed file goes only once its copy is safe --------------------------------


class MemoryStore:
    def __init__(self, *objects: str) -> None:
        self.objects = set(objects)
        self.deleted: list[str] = []

    def exists(self, uri: str) -> bool:
        return uri in self.objects

    def delete(self, uri: str) -> None:
        self.objects.discard(uri)
        self.deleted.append(uri)


REJECTED = "s3://data-bucket/rejected/claims/exec-1"


def _quarantine(store: MemoryStore) -> int:
    return job.main(["quarantine", "--source-uri", SOURCE, "--rejected-prefix", REJECTED], store=store)


def test_quarantine_deletes_the_landed_file_when_copy_and_report_are_in_place() -> None:
    store = MemoryStore(SOURCE, f"{REJECTED}/claims.csv", f"{REJECTED}/claims.csv.report.json")
    assert _quarantine(store) == job.EXIT_OK
    assert store.deleted == [SOURCE]


@pytest.mark.parametrize("missing", ["claims.csv", "claims.csv.report.json"])
def test_quarantine_keeps_the_landed_file_when_anything_is_missing(missing: str) -> None:
    store = MemoryStore(SOURCE, f"{REJECTED}/claims.csv", f"{REJECTED}/claims.csv.report.json")
    store.objects.discard(f"{REJECTED}/{missing}")
    assert _quarantine(store) == job.EXIT_FAILED
    assert store.deleted == []


def test_quarantine_refuses_a_prefix_that_is_not_an_s3_uri() -> None:
    store = MemoryStore(SOURCE)
    code = job.main(["quarantine", "--source-uri", SOURCE, "--rejected-prefix", "/tmp/x"], store=store)
    assert code == job.EXIT_INVALID
    assert store.deleted == []


def test_the_s3_store_checks_objects_not_prefixes_and_deletes_one() -> None:
    # Given S3 (a moto server) holding a landed file and a longer key that shares its prefix
    with LocalCloud("us-east-1") as cloud:
        s3 = cloud.client("s3")
        s3.create_bucket(Bucket="data-bucket")
        s3.put_object(Bucket="data-bucket", Key="incoming/claims/claims.csv.bak", Body=b"x")
        store = job.S3ObjectStore(s3)
        # Then only the exact key counts as there
        assert not store.exists(SOURCE)
        s3.put_object(Bucket="data-bucket", Key="incoming/claims/claims.csv", Body=b"x")
        assert store.exists(SOURCE)
        # And delete removes that object alone
        store.delete(SOURCE)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="data-bucket")["Contents"]]
        assert keys == ["incoming/claims/claims.csv.bak"]


# --- put: each instance its shard ---------------------------------------------------------------


def _parts(tmp_path: Path, count: int) -> Path:
    claims, _ = write_csvs(tmp_path / "src")
    _validate(tmp_path, claims, "--parts", str(count))
    return tmp_path / "parts"


def _put(tmp_path: Path, parts: Path, sink: FakeSink, host: str = "algo-1") -> int:
    config = tmp_path / f"{host}.json"
    config.write_text(json.dumps({"current_host": host, "hosts": ["algo-1", "algo-2"]}))
    return job.main(
        [
            "put",
            *("--group", "claims", "--feature-group-name", "fg-claims", "--region", "us-east-1"),
            *("--parts", str(parts), "--out", str(tmp_path / "put"), "--host-config", str(config)),
        ],
        sink=sink,
    )


def test_put_sends_every_row_of_its_parts_and_names_its_summary_after_its_host(tmp_path: Path) -> None:
    parts = _parts(tmp_path, 2)
    sink = FakeSink()
    assert _put(tmp_path, parts, sink, host="algo-2") == job.EXIT_OK
    assert len(sink.store) == 300
    summary = json.loads((tmp_path / "put" / "algo-2-summary.json").read_text())
    assert summary["ingested"] == summary["total"] == 300
    assert summary["parts"] == ["part-00000.csv", "part-00001.csv"]
    assert not (tmp_path / "put" / "algo-2-rejects.jsonl").exists()


def test_two_instances_with_one_shard_each_ingest_each_record_once(tmp_path: Path) -> None:
    parts = _parts(tmp_path, 2)
    sink = FakeSink()
    for index, host in enumerate(("algo-1", "algo-2")):
        shard = tmp_path / f"shard-{host}"
        shard.mkdir()
        shutil.copy2(sorted(parts.glob("*.csv"))[index], shard)
        assert _put(tmp_path, shard, sink, host=host) == job.EXIT_OK
    assert len(sink.store) == 300
    assert set(sink.attempts.values()) == {1}


def test_a_record_the_feature_store_refuses_fails_the_step_and_is_kept(tmp_path: Path) -> None:
    parts = _parts(tmp_path, 1)
    sink = FakeSink(lambda policy, _n: client_error("ValidationError") if policy == 7 else None)
    assert _put(tmp_path, parts, sink) == job.EXIT_FAILED
    rejects = (tmp_path / "put" / "algo-1-rejects.jsonl").read_text().splitlines()
    assert len(rejects) == 1
    assert json.loads(rejects[0])["record"]["policy_id"] == "7"
    summary = json.loads((tmp_path / "put" / "algo-1-summary.json").read_text())
    assert (summary["ingested"], summary["rejected"]) == (299, 1)


def test_a_fatal_error_stops_the_put_and_counts_the_rest_as_not_sent(tmp_path: Path) -> None:
    parts = _parts(tmp_path, 3)
    sink = FakeSink(lambda _policy, _n: client_error("AccessDeniedException", 403))
    assert _put(tmp_path, parts, sink) == job.EXIT_FAILED
    summary = json.loads((tmp_path / "put" / "algo-1-summary.json").read_text())
    assert summary["ingested"] == 0
    assert summary["not_sent"] + summary["rejected"] == 300
    assert "AccessDenied" in summary["fatal"]


def test_customers_go_to_the_customers_group(tmp_path: Path) -> None:
    _, customers = write_csvs(tmp_path / "src")
    source = "s3://data-bucket/incoming/customers/customers.csv"
    _validate(tmp_path, customers, "--parts", "1", source=source, group="customers")
    sink = FakeSink()
    code = job.main(
        [
            "put",
            *("--group", "customers", "--feature-group-name", "fg-customers", "--region", "us-east-1"),
            *("--parts", str(tmp_path / "parts"), "--out", str(tmp_path / "put")),
        ],
        sink=sink,
    )
    assert code == job.EXIT_OK
    assert {group for group, _id, _time in sink.store} == {"fg-customers"}
    assert len(sink.store) == len(pd.read_csv(customers))
    assert CUSTOMERS.name == "customers"
