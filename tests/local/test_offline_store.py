"""The local offline store: S3 layout, system columns, catalog, DuckDB round trip, determinism."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline_def.config import PipelineSettings, load_settings
from pipeline_def.local import offline_store
from pipeline_def.local.athena import DuckDBEngine
from pipeline_def.local.offline_store import CATALOG_FILE, write_offline_store
from pipeline_def.schema import CLAIMS, CUSTOMERS, SYSTEM_COLUMNS, FeatureGroupSchema
from tests.data.data_fixtures import NOW, frames

pytestmark = pytest.mark.long_module(4)

SETTINGS = load_settings("dev")
WRITE_TIME = datetime(2027, 1, 15, 8, 0, 0, tzinfo=UTC)  # == NOW
LAYOUT = re.compile(
    r"(?P<account>\d{12})/sagemaker/(?P<region>[a-z0-9-]+)/offline-store/"
    r"(?P<group>[a-z0-9-]+)-(?P<epoch>\d+)/data/"
    r"year=(?P<year>\d{4})/month=(?P<month>\d{2})/day=(?P<day>\d{2})/hour=(?P<hour>\d{2})/"
    r"(?P<stamp>\d{8}T\d{6}Z)_(?P<id>[0-9a-f]{16})\.parquet"
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One store shared by the read-only tests (writing ~800 small files takes ~0.4 s)."""
    root = tmp_path_factory.mktemp("store")
    claims, customers = frames(400)
    catalog = write_offline_store(root, SETTINGS, {"claims": claims, "customers": customers}, now=WRITE_TIME)
    return root, catalog


def parquet_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.parquet"))


def table_of(settings: PipelineSettings, schema: FeatureGroupSchema) -> str:
    return f"{settings.glue_database}.{settings.offline_table(schema.name)}"


def read_group(catalog: Path, schema: FeatureGroupSchema, sql: str = "SELECT * FROM {t}") -> pd.DataFrame:
    """Read the way the preprocessing script does: catalog JSON -> read_parquet(glob)."""
    glob = json.loads(catalog.read_text())[table_of(SETTINGS, schema)]
    source = f"read_parquet('{glob}', hive_partitioning = false)"
    return duckdb.sql(sql.format(t=source)).df()


def test_files_follow_the_feature_store_s3_layout(store: tuple[Path, Path]) -> None:
    root, _ = store
    files = parquet_files(root)
    assert files
    for path in files:
        match = LAYOUT.fullmatch(path.relative_to(root).as_posix())
        assert match, path
        assert (match["account"], match["region"]) == (SETTINGS.account, SETTINGS.region)
        assert match["group"] in SETTINGS.feature_group_names.values()
        assert (match["epoch"], match["stamp"]) == (str(int(NOW)), "20270115T080000Z")


def test_each_record_sits_in_the_hour_partition_of_its_event_time(store: tuple[Path, Path]) -> None:
    root, _ = store
    for path in parquet_files(root):
        match = LAYOUT.fullmatch(path.relative_to(root).as_posix())
        times = pq.read_table(path, columns=["event_time"]).column(0).to_numpy()
        hours = {datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H") for t in times}
        assert hours == {f"{match['year']}-{match['month']}-{match['day']} {match['hour']}"}


def claims_file_schema(root: Path) -> pa.Schema:
    return pq.read_schema(next(p for p in parquet_files(root) if "-claims-" in p.as_posix()))


def test_file_schema_gives_each_feature_its_glue_type(store: tuple[Path, Path]) -> None:
    # Given a written claims file, When its Parquet schema is read
    schema = claims_file_schema(store[0])
    # Then each feature has the Arrow type of its Glue type
    expected = {"bigint": pa.int64(), "double": pa.float64()}
    for feature in CLAIMS.features:
        assert schema.field(feature.name).type == expected[feature.type.sql_type]


def test_file_schema_appends_the_typed_system_columns(store: tuple[Path, Path]) -> None:
    # Given a written claims file, When its Parquet schema is read
    schema = claims_file_schema(store[0])
    # Then the system columns follow the features, with Feature Store's types
    assert schema.names == [*CLAIMS.column_names, *SYSTEM_COLUMNS]
    assert schema.field("write_time").type == pa.timestamp("ms")
    assert schema.field("api_invocation_time").type == pa.timestamp("ms")
    assert schema.field("is_deleted").type == pa.bool_()


def test_system_column_values(store: tuple[Path, Path]) -> None:
    _, catalog = store
    frame = read_group(catalog, CUSTOMERS)
    assert (frame["is_deleted"] == False).all()  # noqa: E712 - a numpy bool column
    assert (frame["write_time"] == pd.Timestamp("2027-01-15 08:00:00")).all()
    assert (frame["api_invocation_time"] == frame["write_time"]).all()


def test_catalog_maps_glue_names_to_absolute_globs(store: tuple[Path, Path]) -> None:
    root, catalog = store
    assert catalog == root / CATALOG_FILE
    assert catalog.is_absolute()
    entries = json.loads(catalog.read_text())
    assert set(entries) == {
        "fraud_mlops_dev_features.fraud_mlops_dev_claims",
        "fraud_mlops_dev_features.fraud_mlops_dev_customers",
    }
    for key, glob in entries.items():
        assert Path(glob).is_absolute()
        matched = sorted(Path("/").glob(glob.lstrip("/")))
        group = "claims" if key.endswith("claims") else "customers"
        assert matched == [p for p in parquet_files(root) if f"-{group}-" in p.as_posix()]


@pytest.mark.parametrize(("index", "schema"), [(0, CLAIMS), (1, CUSTOMERS)])
def test_duckdb_round_trip_gives_the_input_back(
    store: tuple[Path, Path], index: int, schema: FeatureGroupSchema
) -> None:
    _, catalog = store
    expected = frames(400)[index]
    count = read_group(catalog, schema, "SELECT count(*) AS n FROM {t}")["n"].item()
    assert count == len(expected)
    back = read_group(
        catalog, schema, "SELECT * EXCLUDE (write_time, api_invocation_time, is_deleted) FROM {t}"
    )
    back = back.sort_values(schema.record_identifier).reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expected)


