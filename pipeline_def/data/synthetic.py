"""Synthetic auto-insurance claims and customers with the exact seed-001 schema.

The local run and the tests need data that looks like the workshop's ``claims.csv`` and
``customers.csv`` (same columns, order and dtypes, taken from :mod:`pipeline_def.schema`)
and that has *known* structure, so a trained model, Clarify's bias metrics and SHAP have
something true to find. Every planted effect is listed here; change one and the docs change
with it.

Shape
-----
* One claim per policy: ``policy_id`` runs 1..N in both tables, so the point-in-time join on
  ``policy_id`` is one-to-one.
* Incidents happen in calendar year :data:`INCIDENT_YEAR` (a leap year, 366 days). Each claim
  gets a real date and hour; ``incident_month`` (1-12), ``incident_day`` (1-31) and
  ``incident_dow`` are derived from that date. ``incident_dow`` uses Python's
  ``date.weekday()`` convention: **0 = Monday ... 6 = Sunday**.
* ``event_time`` (epoch seconds, float with millisecond precision) is when the record was
  exported: a nightly export between 02:00 and 03:00 UTC on the day after the claim was
  reported, and a claim is reported 0-30 days after the incident. So ``event_time`` is always
  after the incident, in the past, and each night's records share one hourly offline-store
  partition (about 400 partitions a year instead of one per record-hour). The customer record
  is exported in the same nightly batch (same hour, its own millisecond offset).
* One-hot groups hold exactly one 1.0 per row and are consistent with each other:
  ``collision_type_na`` is set exactly when the incident is not a collision; break-ins and
  thefts involve one vehicle and nobody injured.
* ``total_claim_amount = injury_claim + vehicle_claim`` (whole dollars).
* Ordinal codes, as ``pipeline_def/encoding.toml`` defines them: ``incident_severity``
  0 = Minor, 1 = Major, 2 = Totaled; ``customer_education`` 0-4 (Below High School, High
  School, Associate, Bachelor, Advanced Degree); ``policy_liability`` 0-3 (15/30, 25/50, 30/60,
  100/200 thousand). Every value is inside the natural ranges that file states. Ranges:
  ``customer_age`` 18-90, ``months_as_customer`` 1-480 and at most the months since the 18th
  birthday, ``policy_deductable`` in {500, 750, 1000, 1500, 2000}, ``policy_annual_premium``
  800-6000, ``auto_year`` 2000-2024, ``incident_hour`` 0-23.

Planted structure
-----------------
* **Gender imbalance**: about 70 % of customers are male (``customer_gender_male = 1``), so
  Clarify's class imbalance (CI) for the facet ``customer_gender_female`` is clearly non-zero.
  Gender has no effect on fraud.
* **Fraud** (~3.5 % for every ``signal``): ``P(fraud) = sigmoid(b + signal * z)`` where ::

      z = 1.50 * (num_insurers_past_5_years - 1)     # the main driver, as in the seed
        + 1.00 * [incident_severity == 1 (major)]
        - 0.55 * num_witnesses
        - 1.45 * police_report_available
        + 1.30 * incident_type_theft
        + 0.65 * collision_type_na

  and the intercept ``b`` is solved (bisection) so the mean probability is
  :data:`FRAUD_RATE`. ``signal = 0`` makes labels independent of every feature (a model
  should reach AUC ~0.5); ``signal = 1`` (default) gives a learnable signal (AUC of the true
  probability ~0.94), strong enough that a few thousand policies clear the dev quality gate.

Determinism: a seed gives the same frames and the same CSV bytes (numpy ``PCG64``; the CSV
writer's float text is Python's ``repr``). Everything is vectorised numpy: 1,000,000 rows are
generated and written in a few seconds (see ``bench/bench_data.py``).

Examples
--------
``python -m pipeline_def.data.synthetic --rows 5000 --seed 7 --out data/`` writes
``data/claims.csv`` and ``data/customers.csv``; ``--format raw`` writes the same policies as an
insurer's raw export (``Collision``, ``Totaled``, ``1234.00``, ``2024-03-02T02:41:07.512000Z``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from pipeline_def.data.encoding import decode
from pipeline_def.schema import CLAIMS, CUSTOMERS, LABEL, FeatureGroupSchema, FeatureType

INCIDENT_YEAR = 2024
FRAUD_RATE = 0.035
MALE_SHARE = 0.70
DEFAULT_SIGNAL = 1.0
MAX_ROWS = 50_000_000
FEATURES, RAW = "features", "raw"
FORMATS = (FEATURES, RAW)

_DAY = 86_400
_YEAR_START = np.datetime64(f"{INCIDENT_YEAR}-01-01", "D")
_DAYS_IN_YEAR = int((np.datetime64(f"{INCIDENT_YEAR + 1}-01-01", "D") - _YEAR_START).astype(int))
#: Relative frequency of incidents by hour of day (quiet at night, peaks at rush hours).
_HOUR_WEIGHTS = np.array(
    [2, 1.5, 1.2, 1, 1, 1.5, 3, 5, 6, 5, 4.5, 4.5, 5, 5, 5, 5.5, 6.5, 7, 6.5, 5, 4, 3.5, 3, 2.5]
)

#: Weights of the fraud score ``z`` (see the module docstring).
FRAUD_WEIGHTS: dict[str, float] = {
    "num_insurers_past_5_years": 1.50,
    "incident_severity_major": 1.00,
    "num_witnesses": -0.55,
    "police_report_available": -1.45,
    "incident_type_theft": 1.30,
    "collision_type_na": 0.65,
}


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """Draw one category index per row from per-row probabilities (rows x categories).

    ``rng.choice`` takes one probability vector; inverting cumulative sums handles per-row
    probabilities (e.g. severity depending on incident type) without a Python loop.
    """
    cumulative = np.cumsum(probs, axis=1)
    cumulative /= cumulative[:, -1:]
    draws = rng.random(probs.shape[0])[:, None]
    return (draws > cumulative[:, :-1]).sum(axis=1)


def _one_hot(schema: FeatureGroupSchema, prefix: str, codes: np.ndarray) -> dict[str, np.ndarray]:
    """Float one-hot columns of a schema group from category codes in the group's column order."""
    columns = schema.one_hot_columns(prefix)
    return {name: (codes == i).astype(np.float64) for i, name in enumerate(columns)}


