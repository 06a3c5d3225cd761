"""The approval gates: pure checks of the evaluation and bias reports against the thresholds.

Each gate yields a :class:`GateResult`; a value that is missing, not a number, NaN or infinite,
or outside the range its definition allows (AUC, recall and rates in [0, 1], DI >= 0, DPPL in
[-1, 1]) fails its gate with the reason, so broken evidence can never look like a pass: an AUC of
5.0 clears any ``>= min_auc`` bar, yet no evaluation can produce it. Documents:

* evaluation.json (Model Monitor binary classification):
  ``binary_classification_metrics.{auc,recall}.value``;
* analysis.json (Clarify): for every facet and every facet value in
  ``post_training_bias_metrics.facets``, the metrics named ``DI`` (disparate impact, must lie in
  ``[di_min, di_max]``) and ``DPPL`` (difference in positive proportions of predicted labels,
  ``|DPPL| <= max_abs_dppl``). No facet name is hard-coded: whatever the pipeline measured is
  gated, and an empty facets map fails closed. Each facet value also carries
  ``predicted_positive_rate.{facet_d,facet_a}`` (step 7's job writes it): a model that flags
  nobody has DI = 1 and DPPL = 0, so both facets must have predicted positives.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from lambdas.approval.models import GateResult, GateThresholds
from lambdas.shared.documents import dig
from lambdas.shared.text import printable

#: A usable number, or the reason there is none.
Reading = float | str


def read_number(value: Any) -> Reading:
    """Return ``value`` as a finite float, or a short reason why it is not one.

    Booleans are rejected although Python treats them as ints: ``true`` in a report is a bug.

    Examples
    --------
    >>> read_number(0.9)
    0.9
    >>> read_number(float("nan"))
    'not a finite number (nan)'
    """
    if value is None:
        return "missing"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"not a number ({type(value).__name__})"
    try:
        number = float(value)
    except OverflowError:
        return "not a finite number (too large)"
    if not math.isfinite(number):
        return f"not a finite number ({number})"
    return number


def in_range(reading: Reading, low: float, high: float = math.inf) -> Reading:
    """Keep a number that its metric's definition allows; anything else becomes the reason.

    A value outside its metric's range means the report is corrupt (or forged), not that the
    model is very good, so it must fail its gate whatever the thresholds say.

    Examples
    --------
    >>> in_range(1.0000001, 0.0, 1.0)
    'outside [0, 1] (1.0000001)'
    >>> in_range(-0.5, 0.0)
    'outside [0, inf) (-0.5)'
    """
    if isinstance(reading, str) or low <= reading <= high:
        return reading
    upper = f"{high:g}]" if math.isfinite(high) else "inf)"
    # repr, not :g, so 1.0000001 is not shown as "1", which would look like a valid value.
    return f"outside [{low:g}, {upper} ({reading!r})"


def _gate(name: str, reading: Reading, bound: str, passes: Callable[[float], bool]) -> GateResult:
    if isinstance(reading, str):
        return GateResult(name=name, value=None, bound=bound, passed=False, problem=reading)
    return GateResult(name=name, value=reading, bound=bound, passed=passes(reading))


def quality_gates(evaluation: Any, thresholds: GateThresholds) -> list[GateResult]:
    """AUC and recall from evaluation.json, each at least its minimum."""
    metrics = dig(evaluation, "binary_classification_metrics")
    auc = in_range(read_number(dig(metrics, "auc", "value")), 0.0, 1.0)
    recall = in_range(read_number(dig(metrics, "recall", "value")), 0.0, 1.0)
    return [
        _gate("AUC", auc, f">= {thresholds.min_auc:g}", lambda v: v >= thresholds.min_auc),
        _gate("recall", recall, f">= {thresholds.min_recall:g}", lambda v: v >= thresholds.min_recall),
    ]


def _named_metric(metrics: Any, name: str) -> Reading:
    """The value of the one metric called ``name`` in a Clarify ``metrics`` list.

    Clarify writes ``"value": null`` plus an ``"error"`` text for a metric it could not compute
    (an empty facet, say); that text is kept as the reason.
    """
    if not isinstance(metrics, list):
        return "missing"
    entries = [m for m in metrics if isinstance(m, Mapping) and m.get("name") == name]
    if len(entries) > 1:
        return f"ambiguous ({len(entries)} entries)"
    if not entries:
        return "missing"
    value, error = entries[0].get("value"), entries[0].get("error")
    if value is None and isinstance(error, str):
        return f"not computed ({printable(error, 60)})"
    return read_number(value)


def _facet_value_gates(label: str, group: Any, thresholds: GateThresholds) -> list[GateResult]:
    """DI and DPPL for one facet value, e.g. ``customer_gender_female=1``."""
    value = dig(group, "value_or_threshold")
    if value is not None:
        label = f"{label}={printable(str(value), 20)}"
    metrics = dig(group, "metrics")
    di_bound = f"in [{thresholds.di_min:g}, {thresholds.di_max:g}]"
    flagged = _predicted_positives_gate(label, group)
    dppl_bound = f"|x| <= {thresholds.max_abs_dppl:g}"
    return [
        _gate(
            f"DI[{label}]",
            in_range(_named_metric(metrics, "DI"), 0.0),
            di_bound,
            lambda v: thresholds.di_min <= v <= thresholds.di_max,
        ),
        _gate(
            f"DPPL[{label}]",
            in_range(_named_metric(metrics, "DPPL"), -1.0, 1.0),
            dppl_bound,
            lambda v: abs(v) <= thresholds.max_abs_dppl,
        ),
        flagged,
    ]


def _predicted_positives_gate(label: str, group: Any) -> GateResult:
    """Both facets must have predicted positives; the value shown is the smaller share."""
    rates = dig(group, "predicted_positive_rate")
    readings = {side: in_range(read_number(dig(rates, side)), 0.0, 1.0) for side in ("facet_d", "facet_a")}
    problems = [f"{side}: {r}" for side, r in readings.items() if isinstance(r, str)]
    name, bound = f"flagged[{label}]", "> 0 in each facet"
    if problems:
        return GateResult(name=name, value=None, bound=bound, passed=False, problem="; ".join(problems))
    lowest = min(r for r in readings.values() if isinstance(r, float))
    return GateResult(name=name, value=lowest, bound=bound, passed=lowest > 0.0)


def bias_gates(bias_report: Any, thresholds: GateThresholds) -> list[GateResult]:
    """DI and DPPL gates for every facet value in the Clarify post-training bias report."""
    facets = dig(bias_report, "post_training_bias_metrics", "facets")
    if not isinstance(facets, Mapping) or not facets:
        problem = "post_training_bias_metrics.facets missing or empty"
        return [GateResult(name="bias facets", value=None, bound=">= 1 facet", passed=False, problem=problem)]
    results: list[GateResult] = []
    for facet, groups in facets.items():
        label = printable(str(facet), 40)
        if not isinstance(groups, list) or not groups:
            results.append(
                GateResult(
                    name=f"bias[{label}]", value=None, bound=">= 1 value", passed=False, problem="no values"
                )
            )
            continue
        for group in groups:
            results.extend(_facet_value_gates(label, group, thresholds))
    return results


def evaluate_gates(evaluation: Any, bias_report: Any, thresholds: GateThresholds) -> tuple[GateResult, ...]:
    """Every gate, quality first; never empty, since both reports always contribute a gate."""
    return (*quality_gates(evaluation, thresholds), *bias_gates(bias_report, thresholds))
