"""SageMaker Clarify's bias metrics, computed with numpy for the local run.

Clarify's own library (``smclarify``) may only be used with Amazon services, so the local run
computes the metrics from their public definitions instead:

* pre-training: https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-measure-data-bias.html
* post-training: https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-measure-post-training-bias.html

Notation (Clarify's)
--------------------
Facet *d* is the group that the facet value selects (here ``customer_gender_female == 1``).
Facet *a* is everyone else. "Positive", "accepted" and "(1)" always mean the *favourable*
outcome that ``label_values_or_threshold`` names. For the fraud model that is ``fraud == 0``,
so an accepted claim is one the model does not flag. ``n_d^(1)`` is the number of observed
acceptances in d, and a hat (``n̂_d^(1)``) marks the same count on predicted labels.
TP/FP/FN/TN are counted with "positive" meaning favourable.

Degenerate inputs
-----------------
A metric that compares the two facets is undefined when either facet is empty, and a rate
is undefined when its denominator is zero (for example, no predicted acceptances). In those
cases the functions return ``nan`` and do not raise. :func:`metric_entries` then writes
``"value": null`` with an ``"error"`` text, which is the shape Clarify uses for a metric it
could not compute. Clarify's code gives ±inf for some of these cases. JSON has no infinity,
and an approval gate must not compare against one, so the local run writes null instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

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
    when a facet is empty, so the local run returns nan in that case.
    """
    if not _both_facets_present(facet):
        return math.nan
    n_d = int(np.count_nonzero(facet))
    n_a = facet.size - n_d
    return _ratio(n_a - n_d, n_a + n_d)


def difference_in_proportions_of_labels(facet: BoolArray, accepted: BoolArray) -> float:
    """DPL = q_a - q_d, where q = n^(1) / n is a facet's share of favourable labels."""
    return _positive_rate(~facet, accepted) - _positive_rate(facet, accepted)


def _label_distributions(facet: BoolArray, labels: npt.NDArray) -> tuple[FloatArray, FloatArray] | None:
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


def kl_divergence(facet: BoolArray, labels: npt.NDArray) -> float:
    """KL = Σ_y P_a(y) ln(P_a(y) / P_d(y)), in nats.

    How far facet a's label distribution diverges from facet d's. The result is infinite
    (returned as nan) when some label value occurs in a but never in d. Clarify's code
    instead sums only over the label values that both facets have.
    """
    distributions = _label_distributions(facet, labels)
    if distributions is None:
        return math.nan
    return _kl(*distributions)


def jensen_shannon_divergence(facet: BoolArray, labels: npt.NDArray) -> float:
    """JS = ½ [KL(P_a, P) + KL(P_d, P)] with P = ½ (P_a + P_d). It is symmetric and finite."""
    distributions = _label_distributions(facet, labels)
    if distributions is None:
        return math.nan
    p_a, p_d = distributions
    mixture = (p_a + p_d) / 2
    return 0.5 * (_kl(p_a, mixture) + _kl(p_d, mixture))


def lp_norm(facet: BoolArray, labels: npt.NDArray, p: float = 2.0) -> float:
    """LP = [Σ_y |P_a(y) - P_d(y)|^p]^(1/p). Clarify uses p = 2 (the Euclidean distance)."""
    distributions = _label_distributions(facet, labels)
    if distributions is None:
        return math.nan
    p_a, p_d = distributions
    return float(np.sum(np.abs(p_a - p_d) ** p) ** (1.0 / p))


def total_variation_distance(facet: BoolArray, labels: npt.NDArray) -> float:
    """TVD = ½ Σ_y |P_a(y) - P_d(y)|, i.e. half the L1 distance between the label distributions."""
    distributions = _label_distributions(facet, labels)
    if distributions is None:
        return math.nan
    p_a, p_d = distributions
    return 0.5 * float(np.sum(np.abs(p_a - p_d)))


def kolmogorov_smirnov(facet: BoolArray, labels: npt.NDArray) -> float:
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


def conditional_demographic_disparity(facet: BoolArray, accepted: BoolArray, group: npt.NDArray) -> float:
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


def _sample_rows(indices: npt.NDArray[np.intp], cap: int, rng: np.random.Generator) -> npt.NDArray[np.intp]:
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
    labels: npt.NDArray
    accepted: BoolArray
    predicted: BoolArray | None = None
    group: npt.NDArray | None = None
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

    def need_group(self) -> npt.NDArray:
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

    Clarify lists the metrics alphabetically in ``analysis.json``, so the local run does too.

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
