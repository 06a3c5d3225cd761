"""Model artifacts in the SageMaker XGBoost container's format: ``model.tar.gz`` holding ``xgboost-model``.

Reading one back goes through step 7's own loader (:func:`pipeline_def.scripts.bias_shap.load_booster`,
which also takes the pickles of old containers), so the local transform reads a model exactly as
the job scripts do.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import xgboost as xgb

from pipeline_def.scripts.bias_shap import load_booster

__all__ = ["MODEL_FILE", "load_booster", "predict", "write_model_tar"]

MODEL_FILE = "xgboost-model"


def write_model_tar(booster: xgb.Booster, target: Path) -> Path:
    """Save like the container does, so evaluate.py and bias_shap.py read it unchanged."""
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
