"""The synthetic generator: exact schema, consistent rows, planted structure, determinism."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline_def.data import synthetic
from pipeline_def.schema import CLAIMS, CUSTOMERS, LABEL, FeatureGroupSchema
from tests.data.data_fixtures import NOW, frames

BIG = 200_000  # large enough for rates to within ~0.1 percentage point


@pytest.fixture(scope="module")
def big() -> tuple[pd.DataFrame, pd.DataFrame]:
    return synthetic.generate(BIG, seed=11)


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney AUC with ties averaged."""
    ranks = pd.Series(scores).rank().to_numpy()
    positives = labels == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@pytest.mark.parametrize(("index", "schema"), [(0, CLAIMS), (1, CUSTOMERS)])
def test_columns_are_the_schemas_in_order(index: int, schema: FeatureGroupSchema) -> None:
    # Given a generated table
    frame = frames()[index]
    # Then its columns are the schema's, in the schema's order
    assert list(frame.columns) == list(schema.column_names)


@pytest.mark.parametrize(("index", "schema"), [(0, CLAIMS), (1, CUSTOMERS)])
def test_dtypes_are_the_schemas(index: int, schema: FeatureGroupSchema) -> None:
    # Given a generated table
    frame = frames()[index]
    # Then each column has the schema's dtype
    assert {n: str(t) for n, t in frame.dtypes.items()} == schema.dtypes


def test_one_claim_per_policy_in_both_tables() -> None:
    claims, customers = frames()
    assert claims["policy_id"].tolist() == list(range(1, len(claims) + 1))
    assert customers["policy_id"].tolist() == claims["policy_id"].tolist()


@pytest.mark.parametrize(
    ("index", "prefix"),
    [(0, p) for p in CLAIMS.one_hot_groups] + [(1, p) for p in CUSTOMERS.one_hot_groups],
)
def test_one_hot_groups_have_exactly_one_one(index: int, prefix: str) -> None:
    frame = frames(2000)[index]
    schema = (CLAIMS, CUSTOMERS)[index]
    block = frame[list(schema.one_hot_columns(prefix))]
    assert set(np.unique(block.to_numpy())) <= {0.0, 1.0}
    assert (block.sum(axis=1) == 1).all()


def test_total_claim_is_injury_plus_vehicle() -> None:
    claims, _ = frames(2000)
    assert (claims["total_claim_amount"] == claims["injury_claim"] + claims["vehicle_claim"]).all()
    assert (claims[["injury_claim", "vehicle_claim"]] >= 0).all().all()


def test_incident_month_day_dow_are_a_real_date_with_monday_zero() -> None:
    claims, _ = frames(2000)
    for month, day, dow in claims[["incident_month", "incident_day", "incident_dow"]].itertuples(index=False):
        assert date(synthetic.INCIDENT_YEAR, month, day).weekday() == dow


def test_event_time_follows_the_incident() -> None:
    # Given generated claims and the start of each one's incident hour
    claims, _ = frames(2000)
    incident = [
        datetime(synthetic.INCIDENT_YEAR, m, d, h, tzinfo=UTC).timestamp()
        for m, d, h in claims[["incident_month", "incident_day", "incident_hour"]].itertuples(index=False)
    ]
    # Then each claim is recorded more than an hour after its incident hour began
    assert (claims["event_time"].to_numpy() > np.array(incident) + 3600).all()


def test_event_time_is_in_the_past() -> None:
    # Given generated claims and customers
    claims, customers = frames(2000)
    # Then no row is stamped after the tests' clock
    assert claims["event_time"].max() < NOW
    assert customers["event_time"].max() < NOW


