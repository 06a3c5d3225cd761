"""FraudDataProcess (``preprocess.py``): arguments, checks, split, Athena engine and outputs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_def.local.athena import DuckDBEngine
from pipeline_def.schema import LABEL, dataset_columns
from pipeline_def.scripts import preprocess
from tests.scripts.script_fixtures import (
    CLAIMS_TABLE,
    CUSTOMERS_TABLE,
    DATABASE,
    run_standalone,
    write_synthetic_store,
)

QUERY_ID = "3f9c6a52-0000-4000-8000-000000000001"
RESULT_URI = f"s3://athena-results-bucket/fraud/{QUERY_ID}.csv"


# --------------------------------------------------------------------------- cutoff


def test_latest_cutoff_means_no_cutoff() -> None:
    assert preprocess.parse_cutoff("latest") is None


def test_iso_cutoff_with_z_is_epoch_seconds_utc() -> None:
    assert preprocess.parse_cutoff("2026-01-31T00:00:00Z") == 1_769_817_600.0


def test_iso_cutoff_without_zone_is_read_as_utc() -> None:
    assert preprocess.parse_cutoff("2026-01-31T00:00:00") == preprocess.parse_cutoff(
        "2026-01-31T00:00:00+00:00"
    )


def test_unparseable_cutoff_names_the_argument() -> None:
    with pytest.raises(preprocess.DatasetError, match="--cutoff-time"):
        preprocess.parse_cutoff("last tuesday")


# --------------------------------------------------------------------------- checks


def _dataset(rows: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {LABEL: [0, 1] * (rows // 2), "a": np.arange(rows, dtype=float), "b": np.arange(rows)}
    )


def test_valid_dataset_gets_an_integer_label() -> None:
    frame = _dataset()
    frame[LABEL] = frame[LABEL].astype(float)
    assert preprocess.validate_dataset(frame)[LABEL].dtype == np.dtype("int64")


def test_non_numeric_column_is_rejected_by_name() -> None:
    frame = _dataset().assign(b=["x"] * 6)
    with pytest.raises(preprocess.DatasetError, match="non-numeric columns: b"):
        preprocess.validate_dataset(frame)


def test_boolean_column_is_rejected_as_non_numeric() -> None:
    frame = _dataset().assign(b=[True, False] * 3)
    with pytest.raises(preprocess.DatasetError, match="non-numeric columns: b"):
        preprocess.validate_dataset(frame)


def test_missing_value_is_rejected_by_column() -> None:
    frame = _dataset()
    frame.loc[2, "a"] = np.nan
    with pytest.raises(preprocess.DatasetError, match="missing values: a"):
        preprocess.validate_dataset(frame)


def test_label_outside_zero_one_is_rejected() -> None:
    frame = _dataset().assign(**{LABEL: [0, 1, 2, 0, 1, 0]})
    with pytest.raises(preprocess.DatasetError, match="must be 0 or 1"):
        preprocess.validate_dataset(frame)


def test_empty_query_result_is_rejected() -> None:
    with pytest.raises(preprocess.DatasetError, match="no rows"):
        preprocess.validate_dataset(_dataset().iloc[:0])


def test_result_without_label_is_rejected() -> None:
    with pytest.raises(preprocess.DatasetError, match="no label column"):
        preprocess.select_dataset_columns(pd.DataFrame({"policy_id": [1], "a": [1.0]}))


def test_duplicated_system_columns_from_both_tables_are_dropped() -> None:
    result = pd.DataFrame([[1, 10.0, 0, 0.5, 1, 10.0, 3, 1]])
    result.columns = ["policy_id", "event_time", LABEL, "a", "fs_row_rank", "event_time", "b", "fs_row_rank"]
    assert list(preprocess.select_dataset_columns(result).columns) == [LABEL, "a", "b"]


# --------------------------------------------------------------------------- split

LABELS = np.array([1] * 40 + [0] * 960)


def test_split_counts_per_class_are_rounded_fractions() -> None:
    splits = preprocess.stratified_split(LABELS, 0.15, 0.15, seed=42)
    positives = {name: int(LABELS[rows].sum()) for name, rows in splits.items()}
    assert positives == {"train": 28, "validation": 6, "test": 6}


def test_split_is_a_partition_of_all_rows() -> None:
    splits = preprocess.stratified_split(LABELS, 0.15, 0.15, seed=42)
    assert sorted(np.concatenate(list(splits.values())).tolist()) == list(range(len(LABELS)))


def test_split_is_deterministic_for_a_seed() -> None:
    first = preprocess.stratified_split(LABELS, 0.15, 0.15, seed=42)
    second = preprocess.stratified_split(LABELS, 0.15, 0.15, seed=42)
    assert all(np.array_equal(first[name], second[name]) for name in preprocess.SPLITS)


def test_split_changes_with_the_seed() -> None:
    first = preprocess.stratified_split(LABELS, 0.15, 0.15, seed=42)
    other = preprocess.stratified_split(LABELS, 0.15, 0.15, seed=43)
    assert not np.array_equal(first["test"], other["test"])


def test_split_without_enough_positives_names_the_split() -> None:
    labels = np.array([1] * 3 + [0] * 100)
    with pytest.raises(preprocess.DatasetError, match=r"the validation split has no rows with fraud=1"):
        preprocess.stratified_split(labels, 0.15, 0.15, seed=42)


def test_fractions_leaving_nothing_to_train_are_rejected() -> None:
    with pytest.raises(SystemExit):
        preprocess.parse_args(
            [
                "--region",
                "eu-west-1",
                "--workgroup",
                "w",
                "--database",
                "d",
                "--claims-table",
                "c",
                "--customers-table",
                "u",
                "--validation-fraction",
                "0.5",
                "--test-fraction",
                "0.5",
            ]
        )


# --------------------------------------------------------------------------- Athena


def _execution(state: str, reason: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"State": state}
    if reason is not None:
        status["StateChangeReason"] = reason
    return {
        "QueryExecution": {
            "QueryExecutionId": QUERY_ID,
            "Status": status,
            "ResultConfiguration": {"OutputLocation": RESULT_URI},
        }
    }


class _Recorder:
    """Stands in for ``time.sleep`` and remembers the delays."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def clients() -> Iterator[tuple[Any, Stubber, Any, Stubber]]:
    athena = boto3.client("athena", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    s3 = boto3.client("s3", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(athena) as athena_stub, Stubber(s3) as s3_stub:
        yield athena, athena_stub, s3, s3_stub


def _engine(athena: Any, s3: Any, sleep: _Recorder, timeout: float = 60.0) -> preprocess.AthenaEngine:
    return preprocess.AthenaEngine(
        athena, s3, workgroup="fraud-wg", database=DATABASE, sleep=sleep, timeout_seconds=timeout
    )


def _stub_start(athena_stub: Stubber) -> None:
    athena_stub.add_response(
        "start_query_execution",
        {"QueryExecutionId": QUERY_ID},
        {"QueryString": "SELECT 1", "WorkGroup": "fraud-wg", "QueryExecutionContext": {"Database": DATABASE}},
    )


def _stub_result(s3_stub: Stubber, body: bytes) -> None:
    s3_stub.add_response(
        "get_object",
        {"Body": StreamingBody(io.BytesIO(body), len(body))},
        {"Bucket": "athena-results-bucket", "Key": f"fraud/{QUERY_ID}.csv"},
    )


def test_athena_query_runs_to_success_and_reads_the_s3_result(clients: Any) -> None:
    athena, athena_stub, s3, s3_stub = clients
    _stub_start(athena_stub)
    for state in ("QUEUED", "RUNNING", "SUCCEEDED"):
        athena_stub.add_response("get_query_execution", _execution(state), {"QueryExecutionId": QUERY_ID})
    _stub_result(s3_stub, b'"policy_id","fraud","a"\n"1","0","0.5"\n"2","1","1.5"\n')
    frame = _engine(athena, s3, _Recorder()).run("SELECT 1")
    assert frame.to_dict("list") == {"policy_id": [1, 2], "fraud": [0, 1], "a": [0.5, 1.5]}


def test_athena_polls_with_growing_delays(clients: Any) -> None:
    athena, athena_stub, s3, s3_stub = clients
    _stub_start(athena_stub)
    for state in ("QUEUED", "RUNNING", "RUNNING", "SUCCEEDED"):
        athena_stub.add_response("get_query_execution", _execution(state), {"QueryExecutionId": QUERY_ID})
    _stub_result(s3_stub, b'"fraud"\n"1"\n')
    sleep = _Recorder()
    _engine(athena, s3, sleep).run("SELECT 1")
    assert sleep.delays == [0.5, 1.0, 2.0]


def test_failed_athena_query_raises_with_athenas_reason(clients: Any) -> None:
    athena, athena_stub, s3, _ = clients
    _stub_start(athena_stub)
    athena_stub.add_response("get_query_execution", _execution("RUNNING"), {"QueryExecutionId": QUERY_ID})
    reason = "COLUMN_NOT_FOUND: line 3:5: Column 'policy_id' cannot be resolved"
    athena_stub.add_response(
        "get_query_execution", _execution("FAILED", reason), {"QueryExecutionId": QUERY_ID}
    )
    with pytest.raises(preprocess.QueryError, match="FAILED: COLUMN_NOT_FOUND"):
        _engine(athena, s3, _Recorder()).run("SELECT 1")


def test_athena_query_past_the_timeout_is_stopped(clients: Any) -> None:
    athena, athena_stub, s3, _ = clients
    _stub_start(athena_stub)
    for _ in range(3):
        athena_stub.add_response("get_query_execution", _execution("RUNNING"), {"QueryExecutionId": QUERY_ID})
    athena_stub.add_response("stop_query_execution", {}, {"QueryExecutionId": QUERY_ID})
    with pytest.raises(preprocess.QueryError, match="stopped it"):
        _engine(athena, s3, _Recorder(), timeout=1.0).run("SELECT 1")
    athena_stub.assert_no_pending_responses()


def test_athena_result_csv_keeps_duplicate_column_names() -> None:
    frame = preprocess.read_result_csv(b'"policy_id","event_time","event_time"\n"1","2.0","3.0"\n')
    assert list(frame.columns) == ["policy_id", "event_time", "event_time"]


def test_the_default_engine_is_athena() -> None:
    assert preprocess.athena_engine("eu-west-1", "wg", DATABASE).name == "athena"


# --------------------------------------------------------------------------- main, end to end on DuckDB


def _argv(output_dir: Path, cutoff: str = "latest") -> list[str]:
    return [
        "--region", "eu-west-1", "--workgroup", "fraud-wg", "--database", DATABASE,
        "--claims-table", CLAIMS_TABLE, "--customers-table", CUSTOMERS_TABLE, "--cutoff-time", cutoff,
        "--validation-fraction", "0.15", "--test-fraction", "0.15", "--seed", "42",
        "--output-dir", str(output_dir),
    ]  # fmt: skip


def _local_engine(catalog: Path) -> DuckDBEngine:
    return DuckDBEngine.from_catalog_file(catalog, error=preprocess.QueryError)


@pytest.fixture(scope="module")
def run_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    root = tmp_path_factory.mktemp("preprocess")
    engine = _local_engine(write_synthetic_store(root / "store"))
    return preprocess.main(_argv(root / "output"), engine=engine), root / "output"


def _split(output: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(output / name / f"{name}.csv", header=None)


def test_main_succeeds(run_output: tuple[int, Path]) -> None:
    assert run_output[0] == 0


def _metadata(output: Path) -> dict[str, Any]:
    return json.loads((output / "metadata" / "dataset.json").read_text())


def test_split_csvs_have_every_dataset_column(run_output: tuple[int, Path]) -> None:
    # Given the train split written by the step
    train = _split(run_output[1], "train")
    # Then it has one column per dataset column
    assert train.shape[1] == len(dataset_columns())


def test_split_csvs_have_no_header(run_output: tuple[int, Path]) -> None:
    # Given the train split written by the step, read without a header
    train = _split(run_output[1], "train")
    # Then its first column is numeric: a header row would make column 0 text
    assert pd.api.types.is_numeric_dtype(train[0])


def test_split_csvs_start_with_the_label(run_output: tuple[int, Path]) -> None:
    test = _split(run_output[1], "test")
    headered = pd.read_csv(run_output[1] / "clarify" / "test_with_header.csv")
    assert test[0].tolist() == headered[LABEL].tolist()


def test_clarify_copy_has_the_schema_header(run_output: tuple[int, Path]) -> None:
    headered = pd.read_csv(run_output[1] / "clarify" / "test_with_header.csv")
    assert tuple(headered.columns) == dataset_columns()


def test_clarify_copy_holds_the_test_rows_in_order(run_output: tuple[int, Path]) -> None:
    headered = pd.read_csv(run_output[1] / "clarify" / "test_with_header.csv")
    assert np.array_equal(headered.to_numpy(), _split(run_output[1], "test").to_numpy())


def test_metadata_row_counts_match_the_files(run_output: tuple[int, Path]) -> None:
    metadata = json.loads((run_output[1] / "metadata" / "dataset.json").read_text())
    counts = {name: len(_split(run_output[1], name)) for name in preprocess.SPLITS}
    assert {name: metadata["splits"][name]["rows"] for name in preprocess.SPLITS} == counts


def test_metadata_records_the_cutoff(run_output: tuple[int, Path]) -> None:
    # Given the metadata of a run with --cutoff-time latest and no as-of time
    metadata = _metadata(run_output[1])
    # Then it records the argument and that no cutoff applied
    assert metadata["cutoff"] == {"argument": "latest", "as_of": None, "epoch_seconds": None}


def test_metadata_records_the_columns(run_output: tuple[int, Path]) -> None:
    # Given the metadata of a run
    metadata = _metadata(run_output[1])
    # Then it lists the dataset's columns in order
    assert metadata["columns"] == list(dataset_columns())


def test_metadata_records_the_query(run_output: tuple[int, Path]) -> None:
    # Given the metadata of a run
    metadata = _metadata(run_output[1])
    # Then it holds the query, with its latest-record-per-policy window
    assert "row_number() OVER" in metadata["query"]


def test_every_split_keeps_the_fraud_rate(run_output: tuple[int, Path]) -> None:
    metadata = json.loads((run_output[1] / "metadata" / "dataset.json").read_text())
    rates = [metadata["splits"][name]["fraud_rate"] for name in preprocess.SPLITS]
    assert max(rates) - min(rates) < 0.02


def test_cutoff_before_every_record_fails_with_a_clear_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = _local_engine(write_synthetic_store(tmp_path / "store", rows=40))
    caplog.set_level(logging.ERROR)
    code = preprocess.main(_argv(tmp_path / "output", cutoff="1970-01-01T00:00:00Z"), engine=engine)
    assert code == 1
    assert "the query returned no rows" in caplog.text


def test_script_runs_alone_without_this_repository(tmp_path: Path) -> None:
    completed = run_standalone(Path(preprocess.__file__), tmp_path, "--help")
    assert completed.returncode == 0, completed.stderr


def test_latest_resolves_to_the_as_of_time_so_the_query_can_be_repeated() -> None:
    assert preprocess.resolve_cutoff("latest", "2026-03-01T00:00:00Z") == 1772323200.0


def test_an_explicit_cutoff_wins_over_the_as_of_time() -> None:
    assert preprocess.resolve_cutoff("2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z") == 1767225600.0


def test_latest_without_as_of_applies_no_cutoff() -> None:
    # Given --cutoff-time latest and no as-of time / When resolved
    # Then there is no cutoff
    assert preprocess.resolve_cutoff("latest", None) is None


def test_no_cutoff_is_written_as_unbounded() -> None:
    # Given no cutoff / When written as the metadata's data_cutoff_time
    # Then it reads "unbounded"
    assert preprocess.iso_utc(None) == "unbounded"


def test_a_malformed_as_of_time_is_an_error_naming_the_argument() -> None:
    with pytest.raises(preprocess.DatasetError, match="--as-of: 'yesterday'"):
        preprocess.resolve_cutoff("latest", "yesterday")


# --------------------------------------------------------------------------- data sufficiency


def test_too_few_test_frauds_fail_the_step_before_training_with_the_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given an offline store whose test split will hold a handful of frauds
    engine = _local_engine(write_synthetic_store(tmp_path / "store", rows=400))
    caplog.set_level(logging.ERROR)
    # When the step runs with a minimum of 50 test frauds
    code = preprocess.main([*_argv(tmp_path / "output"), "--min-test-positives", "50"], engine=engine)
    # Then it fails naming the setting, and writes no split for training to start on
    assert code == 1
    assert "fewer than pipeline.minTestPositives (50)" in caplog.text
    assert not (tmp_path / "output" / "train").exists()


def test_the_message_says_how_much_one_miss_moves_recall() -> None:
    labels = np.array([1] * 4 + [0] * 96)
    with pytest.raises(preprocess.DatasetError, match=r"holds 4 fraud cases.*move recall by 25 points"):
        preprocess.check_test_positives(labels, np.arange(100), 5)


def test_enough_test_frauds_pass_and_are_counted() -> None:
    labels = np.array([1] * 5 + [0] * 95)
    assert preprocess.check_test_positives(labels, np.arange(100), 5) == 5


def test_the_metadata_records_the_minimum_of_test_frauds(run_output: tuple[int, Path]) -> None:
    # Given the metadata of a run with the default minimum
    metadata = _metadata(run_output[1])
    # Then it records that minimum
    assert metadata["min_test_positives"] == 1


def test_the_metadata_records_each_splits_frauds(run_output: tuple[int, Path]) -> None:
    # Given the metadata of a run and its test split
    metadata = _metadata(run_output[1])
    test = _split(run_output[1], "test")
    # Then the frauds it records are the labels of the written split
    assert metadata["splits"]["test"]["positives"] == int(test[0].sum())


def test_a_minimum_below_one_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        preprocess.parse_args([*_argv(tmp_path), "--min-test-positives", "0"])


# --------------------------------------------------------------------------- part files, one per instance


@pytest.fixture(scope="module")
def parted_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    root = tmp_path_factory.mktemp("preprocess-parts")
    engine = _local_engine(write_synthetic_store(root / "store"))
    argv = [*_argv(root / "output"), "--train-parts", "3", "--test-parts", "2"]
    return preprocess.main(argv, engine=engine), root / "output"


def _parts(output: Path, name: str) -> list[Path]:
    return sorted((output / name).glob("*.csv"))


def test_train_split_is_written_as_one_file_per_training_instance(parted_output: tuple[int, Path]) -> None:
    code, output = parted_output
    assert code == 0
    assert [p.name for p in _parts(output, "train")] == [f"train-part-0000{i}.csv" for i in range(3)]
    assert [p.name for p in _parts(output, "test")] == ["test-part-00000.csv", "test-part-00001.csv"]
    assert [p.name for p in _parts(output, "validation")] == ["validation.csv"]


def test_parts_in_name_order_are_the_single_file_row_for_row(
    run_output: tuple[int, Path], parted_output: tuple[int, Path]
) -> None:
    # Given the same store written as one file and as parts
    for name in ("train", "test"):
        parts = [pd.read_csv(p, header=None) for p in _parts(parted_output[1], name)]
        # Then no part is empty, and their concatenation is the one file
        assert min(len(p) for p in parts) > 0
        pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), _split(run_output[1], name))


def test_headered_test_copy_lines_up_with_the_test_parts(parted_output: tuple[int, Path]) -> None:
    test = pd.concat(
        [pd.read_csv(p, header=None) for p in _parts(parted_output[1], "test")], ignore_index=True
    )
    headered = pd.read_csv(parted_output[1] / "clarify" / "test_with_header.csv")
    assert test[0].tolist() == headered[LABEL].tolist()


def test_dataset_json_names_each_splits_files(parted_output: tuple[int, Path]) -> None:
    splits = _metadata(parted_output[1])["splits"]
    assert splits["train"]["files"] == [f"train-part-0000{i}.csv" for i in range(3)]
    assert splits["validation"]["files"] == ["validation.csv"]


def test_more_parts_than_rows_fail_before_anything_is_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = _local_engine(write_synthetic_store(tmp_path / "store", rows=400))
    caplog.set_level(logging.ERROR)
    code = preprocess.main([*_argv(tmp_path / "output"), "--test-parts", "5000"], engine=engine)
    assert code == 1
    assert "fewer than the 5000 files (one per instance)" in caplog.text
    assert not (tmp_path / "output").exists()


@pytest.mark.parametrize("flag", ["--train-parts", "--test-parts"])
@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_part_counts_below_one_are_refused_before_the_query(flag: str, value: str) -> None:
    with pytest.raises(SystemExit) as raised:
        preprocess.parse_args([*_argv(Path("unused")), flag, value])
    assert raised.value.code == 2


# --------------------------------------------------------------------------- CSV text

_NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1.0, 1e-05, 1e-4, 0.1, 1e15, 1e16, 123456789.0, 2.0**53, 5e-324]),
)
#: Whole numbers, which Arrow formats (one-hot features, counts), and the ones numpy must format
#: itself: -0.0, 1e16 and up, infinities.
_WHOLE_NUMBERS = st.one_of(
    st.integers(min_value=-(2**53), max_value=2**53).map(float),
    st.sampled_from([0.0, 1.0, -1.0, 9999999999999998.0, -9999999999999998.0, 1e16, -1e16, 1e300]),
    st.sampled_from([-0.0, float("inf"), float("-inf")]),
)


