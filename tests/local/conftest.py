"""Fixtures of the local tests: the step-7 job's (a test split, a model, its scores, one full
analysis) and the monitor's (the dev environment, a training-like drift baseline)."""

import numpy as np
import pytest

from pipeline_def.config import load_environment, read_context
from pipeline_def.local import monitor as m
from pipeline_def.schema import LABEL, dataset_columns
from pipeline_def.scripts import drift
from tests.scripts.bias_shap_fixtures import clarify_case, clarify_output

__all__ = ["baseline", "clarify_case", "clarify_output", "config"]


@pytest.fixture(scope="session")
def config():
    return load_environment(read_context(), "dev")


@pytest.fixture(scope="session")
def baseline() -> dict:
    """A baseline of training-like synthetic data (what FraudDriftBaseline writes), scores faked."""
    seed_baseline = {"label_rate": 0.035, "columns": list(dataset_columns()[1:]), "features": {}}
    training = m.make_traffic(seed_baseline, 0.0, seed=3, requests=4000)
    frame = training.features.assign(**{LABEL: training.labels})[list(dataset_columns())]
    scores = np.clip(0.02 + 0.5 * training.labels, 0.0, 1.0)
    settings = drift.BaselineSettings(threshold=0.3, facet="customer_gender_female")
    return drift.build_baseline(frame, scores, settings)
