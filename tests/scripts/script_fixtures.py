"""Builders of the job scripts' inputs: offline-store Parquet, split CSVs and model archives.

The Parquet files mimic the Feature Store offline store: every schema column, then the system
columns ``write_time`` / ``api_invocation_time`` (timestamps) and ``is_deleted`` (bool), under the
store's ``data/year=/month=/day=/hour=`` folders.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost

from pipeline_def.schema import CLAIMS, CUSTOMERS, LABEL, FeatureGroupSchema, dataset_columns

DATABASE = "fraud_test_features"
CLAIMS_TABLE = "fraud_test_claims"
CUSTOMERS_TABLE = "fraud_test_customers"
CUTOFF_EPOCH = 1_000.0


def _defaults(schema: FeatureGroupSchema) -> dict[str, Any]:
    """A valid record: zeros, with the first column of each one-hot group set."""
    row: dict[str, Any] = dict.fromkeys(schema.column_names, 0)
    for prefix in schema.one_hot_groups:
        row[schema.one_hot_columns(prefix)[0]] = 1
    return row


def store_frame(schema: FeatureGroupSchema, records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Offline-store rows; each record gives ``policy_id``, ``event_time`` and any overrides.

    ``api_invocation_time`` defaults to the event time and ``write_time`` to a few minutes later,
    as the store's asynchronous replication would write them.
    """
    rows = []
    for record in records:
        row = {**_defaults(schema), **record}
        invoked = row.pop("api_invocation_time", row["event_time"])
        row["write_time"] = pd.Timestamp(float(invoked) + 300.0, unit="s")
        row["api_invocation_time"] = pd.Timestamp(float(invoked), unit="s")
        row.setdefault("is_deleted", False)
        rows.append(row)
    frame = pd.DataFrame(
        rows, columns=[*schema.column_names, "write_time", "api_invocation_time", "is_deleted"]
    )
    return frame.astype({**schema.dtypes, "is_deleted": "bool"})


def write_store(root: Path, table: str, frame: pd.DataFrame) -> str:
    """Write one Parquet file per write hour in the offline store's layout; returns the glob."""
    base = root / table / "data"
    for hour, part in frame.groupby(frame["write_time"].dt.floor("h")):
        folder = base / f"year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}"
        folder.mkdir(parents=True, exist_ok=True)
        part.to_parquet(folder / f"{table}-{hour:%Y%m%d%H}.parquet", index=False)
    return str(base / "**" / "*.parquet")


def write_catalog(path: Path, globs: Mapping[str, str], database: str = DATABASE) -> Path:
    """The local offline store's catalog file mapping ``database.table`` to Parquet globs."""
    path.write_text(
        json.dumps({f"{database}.{table}": glob for table, glob in globs.items()}), encoding="utf-8"
    )
    return path


def synthetic_tables(rows: int, fraud_rate: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Claims and customers offline-store frames for ``rows`` policies with varied features."""
    rng = np.random.RandomState(seed)
    fraud = (rng.rand(rows) < fraud_rate).astype(int)
    fraud[:2], fraud[2:4] = 1, 0  # both classes present whatever the draw
    claims, customers = [], []
    for policy in range(rows):
        event = 100.0 + policy
        claims.append(
            {
                "policy_id": policy,
                "event_time": event,
                LABEL: int(fraud[policy]),
                "total_claim_amount": int(rng.randint(1_000, 50_000) + 20_000 * fraud[policy]),
                "incident_severity": float(rng.randint(0, 3)),
            }
        )
        customers.append(
            {
                "policy_id": policy,
                "event_time": event,
                "customer_age": int(rng.randint(18, 80)),
                "customer_education": int(rng.randint(0, 6)),
                "customer_gender_male": 1.0 - policy % 2,
                "customer_gender_female": float(policy % 2),
            }
        )
    return store_frame(CLAIMS, claims), store_frame(CUSTOMERS, customers)


def write_synthetic_store(root: Path, rows: int = 400, fraud_rate: float = 0.1, seed: int = 7) -> Path:
    """A complete local offline store plus its catalog file; returns the catalog path."""
    claims, customers = synthetic_tables(rows, fraud_rate, seed)
    globs = {
        CLAIMS_TABLE: write_store(root, CLAIMS_TABLE, claims),
        CUSTOMERS_TABLE: write_store(root, CUSTOMERS_TABLE, customers),
    }
    return write_catalog(root / "catalog.json", globs)


def write_split(directory: Path, name: str, labels: np.ndarray, features: np.ndarray) -> Path:
    """A label-first, header-less CSV as the data-processing step writes it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.csv"
    frame = pd.DataFrame(features)
    frame.insert(0, "label", np.asarray(labels, dtype=np.int64))
    frame.to_csv(path, header=False, index=False)
    return path


def classification_data(rows: int, seed: int, features: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Labels (about 20 % positive) and features where feature 0 carries most of the signal."""
    rng = np.random.RandomState(seed)
    labels = (rng.rand(rows) < 0.2).astype(int)
    labels[:3], labels[3:6] = 1, 0
    values = rng.normal(size=(rows, features))
    values[:, 0] += 1.5 * labels
    return labels, values


def train_booster(labels: np.ndarray, features: np.ndarray) -> xgboost.Booster:
    params = {"objective": "binary:logistic", "max_depth": 2, "eta": 0.3, "seed": 0, "nthread": 1}
    return xgboost.train(params, xgboost.DMatrix(features, label=labels), num_boost_round=10)


def write_model_archive(model_dir: Path, payload: bytes) -> Path:
    """``model.tar.gz`` with a single ``xgboost-model`` member, as the training container packs it."""
    model_dir.mkdir(parents=True, exist_ok=True)
    archive = model_dir / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return archive


def native_model_bytes(booster: xgboost.Booster, scratch: Path) -> bytes:
    """The booster saved with ``save_model`` under the container's extension-less file name."""
    path = scratch / "xgboost-model"
    with warnings.catch_warnings():
        # xgboost >= 2 warns that it picks UBJSON for a name without extension; that name is
        # exactly what the container uses, so the warning is expected here.
        warnings.simplefilter("ignore", UserWarning)
        booster.save_model(str(path))
    return path.read_bytes()


def headered_dataset(rows: int, seed: int) -> pd.DataFrame:
    """A frame with the real dataset columns (label first) and plausible 0/1 and count values."""
    rng = np.random.RandomState(seed)
    columns = dataset_columns()
    frame = pd.DataFrame(rng.randint(0, 2, size=(rows, len(columns))), columns=list(columns))
    frame["customer_education"] = rng.randint(0, 6, size=rows)
    return frame


def run_standalone(script: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a copy of a job script alone in an empty folder, as SageMaker ships it.

    ``python -I`` keeps the repository off ``sys.path``, so an import from this repository fails
    here just as it would in the container.
    """
    copy = tmp_path / script.name
    shutil.copyfile(script, copy)
    command = [sys.executable, "-I", str(copy), *args]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