@settings(max_examples=60, deadline=None)
@given(
    floats=st.lists(_NUMBERS, min_size=1, max_size=40),
    whole=st.lists(_WHOLE_NUMBERS, min_size=1, max_size=40),
    integers=st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=1, max_size=40),
    header=st.booleans(),
)
def test_csv_text_is_pandas_to_csv_byte_for_byte(
    tmp_path_factory: pytest.TempPathFactory,
    floats: list[float],
    whole: list[float],
    integers: list[int],
    header: bool,
) -> None:
    rows = min(len(floats), len(whole), len(integers))
    frame = pd.DataFrame(
        {
            LABEL: np.array(integers[:rows], dtype="int64"),
            "x": np.array(floats[:rows], dtype="float64"),
            "one_hot": np.array(whole[:rows], dtype="float64"),
            "small": np.array(integers[:rows], dtype="int64") % 250,
        }
    )
    folder = tmp_path_factory.mktemp("csv")
    frame.to_csv(folder / "pandas.csv", header=header, index=False)
    preprocess.write_csv(frame, folder / "script.csv", header=header)
    assert (folder / "script.csv").read_bytes() == (folder / "pandas.csv").read_bytes()


@pytest.mark.parametrize(
    "values",
    [
        [0.0, 1.0, 1.0, 0.0],
        [3.0, -0.0, 2.0],
        [1.0, 1e16, 2.0],
        [1.0, 0.5, 2.0],
        [1.0, float("nan"), 2.0],
        [1.0, float("inf"), 2.0],
        [9999999999999998.0, -9999999999999998.0],
    ],
    ids=["one-hot", "negative zero", "1e16", "a fraction", "nan", "inf", "largest below 1e16"],
)
def test_a_float_batch_reads_as_numpy_writes_it_whichever_path_formats_it(values: list[float]) -> None:
    array = np.array(values, dtype="float64")
    assert preprocess.column_text(array).to_pylist() == array.astype(str).tolist()


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint8", "uint64", "float32", "bool"])
def test_other_dtypes_keep_numpys_text(dtype: str) -> None:
    array = np.array([0, 3, 3, 0, 3]).astype(dtype)
    assert preprocess.column_text(array).to_pylist() == array.astype(str).tolist()


