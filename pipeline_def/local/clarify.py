"""Local stand-in for the SageMaker Clarify processing job (pipeline step 7, docs/architecture.md).

It reads the same ``analysis_config.json`` that the pipeline's ClarifyConfig step writes for
the real Clarify container, computes what its ``methods`` ask for, and writes Clarify's
output layout, so the steps downstream (model registration, the approval Lambda's bias
gate, the report) cannot tell the difference::

    output_dir/
        analysis.json              bias metrics + global SHAP values
        explanations_shap/out.csv  per-row SHAP values, header = feature names

Differences from the real job, each deliberate:

* Predictions arrive as a file of scores (one fraud probability per line, in dataset order):
  the executor passes the config's ``predicted_label_dataset_uri`` (the pipeline's batch
  transform output) or, without one, the model's scores (Clarify's shadow endpoint). The predicted label is
  ``score > probability_threshold``, which ``label_values_or_threshold`` then maps to
  favourable/unfavourable in the same way as the observed label.
* SHAP is exact TreeSHAP in log-odds space (see :mod:`pipeline_def.local.explain`). The
  block keeps Clarify's ``kernel_shap`` key because consumers read it, and adds
  ``local_explainer`` to say what the numbers really are.
* ``label_values_or_threshold`` and ``value_or_threshold`` are treated as lists of values
  (categorical label and facet), which is what this project's binary columns need.
* The ``report`` method is accepted and left to :mod:`pipeline_def.local.report`. Clarify's
  notebook/PDF report cannot be produced offline.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_def.local import bias, explain

log = logging.getLogger(__name__)

ANALYSIS_FILE = "analysis.json"
LOCAL_SHAP_FILE = Path("explanations_shap") / "out.csv"
#: Clarify's default when the config gives no probability_threshold.
DEFAULT_PROBABILITY_THRESHOLD = 0.5
SUPPORTED_METHODS = ("pre_training_bias", "post_training_bias", "shap", "report")
LOCAL_EXPLAINER = (
    "exact TreeSHAP from xgboost (Booster.predict pred_contribs=True), not KernelSHAP; "
    "global_shap_values and expected_value are in log-odds (margin) space"
)


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Facet:
    """One entry of the config's ``facet`` list: a column and the values that select facet d."""

    name: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class ClarifyConfig:
    """The parts of Clarify's analysis configuration that the local job reads."""

    headers: tuple[str, ...]
    dataset_has_header: bool
    label: str
    label_values: tuple[Any, ...]
    facets: tuple[Facet, ...]
    group_variable: str | None
    probability_threshold: float
    methods: Mapping[str, Any]

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Model inputs: every header except the label, in dataset order."""
        return tuple(h for h in self.headers if h != self.label)


def _as_list(value: Any) -> list[Any]:
    """Clarify accepts a scalar or a list in several places; always return a list."""
    return list(value) if isinstance(value, list | tuple) else [value]


def _column_name(name_or_index: str | int, headers: Sequence[str]) -> str:
    """Resolve Clarify's ``name_or_index`` to a column name, checking that it exists."""
    if isinstance(name_or_index, int):
        if not 0 <= name_or_index < len(headers):
            raise ValueError(f"column index {name_or_index} is outside the {len(headers)} headers")
        return headers[name_or_index]
    if name_or_index not in headers:
        raise ValueError(f"column {name_or_index!r} is not among the headers {list(headers)}")
    return name_or_index


def _required(raw: Mapping[str, Any], key: str) -> Any:
    if key not in raw:
        raise ValueError(f"analysis config has no {key!r}")
    return raw[key]


def parse_config(raw: Mapping[str, Any], dataset_header: Sequence[str] | None = None) -> ClarifyConfig:
    """Validate a Clarify analysis config (already parsed from JSON) into a :class:`ClarifyConfig`.

    Clarify reads a CSV in one of two ways: with ``headers`` in the config the file has no header
    row; without them the file's first row is the header. ``dataset_header`` is that first row,
    and is used only when the config has no ``headers``.
    """
    if "headers" in raw:
        headers = tuple(str(h) for h in raw["headers"])
    elif dataset_header is not None:
        headers = tuple(str(h) for h in dataset_header)
    else:
        raise ValueError(
            "the analysis config has no 'headers' and the dataset has no header row to take them from"
        )
    methods = _required(raw, "methods")
    unsupported = sorted(set(methods) - set(SUPPORTED_METHODS))
    if unsupported:
        raise ValueError(f"unsupported Clarify method(s) {unsupported}; supported: {list(SUPPORTED_METHODS)}")
    facets = tuple(
        Facet(_column_name(f["name_or_index"], headers), tuple(_as_list(f["value_or_threshold"])))
        for f in _as_list(raw.get("facet", []))
    )
    if not facets and {"pre_training_bias", "post_training_bias"} & set(methods):
        raise ValueError("bias methods need at least one entry in the analysis config's 'facet' list")
    group = raw.get("group_variable")
    return ClarifyConfig(
        headers=headers,
        dataset_has_header="headers" not in raw,
        label=_column_name(_required(raw, "label"), headers),
        label_values=tuple(_as_list(_required(raw, "label_values_or_threshold"))),
        facets=facets,
        group_variable=None if group is None else _column_name(group, headers),
        probability_threshold=float(raw.get("probability_threshold", DEFAULT_PROBABILITY_THRESHOLD)),
        methods=methods,
    )