def _codes(schema: FeatureGroupSchema, prefix: str, names: Sequence[str]) -> list[int]:
    """Positions of one-hot suffixes in schema order, so code tables survive column reordering."""
    columns = schema.one_hot_columns(prefix)
    return [columns.index(f"{prefix}_{name}") for name in names]


def _customers(rng: np.random.Generator, rows: int) -> dict[str, np.ndarray]:
    """Customer and policy columns (no event time yet)."""
    age = np.clip(np.rint(rng.normal(44, 14, rows)), 18, 90).astype(np.int64)
    tenure_cap = np.clip(12 * (age - 18), 1, 480)
    deductable = rng.choice(np.array([500, 750, 1000, 1500, 2000]), rows, p=[0.2, 0.3, 0.3, 0.1, 0.1])
    premium = rng.normal(2500 - 0.2 * (deductable - 1000), 350)
    gender = np.where(
        rng.random(rows) < MALE_SHARE, *_codes(CUSTOMERS, "customer_gender", ["male", "female"])
    )
    states = _codes(CUSTOMERS, "policy_state", ["ca", "wa", "az", "or", "nv", "id"])
    state = np.asarray(states)[rng.choice(6, rows, p=[0.45, 0.18, 0.12, 0.10, 0.09, 0.06])]
    columns = {
        "customer_age": age,
        "customer_education": rng.choice(5, rows, p=[0.05, 0.30, 0.20, 0.30, 0.15]),
        "months_as_customer": (rng.random(rows) * tenure_cap).astype(np.int64) + 1,
        "policy_deductable": deductable,
        "policy_annual_premium": np.clip(np.rint(premium), 800, 6000).astype(np.int64),
        "policy_liability": rng.choice(4, rows, p=[0.2, 0.4, 0.3, 0.1]),
        "auto_year": INCIDENT_YEAR - np.clip(rng.poisson(7, rows), 0, INCIDENT_YEAR - 2000),
        "num_claims_past_year": np.clip(rng.poisson(0.25, rows), 0, 5),
        "num_insurers_past_5_years": rng.choice(np.arange(1, 6), rows, p=[0.60, 0.22, 0.10, 0.05, 0.03]),
    }
    columns |= _one_hot(CUSTOMERS, "customer_gender", gender)
    columns |= _one_hot(CUSTOMERS, "policy_state", state)
    return columns


