"""The dataset SQL (``preprocess.build_query``) run by DuckDB over hand-made offline-store extracts.

The extracts hold, per policy, the situations the point-in-time query must get right:

==========  ==================================================================  ===============
policy      claims versions (event_time, incident_severity)                     expected
==========  ==================================================================  ===============
1           (100, 1.0), (200, 2.0)                                              latest: 2.0
2           (100, 1.0), (5000, 3.0) after the cutoff                            1.0; 3.0 if none
3           (100, 1.0), (150) deleted                                           dropped
4           (100, 1.0), no customers record                                     dropped
5           customers only                                                      dropped
6           (100, 4.0) invoked at 100, (100, 5.0) invoked at 110                5.0
7           (100, 1.0), (150) deleted, (300, 7.0) written again                 7.0
==========  ==================================================================  ===============
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline_def.local.athena import DuckDBEngine
from pipeline_def.schema import CLAIMS, CUSTOMERS, SYSTEM_COLUMNS, dataset_columns
from pipeline_def.scripts import preprocess
from tests.scripts.script_fixtures import (
    CLAIMS_TABLE,
    CUSTOMERS_TABLE,
    CUTOFF_EPOCH,
    DATABASE,
    store_frame,
    write_store,
)

SEVERITY = "incident_severity"


def _claims() -> pd.DataFrame:
    def version(policy: int, event: float, severity: float = 1.0, **extra: object) -> dict[str, object]:
        return {"policy_id": policy, "event_time": event, SEVERITY: severity, **extra}

    return store_frame(
        CLAIMS,
        [
            version(1, 100.0),
            version(1, 200.0, 2.0),
            version(2, 100.0),
            version(2, 5_000.0, 3.0),
            version(3, 100.0),
            version(3, 150.0, is_deleted=True),
            version(4, 100.0),
            version(6, 100.0, 4.0, api_invocation_time=100.0),
            version(6, 100.0, 5.0, api_invocation_time=110.0),
            version(7, 100.0),
            version(7, 150.0, is_deleted=True),
            version(7, 300.0, 7.0),
        ],
    )


def _customers() -> pd.DataFrame:
    return store_frame(CUSTOMERS, [{"policy_id": p, "event_time": 100.0} for p in (1, 2, 3, 5, 6, 7)])


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> DuckDBEngine:
    root = tmp_path_factory.mktemp("offline-store")
    catalog = {
        f"{DATABASE}.{CLAIMS_TABLE}": write_store(root, CLAIMS_TABLE, _claims()),
        f"{DATABASE}.{CUSTOMERS_TABLE}": write_store(root, CUSTOMERS_TABLE, _customers()),
    }
    return DuckDBEngine(catalog, error=preprocess.QueryError)


@pytest.fixture(scope="module")
def at_cutoff(engine: DuckDBEngine) -> pd.DataFrame:
    """Raw query result with the test cutoff, indexed by the first ``policy_id`` column."""
    result = engine.run(preprocess.build_query(DATABASE, CLAIMS_TABLE, CUSTOMERS_TABLE, CUTOFF_EPOCH))
    return result.set_index(result["policy_id"].to_numpy())


@pytest.fixture(scope="module")
def without_cutoff(engine: DuckDBEngine) -> pd.DataFrame:
    result = engine.run(preprocess.build_query(DATABASE, CLAIMS_TABLE, CUSTOMERS_TABLE, None))
    return result.set_index(result["policy_id"].to_numpy())


def test_latest_version_of_a_policy_wins(at_cutoff: pd.DataFrame) -> None:
    assert at_cutoff.loc[1, SEVERITY] == 2.0


def test_version_after_the_cutoff_is_ignored(at_cutoff: pd.DataFrame) -> None:
    assert at_cutoff.loc[2, SEVERITY] == 1.0


def test_without_cutoff_the_latest_version_counts(without_cutoff: pd.DataFrame) -> None:
    assert without_cutoff.loc[2, SEVERITY] == 3.0


def test_policy_whose_latest_record_is_deleted_is_dropped(at_cutoff: pd.DataFrame) -> None:
    assert 3 not in at_cutoff.index


def test_policy_written_again_after_deletion_is_kept(at_cutoff: pd.DataFrame) -> None:
    assert at_cutoff.loc[7, SEVERITY] == 7.0


def test_policies_missing_from_either_table_are_dropped(at_cutoff: pd.DataFrame) -> None:
    assert sorted(at_cutoff.index) == [1, 2, 6, 7]


def test_equal_event_times_rank_by_api_invocation_time(at_cutoff: pd.DataFrame) -> None:
    assert at_cutoff.loc[6, SEVERITY] == 5.0


def test_rows_come_back_ordered_by_policy_id(at_cutoff: pd.DataFrame) -> None:
    assert list(at_cutoff.index) == sorted(at_cutoff.index)


def test_offline_store_extract_carries_the_system_columns() -> None:
    # Guards the test data itself: the next test would pass vacuously without these columns.
    assert set(SYSTEM_COLUMNS) <= set(_claims().columns)


def test_selected_dataset_has_no_system_key_or_time_columns(at_cutoff: pd.DataFrame) -> None:
    dataset = preprocess.select_dataset_columns(at_cutoff.reset_index(drop=True))
    leaked = set(dataset.columns) & {*SYSTEM_COLUMNS, "policy_id", "event_time", preprocess.RANK_COLUMN}
    assert leaked == set()


def test_selected_dataset_columns_follow_the_schema_label_first(at_cutoff: pd.DataFrame) -> None:
    dataset = preprocess.select_dataset_columns(at_cutoff.reset_index(drop=True))
    assert tuple(dataset.columns) == dataset_columns()


def test_query_quotes_database_and_table_identifiers() -> None:
    query = preprocess.build_query(DATABASE, CLAIMS_TABLE, CUSTOMERS_TABLE, None)
    assert f'"{DATABASE}"."{CLAIMS_TABLE}"' in query


def test_query_without_cutoff_has_no_event_time_filter() -> None:
    query = preprocess.build_query(DATABASE, CLAIMS_TABLE, CUSTOMERS_TABLE, None)
    assert "event_time <=" not in query


@pytest.mark.parametrize(
    ("argument", "names"),
    [
        ("--database", ('db"; DROP TABLE x; --', CLAIMS_TABLE, CUSTOMERS_TABLE)),
        ("--claims-table", (DATABASE, "claims.other", CUSTOMERS_TABLE)),
        ("--customers-table", (DATABASE, CLAIMS_TABLE, "Customers Table")),
    ],
)
def test_bad_identifier_is_rejected_naming_the_argument(argument: str, names: tuple[str, str, str]) -> None:
    with pytest.raises(preprocess.DatasetError, match=argument):
        preprocess.build_query(*names, None)


def test_non_finite_cutoff_is_rejected() -> None:
    with pytest.raises(preprocess.DatasetError, match="--cutoff-time"):
        preprocess.build_query(DATABASE, CLAIMS_TABLE, CUSTOMERS_TABLE, float("nan"))


def test_hive_partition_folders_do_not_become_columns(engine: DuckDBEngine) -> None:
    columns = engine.run(f'SELECT * FROM "{DATABASE}"."{CLAIMS_TABLE}" LIMIT 0').columns  # noqa: S608
    assert "year" not in set(columns)


def test_duckdb_error_becomes_query_error(engine: DuckDBEngine) -> None:
    with pytest.raises(preprocess.QueryError, match="DuckDB query failed"):
        engine.run(preprocess.build_query(DATABASE, "missing_table", CUSTOMERS_TABLE, None))


def test_local_glob_matching_no_files_is_a_query_error(tmp_path: Path) -> None:
    with pytest.raises(preprocess.QueryError, match=r"local table db\.claims over"):
        DuckDBEngine({"db.claims": str(tmp_path / "none" / "*.parquet")}, error=preprocess.QueryError)


def test_local_catalog_with_a_bad_table_name_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(preprocess.QueryError, match="table of"):
        DuckDBEngine({"db.claims'--": str(tmp_path / "x.parquet")}, error=preprocess.QueryError)


def test_a_null_comes_out_as_athenas_result_csv_reads_it(engine: DuckDBEngine) -> None:
    # Given a result with a NULL in an integer column and a repeated column name
    query = (
        "SELECT 1::BIGINT AS policy_id, NULL::BIGINT AS n, 1::BIGINT AS policy_id "
        "UNION ALL SELECT 2, 3, 2 ORDER BY 1"
    )
    # When DuckDB runs it, and Athena's result file for it is read
    local = engine.run(query)
    athena = preprocess.read_result_csv(b'"policy_id","n","policy_id"\n"1",,"1"\n"2","3","2"\n')
    # Then both give the same frame: float64 with NaN for the NULL, both names kept
    pd.testing.assert_frame_equal(local, athena)
    assert local["n"].dtype == "float64"