def test_latest_record_per_policy_after_a_second_write(tmp_path: Path) -> None:
    claims = frames(400)[0]
    write_offline_store(tmp_path, SETTINGS, {"claims": claims}, now=NOW)
    update = claims.iloc[::4].copy()
    update["event_time"] += 86_400.0
    update["incident_hour"] = (update["incident_hour"] + 1) % 24
    catalog = write_offline_store(tmp_path, SETTINGS, {"claims": update}, now=NOW + 86_400 * 2)
    latest = read_group(
        catalog,
        CLAIMS,
        "SELECT * EXCLUDE (write_time, api_invocation_time, is_deleted) FROM {t} "
        "QUALIFY row_number() OVER (PARTITION BY policy_id ORDER BY event_time DESC) = 1",
    )
    expected = claims.set_index("policy_id")
    expected.update(update.set_index("policy_id"))
    expected = expected.reset_index().astype(CLAIMS.dtypes)
    latest = latest.sort_values("policy_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(latest, expected)
    assert read_group(catalog, CLAIMS, "SELECT count(*) AS n FROM {t}")["n"].item() == 500


def test_second_write_reuses_the_group_folder(tmp_path: Path) -> None:
    claims = frames(50)[0]
    write_offline_store(tmp_path, SETTINGS, {"claims": claims}, now=NOW)
    write_offline_store(
        tmp_path, SETTINGS, {"claims": claims.assign(event_time=claims.event_time + 1)}, now=NOW + 99
    )
    prefix = offline_store.offline_store_prefix(tmp_path, SETTINGS)
    assert [p.name for p in prefix.iterdir()] == [f"fraud-mlops-dev-claims-{int(NOW)}"]


def write_sample(root: Path) -> list[tuple[Path, bytes]]:
    """Write the same 200 claims and customers at NOW; return each file's relative path and bytes."""
    data = dict(zip(("claims", "customers"), frames(200), strict=True))
    write_offline_store(root, SETTINGS, data, now=NOW)
    return [(p.relative_to(root), p.read_bytes()) for p in parquet_files(root)]


def test_writes_are_deterministic(tmp_path: Path) -> None:
    # Given the same data, When it is written to two empty stores
    a, b = write_sample(tmp_path / "a"), write_sample(tmp_path / "b")
    # Then both hold the same files with the same bytes
    assert [path for path, _ in a] == [path for path, _ in b]
    assert all(x == y for (_, x), (_, y) in zip(a, b, strict=True))


def test_writes_are_idempotent(tmp_path: Path) -> None:
    # Given a store written once
    once = write_sample(tmp_path)
    # When the same data is written again
    twice = write_sample(tmp_path)
    # Then it holds the same files with the same bytes, no duplicates
    assert [path for path, _ in once] == [path for path, _ in twice]
    assert all(x == y for (_, x), (_, y) in zip(once, twice, strict=True))


def test_existing_catalog_entries_are_kept(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / CATALOG_FILE).write_text(json.dumps({"other_db.other_table": "/data/x/*.parquet"}))
    catalog = write_offline_store(tmp_path, SETTINGS, {"customers": frames(20)[1]}, now=NOW)
    entries = json.loads(catalog.read_text())
    assert entries["other_db.other_table"] == "/data/x/*.parquet"
    assert table_of(SETTINGS, CUSTOMERS) in entries


def test_the_catalog_lets_athena_style_sql_run(store: tuple[Path, Path]) -> None:
    _, catalog = store
    engine = DuckDBEngine.from_catalog_file(catalog)
    assert len(engine.views) == 2
    database, claims_table = table_of(SETTINGS, CLAIMS).split(".")
    customers_table = SETTINGS.offline_table(CUSTOMERS.name)
    joined = engine.run(
        f'SELECT count(*) AS n FROM "{database}"."{claims_table}" c '  # noqa: S608 - test names
        f'JOIN "{database}"."{customers_table}" u USING (policy_id)'
    )
    assert joined["n"].tolist() == [400]


def test_the_catalog_tables_have_no_partition_columns(store: tuple[Path, Path]) -> None:
    _, catalog = store
    database, claims_table = table_of(SETTINGS, CLAIMS).split(".")
    described = DuckDBEngine.from_catalog_file(catalog).run(f'DESCRIBE "{database}"."{claims_table}"')
    assert described["column_name"].tolist() == [*CLAIMS.column_names, *SYSTEM_COLUMNS]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["fraud"]), "frame columns do not match"),
        (lambda f: f.astype({"fraud": float}), "wrong dtypes"),
        (lambda f: f.iloc[0:0], "no rows to write"),
    ],
)
def test_unvalidated_frames_are_refused(tmp_path: Path, change: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_offline_store(tmp_path, SETTINGS, {"claims": change(frames(10)[0])}, now=NOW)
    assert parquet_files(tmp_path) == []


def test_an_unknown_feature_group_is_refused(tmp_path: Path) -> None:
    # Given claims under a group name the project does not have, When written, Then the name is refused
    with pytest.raises(KeyError, match="unknown feature group 'policies'"):
        write_offline_store(tmp_path, SETTINGS, {"policies": frames(10)[0]}, now=NOW)


def test_a_naive_write_time_is_refused(tmp_path: Path) -> None:
    # Given a write time without a timezone, When claims are written, Then the time is refused
    with pytest.raises(ValueError, match="timezone-aware"):
        write_offline_store(tmp_path, SETTINGS, {"claims": frames(10)[0]}, now=datetime(2027, 1, 1))


def test_partitioning_splits_rows_by_hour(tmp_path: Path) -> None:
    claims = frames(30)[0]
    base = 1_700_000_000.0  # 2023-11-14T22:13:20Z
    claims["event_time"] = base + np.arange(30) * 600.0  # 10-minute steps over 5 hours
    write_offline_store(tmp_path, SETTINGS, {"claims": claims}, now=NOW)
    hours = [p.parent.name for p in parquet_files(tmp_path)]
    assert sorted(hours) == ["hour=00", "hour=01", "hour=02", "hour=03", "hour=22", "hour=23"]
    days = sorted({p.parent.parent.name for p in parquet_files(tmp_path)})
    assert days == ["day=14", "day=15"]


class _Stop(BaseException):
    """What the run's signal handler raises (RunStopped is a BaseException too)."""


def test_a_stop_while_writing_drops_the_hours_not_yet_started(tmp_path: Path, monkeypatch) -> None:
    # Given a month of claims (hundreds of hourly files), a stop raised by the second file, and
    # the files after it held until the stop has reached the caller (released by a timer)
    claims, _ = frames(400)
    started: list[int] = []
    counting, release = threading.Lock(), threading.Event()
    serialise = offline_store._parquet_bytes

    def stopping(table: pa.Table) -> bytes:
        with counting:
            started.append(len(started) + 1)
            number = started[-1]
        if number == 2:
            raise _Stop
        if number > 2:
            release.wait(timeout=30)
        return serialise(table)

    monkeypatch.setattr(offline_store, "_parquet_bytes", stopping)
    timer = threading.Timer(0.3, release.set)
    timer.start()
    # When the group is written
    with pytest.raises(_Stop):
        offline_store.write_group(tmp_path, CLAIMS, claims, now=WRITE_TIME.timestamp())
    timer.join()
    # Then only the files already being written were finished, not the rest of the month
    hours = pd.Series(np.floor(claims[CLAIMS.event_time] / 3600)).nunique()
    assert hours > 100
    assert len(started) <= 2 + offline_store.WRITERS