def _incident(rng: np.random.Generator, rows: int) -> dict[str, np.ndarray]:
    """Incident kind, severity, people involved and the authorities that came."""
    collision, theft = 0, 2  # codes follow the name lists in `order` below
    kind = rng.choice(3, rows, p=[0.70, 0.15, 0.15])
    severity_probs = np.array([[0.55, 0.30, 0.15], [0.70, 0.30, 0.0], [0.20, 0.30, 0.50]])[kind]
    severity = _categorical(rng, severity_probs)
    is_collision = kind == collision
    collision_kind = np.where(is_collision, rng.choice(3, rows, p=[0.35, 0.35, 0.30]), 3)
    injuries = np.where(is_collision, np.clip(rng.poisson(0.3 + 0.4 * severity), 0, 5), 0)
    report_prob = np.select([kind == theft, severity >= 1], [0.85, 0.65], 0.35)
    police_report = (rng.random(rows) < report_prob).astype(np.float64)
    # authorities: ambulance if injured, police if reported, fire for some total losses, else none
    police, none, fire, ambulance = 0, 1, 2, 3
    authority = np.select(
        [injuries > 0, police_report == 1, (severity == 2) & (rng.random(rows) < 0.3)],
        [ambulance, police, fire],
        none,
    )
    authority = np.where(rng.random(rows) < 0.1, rng.integers(0, 4, rows), authority)
    driver = np.where(is_collision, rng.choice(5, rows, p=[0.60, 0.05, 0.15, 0.10, 0.10]), 1)
    columns = {
        "incident_severity": severity.astype(np.float64),
        "num_vehicles_involved": np.where(is_collision, 1 + rng.binomial(3, 0.3, rows), 1),
        "num_injuries": injuries,
        "police_report_available": police_report,
        "kind": kind,
    }
    order = {
        "driver_relationship": (driver, ["self", "na", "spouse", "child", "other"]),
        "incident_type": (kind, ["collision", "breakin", "theft"]),
        "collision_type": (collision_kind, ["front", "rear", "side", "na"]),
        "authorities_contacted": (authority, ["police", "none", "fire", "ambulance"]),
    }
    for prefix, (codes, names) in order.items():
        columns |= _one_hot(CLAIMS, prefix, np.asarray(_codes(CLAIMS, prefix, names))[codes])
    return columns


def _amounts(rng: np.random.Generator, severity: np.ndarray, injuries: np.ndarray) -> dict[str, np.ndarray]:
    """Claim amounts in whole dollars; vehicle damage scales with severity, injury with people hurt."""
    rows = severity.shape[0]
    base = np.array([1500.0, 6000.0, 15000.0])[severity.astype(np.int64)]
    vehicle = np.rint(base * rng.lognormal(0.0, 0.4, rows)).astype(np.int64)
    injury = np.rint(injuries * 4000.0 * rng.lognormal(0.0, 0.6, rows)).astype(np.int64)
    return {"injury_claim": injury, "vehicle_claim": vehicle, "total_claim_amount": injury + vehicle}