def load_config(config_path: str | Path, dataset_path: str | Path | None = None) -> ClarifyConfig:
    """Read and validate ``analysis_config.json``; without ``headers`` they come from the dataset."""
    raw = json.loads(Path(config_path).read_text(encoding="utf-8"))
    header = None
    if "headers" not in raw and dataset_path is not None:
        header = [str(name) for name in pd.read_csv(dataset_path, nrows=0).columns]
    return parse_config(raw, header)


# --------------------------------------------------------------------------- inputs


def read_dataset(dataset_path: str | Path, config: ClarifyConfig) -> pd.DataFrame:
    """Read the CSV as Clarify does: a header row only when the config gives no ``headers``."""
    if config.dataset_has_header:
        frame = pd.read_csv(dataset_path)
    else:
        frame = pd.read_csv(dataset_path, header=None, names=list(config.headers))
        if frame.shape[1] and pd.to_numeric(frame.iloc[:, 0], errors="coerce").isna().any():
            raise ValueError(
                f"{dataset_path}: non-numeric values in column {config.headers[0]!r}: a header row in a file "
                "whose config also gives 'headers'? Clarify would read that row as data"
            )
    if tuple(frame.columns) != config.headers:
        missing = [h for h in config.headers if h not in frame.columns]
        extra = [c for c in frame.columns if c not in config.headers]
        raise ValueError(
            f"{dataset_path}: columns do not match the analysis config's headers "
            f"(missing {missing}, unexpected {extra}, or a different order)"
        )
    return frame


def read_scores(predictions_path: str | Path, expected_rows: int) -> npt.NDArray[np.float64]:
    """Read batch-transform output: one probability per line, no header, same rows as the dataset."""
    frame = pd.read_csv(predictions_path, header=None)
    if frame.shape[1] != 1:
        raise ValueError(f"{predictions_path}: expected one score per line, found {frame.shape[1]} columns")
    scores = frame.iloc[:, 0].to_numpy(dtype=np.float64)
    if scores.size != expected_rows:
        raise ValueError(
            f"{predictions_path} has {scores.size} predictions but the dataset has {expected_rows} rows; "
            "the batch-transform output must line up with the dataset row for row"
        )
    if not np.all((scores >= 0.0) & (scores <= 1.0)):
        raise ValueError(
            f"{predictions_path}: scores must be probabilities in [0, 1] (is the output a margin?)"
        )
    return scores


def _matches(column: pd.Series, values: Sequence[Any]) -> npt.NDArray[np.bool_]:
    """Rows whose value is one of ``values``, comparing numerically when the column is numeric.

    The CSV reader gives 1.0 where the config says 1 (or "1"), so string comparison would miss.
    """
    if pd.api.types.is_numeric_dtype(column):
        return np.isin(column.to_numpy(dtype=np.float64), [float(v) for v in values])
    return column.astype(str).isin([str(v) for v in values]).to_numpy()


def predicted_accepted(scores: npt.NDArray[np.float64], config: ClarifyConfig) -> npt.NDArray[np.bool_]:
    """Clarify's predicted label is 1 when score > probability_threshold, then mapped to favourable."""
    predicted_label = pd.Series((scores > config.probability_threshold).astype(np.int64))
    return _matches(predicted_label, config.label_values)


# --------------------------------------------------------------------------- analysis


def _value_text(values: Sequence[Any]) -> str:
    """Clarify writes the facet and label values as text, e.g. ``[1]`` -> ``"1"``."""
    return ",".join(str(v) for v in values)


