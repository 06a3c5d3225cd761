"""SHAP attributions for the XGBoost model: the local run's stand-in for Clarify's KernelSHAP.

On AWS, Clarify estimates SHAP values with KernelSHAP by querying a shadow endpoint. With
``use_logit`` set, the estimates are in log-odds space. Locally we have the trees themselves,
so we compute *exact* TreeSHAP with ``Booster.predict(..., pred_contribs=True)``. That call
returns, for every row, one contribution per feature plus a bias column. Their sum is the
model's margin (its log-odds), and the values equal ``shap.TreeExplainer``'s. It is also
about 50-120x cheaper than KernelSHAP (bench/RESULTS.md). There is no sampling noise, so the
baseline and ``num_samples`` of the Clarify config have nothing to tune: TreeSHAP's
reference is the training data's distribution as the trees' cover counts record it.

Global importance follows Clarify's ``agg_method``: ``mean_abs`` (Clarify's default) is the
mean of |SHAP| over the rows and ``mean_sq`` the mean of SHAP². The expected value is the
mean bias term, i.e. the model's expected margin.
"""

from __future__ import annotations

import pickle  # nosec B403 - fallback for model artifacts of old SageMaker XGBoost containers, see below
import tarfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import xgboost as xgb

MODEL_FILE_NAME = "xgboost-model"
#: Rows per pred_contribs call. A chunk costs about rows x (features + 1) x 4 bytes, so
#: 20,000 rows x 46 columns take under 4 MB however large the input is.
DEFAULT_CHUNK_ROWS = 20_000
AGG_METHODS = ("mean_abs", "mean_sq")

FloatArray = npt.NDArray[np.float64]


class ModelLoadError(Exception):
    """The model artifact has no readable XGBoost model."""


# --------------------------------------------------------------------------- model loading


def _read_model_bytes(model_path: Path) -> bytes:
    """Return the bytes of ``xgboost-model`` from a model.tar.gz, a directory or the file itself."""
    if model_path.is_dir():
        model_path = model_path / MODEL_FILE_NAME
    if not model_path.is_file():
        raise ModelLoadError(f"no model at {model_path}")
    if not tarfile.is_tarfile(model_path):
        return model_path.read_bytes()
    # Read the member's bytes instead of extracting it, so a crafted archive cannot write outside a folder.
    with tarfile.open(model_path) as archive:
        for member in archive.getmembers():
            if member.isfile() and Path(member.name).name == MODEL_FILE_NAME:
                extracted = archive.extractfile(member)
                if extracted is not None:
                    return extracted.read()
    raise ModelLoadError(f"{model_path} holds no file named {MODEL_FILE_NAME!r}")


def _booster_from_bytes(raw: bytes, origin: Path) -> xgb.Booster:
    """Load XGBoost's own format (JSON/UBJSON), falling back to pickle for old artifacts."""
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(raw))
    except xgb.core.XGBoostError as native_error:
        return _unpickle_booster(raw, origin, _first_line(native_error))
    return booster


def _first_line(error: Exception) -> str:
    """XGBoost's errors carry a C++ stack trace; the first line is the useful part."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


_UNPICKLE_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    AttributeError,
    ImportError,
    IndexError,
)


def _unpickle_booster(raw: bytes, origin: Path, native_error: str) -> xgb.Booster:
    """Unpickle a Booster, the format SageMaker's XGBoost containers up to 1.2 saved.

    Older model packages still hold such artifacts. The artifact comes from our own training
    step, never from a user, which is why unpickling it is acceptable here.
    """
    try:
        loaded = pickle.loads(raw)  # noqa: S301  # nosec B301 - our own training output, see docstring
    except _UNPICKLE_ERRORS as pickle_error:
        raise ModelLoadError(
            f"{origin}: not an XGBoost model ({native_error}) and not a pickled one ({pickle_error})"
        ) from pickle_error
    if not isinstance(loaded, xgb.Booster):
        raise ModelLoadError(f"{origin}: the pickle holds a {type(loaded).__name__}, not an xgboost.Booster")
    return loaded


def load_booster(model_path: str | Path) -> xgb.Booster:
    """Load the model that training wrote: ``model.tar.gz``, a directory, or the bare ``xgboost-model``.

    Examples
    --------
    >>> booster = load_booster("model.tar.gz")  # doctest: +SKIP
    """
    path = Path(model_path)
    return _booster_from_bytes(_read_model_bytes(path), path)


def check_feature_names(booster: xgb.Booster, feature_names: Sequence[str]) -> None:
    """Fail early if the data's columns cannot be the model's inputs (wrong count or names).

    The built-in XGBoost algorithm trains on headerless CSV, so its boosters have no feature
    names and only the count can be checked.
    """
    if booster.num_features() != len(feature_names):
        raise ValueError(
            f"the model expects {booster.num_features()} features, the dataset has {len(feature_names)}"
        )
    if booster.feature_names is not None and list(booster.feature_names) != list(feature_names):
        raise ValueError(
            "the model's feature names differ from the dataset's headers: "
            f"{booster.feature_names} != {list(feature_names)}"
        )


# --------------------------------------------------------------------------- local SHAP values


@dataclass(frozen=True)
class ShapChunk:
    """TreeSHAP values of the rows ``start .. start + len(bias)``.

    ``contributions`` has one column per feature. Together with ``bias``, each row sums to
    the margin.
    """

    start: int
    contributions: npt.NDArray[np.float32]
    bias: npt.NDArray[np.float32]


def _dmatrix(booster: xgb.Booster, rows: FloatArray) -> xgb.DMatrix:
    """Wrap rows for prediction, reusing the booster's feature names so that XGBoost accepts them."""
    return xgb.DMatrix(rows, missing=np.nan, feature_names=booster.feature_names)


