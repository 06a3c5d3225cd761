"""Fixtures for the step-7 job (``bias_shap.py``): a small synthetic test split, a model and its scores."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from pipeline_def import schema
from pipeline_def.scripts import bias_shap

ROWS = 600
FEMALE_ROWS = 240  # exactly 40 %, so CI = (360 - 240) / 600 = 0.2
THRESHOLD = 0.23
FEATURES = schema.dataset_columns()[1:]


def _one_hot_prefixes() -> list[str]:
    return [*schema.CLAIMS.one_hot_groups, *schema.CUSTOMERS.one_hot_groups]


def _one_hot_columns(prefix: str) -> tuple[str, ...]:
    group = schema.CLAIMS if prefix in schema.CLAIMS.one_hot_groups else schema.CUSTOMERS
    return group.one_hot_columns(prefix)


def make_split(rows: int = ROWS, female_rows: int = FEMALE_ROWS, seed: int = 7) -> pd.DataFrame:
    """A test split with the dataset's exact columns, valid one-hot groups and a learnable label."""
    rng = np.random.default_rng(seed)
    data = {name: rng.integers(0, 50, rows).astype(np.float64) for name in FEATURES}
    for prefix in _one_hot_prefixes():
        columns = _one_hot_columns(prefix)
        chosen = rng.integers(0, len(columns), rows)
        for i, column in enumerate(columns):
            data[column] = (chosen == i).astype(np.float64)
    female = np.zeros(rows, dtype=bool)
    female[rng.permutation(rows)[:female_rows]] = True
    data["customer_gender_female"] = female.astype(np.float64)
    data["customer_gender_male"] = (~female).astype(np.float64)
    data["customer_education"] = rng.integers(0, 7, rows).astype(np.float64)
    risk = 0.08 * (data["num_claims_past_year"] - 25) + 0.06 * (data["incident_severity"] - 25) - 1.0
    fraud = (rng.random(rows) < 1 / (1 + np.exp(-risk))).astype(np.int64)
    return pd.DataFrame({"fraud": fraud, **{name: data[name] for name in FEATURES}})


def train_booster(frame: pd.DataFrame) -> xgb.Booster:
    """A small model trained like the built-in algorithm: headerless, so without feature names."""
    dtrain = xgb.DMatrix(frame[list(FEATURES)].to_numpy(), label=frame["fraud"].to_numpy())
    params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "seed": 0, "nthread": 1}
    return xgb.train(params, dtrain, num_boost_round=15)


def write_model_tarball(booster: xgb.Booster, path: Path) -> Path:
    """Package the model the way SageMaker training does: model.tar.gz holding ``xgboost-model``."""
    raw = bytes(booster.save_raw(raw_format="ubj"))
    with tarfile.open(path, "w:gz") as archive:
        member = tarfile.TarInfo("xgboost-model")
        member.size = len(raw)
        archive.addfile(member, io.BytesIO(raw))
    return path


def analysis_config(
    methods: dict[str, Any] | None = None, baseline: list[float] | None = None
) -> dict[str, Any]:
    """The analysis config that the pipeline's ClarifyConfig step writes (Clarify's own format)."""
    default_methods = {
        "pre_training_bias": {"methods": "all"},
        "post_training_bias": {"methods": "all"},
        "shap": {
            "baseline": [baseline or [0.0] * len(FEATURES)],
            "num_samples": 100,
            "agg_method": "mean_abs",
            "use_logit": True,
            "save_local_shap_values": True,
        },
        "report": {"name": "report", "title": "Fraud model bias and explainability"},
    }
    return {
        "dataset_type": "text/csv",
        "label": "fraud",
        "label_values_or_threshold": [0],
        "facet": [{"name_or_index": "customer_gender_female", "value_or_threshold": [1]}],
        "group_variable": "customer_education",
        "probability_threshold": THRESHOLD,
        "methods": default_methods if methods is None else methods,
        "predictor": {
            "model_name": "fraud-model",
            "instance_type": "ml.m5.xlarge",
            "initial_instance_count": 1,
            "content_type": "text/csv",
            "accept_type": "text/csv",
        },
    }


@dataclass(frozen=True)
class ClarifyCase:
    """Files on disk for one ``bias_shap.analyze`` call, plus the data that produced them."""

    root: Path
    frame: pd.DataFrame
    scores: np.ndarray
    booster: xgb.Booster
    config: Path
    dataset: Path
    predictions: Path
    model: Path
    features: tuple[str, ...] = FEATURES
    threshold: float = THRESHOLD

    @property
    def inputs(self) -> bias_shap.Inputs:
        return bias_shap.Inputs(self.config, self.dataset, self.predictions, self.model)

    def config_dict(self, methods: dict[str, Any] | None = None) -> dict[str, Any]:
        """The pipeline's analysis config, with Clarify ``methods`` replaced if given."""
        return analysis_config(methods, baseline=self.frame[list(FEATURES)].mean().tolist())

    def write_config(self, name: str, raw: dict[str, Any]) -> Path:
        path = self.root / name
        path.write_text(json.dumps(raw), encoding="utf-8")
        return path

    def write_scores(self, name: str, scores: np.ndarray) -> Path:
        path = self.root / name
        np.savetxt(path, scores, fmt="%.8f")
        return path


@pytest.fixture(scope="session")
def clarify_case(tmp_path_factory: pytest.TempPathFactory) -> ClarifyCase:
    root = tmp_path_factory.mktemp("clarify")
    frame = make_split()
    booster = train_booster(frame)
    scores = booster.predict(xgb.DMatrix(frame[list(FEATURES)].to_numpy()))
    dataset = root / "test.csv"
    frame.to_csv(dataset, index=False)
    case = ClarifyCase(
        root=root,
        frame=frame,
        scores=scores,
        booster=booster,
        config=root / "analysis_config.json",
        dataset=dataset,
        predictions=root / "test.csv.out",
        model=write_model_tarball(booster, root / "model.tar.gz"),
    )
    case.write_config("analysis_config.json", case.config_dict())
    case.write_scores("test.csv.out", scores)
    return case


@pytest.fixture(scope="session")
def clarify_output(clarify_case: ClarifyCase) -> tuple[dict[str, Any], Path]:
    """One full analysis of the generated case: (returned analysis, output folder)."""
    out = clarify_case.root / "output"
    inputs = bias_shap.Inputs(
        clarify_case.config, clarify_case.dataset, clarify_case.predictions, clarify_case.model
    )
    analysis = bias_shap.analyze(inputs, out)
    return analysis, out