def _bias_inputs(frame: pd.DataFrame, config: ClarifyConfig, facet: Facet, predicted: Any) -> bias.BiasInputs:
    """Reduce the columns to Clarify's notions: facet d, favourable labels, subgroups, FT features."""
    ft_features = [name for name in config.feature_names if name != facet.name]
    return bias.BiasInputs(
        facet=_matches(frame[facet.name], facet.values),
        labels=frame[config.label].to_numpy(),
        accepted=_matches(frame[config.label], config.label_values),
        predicted=predicted,
        group=None if config.group_variable is None else frame[config.group_variable].to_numpy(),
        features=frame[ft_features].to_numpy(dtype=np.float64),
    )


def _bias_section(
    stage: str,
    registry: Mapping[str, bias.Metric],
    frame: pd.DataFrame,
    config: ClarifyConfig,
    predicted: npt.NDArray[np.bool_] | None,
) -> dict[str, Any]:
    """Build one of Clarify's ``*_bias_metrics`` blocks, with one entry per configured facet."""
    metrics = bias.select_metrics(config.methods[stage].get("methods", "all"), registry)
    facets = {
        facet.name: [
            {
                "value_or_threshold": _value_text(facet.values),
                "metrics": bias.metric_entries(metrics, _bias_inputs(frame, config, facet, predicted)),
            }
        ]
        for facet in config.facets
    }
    return {
        "label": config.label,
        "label_value_or_threshold": _value_text(config.label_values),
        "facets": facets,
    }


def _explanations(
    frame: pd.DataFrame, config: ClarifyConfig, model_path: str | Path, output_dir: Path
) -> dict[str, Any]:
    """Compute SHAP values; write out.csv when ``save_local_shap_values`` is on (Clarify's default)."""
    shap_config = config.methods["shap"]
    booster = explain.load_booster(model_path)
    names = config.feature_names
    explain.check_feature_names(booster, names)
    local_csv = output_dir / LOCAL_SHAP_FILE if shap_config.get("save_local_shap_values", True) else None
    summary = explain.explain_dataset(
        booster,
        frame[list(names)].to_numpy(dtype=np.float64),
        names,
        agg_method=shap_config.get("agg_method", "mean_abs"),
        local_csv=local_csv,
    )
    label0 = {
        "global_shap_values": summary.values,
        "expected_value": summary.expected_value,
        "local_explainer": LOCAL_EXPLAINER,
        "agg_method": summary.agg_method,
        "rows_explained": summary.rows,
    }
    if shap_config.get("use_logit") is False:
        label0["note"] = "use_logit=false was requested; TreeSHAP values are still in log-odds space"
    return {"kernel_shap": {"label0": label0}}


def _require(path: str | Path | None, what: str) -> str | Path:
    if path is None:
        raise ValueError(f"the analysis config asks for {what}, so a path to it is required")
    return path


def run_clarify(
    config_path: str | Path,
    dataset_path: str | Path,
    predictions_path: str | Path | None,
    model_path: str | Path | None,
    output_dir: str | Path,
) -> dict[str, Any]:
    """Run the Clarify analysis locally and write ``analysis.json`` (+ local SHAP values) to ``output_dir``.

    ``predictions_path`` is needed only for post-training bias, and ``model_path`` only for
    SHAP. Returns the analysis dictionary that was written.

    Examples
    --------
    >>> analysis = run_clarify(  # doctest: +SKIP
    ...     "analysis_config.json", "test.csv", "test.csv.out", "model.tar.gz", "clarify-output"
    ... )
    >>> analysis["post_training_bias_metrics"]["facets"]["customer_gender_female"][0]["metrics"][0]["name"]
    'AD'
    """
    config = load_config(config_path, dataset_path)
    frame = read_dataset(dataset_path, config)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    analysis: dict[str, Any] = {"version": "1.0"}
    if "pre_training_bias" in config.methods:
        analysis["pre_training_bias_metrics"] = _bias_section(
            "pre_training_bias", bias.PRE_TRAINING, frame, config, None
        )
    if "post_training_bias" in config.methods:
        scores = read_scores(_require(predictions_path, "post-training bias predictions"), len(frame))
        analysis["post_training_bias_metrics"] = _bias_section(
            "post_training_bias", bias.POST_TRAINING, frame, config, predicted_accepted(scores, config)
        )
    if "shap" in config.methods:
        analysis["explanations"] = _explanations(frame, config, _require(model_path, "SHAP on a model"), out)
    # allow_nan=False makes a NaN that slipped past metric_entries fail here instead of writing invalid JSON.
    (out / ANALYSIS_FILE).write_text(json.dumps(analysis, indent=2, allow_nan=False), encoding="utf-8")
    log.info("Clarify (local): wrote %s", out / ANALYSIS_FILE)
    return analysis
