"""FraudBiasExplainability: Clarify's bias metrics and exact TreeSHAP, as our own job script.

SageMaker Clarify is closed to new customers, so pipeline step 7 runs this file in the same
SageMaker XGBoost image as every other job (and the local run starts the same file). It reads
the analysis config that FraudClarifyConfig writes in Clarify's format, and writes Clarify's
output layout, so model registration, the approval function's gates and the report read it
unchanged::

    <output-dir>/analysis.json                bias metrics + global SHAP values
    <output-dir>/explanations_shap/out.csv    per-row SHAP values, header = feature names
    <output-dir>/explanations_shap/rows.csv   with a sample: the test row behind each line

Inputs (each a folder SageMaker fills from S3): ``--config-dir`` (analysis_config.json),
``--dataset-dir`` (the test split with a header row), ``--predictions-dir`` (the batch
transform's output: one fraud probability per line, in dataset order), ``--model-dir``
(model.tar.gz from training).

Bias metrics follow Clarify's published definitions (pre-training:
https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-measure-data-bias.html, post-training:
https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-measure-post-training-bias.html) on
every test row, for every facet and value of the config. The predicted label is
``score > probability_threshold``; ``label_values_or_threshold`` maps it to favourable, as for
the observed label. Each post-training facet entry also carries ``predicted_positive_rate``:
a model that flags nobody has DI = 1 and DPPL = 0, and only these rates show it.

SHAP is exact TreeSHAP (``Booster.predict(pred_contribs=True)``), in **log-odds** of fraud
(``units`` says so): the block keeps Clarify's ``kernel_shap`` key because consumers read it.
Above ``--max-shap-rows`` test rows, SHAP explains a deterministic sample stratified by label
and facet; bias metrics always use every row.

Differences from Clarify, each deliberate: ``label_values_or_threshold`` and
``value_or_threshold`` are lists of values (categorical label and facet), which this project's
binary columns need; the ``report`` method is accepted and left to the project's report; a
metric that is undefined on the data (empty facet, zero denominator) is ``null`` with an
``error`` text, never ±inf, so no gate ever compares against infinity.

Imports: standard library, numpy, pandas, xgboost (Python 3.10 in the image): nothing from
this repository.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import pickle  # nosec B403 - fallback for model artifacts of old SageMaker XGBoost containers
import sys
import tarfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

LOG = logging.getLogger("bias_shap")

# =========================================================================== bias metrics
#: Aliases that say which arrays are masks and which are numbers.
BoolArray = np.ndarray
FloatArray = np.ndarray

#: FT compares at most this many rows of each facet (a seeded, and so repeatable, sample).
#: The brute-force neighbour search costs O(n_d x n_a); 2,000 x 2,000 takes well under a second.
FLIP_TEST_MAX_ROWS = 2_000
FLIP_TEST_SEED = 0
#: Clarify's FT uses k = 5 neighbours, or 1 neighbour when facet a has fewer than 10 rows.
FLIP_TEST_NEIGHBOURS = 5
_FLIP_TEST_FEW_ROWS = 9
_DISTANCE_BLOCK_ROWS = 512

UNDEFINED_MESSAGE = (
    "undefined on this data: a denominator is zero or a facet is empty (for example, "
    "no predicted acceptances in one facet); written as null instead of a number"
)


class MetricUnavailableError(Exception):
    """The configuration lacks an input that the metric needs, e.g. no group variable for CDDL."""


# --------------------------------------------------------------------------- helpers


def _ratio(numerator: float, denominator: float) -> float:
    """Return ``numerator / denominator``, or nan for a zero denominator (an undefined rate)."""
    if denominator == 0:
        return math.nan
    return float(numerator) / float(denominator)


def _positive_rate(mask: BoolArray, accepted: BoolArray) -> float:
    """Return q = n^(1) / n, the share of favourable outcomes among the rows in ``mask``."""
    return _ratio(np.count_nonzero(accepted & mask), np.count_nonzero(mask))


def _both_facets_present(facet: BoolArray) -> bool:
    """Check that both facets have rows; every comparison of a with d needs both."""
    n_d = int(np.count_nonzero(facet))
    return 0 < n_d < facet.size


@dataclass(frozen=True)
class Confusion:
    """Confusion counts of one facet, with "positive" meaning the favourable outcome."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def recall(self) -> float:
        """TP / (TP + FN): the share of observed acceptances that are also predicted."""
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def specificity(self) -> float:
        """TN / (TN + FP): the share of observed rejections that are also predicted."""
        return _ratio(self.tn, self.tn + self.fp)

    @property
    def precision(self) -> float:
        """TP / n̂^(1): the share of predicted acceptances that are observed acceptances."""
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def rejection_precision(self) -> float:
        """TN / n̂^(0): the share of predicted rejections that are observed rejections."""
        return _ratio(self.tn, self.tn + self.fn)

    @property
    def accuracy(self) -> float:
        """(TP + TN) / n."""
        return _ratio(self.tp + self.tn, self.tp + self.fp + self.fn + self.tn)

    @property
    def conditional_acceptance(self) -> float:
        """c = n^(1) / n̂^(1): observed over predicted acceptances (DCA's building block)."""
        return _ratio(self.tp + self.fn, self.tp + self.fp)

    @property
    def conditional_rejection(self) -> float:
        """r = n^(0) / n̂^(0): observed over predicted rejections (DCR's building block)."""
        return _ratio(self.fp + self.tn, self.fn + self.tn)

    @property
    def false_negatives_per_false_positive(self) -> float:
        """FN / FP (TE's building block)."""
        return _ratio(self.fn, self.fp)