def _dates(rng: np.random.Generator, rows: int) -> dict[str, np.ndarray]:
    """A real incident date and hour per claim, its month/day/dow, and the export time."""
    day_offset = rng.integers(0, _DAYS_IN_YEAR, rows)
    dates = _YEAR_START + day_offset.astype("timedelta64[D]")
    months = dates.astype("datetime64[M]")
    epoch_days = dates.astype(np.int64)
    hour = rng.choice(24, rows, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    report_delay = np.clip(rng.geometric(0.4, rows) - 1, 0, 30)
    export_seconds = (epoch_days + report_delay + 1) * _DAY + 2 * 3600
    return {
        "incident_month": months.astype(np.int64) % 12 + 1,
        "incident_day": (dates - months.astype("datetime64[D]")).astype(np.int64) + 1,
        # 1970-01-01 was a Thursday (weekday 3 with Monday = 0)
        "incident_dow": (epoch_days + 3) % 7,
        "incident_hour": hour,
        "export_seconds": export_seconds,
    }


def fraud_score(claims: dict[str, np.ndarray], customers: dict[str, np.ndarray]) -> np.ndarray:
    """The planted fraud score ``z`` (before ``signal`` and the intercept)."""
    w = FRAUD_WEIGHTS
    return (
        w["num_insurers_past_5_years"] * (customers["num_insurers_past_5_years"] - 1)
        + w["incident_severity_major"] * (claims["incident_severity"] == 1)
        + w["num_witnesses"] * claims["num_witnesses"]
        + w["police_report_available"] * claims["police_report_available"]
        + w["incident_type_theft"] * claims["incident_type_theft"]
        + w["collision_type_na"] * claims["collision_type_na"]
    )


def fraud_probability(score: np.ndarray, signal: float, rate: float = FRAUD_RATE) -> np.ndarray:
    """``sigmoid(b + signal * score)`` with ``b`` chosen so the mean probability is ``rate``.

    Solving for ``b`` (rather than fixing it) keeps the fraud rate the same for every
    ``signal``, so a weaker signal changes only how learnable the label is, not its balance.
    """
    z = signal * score
    low, high = -30.0, 30.0
    for _ in range(60):
        mid = (low + high) / 2
        if np.mean(1.0 / (1.0 + np.exp(-(mid + z)))) < rate:
            low = mid
        else:
            high = mid
    return 1.0 / (1.0 + np.exp(-((low + high) / 2 + z)))


def _frame(schema: FeatureGroupSchema, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """A frame with exactly the schema's columns, order and dtypes."""
    return pd.DataFrame(
        {name: np.asarray(columns[name]).astype(dtype) for name, dtype in schema.dtypes.items()}
    )


def generate(rows: int, seed: int = 0, signal: float = DEFAULT_SIGNAL) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate ``(claims, customers)`` frames with the planted structure in the module docstring.

    Parameters
    ----------
    rows
        Number of policies (one claim and one customer record each), 1..50,000,000.
    seed
        Seed of numpy's PCG64 generator; the same seed gives identical frames.
    signal
        0..1: how strongly the features drive fraud (0 = labels independent of features).

    Examples
    --------
    >>> claims, customers = generate(1000, seed=1)
    >>> list(claims.columns) == list(CLAIMS.column_names)
    True
    """
    if isinstance(rows, bool) or not isinstance(rows, int) or not 1 <= rows <= MAX_ROWS:
        raise ValueError(f"rows must be an integer in [1, {MAX_ROWS}], got {rows!r}")
    if not 0.0 <= signal <= 1.0:
        raise ValueError(f"signal must be in [0, 1], got {signal!r}")
    rng = np.random.default_rng(seed)
    policy_id = np.arange(1, rows + 1, dtype=np.int64)
    customers = _customers(rng, rows) | {"policy_id": policy_id}
    claims = _incident(rng, rows) | _dates(rng, rows) | {"policy_id": policy_id}
    night = claims["incident_hour"] < 6
    claims["num_witnesses"] = np.clip(rng.poisson(np.where(night, 0.4, 1.2)), 0, 5)
    claims |= _amounts(rng, claims["incident_severity"], claims["num_injuries"])
    probability = fraud_probability(fraud_score(claims, customers), signal)
    claims[LABEL] = (rng.random(rows) < probability).astype(np.int64)
    # whole milliseconds divided once, so the ISO text of the raw format reads back bit for bit
    export_ms = claims["export_seconds"].astype(np.int64) * 1000
    claims["event_time"] = (export_ms + np.rint(rng.random(rows) * 3_599_000).astype(np.int64)) / 1000
    customers["event_time"] = (export_ms + np.rint(rng.random(rows) * 3_599_000).astype(np.int64)) / 1000
    return _frame(CLAIMS, claims), _frame(CUSTOMERS, customers)


def _csv_table(schema: FeatureGroupSchema, frame: pd.DataFrame) -> pa.Table:
    """Arrow table whose float columns are pre-rendered with ``repr`` (``1.0``, not ``1``).

    Arrow's CSV writer is ~8x faster than ``DataFrame.to_csv`` but prints ``1.0`` as ``1``,
    which would make Fractional columns look Integral to anyone inferring types from the text.
    Rendering each distinct value once keeps the exact ``repr`` text at Arrow's speed.
    """
    arrays = []
    for feature in schema.features:
        values = frame[feature.name].to_numpy()
        if feature.type is FeatureType.FRACTIONAL:
            codes, uniques = pd.factorize(values)
            text = pa.array([repr(float(u)) for u in uniques], type=pa.string())
            arrays.append(pa.DictionaryArray.from_arrays(pa.array(codes), text).dictionary_decode())
        else:
            arrays.append(pa.array(values))
    return pa.Table.from_arrays(arrays, names=list(schema.column_names))


def write_frames(
    claims: pd.DataFrame, customers: pd.DataFrame, out_dir: Path, *, fmt: str = FEATURES
) -> tuple[Path, Path]:
    """Write ``claims.csv`` and ``customers.csv`` (header, ``\\n`` line ends).

    ``fmt`` ``features`` writes the feature groups' columns in schema order; ``raw`` writes the
    same rows as an insurer's export (categories as text, cents, ISO-8601 event times), through
    :func:`pipeline_def.data.encoding.decode`, in the raw layout's column order.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    options = pa_csv.WriteOptions(quoting_style="none", quoting_header="none")
    paths = []
    for schema, frame in ((CLAIMS, claims), (CUSTOMERS, customers)):
        path = out_dir / f"{schema.name}.csv"
        table = _csv_table(schema, frame) if fmt == FEATURES else decode(schema, frame)
        pa_csv.write_csv(table, path, write_options=options)
        paths.append(path)
    return paths[0], paths[1]


def write(
    out_dir: Path, rows: int, seed: int = 0, signal: float = DEFAULT_SIGNAL, *, fmt: str = FEATURES
) -> tuple[Path, Path]:
    """Generate and write both CSV files; returns ``(claims_path, customers_path)``."""
    claims, customers = generate(rows, seed, signal)
    return write_frames(claims, customers, out_dir, fmt=fmt)


def _signal(text: str) -> float:
    """argparse type for ``--signal``: a number in [0, 1]."""
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; prints where the files went and the fraud rate to stderr."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline_def.data.synthetic", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rows", type=int, required=True, help="number of policies (1..50,000,000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--signal", type=_signal, default=DEFAULT_SIGNAL, help="0..1 (default 1)")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=FEATURES,
        help="features (the feature groups' columns, default) or raw (categories as text, ISO times)",
    )
    parser.add_argument("--force", action="store_true", help="replace claims.csv/customers.csv in --out")
    args = parser.parse_args(argv)
    if not 1 <= args.rows <= MAX_ROWS:
        parser.error(f"--rows must be in [1, {MAX_ROWS}]")
    existing = [args.out / f"{schema.name}.csv" for schema in (CLAIMS, CUSTOMERS)]
    existing = [path for path in existing if path.exists()]
    if existing and not args.force:
        names = " and ".join(str(path) for path in existing)
        print(
            f"error: {names} already exist(s); pass --force to replace, or choose another --out",
            file=sys.stderr,
        )
        return 2
    started = time.perf_counter()
    claims, customers = generate(args.rows, args.seed, args.signal)
    paths = write_frames(claims, customers, args.out, fmt=args.format)
    print(
        f"wrote {args.rows:,} rows to {paths[0]} and {paths[1]} "
        f"(fraud rate {claims[LABEL].mean():.2%}, {time.perf_counter() - started:.1f}s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