def iter_tree_shap(
    booster: xgb.Booster, features: FloatArray, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[ShapChunk]:
    """Yield exact TreeSHAP values chunk by chunk, so memory stays flat for any input size."""
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be positive, got {chunk_rows}")
    for start in range(0, features.shape[0], chunk_rows):
        block = features[start : start + chunk_rows]
        contribs = booster.predict(_dmatrix(booster, block), pred_contribs=True)
        yield ShapChunk(start=start, contributions=contribs[:, :-1], bias=contribs[:, -1])


def tree_shap(booster: xgb.Booster, features: FloatArray) -> ShapChunk:
    """Return the TreeSHAP values of all rows at once. Use it for inputs that fit in memory."""
    chunks = list(iter_tree_shap(booster, features))
    if not chunks:
        empty = np.zeros((0, features.shape[1]), dtype=np.float32)
        return ShapChunk(start=0, contributions=empty, bias=np.zeros(0, dtype=np.float32))
    return ShapChunk(
        start=0,
        contributions=np.concatenate([c.contributions for c in chunks]),
        bias=np.concatenate([c.bias for c in chunks]),
    )


# --------------------------------------------------------------------------- global SHAP values


@dataclass(frozen=True)
class GlobalShap:
    """Clarify's global explanation: one aggregated value per feature, and the expected margin."""

    values: dict[str, float]
    expected_value: float
    rows: int
    agg_method: str


@dataclass
class GlobalShapAccumulator:
    """Aggregate SHAP chunks as they stream by (Clarify's ``agg_method``) without keeping them."""

    feature_names: Sequence[str]
    agg_method: str = "mean_abs"
    _total: FloatArray = field(init=False, repr=False)
    _bias_total: float = field(init=False, default=0.0)
    _rows: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.agg_method not in AGG_METHODS:
            raise ValueError(
                f"unsupported SHAP agg_method {self.agg_method!r}; supported: {', '.join(AGG_METHODS)}"
            )
        self._total = np.zeros(len(self.feature_names), dtype=np.float64)

    def add(self, chunk: ShapChunk) -> None:
        """Add one chunk's rows to the running sums (float64, so that long sums stay exact)."""
        values = chunk.contributions.astype(np.float64)
        self._total += (
            np.abs(values).sum(axis=0) if self.agg_method == "mean_abs" else (values**2).sum(axis=0)
        )
        self._bias_total += float(chunk.bias.astype(np.float64).sum())
        self._rows += values.shape[0]

    def result(self) -> GlobalShap:
        """Return the aggregate over everything added. Zero rows is an error, not a silent zero."""
        if self._rows == 0:
            raise ValueError("no rows to explain")
        means = self._total / self._rows
        return GlobalShap(
            values={name: float(v) for name, v in zip(self.feature_names, means, strict=True)},
            expected_value=self._bias_total / self._rows,
            rows=self._rows,
            agg_method=self.agg_method,
        )


def explain_dataset(
    booster: xgb.Booster,
    features: FloatArray,
    feature_names: Sequence[str],
    agg_method: str = "mean_abs",
    local_csv: Path | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> GlobalShap:
    """Compute global SHAP values and, if ``local_csv`` is given, write the per-row values too.

    The file has Clarify's ``explanations_shap/out.csv`` layout: a header of feature names,
    then one row per input row in input order. Both outputs come from a single pass over the
    chunks, so nothing of input size is held in memory.
    """
    accumulator = GlobalShapAccumulator(feature_names, agg_method)
    chunks = iter_tree_shap(booster, features, chunk_rows)
    if local_csv is None:
        for chunk in chunks:
            accumulator.add(chunk)
        return accumulator.result()
    local_csv.parent.mkdir(parents=True, exist_ok=True)
    with local_csv.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(feature_names) + "\n")
        for chunk in chunks:
            accumulator.add(chunk)
            np.savetxt(out, chunk.contributions, delimiter=",", fmt="%.9g")
    return accumulator.result()