def confusion(mask: BoolArray, accepted: BoolArray, predicted: BoolArray) -> Confusion:
    """Count TP/FP/FN/TN among the rows in ``mask`` (positive = favourable)."""

    def count(observed: BoolArray, guessed: BoolArray) -> int:
        return int(np.count_nonzero(mask & observed & guessed))

    return Confusion(
        tp=count(accepted, predicted),
        fp=count(~accepted, predicted),
        fn=count(accepted, ~predicted),
        tn=count(~accepted, ~predicted),
    )


def _facet_confusions(
    facet: BoolArray, accepted: BoolArray, predicted: BoolArray
) -> tuple[Confusion, Confusion]:
    """Return the confusion counts of facet a and of facet d, in that order."""
    return confusion(~facet, accepted, predicted), confusion(facet, accepted, predicted)


# --------------------------------------------------------------------------- pre-training


def class_imbalance(facet: BoolArray) -> float:
    """CI = (n_a - n_d) / (n_a + n_d), in [-1, 1].

    Positive values mean facet d has fewer rows than facet a. Clarify refuses to compute CI
    when a facet is empty, so this job returns nan in that case.
    """
    if not _both_facets_present(facet):
        return math.nan
    n_d = int(np.count_nonzero(facet))
    n_a = facet.size - n_d
    return _ratio(n_a - n_d, n_a + n_d)


def difference_in_proportions_of_labels(facet: BoolArray, accepted: BoolArray) -> float:
    """DPL = q_a - q_d, where q = n^(1) / n is a facet's share of favourable labels."""
    return _positive_rate(~facet, accepted) - _positive_rate(facet, accepted)


def _label_distributions(facet: BoolArray, labels: np.ndarray) -> tuple[FloatArray, FloatArray] | None:
    """Return P_a(y) and P_d(y) over the observed label values y, or None if a facet is empty."""
    if not _both_facets_present(facet):
        return None
    _, codes = np.unique(labels, return_inverse=True)
    size = int(codes.max()) + 1
    counts_a = np.bincount(codes[~facet], minlength=size).astype(np.float64)
    counts_d = np.bincount(codes[facet], minlength=size).astype(np.float64)
    return counts_a / counts_a.sum(), counts_d / counts_d.sum()


def _kl(p: FloatArray, q: FloatArray) -> float:
    """Σ_y p(y) ln(p(y)/q(y)), using 0 ln 0 = 0. The result is nan (infinite) if q(y) = 0 < p(y)."""
    support = p > 0
    if np.any(q[support] == 0):
        return math.nan
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


def kl_divergence(facet: BoolArray, labels: np.ndarray) -> float:
    """KL = Σ_y P_a(y) ln(P_a(y) / P_d(y)), in nats.

    How far facet a's label distribution diverges from facet d's. The result is infinite
    (returned as nan) when some label value occurs in a but never in d. Clarify's code
    instead sums only over the label values that both facets have.
    """
    distributions = _label_distributions(facet, labels)
    if distributions is None:
        return math.nan
    return _kl(*distributions)


def jensen_shannon_divergence(facet: BoolArray, labels: np.ndarray) -> float:
    """JS = ½ [KL(P_a, P) + KL(P_d, P)] with P = ½ (P_a + P_d). It is symmetric and finite."""
    distributions = _label_distributions(facet, labels)
    if distributions is None:
        return math.nan
    p_a, p_d = distributions
    mixture = (p_a + p_d) / 2
    return 0.5 * (_kl(p_a, mixture) + _kl(p_d, mixture))


def lp_norm(facet: BoolArray, labels: np.ndarray, p: float = 2.0) -> float:
    """LP = [Σ_y |P_a(y) - P_d(y)|^p]^(1/p). Clarify uses p = 2 (the Euclidean distance)."""
    distributions = _label_distributions(facet, labels)
    if distributions is None:
        return math.nan
    p_a, p_d = distributions
    return float(np.sum(np.abs(p_a - p_d) ** p) ** (1.0 / p))


def total_variation_distance(facet: BoolArray, labels: np.ndarray) -> float:
    """TVD = ½ Σ_y |P_a(y) - P_d(y)|, i.e. half the L1 distance between the label distributions."""
    distributions = _label_distributions(facet, labels)
    if distributions is None:
        return math.nan
    p_a, p_d = distributions
    return 0.5 * float(np.sum(np.abs(p_a - p_d)))


def kolmogorov_smirnov(facet: BoolArray, labels: np.ndarray) -> float:
    """KS = max_y |P_a(y) - P_d(y)|: the largest gap between the facets' label distributions."""
    distributions = _label_distributions(facet, labels)
    if distributions is None:
        return math.nan
    p_a, p_d = distributions
    return float(np.max(np.abs(p_a - p_d)))


def _demographic_disparity(facet: BoolArray, accepted: BoolArray, within: BoolArray) -> float:
    """DD = n_d^(0) / n^(0) - n_d^(1) / n^(1) among the rows in ``within``.

    This is facet d's share of the rejections minus its share of the acceptances. A subgroup
    with no rejections (or no acceptances) counts that share as 0, as Clarify does, so that
    one small stratum does not make the whole CDD undefined.
    """
    rejected = within & ~accepted
    approved = within & accepted
    n_rejected = np.count_nonzero(rejected)
    n_approved = np.count_nonzero(approved)
    share_rejected = np.count_nonzero(facet & rejected) / n_rejected if n_rejected else 0.0
    share_approved = np.count_nonzero(facet & approved) / n_approved if n_approved else 0.0
    return float(share_rejected - share_approved)


