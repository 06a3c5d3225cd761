"""Model artifacts in the SageMaker XGBoost container's format: ``model.tar.gz`` holding ``xgboost-model``.

Reading them back is :func:`pipeline_def.local.explain.load_booster` (it also takes old pickles).
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import xgboost as xgb

MODEL_FILE = "xgboost-model"


def write_model_tar(booster: xgb.Booster, target: Path) -> Path:
    """Save like the container does, so evaluate.py and the Clarify stand-in read it unchanged."""
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = booster.save_raw(raw_format="ubj")
    info = tarfile.TarInfo(MODEL_FILE)
    info.size = len(raw)
    info.mtime = 0  # deterministic archive bytes for the same model
    with tarfile.open(target, "w:gz") as archive:
        archive.addfile(info, io.BytesIO(bytes(raw)))
    return target


def predict(booster: xgb.Booster, features: np.ndarray) -> np.ndarray:
    """Probability of fraud per row (the container's CSV response for binary:logistic)."""
    return booster.predict(xgb.DMatrix(features))