def test_rows_are_written_in_the_order_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preprocess, "CSV_BATCH_ROWS", 4)
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {LABEL: rng.integers(0, 2, 30), "a": rng.normal(size=30), "b": rng.integers(0, 2, 30) * 1.0}
    )
    rows = np.array([29, 0, 3, 3, 17, 8, 9, 10, 11, 2, 1])
    frame.iloc[rows].to_csv(tmp_path / "pandas.csv", header=True, index=False)
    preprocess.write_csv(frame, tmp_path / "script.csv", header=True, rows=rows)
    assert (tmp_path / "script.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


def test_csv_text_spans_batches_in_row_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preprocess, "CSV_BATCH_ROWS", 7)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({LABEL: rng.integers(0, 2, 50), "a": rng.normal(size=50), "b": rng.random(50)})
    frame.iloc[10:20].to_csv(tmp_path / "pandas.csv", header=True, index=False)
    preprocess.write_csv(frame.iloc[10:20], tmp_path / "script.csv", header=True)
    assert (tmp_path / "script.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


def test_a_header_needing_quotes_is_quoted_as_pandas_quotes_it(tmp_path: Path) -> None:
    frame = pd.DataFrame({"plain": [1.5], "with,comma": [2.0], 'with"quote': [3]})
    frame.to_csv(tmp_path / "pandas.csv", header=True, index=False)
    preprocess.write_csv(frame, tmp_path / "script.csv", header=True)
    assert (tmp_path / "script.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


def test_an_empty_split_writes_what_pandas_writes(tmp_path: Path) -> None:
    frame = pd.DataFrame({LABEL: np.array([], dtype="int64"), "x": np.array([], dtype="float64")})
    for header in (False, True):
        frame.to_csv(tmp_path / "pandas.csv", header=header, index=False)
        preprocess.write_csv(frame, tmp_path / "script.csv", header=header)
        assert (tmp_path / "script.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