def test_event_times_cluster_in_nightly_export_hours() -> None:
    claims, customers = frames(2000)
    for frame in (claims, customers):
        hours = (frame["event_time"] // 3600 % 24).unique()
        assert set(hours) == {2}


@pytest.mark.parametrize(
    ("column", "low", "high"),
    [
        ("customer_age", 18, 90),
        ("incident_hour", 0, 23),
        ("auto_year", 2000, 2024),
        ("policy_annual_premium", 800, 6000),
        ("num_insurers_past_5_years", 1, 5),
        ("months_as_customer", 1, 480),
        ("incident_severity", 0, 2),
        ("num_witnesses", 0, 5),
        ("customer_education", 0, 4),
        ("policy_liability", 0, 3),
    ],
)
def test_realistic_ranges(
    big: tuple[pd.DataFrame, pd.DataFrame], column: str, low: float, high: float
) -> None:
    frame = big[0] if column in CLAIMS.column_names else big[1]
    assert frame[column].min() >= low
    assert frame[column].max() <= high


def test_deductibles_are_plausible(big: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    # Given many generated customers
    customers = big[1]
    # Then every deductible is one of the usual amounts
    assert set(customers["policy_deductable"].unique()) <= {500, 750, 1000, 1500, 2000}


def test_tenure_is_plausible(big: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    # Given many generated customers
    customers = big[1]
    # Then nobody has been a customer for longer than since turning 18 (at least one month)
    cap = np.maximum(12 * (customers["customer_age"] - 18), 1)
    assert (customers["months_as_customer"] <= cap).all()


def _claims_and_non_collisions(big: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[pd.DataFrame, pd.Series]:
    """The generated claims and the mask of those that are not collisions."""
    claims = big[0]
    return claims, claims["incident_type_collision"] == 0


def test_only_collisions_have_a_collision_type(big: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    # Given many generated claims
    claims, not_collision = _claims_and_non_collisions(big)
    # Then exactly the non-collisions have the "n/a" collision type
    assert (claims["collision_type_na"] == not_collision.astype(float)).all()


def test_only_collisions_have_several_vehicles(big: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    # Given many generated claims
    claims, not_collision = _claims_and_non_collisions(big)
    # Then every other incident involves one vehicle
    assert (claims.loc[not_collision, "num_vehicles_involved"] == 1).all()


def test_only_collisions_have_injuries(big: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    # Given many generated claims
    claims, not_collision = _claims_and_non_collisions(big)
    # Then every other incident injures nobody
    assert (claims.loc[not_collision, "num_injuries"] == 0).all()


@pytest.mark.parametrize("signal", [0.0, 0.5, 1.0])
def test_fraud_rate_is_about_3_5_percent_for_every_signal(signal: float) -> None:
    claims, _ = synthetic.generate(BIG, seed=3, signal=signal)
    assert claims[LABEL].mean() == pytest.approx(0.035, abs=0.002)


def test_male_majority_makes_class_imbalance_visible(big: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    assert big[1]["customer_gender_male"].mean() == pytest.approx(0.70, abs=0.005)


def test_fraud_is_driven_by_num_insurers(big: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    claims, customers = big
    rate = claims[LABEL].groupby(customers["num_insurers_past_5_years"]).mean()
    assert rate.is_monotonic_increasing
    assert rate[5] > 5 * rate[1]


@pytest.mark.parametrize(
    ("column", "direction"),
    [("police_report_available", -1), ("incident_type_theft", 1), ("num_witnesses", -1)],
)
def test_claim_features_carry_signal(
    big: tuple[pd.DataFrame, pd.DataFrame], column: str, direction: int
) -> None:
    claims = big[0]
    auc = _auc(claims[LABEL].to_numpy(), direction * claims[column].to_numpy())
    assert auc > 0.55


def test_signal_zero_makes_labels_independent_of_features() -> None:
    claims, customers = synthetic.generate(BIG, seed=4, signal=0.0)
    score = synthetic.fraud_score(
        {k: claims[k].to_numpy() for k in claims}, {k: customers[k].to_numpy() for k in customers}
    )
    assert _auc(claims[LABEL].to_numpy(), score) == pytest.approx(0.5, abs=0.02)


def test_full_signal_is_learnable(big: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    claims, customers = big
    score = synthetic.fraud_score(
        {k: claims[k].to_numpy() for k in claims}, {k: customers[k].to_numpy() for k in customers}
    )
    assert _auc(claims[LABEL].to_numpy(), score) > 0.78


def test_gender_has_no_effect_on_fraud(big: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    claims, customers = big
    by_gender = claims[LABEL].groupby(customers["customer_gender_female"]).mean()
    assert by_gender[1.0] == pytest.approx(by_gender[0.0], abs=0.004)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.csv"))}


def test_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    synthetic.write(tmp_path / "a", 1000, seed=9)
    synthetic.write(tmp_path / "b", 1000, seed=9)
    synthetic.write(tmp_path / "c", 1000, seed=10)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a")["claims.csv"] != _digest(tmp_path / "c")["claims.csv"]


def test_csv_reads_back_with_the_schema_dtypes(tmp_path: Path) -> None:
    claims, customers = frames()
    claims_path, customers_path = synthetic.write_frames(claims, customers, tmp_path)
    for path, frame, schema in ((claims_path, claims, CLAIMS), (customers_path, customers, CUSTOMERS)):
        back = pd.read_csv(path)  # plain type inference: Fractional must read back as float
        assert {n: str(t) for n, t in back.dtypes.items()} == schema.dtypes
        pd.testing.assert_frame_equal(back, frame)


def test_fractional_cells_are_written_with_a_decimal_point(tmp_path: Path) -> None:
    claims_path, _ = synthetic.write(tmp_path, 10, seed=1)
    header, first = claims_path.read_text().splitlines()[:2]
    cells = dict(zip(header.split(","), first.split(","), strict=True))
    assert cells["collision_type_na"] in {"0.0", "1.0"}
    assert "." not in cells["policy_id"]


@pytest.mark.parametrize(("rows", "signal"), [(0, 1.0), (-5, 1.0), (10, 1.5), (10, -0.1)])
def test_bad_arguments_are_refused(rows: int, signal: float) -> None:
    with pytest.raises(ValueError, match=r"rows|signal"):
        synthetic.generate(rows, seed=1, signal=signal)


def test_cli_writes_both_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = synthetic.main(["--rows", "50", "--seed", "2", "--out", str(tmp_path), "--signal", "0.3"])
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.csv", "customers.csv"]
    assert "fraud rate" in capsys.readouterr().err


def test_cli_rejects_a_signal_outside_0_1(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        synthetic.main(["--rows", "5", "--out", str(tmp_path), "--signal", "2"])
    assert exit_info.value.code == 2


def test_cli_writes_the_raw_format_with_categories_as_text(tmp_path: Path) -> None:
    # When the generator is asked for an insurer's raw export
    code = synthetic.main(["--rows", "20", "--seed", "2", "--out", str(tmp_path), "--format", "raw"])
    # Then the files carry the raw layout's columns and values as text
    claims = pd.read_csv(tmp_path / "claims.csv", dtype=str, keep_default_na=False)
    assert code == 0
    assert list(claims.columns) == [c.name for c in CLAIMS.raw_columns]
    assert set(claims["incident_severity"]) <= {"Minor", "Major", "Totaled"}
    assert claims["event_time"].str.endswith("Z").all()


def test_the_raw_format_is_as_deterministic_as_the_features(tmp_path: Path) -> None:
    synthetic.write(tmp_path / "a", 300, seed=9, fmt="raw")
    synthetic.write(tmp_path / "b", 300, seed=9, fmt="raw")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format must be one of features, raw"):
        synthetic.write(tmp_path, 5, fmt="json")
