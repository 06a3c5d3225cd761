"""FraudClarifyConfig: write SageMaker Clarify's ``analysis_config.json`` for the trained model.

Inputs (processing input folders):

- ``--dataset-dir``: the headered test CSV (``test_with_header.csv``) that Clarify analyses;
  its header gives Clarify's ``headers`` (label included).
- ``--train-dir``: the training CSV (label first, no header) for the SHAP baseline.
- ``--evaluation-dir``: ``evaluation.json``, whose ``decision_threshold.value`` (chosen on the
  validation split) becomes Clarify's ``probability_threshold``, so the post-training bias
  metrics judge the same decisions the evaluation measured.

Output: ``<output-dir>/analysis_config.json`` with sorted keys, indent 2 and a trailing newline,
byte-identical for the same inputs. Step 7 (``bias_shap.py``) reads it; the file stays valid
SageMaker Clarify input, so an account that still has Clarify can run Clarify on the same config.

The file is shipped alone into the SageMaker XGBoost 3.0-5 image (Python 3.10, pandas 2.2,
numpy 2.1): it imports nothing from this repository.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

LOG = logging.getLogger("clarify_config")

ANALYSIS_CONFIG = "analysis_config.json"
EVALUATION_FILE = "evaluation.json"
DATASET_FILE = "test_with_header.csv"
REPORT_TITLE = "Fraud detection model: bias and explainability"


class ClarifyConfigError(ValueError):
    """An input cannot give a valid Clarify configuration; the message names the input."""


def _csv_in(directory: Path, argument: str, preferred: str | None = None) -> Path:
    """``preferred`` if present, else the first CSV by name in a processing input folder."""
    if preferred is not None and (directory / preferred).is_file():
        return directory / preferred
    files = sorted(p for p in directory.glob("*.csv") if p.is_file()) if directory.is_dir() else []
    if not files:
        raise ClarifyConfigError(f"{argument} {directory}: no .csv file found")
    return files[0]


def read_headers(dataset_dir: Path) -> list[str]:
    """Column names of the headered dataset Clarify will analyse (label included)."""
    path = _csv_in(dataset_dir, "--dataset-dir", DATASET_FILE)
    try:
        headers = [str(name) for name in pd.read_csv(path, nrows=0).columns]
    except pd.errors.EmptyDataError as err:
        raise ClarifyConfigError(f"{path}: the file is empty") from err
    if len(headers) < 2 or len(set(headers)) != len(headers):
        raise ClarifyConfigError(f"{path}: expected a header of distinct column names, got {headers}")
    return headers


def read_threshold(evaluation_dir: Path) -> float:
    """``decision_threshold.value`` of ``evaluation.json``; Clarify needs it strictly in (0, 1)."""
    path = evaluation_dir / EVALUATION_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        value = document["decision_threshold"]["value"]
    except (OSError, ValueError) as err:
        raise ClarifyConfigError(
            f"--evaluation-dir {evaluation_dir}: cannot read {EVALUATION_FILE} ({err})"
        ) from err
    except (KeyError, TypeError) as err:
        raise ClarifyConfigError(f"{path}: no decision_threshold.value") from err
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        raise ClarifyConfigError(f"{path}: decision_threshold.value {value!r} is not within (0, 1)")
    return float(value)


def shap_baseline(train_dir: Path, feature_count: int) -> list[float]:
    """One baseline row: the median of every feature column of the training CSV (all its parts).

    Medians, not means, so a baseline value is one a real record could have. For one-hot columns
    the median is the majority value (0 or 1, 0.5 on an exact tie), so the baseline's one-hot
    groups need not sum to 1; KernelSHAP uses the row only as the reference "absent feature"
    value, for which that is acceptable.
    """
    first = _csv_in(train_dir, "--train-dir")
    files = sorted(p for p in train_dir.glob("*.csv") if p.is_file())
    path = first if len(files) == 1 else train_dir
    try:
        frame = pd.concat([pd.read_csv(f, header=None) for f in files], ignore_index=True)
    except pd.errors.EmptyDataError as err:
        raise ClarifyConfigError(f"{path}: the file is empty") from err
    features = frame.iloc[:, 1:]
    if features.shape[1] != feature_count:
        raise ClarifyConfigError(
            f"{path}: {features.shape[1]} feature columns, but the dataset header has {feature_count}"
        )
    if frame.empty:
        raise ClarifyConfigError(f"{path}: no rows to compute the SHAP baseline from")
    try:
        values = features.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ClarifyConfigError(f"{path}: every feature must be numeric ({err})") from err
    medians = np.median(values, axis=0)
    if not np.all(np.isfinite(medians)):
        raise ClarifyConfigError(f"{path}: missing or non-finite values; cannot compute the SHAP baseline")
    return [float(v) for v in medians]


def check_column(headers: list[str], argument: str, name: str) -> None:
    if name not in headers:
        raise ClarifyConfigError(
            f"{argument} {name!r} is not a dataset column; columns: {', '.join(headers)}"
        )


PREDICTED_SCORE_HEADER = "score"


def build_config(
    args: argparse.Namespace, headers: list[str], threshold: float, baseline: list[float]
) -> dict:
    """The analysis configuration in Clarify's format (bias pre/post training, SHAP, report)."""
    config = _base_config(args, headers, threshold, baseline)
    if args.predicted_label_dataset_uri:
        # Post-training bias on the scores the pipeline's transform step produced; the predictor
        # stays for SHAP, which needs the model itself.
        config["predicted_label_dataset_uri"] = args.predicted_label_dataset_uri
        config["predicted_label_headers"] = [PREDICTED_SCORE_HEADER]
        config["predicted_label"] = PREDICTED_SCORE_HEADER
    return config