def conditional_demographic_disparity(facet: BoolArray, accepted: BoolArray, group: np.ndarray) -> float:
    """CDD = (1/n) Σ_i n_i · DD_i over the subgroups i of the group variable.

    Positive values mean facet d gets a larger share of the rejections than of the
    acceptances, even after conditioning on the group variable (Simpson's paradox check).
    The result is nan when a facet is empty or when the data has no acceptances or no
    rejections at all.
    """
    if not _both_facets_present(facet) or accepted.all() or not accepted.any():
        return math.nan
    subgroups, codes = np.unique(group, return_inverse=True)
    weighted = 0.0
    for code in range(subgroups.size):
        within = codes == code
        weighted += np.count_nonzero(within) * _demographic_disparity(facet, accepted, within)
    return weighted / facet.size


# --------------------------------------------------------------------------- post-training


def difference_in_positive_proportions_in_predicted_labels(facet: BoolArray, predicted: BoolArray) -> float:
    """DPPL = q̂_a - q̂_d, with q̂ = n̂^(1) / n each facet's share of predicted acceptances."""
    return difference_in_proportions_of_labels(facet, predicted)


def disparate_impact(facet: BoolArray, predicted: BoolArray) -> float:
    """DI = q̂_d / q̂_a. The value is 1 at demographic parity and below 1 when d is accepted less often."""
    return _ratio(_positive_rate(facet, predicted), _positive_rate(~facet, predicted))


def difference_in_conditional_acceptance(
    facet: BoolArray, accepted: BoolArray, predicted: BoolArray
) -> float:
    """DCA = c_a - c_d, with c = n^(1) / n̂^(1) (observed over predicted acceptances)."""
    conf_a, conf_d = _facet_confusions(facet, accepted, predicted)
    return conf_a.conditional_acceptance - conf_d.conditional_acceptance


def difference_in_conditional_rejection(facet: BoolArray, accepted: BoolArray, predicted: BoolArray) -> float:
    """DCR = r_d - r_a, with r = n^(0) / n̂^(0) (observed over predicted rejections)."""
    conf_a, conf_d = _facet_confusions(facet, accepted, predicted)
    return conf_d.conditional_rejection - conf_a.conditional_rejection


def recall_difference(facet: BoolArray, accepted: BoolArray, predicted: BoolArray) -> float:
    """RD = TP_a / (TP_a + FN_a) - TP_d / (TP_d + FN_d): the recall of a minus the recall of d."""
    conf_a, conf_d = _facet_confusions(facet, accepted, predicted)
    return conf_a.recall - conf_d.recall


def specificity_difference(facet: BoolArray, accepted: BoolArray, predicted: BoolArray) -> float:
    """SD = TN_d / (TN_d + FP_d) - TN_a / (TN_a + FP_a) = TNR_d - TNR_a."""
    conf_a, conf_d = _facet_confusions(facet, accepted, predicted)
    return conf_d.specificity - conf_a.specificity


def difference_in_acceptance_rates(facet: BoolArray, accepted: BoolArray, predicted: BoolArray) -> float:
    """DAR = TP_a / n̂_a^(1) - TP_d / n̂_d^(1): the precision of a minus the precision of d."""
    conf_a, conf_d = _facet_confusions(facet, accepted, predicted)
    return conf_a.precision - conf_d.precision


def difference_in_rejection_rates(facet: BoolArray, accepted: BoolArray, predicted: BoolArray) -> float:
    """DRR = TN_d / n̂_d^(0) - TN_a / n̂_a^(0): the precision of d's rejections minus a's."""
    conf_a, conf_d = _facet_confusions(facet, accepted, predicted)
    return conf_d.rejection_precision - conf_a.rejection_precision


def accuracy_difference(facet: BoolArray, accepted: BoolArray, predicted: BoolArray) -> float:
    """AD = ACC_a - ACC_d, with ACC = (TP + TN) / n."""
    conf_a, conf_d = _facet_confusions(facet, accepted, predicted)
    return conf_a.accuracy - conf_d.accuracy


def treatment_equality(facet: BoolArray, accepted: BoolArray, predicted: BoolArray) -> float:
    """TE = FN_d / FP_d - FN_a / FP_a: the difference in each facet's ratio of FN to FP."""
    conf_a, conf_d = _facet_confusions(facet, accepted, predicted)
    return conf_d.false_negatives_per_false_positive - conf_a.false_negatives_per_false_positive


def generalized_entropy(accepted: BoolArray, predicted: BoolArray, alpha: float = 2.0) -> float:
    """GE(alpha) = 1 / (n alpha (alpha - 1)) Σ_i [(b_i / μ)^alpha - 1], b_i = ŷ_i - y_i + 1, μ = mean(b).

    GE measures how unequally the model's benefit b (2 for a false acceptance, 0 for a false
    rejection, 1 for a correct decision) is spread over all rows. Clarify uses alpha = 2, which
    makes GE half the squared coefficient of variation of b. GE does not depend on the facet.
    """
    benefit = predicted.astype(np.float64) - accepted.astype(np.float64) + 1.0
    mean = float(benefit.mean()) if benefit.size else 0.0
    if mean == 0:
        return math.nan
    return float(np.sum((benefit / mean) ** alpha - 1.0) / (benefit.size * alpha * (alpha - 1.0)))


def _sample_rows(indices: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """Return at most ``cap`` of ``indices``, drawn without replacement and kept in row order."""
    if indices.size <= cap:
        return indices
    return np.sort(rng.choice(indices, size=cap, replace=False))


def _neighbour_votes(
    query: FloatArray, reference: FloatArray, reference_accepted: BoolArray, k: int
) -> BoolArray:
    """Predict each query row's outcome by majority vote of its k nearest reference rows.

    The distance is Euclidean on the raw feature values, as Clarify's k-NN uses. Ties in
    distance go to the earlier reference row (stable sort), so the result is repeatable.
    """
    # Centring keeps |x|^2 - 2 x.y small, which limits round-off for features in the tens of thousands.
    # |query|^2 is left out because it is the same for every reference row and so does not change the order.
    centre = reference.mean(axis=0)
    query, reference = query - centre, reference - centre
    reference_norms = np.einsum("ij,ij->i", reference, reference)
    votes = np.empty(query.shape[0], dtype=bool)
    for start in range(0, query.shape[0], _DISTANCE_BLOCK_ROWS):
        block = query[start : start + _DISTANCE_BLOCK_ROWS]
        distances = reference_norms[None, :] - 2.0 * block @ reference.T
        nearest = np.argsort(distances, axis=1, kind="stable")[:, :k]
        votes[start : start + block.shape[0]] = reference_accepted[nearest].mean(axis=1) > 0.5
    return votes


def flip_test(
    features: FloatArray,
    facet: BoolArray,
    predicted: BoolArray,
    max_rows: int = FLIP_TEST_MAX_ROWS,
    seed: int = FLIP_TEST_SEED,
) -> float:
    """FT = (F+ - F-) / n_d, the counterfactual flip test.

    Each member of facet d gets a counterfactual outcome: the majority of the model's
    predictions for its k nearest neighbours in facet a (k = 5, or 1 if a has fewer than
    10 rows). F+ counts d members whose prediction is unfavourable while their a-neighbours
    are favoured. F- counts d members whose prediction is favourable while their neighbours
    are not. Positive values therefore mean d gets unfavourable decisions that similar
    a members do not get, which is the sign that Clarify's documentation gives. (Clarify's
    open-source code appears to subtract the other way round, so a value from AWS may
    have the opposite sign. The documented definition is the contract here.)

    To keep the cost bounded, at most ``max_rows`` rows of each facet take part. They are a
    seeded random sample, so repeated runs give the same value. ``n_d`` is the number of d
    rows sampled. ``features`` should leave out the facet column itself, as Clarify does.
    """
    if not _both_facets_present(facet):
        return math.nan
    rng = np.random.default_rng(seed)
    rows_d = _sample_rows(np.flatnonzero(facet), max_rows, rng)
    rows_a = _sample_rows(np.flatnonzero(~facet), max_rows, rng)
    k = FLIP_TEST_NEIGHBOURS if rows_a.size > _FLIP_TEST_FEW_ROWS else 1
    as_if_a = _neighbour_votes(features[rows_d], features[rows_a], predicted[rows_a], k)
    actual = predicted[rows_d]
    flips_against_d = int(np.count_nonzero(~actual & as_if_a))
    flips_for_d = int(np.count_nonzero(actual & ~as_if_a))
    return (flips_against_d - flips_for_d) / rows_d.size


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class BiasInputs:
    """The columns that the metrics read, already reduced to Clarify's notions.

    ``facet`` is True for facet d. ``labels`` holds the raw observed label values, which the
    distribution metrics (KL, JS, LP, TVD, KS) use. ``accepted`` and ``predicted`` are True
    where the observed or predicted label is favourable. ``features`` is the model input
    without the facet column, which FT uses.
    """

    facet: BoolArray
    labels: np.ndarray
    accepted: BoolArray
    predicted: BoolArray | None = None
    group: np.ndarray | None = None
    features: FloatArray | None = None

    def __post_init__(self) -> None:
        # Coerce the masks to bool: ``~`` on an int or float array would not mean "not".
        for name in ("facet", "accepted", "predicted"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, np.asarray(value, dtype=bool))

    def need_predicted(self) -> BoolArray:
        if self.predicted is None:
            raise MetricUnavailableError("post-training metrics need predicted labels")
        return self.predicted

    def need_group(self) -> np.ndarray:
        if self.group is None:
            raise MetricUnavailableError("Group variable is empty or not provided")
        return self.group

    def need_features(self) -> FloatArray:
        if self.features is None:
            raise MetricUnavailableError("the flip test needs the feature columns")
        return self.features


@dataclass(frozen=True)
class Metric:
    """One Clarify metric: name, Clarify's description, a one-line meaning, and how to compute it."""

    name: str
    description: str
    meaning: str
    compute: Callable[[BiasInputs], float]


def _metric(name: str, description: str, meaning: str, compute: Callable[[BiasInputs], float]) -> Metric:
    return Metric(name, f"{description} ({name})", meaning, compute)


PRE_TRAINING: Mapping[str, Metric] = {
    m.name: m
    for m in (
        _metric(
            "CI",
            "Class Imbalance",
            "(n_a - n_d)/n: > 0 means facet d is under-represented in the data.",
            lambda x: class_imbalance(x.facet),
        ),
        _metric(
            "DPL",
            "Difference in Positive Proportions in Labels",
            "q_a - q_d: > 0 means facet a has more favourable labels in the data.",
            lambda x: difference_in_proportions_of_labels(x.facet, x.accepted),
        ),
        _metric(
            "KL",
            "Kullback-Liebler Divergence",
            "How far a's label distribution diverges from d's (0 = identical, in nats).",
            lambda x: kl_divergence(x.facet, x.labels),
        ),
        _metric(
            "JS",
            "Jensen-Shannon Divergence",
            "Symmetric, bounded divergence between the facets' label distributions (0 = identical).",
            lambda x: jensen_shannon_divergence(x.facet, x.labels),
        ),
        _metric(
            "LP",
            "L-p Norm",
            "Euclidean (p = 2) distance between the facets' label distributions.",
            lambda x: lp_norm(x.facet, x.labels),
        ),
        _metric(
            "TVD",
            "Total Variation Distance",
            "Half the L1 distance between the facets' label distributions.",
            lambda x: total_variation_distance(x.facet, x.labels),
        ),
        _metric(
            "KS",
            "Kolmogorov-Smirnov Distance",
            "Largest gap between the facets' label distributions.",
            lambda x: kolmogorov_smirnov(x.facet, x.labels),
        ),
        _metric(
            "CDDL",
            "Conditional Demographic Disparity in Labels",
            "> 0: facet d gets more of the rejections than of the acceptances, per group variable.",
            lambda x: conditional_demographic_disparity(x.facet, x.accepted, x.need_group()),
        ),
    )
}

POST_TRAINING: Mapping[str, Metric] = {
    m.name: m
    for m in (
        _metric(
            "DPPL",
            "Difference in Positive Proportions in Predicted Labels",
            "q̂_a - q̂_d: > 0 means the model accepts facet a more often than facet d.",
            lambda x: difference_in_positive_proportions_in_predicted_labels(x.facet, x.need_predicted()),
        ),
        _metric(
            "DI",
            "Disparate Impact",
            "q̂_d / q̂_a: 1 is parity; below 1 means facet d is accepted less often.",
            lambda x: disparate_impact(x.facet, x.need_predicted()),
        ),
        _metric(
            "DCA",
            "Difference in Conditional Acceptance",
            "c_a - c_d, c = observed / predicted acceptances; 0 = both facets accepted as labelled.",
            lambda x: difference_in_conditional_acceptance(x.facet, x.accepted, x.need_predicted()),
        ),
        _metric(
            "DCR",
            "Difference in Conditional Rejection",
            "r_d - r_a, r = observed / predicted rejections; 0 = both facets rejected as labelled.",
            lambda x: difference_in_conditional_rejection(x.facet, x.accepted, x.need_predicted()),
        ),
        _metric(
            "RD",
            "Recall Difference",
            "Recall_a - recall_d: > 0 means deserved acceptances are found more often in a.",
            lambda x: recall_difference(x.facet, x.accepted, x.need_predicted()),
        ),
        _metric(
            "SD",
            "Specificity Difference",
            "TNR_d - TNR_a: > 0 means deserved rejections are found more often in d.",
            lambda x: specificity_difference(x.facet, x.accepted, x.need_predicted()),
        ),
        _metric(
            "DAR",
            "Difference in Acceptance Rates",
            "Precision_a - precision_d: > 0 means d's acceptances are less often right.",
            lambda x: difference_in_acceptance_rates(x.facet, x.accepted, x.need_predicted()),
        ),
        _metric(
            "DRR",
            "Difference in Rejection Rates",
            "Rejection precision d - a: > 0 means a's rejections are less often right.",
            lambda x: difference_in_rejection_rates(x.facet, x.accepted, x.need_predicted()),
        ),
        _metric(
            "AD",
            "Accuracy Difference",
            "Accuracy_a - accuracy_d: > 0 means the model errs more on facet d.",
            lambda x: accuracy_difference(x.facet, x.accepted, x.need_predicted()),
        ),
        _metric(
            "TE",
            "Treatment Equality",
            "FN_d/FP_d - FN_a/FP_a: difference in the kind of error each facet suffers.",
            lambda x: treatment_equality(x.facet, x.accepted, x.need_predicted()),
        ),
        _metric(
            "CDDPL",
            "Conditional Demographic Disparity in Predicted Labels",
            "CDD on predictions: > 0 means d gets more predicted rejections than acceptances.",
            lambda x: conditional_demographic_disparity(x.facet, x.need_predicted(), x.need_group()),
        ),
        _metric(
            "FT",
            "Flip Test",
            "> 0: d members are rejected where their nearest a-neighbours are accepted.",
            lambda x: flip_test(x.need_features(), x.facet, x.need_predicted()),
        ),
        _metric(
            "GE",
            "Generalized Entropy",
            "Inequality of the model's benefit across all rows (alpha = 2); 0 = equal treatment.",
            lambda x: generalized_entropy(x.accepted, x.need_predicted()),
        ),
    )
}

#: Every metric by name, for readers such as the report that only have the name.
METRICS: Mapping[str, Metric] = {**PRE_TRAINING, **POST_TRAINING}


def select_metrics(requested: str | Sequence[str], registry: Mapping[str, Metric]) -> list[Metric]:
    """Resolve a Clarify ``methods`` value (``"all"`` or a list of names) to metrics, sorted by name.

    Clarify lists the metrics alphabetically in ``analysis.json``, so this job does too.

    Examples
    --------
    >>> [m.name for m in select_metrics(["DPL", "CI"], PRE_TRAINING)]
    ['CI', 'DPL']
    """
    if isinstance(requested, str):
        requested = list(registry) if requested.lower() == "all" else [requested]
    names = [str(name).upper() for name in requested]
    unknown = [name for name in names if name not in registry]
    if unknown:
        allowed = ", ".join(sorted(registry))
        raise ValueError(f"unknown bias metric(s) {', '.join(unknown)}; allowed: {allowed}, or 'all'")
    return [registry[name] for name in sorted(set(names))]


def _entry(metric: Metric, inputs: BiasInputs) -> dict[str, object]:
    """Compute one metric and turn it into Clarify's ``{"name", "description", "value"}`` entry."""
    entry: dict[str, object] = {"name": metric.name, "description": metric.description}
    try:
        value = metric.compute(inputs)
    except MetricUnavailableError as missing:
        return {**entry, "value": None, "error": str(missing)}
    if not math.isfinite(value):
        return {**entry, "value": None, "error": UNDEFINED_MESSAGE}
    return {**entry, "value": float(value)}


def metric_entries(metrics: Sequence[Metric], inputs: BiasInputs) -> list[dict[str, object]]:
    """Compute ``metrics`` and return Clarify's metric list, with null for undefined values."""
    return [_entry(metric, inputs) for metric in metrics]


# =========================================================================== TreeSHAP
MODEL_FILE_NAME = "xgboost-model"
#: Rows per pred_contribs call. A chunk costs about rows x (features + 1) x 4 bytes, so
#: 20,000 rows x 46 columns take under 4 MB however large the input is.
DEFAULT_CHUNK_ROWS = 20_000
AGG_METHODS = ("mean_abs", "mean_sq")

FloatArray = np.ndarray


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


#: The PROTO opcode that begins every pickle of protocol 2 or later, as old containers wrote them.
_PICKLE_START = b"\x80"


def _booster_from_bytes(raw: bytes, origin: Path) -> xgb.Booster:
    """Load XGBoost's own format (JSON, UBJSON, binary), or a Booster pickled by an old container.

    Bytes that begin as a pickle does are unpickled first: XGBoost reads a pickled Booster as
    its legacy binary format before refusing it, which took 0.8 s for a 10-tree model. Either
    way, the other format is still tried when the first fails.
    """
    loaders = {"native": _native_booster, "pickle": _unpickled_booster}
    order = ("pickle", "native") if raw.startswith(_PICKLE_START) else ("native", "pickle")
    errors: dict[str, Exception] = {}
    for name in order:
        try:
            loaded = loaders[name](raw)
        except (xgb.core.XGBoostError, *_UNPICKLE_ERRORS) as error:
            errors[name] = error
            continue
        if not isinstance(loaded, xgb.Booster):
            kind = type(loaded).__name__
            raise ModelLoadError(f"{origin}: the pickle holds a {kind}, not an xgboost.Booster")
        return loaded
    raise ModelLoadError(
        f"{origin}: not an XGBoost model ({_first_line(errors['native'])}) "
        f"and not a pickled one ({errors['pickle']})"
    ) from errors[order[-1]]


def _native_booster(raw: bytes) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
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


def _unpickled_booster(raw: bytes) -> object:
    """Unpickle a Booster, the format SageMaker's XGBoost containers up to 1.2 saved.

    Older model packages still hold such artifacts. The artifact comes from our own training
    step, never from a user, which is why unpickling it is acceptable here.
    """
    return pickle.loads(raw)  # noqa: S301  # nosec B301 - our own training output, see docstring


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
    contributions: np.ndarray
    bias: np.ndarray


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
            values={name: float(v) for name, v in zip(self.feature_names, means, strict=False)},
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


# =========================================================================== analysis

ANALYSIS_FILE = "analysis.json"
LOCAL_SHAP_FILE = Path("explanations_shap") / "out.csv"
#: With a sample, the test-set row number of each line of out.csv.
LOCAL_SHAP_ROWS_FILE = Path("explanations_shap") / "rows.csv"
#: TreeSHAP cost grows with rows x trees x leaves: about 4k rows a second for 150 trees of depth 5
#: on 2 cores (bench/RESULTS.md), so the default cap keeps step 7 within a minute or two.
DEFAULT_MAX_SHAP_ROWS = 100_000
SHAP_UNITS = "log-odds"
#: Clarify's default when the config gives no probability_threshold.
DEFAULT_PROBABILITY_THRESHOLD = 0.5
SUPPORTED_METHODS = ("pre_training_bias", "post_training_bias", "shap", "report")
EXPLAINER = (
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
    """The parts of Clarify's analysis configuration that this job reads."""

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
    return list(value) if isinstance(value, (list, tuple)) else [value]


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


def read_scores(predictions_path: str | Path | Sequence[Path], expected_rows: int) -> np.ndarray:
    """Read batch-transform output: one probability per line, no header, same rows as the dataset.

    A transform over several instances writes one output per input part; given in name order
    (the parts' row order), they are read as one.
    """
    paths = [Path(predictions_path)] if isinstance(predictions_path, (str, Path)) else list(predictions_path)
    predictions_path = paths[0] if len(paths) == 1 else paths[0].parent
    frame = pd.concat([pd.read_csv(path, header=None) for path in paths], ignore_index=True)
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


def _matches(column: pd.Series, values: Sequence[Any]) -> np.ndarray:
    """Rows whose value is one of ``values``, comparing numerically when the column is numeric.

    The CSV reader gives 1.0 where the config says 1 (or "1"), so string comparison would miss.
    """
    if pd.api.types.is_numeric_dtype(column):
        return np.isin(column.to_numpy(dtype=np.float64), [float(v) for v in values])
    return column.astype(str).isin([str(v) for v in values]).to_numpy()


def predicted_accepted(scores: np.ndarray, config: ClarifyConfig) -> np.ndarray:
    """Clarify's predicted label is 1 when score > probability_threshold, then mapped to favourable."""
    predicted_label = pd.Series((scores > config.probability_threshold).astype(np.int64))
    return _matches(predicted_label, config.label_values)


# --------------------------------------------------------------------------- analysis


def _value_text(values: Sequence[Any]) -> str:
    """Clarify writes the facet and label values as text, e.g. ``[1]`` -> ``"1"``."""
    return ",".join(str(v) for v in values)


def _bias_inputs(frame: pd.DataFrame, config: ClarifyConfig, facet: Facet, predicted: Any) -> BiasInputs:
    """Reduce the columns to Clarify's notions: facet d, favourable labels, subgroups, FT features."""
    ft_features = [name for name in config.feature_names if name != facet.name]
    return BiasInputs(
        facet=_matches(frame[facet.name], facet.values),
        labels=frame[config.label].to_numpy(),
        accepted=_matches(frame[config.label], config.label_values),
        predicted=predicted,
        group=None if config.group_variable is None else frame[config.group_variable].to_numpy(),
        features=frame[ft_features].to_numpy(dtype=np.float64),
    )


def predicted_positive_rates(frame: pd.DataFrame, facet: Facet, scores: np.ndarray, threshold: float) -> dict:
    """Share of each facet's rows the model flags (score > threshold, predicted label 1).

    DI and DPPL compare the facets' *acceptance* rates, so a model that flags nobody scores a
    perfect DI = 1 and DPPL = 0. These rates make that visible: the approval gate rejects a
    model when a facet has no predicted positives.
    """
    in_d = _matches(frame[facet.name], facet.values)
    flagged = scores > threshold
    rows_d, rows_a = int(in_d.sum()), int((~in_d).sum())
    return {
        "definition": "share of rows with score > probability_threshold (predicted label 1)",
        "facet_d": _ratio(float(flagged[in_d].sum()), rows_d) if rows_d else None,
        "facet_a": _ratio(float(flagged[~in_d].sum()), rows_a) if rows_a else None,
        "rows_d": rows_d,
        "rows_a": rows_a,
    }


def _bias_section(
    stage: str,
    registry: Mapping[str, Metric],
    frame: pd.DataFrame,
    config: ClarifyConfig,
    scores: np.ndarray | None,
) -> dict[str, Any]:
    """Build one of Clarify's ``*_bias_metrics`` blocks, with one entry per configured facet."""
    metrics = select_metrics(config.methods[stage].get("methods", "all"), registry)
    predicted = None if scores is None else predicted_accepted(scores, config)
    facets = {}
    for facet in config.facets:
        entry: dict[str, Any] = {
            "value_or_threshold": _value_text(facet.values),
            "metrics": metric_entries(metrics, _bias_inputs(frame, config, facet, predicted)),
        }
        if scores is not None:
            entry["predicted_positive_rate"] = predicted_positive_rates(
                frame, facet, scores, config.probability_threshold
            )
        facets[facet.name] = [entry]
    return {
        "label": config.label,
        "label_value_or_threshold": _value_text(config.label_values),
        "facets": facets,
    }


def stratified_sample(strata: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """Row indices (sorted) of a deterministic sample of at most ``max_rows``, stratum by stratum.

    Each stratum keeps its share of the rows (largest remainders get the rounding), and at
    least one row when it has any, so a rare class such as fraud among women stays explained.
    """
    rows = strata.shape[0]
    if rows <= max_rows:
        return np.arange(rows)
    rng = np.random.RandomState(seed)
    values, inverse, counts = np.unique(strata, return_inverse=True, return_counts=True)
    exact = counts * (max_rows / rows)
    quota = np.maximum(np.floor(exact).astype(int), 1)
    spare = max_rows - int(quota.sum())
    if spare > 0:
        order = np.argsort(-(exact - np.floor(exact)), kind="stable")
        quota[order[:spare]] += 1
    chosen = [
        rng.choice(np.flatnonzero(inverse == k), size=min(int(quota[k]), int(counts[k])), replace=False)
        for k in range(values.shape[0])
    ]
    return np.sort(np.concatenate(chosen))


def _strata(frame: pd.DataFrame, config: ClarifyConfig) -> np.ndarray:
    """Label x every facet's membership: the cells a SHAP sample must keep in proportion."""
    key = frame[config.label].astype(str)
    for facet in config.facets:
        key = key + "|" + pd.Series(_matches(frame[facet.name], facet.values), index=frame.index).astype(str)
    return key.to_numpy()


def _explanations(
    frame: pd.DataFrame, config: ClarifyConfig, model_path: Path, output_dir: Path, sampling: Sampling
) -> dict[str, Any]:
    """Compute SHAP values; write out.csv when ``save_local_shap_values`` is on (Clarify's default)."""
    shap_config = config.methods["shap"]
    booster = load_booster(model_path)
    names = config.feature_names
    check_feature_names(booster, names)
    rows = stratified_sample(_strata(frame, config), sampling.max_rows, sampling.seed)
    local_csv = output_dir / LOCAL_SHAP_FILE if shap_config.get("save_local_shap_values", True) else None
    summary = explain_dataset(
        booster,
        frame[list(names)].to_numpy(dtype=np.float64)[rows],
        names,
        agg_method=shap_config.get("agg_method", "mean_abs"),
        local_csv=local_csv,
    )
    label0: dict[str, Any] = {
        "global_shap_values": summary.values,
        "expected_value": summary.expected_value,
        "units": SHAP_UNITS,
        "explainer": EXPLAINER,
        "agg_method": summary.agg_method,
        "rows_explained": summary.rows,
        "rows_total": int(frame.shape[0]),
    }
    if summary.rows < frame.shape[0]:
        label0["sample"] = {"method": "stratified by label and facet", "seed": sampling.seed}
        if local_csv is not None:
            np.savetxt(output_dir / LOCAL_SHAP_ROWS_FILE, rows, fmt="%d")
    if shap_config.get("use_logit") is False:
        label0["note"] = "use_logit=false was requested; TreeSHAP values are still in log-odds space"
    return {"kernel_shap": {"label0": label0}}


@dataclass(frozen=True)
class Sampling:
    """How many rows SHAP explains at most, and the seed that picks them."""

    max_rows: int = DEFAULT_MAX_SHAP_ROWS
    seed: int = 0


@dataclass(frozen=True)
class Inputs:
    """The files one analysis reads; ``predictions`` and ``model`` only when a method needs them."""

    config: Path
    dataset: Path
    predictions: Path | Sequence[Path] | None = None
    model: Path | None = None


def _require(path: Path | None, what: str) -> Path:
    if path is None:
        raise ValueError(f"the analysis config asks for {what}, so a path to it is required")
    return path


def analyze(inputs: Inputs, output_dir: Path, sampling: Sampling = Sampling()) -> dict[str, Any]:
    """Run the analysis the config asks for; write ``analysis.json`` (+ SHAP values) to ``output_dir``.

    Examples
    --------
    >>> analysis = analyze(Inputs(Path("analysis_config.json"), Path("test.csv"),  # doctest: +SKIP
    ...                           Path("test.csv.out"), Path("model.tar.gz")), Path("out"))
    >>> analysis["post_training_bias_metrics"]["facets"]["customer_gender_female"][0]["metrics"][0]["name"]
    'AD'
    """
    config = load_config(inputs.config, inputs.dataset)
    frame = read_dataset(inputs.dataset, config)
    output_dir.mkdir(parents=True, exist_ok=True)
    analysis: dict[str, Any] = {"version": "1.0", "job": job_facts()}
    if "pre_training_bias" in config.methods:
        analysis["pre_training_bias_metrics"] = _bias_section(
            "pre_training_bias", PRE_TRAINING, frame, config, None
        )
    if "post_training_bias" in config.methods:
        scores = read_scores(_require(inputs.predictions, "post-training bias predictions"), len(frame))
        analysis["post_training_bias_metrics"] = _bias_section(
            "post_training_bias", POST_TRAINING, frame, config, scores
        )
    if "shap" in config.methods:
        model = _require(inputs.model, "SHAP on a model")
        analysis["explanations"] = _explanations(frame, config, model, output_dir, sampling)
    # allow_nan=False makes a NaN that slipped past metric_entries fail here instead of writing invalid JSON.
    (output_dir / ANALYSIS_FILE).write_text(json.dumps(analysis, indent=2, allow_nan=False), encoding="utf-8")
    LOG.info("Wrote %s", output_dir / ANALYSIS_FILE)
    return analysis


def job_facts() -> dict[str, str]:
    """What computed this file, so the registry records the library that made the numbers."""
    return {
        "script": "bias_shap.py",
        "xgboost": xgb.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "python": "{}.{}.{}".format(*sys.version_info[:3]),
    }


# =========================================================================== command line


def input_files(folder: Path, what: str, suffixes: tuple[str, ...]) -> list[Path]:
    """The input files of a channel folder in name order (SageMaker copies an S3 prefix into it)."""
    files = sorted(f for f in folder.rglob("*") if f.is_file() and f.name.endswith(suffixes))
    if not files:
        raise ValueError(f"{folder}: expected a {what} file ({' or '.join(suffixes)}), found nothing")
    return files


def single_file(folder: Path, what: str, suffixes: tuple[str, ...]) -> Path:
    """The one input file of a channel folder (SageMaker copies an S3 prefix into it)."""
    files = sorted(f for f in folder.rglob("*") if f.is_file() and f.name.endswith(suffixes))
    if len(files) != 1:
        found = ", ".join(str(f.relative_to(folder)) for f in files) or "nothing"
        raise ValueError(f"{folder}: expected one {what} file ({' or '.join(suffixes)}), found {found}")
    return files[0]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    base = "/opt/ml/processing"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-dir", type=Path, default=Path(f"{base}/input/config"))
    parser.add_argument("--dataset-dir", type=Path, default=Path(f"{base}/input/data"))
    parser.add_argument("--predictions-dir", type=Path, default=None)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--output-dir", type=Path, default=Path(f"{base}/output"))
    parser.add_argument("--max-shap-rows", type=_positive, default=DEFAULT_MAX_SHAP_ROWS)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def _inputs(args: argparse.Namespace) -> Inputs:
    return Inputs(
        config=single_file(args.config_dir, "analysis config", (".json",)),
        dataset=single_file(args.dataset_dir, "dataset", (".csv",)),
        predictions=None
        if args.predictions_dir is None
        else input_files(args.predictions_dir, "batch-transform output", (".out", ".csv")),
        model=None if args.model_dir is None else single_file(args.model_dir, "model", ("model.tar.gz",)),
    )


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(argv)
    try:
        analyze(_inputs(args), args.output_dir, Sampling(args.max_shap_rows, args.seed))
    except (ValueError, ModelLoadError, OSError) as err:
        LOG.error("FraudBiasExplainability failed: %s", err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