def _base_config(
    args: argparse.Namespace, headers: list[str], threshold: float, baseline: list[float]
) -> dict:
    return {
        "dataset_type": "text/csv",
        # No "headers": the dataset has a header row, and Clarify reads a CSV either with a
        # header row or with config headers, never both (the row would be read as data).
        "label": args.label,
        "label_values_or_threshold": [args.favorable_label],
        "facet": [{"name_or_index": args.facet, "value_or_threshold": [args.facet_value]}],
        "group_variable": args.group_variable,
        "probability_threshold": threshold,
        "methods": {
            "pre_training_bias": {"methods": "all"},
            "post_training_bias": {"methods": "all"},
            "shap": {
                "baseline": [baseline],
                "num_samples": args.shap_samples,
                "agg_method": "mean_abs",
                "use_logit": True,
                "save_local_shap_values": True,
                "seed": args.seed,
            },
            "report": {"name": "report", "title": REPORT_TITLE},
        },
        "predictor": {
            "model_name": args.model_name,
            "instance_type": args.instance_type,
            "initial_instance_count": 1,
            "content_type": "text/csv",
            "accept_type": "text/csv",
        },
    }


def render(config: dict[str, Any]) -> str:
    """Deterministic JSON text: sorted keys, indent 2, trailing newline."""
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def _number(text: str) -> int | float:
    """A label or facet value as Clarify compares it: an int when integral, else a float."""
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number")
    return int(value) if value.is_integer() else value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model-name", required=True, help="SageMaker model Clarify starts a shadow endpoint for"
    )
    parser.add_argument("--instance-type", required=True)
    parser.add_argument("--dataset-dir", type=Path, default=Path("/opt/ml/processing/input/dataset"))
    parser.add_argument("--train-dir", type=Path, default=Path("/opt/ml/processing/input/train"))
    parser.add_argument("--evaluation-dir", type=Path, default=Path("/opt/ml/processing/input/evaluation"))
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output"))
    parser.add_argument("--label", default="fraud")
    parser.add_argument(
        "--favorable-label", type=_number, default=0, help="label value that is the good outcome"
    )
    parser.add_argument("--facet", default="customer_gender_female")
    parser.add_argument("--facet-value", type=_number, default=1)
    parser.add_argument("--group-variable", default="customer_education")
    parser.add_argument("--shap-samples", type=_positive_int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--predicted-label-dataset-uri",
        default=None,
        help="S3 prefix of the batch transform's output (one score per line, dataset row order): "
        "Clarify then uses those predictions for post-training bias instead of calling the model",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> Path:
    """Read the three inputs, validate, write the configuration; returns its path."""
    headers = read_headers(args.dataset_dir)
    check_column(headers, "--label", args.label)
    if headers[0] != args.label:
        # The baseline is read from the label-first training CSV, in the header's order.
        raise ClarifyConfigError(
            f"--label {args.label!r} must be the first dataset column, not {headers[0]!r}"
        )
    check_column(headers, "--facet", args.facet)
    check_column(headers, "--group-variable", args.group_variable)
    threshold = read_threshold(args.evaluation_dir)
    baseline = shap_baseline(args.train_dir, len(headers) - 1)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / ANALYSIS_CONFIG
    path.write_text(render(build_config(args, headers, threshold, baseline)), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(argv)
    try:
        path = run(args)
    except ClarifyConfigError as err:
        LOG.error("FraudClarifyConfig failed: %s", err)
        return 1
    LOG.info("Wrote %s for model %s", path, args.model_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
