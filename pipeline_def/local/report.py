"""The local run's human-readable report: one self-contained HTML page.

A reviewer should be able to judge a run without reading JSON. The page shows the registry
decision and its gates, the step timings, the ROC and precision-recall curves, the confusion
matrix at the chosen threshold, Clarify's bias metrics with a one-line meaning each, and the
global SHAP importance.

The page uses only inline CSS and inline SVG: no scripts, fonts or images are fetched, so it
renders the same offline, in CI's headless Chromium and when attached to a ticket. Every piece
of text from the inputs passes through :func:`html.escape`. Inputs may lack any part (a failed
run has no SHAP values, for example), and the page then says "not available" instead of failing.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline_def.scripts import bias_shap as bias

MAX_CURVE_POINTS = 400
TOP_FEATURES = 15

_CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bg:#f5f7fa; --card:#fff;
  --accent:#2f6fde; --good:#1f8a4c; --bad:#c62828; --warn:#b7791f; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background:#102a43; color:#fff; padding:24px 40px; }
header h1 { margin:0 0 4px; font-size:22px; font-weight:600; }
header .sub { color:#bcccdc; font-size:13px; }
main { max-width:1180px; margin:0 auto; padding:24px 40px 48px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px;
  padding:20px 24px; margin-bottom:20px; }
h2 { font-size:16px; margin:0 0 14px; font-weight:600; }
h3 { font-size:13px; margin:16px 0 8px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
.verdict { display:flex; align-items:center; gap:16px; flex-wrap:wrap; }
.badge { display:inline-block; padding:3px 10px; border-radius:999px; font-weight:600; font-size:12px; }
.badge.good { background:#e3f4ea; color:var(--good); } .badge.bad { background:#fdecea; color:var(--bad); }
.badge.warn { background:#fdf3e1; color:var(--warn); } .badge.big { font-size:15px; padding:6px 16px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(140px, 1fr)); gap:12px; }
.card { border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.card .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card .v { font-size:24px; font-weight:600; margin-top:2px; }
.card .s { color:var(--muted); font-size:12px; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:7px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.03em; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.muted { color:var(--muted); } .small { font-size:12px; }
.grid2 { display:grid; grid-template-columns:1fr 1fr; gap:20px; }
.grid3 { display:grid; grid-template-columns:1fr 1fr 1fr; gap:20px; align-items:start; }
.bar { height:8px; background:var(--accent); border-radius:4px; min-width:2px; }
.cm td { text-align:center; padding:14px 8px; font-size:18px; font-weight:600; border:1px solid #fff; }
.cm td span { display:block; font-size:11px; font-weight:400; color:var(--muted); }
.cm th { text-align:center; }
table.fixed { table-layout:fixed; }
ul.reasons { margin:8px 0 0; padding-left:20px; }
svg text { font-family:inherit; }
"""


# --------------------------------------------------------------------------- formatting


def _esc(value: Any) -> str:
    """Escape any value for HTML text or attribute content."""
    return html.escape(str(value), quote=True)


def _number(value: Any) -> float | None:
    """Return value as a finite float, or None for anything else (missing, text, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _fmt(value: Any, digits: int = 3) -> str:
    """Format floats to ``digits`` decimals, ints as they are, escape anything else; None is n/a."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    number = _number(value)
    if number is not None:
        return f"{number:.{digits}f}"
    return "n/a" if value is None else _esc(value)


def _get(data: Any, *path: str) -> Any:
    """Walk nested dictionaries and return None as soon as a key is missing."""
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


def _status_class(status: Any) -> str:
    text = str(status).lower()
    if text in {"approved", "succeeded", "success", "passed", "true", "completed", "executed"}:
        return "good"
    if text in {"rejected", "failed", "failure", "false", "error", "stopped"}:
        return "bad"
    return "warn"


def _badge(text: Any, css: str | None = None, big: bool = False) -> str:
    classes = f"badge {css or _status_class(text)}{' big' if big else ''}"
    return f'<span class="{classes}">{_esc(text)}</span>'


def _missing(what: str) -> str:
    return f'<p class="muted">{_esc(what)} not available for this run.</p>'


# --------------------------------------------------------------------------- svg charts


def _text(x: float, y: float, text: str, size: int = 11, anchor: str = "start", fill: str = "#616e7c") -> str:
    """One SVG text element; ``text`` must already be escaped."""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" text-anchor="{anchor}">{text}</text>'
    )


def _thin(xs: Sequence[float], ys: Sequence[float]) -> list[tuple[float, float]]:
    """Keep at most MAX_CURVE_POINTS points, evenly spaced and including both ends."""
    points = list(zip(xs, ys, strict=False))
    if len(points) <= MAX_CURVE_POINTS:
        return points
    step = (len(points) - 1) / (MAX_CURVE_POINTS - 1)
    return [points[round(i * step)] for i in range(MAX_CURVE_POINTS)]


def _axes(width: int, height: int, pad: int, x_label: str, y_label: str) -> list[str]:
    """Draw a unit square's gridlines, tick labels and axis titles."""
    inner_w, inner_h = width - 2 * pad, height - 2 * pad
    parts = []
    for i in range(5):
        t = i / 4
        x, y = pad + t * inner_w, height - pad - t * inner_h
        parts.append(f'<line x1="{x:.1f}" y1="{pad}" x2="{x:.1f}" y2="{height - pad}" stroke="#e4e7eb"/>')
        parts.append(f'<line x1="{pad}" y1="{y:.1f}" x2="{width - pad}" y2="{y:.1f}" stroke="#e4e7eb"/>')
        parts.append(_text(x, height - pad + 16, f"{t:.2f}", anchor="middle"))
        parts.append(_text(pad - 6, y + 4, f"{t:.2f}", anchor="end"))
    parts.append(_text(width / 2, height - 6, _esc(x_label), size=12, anchor="middle", fill="#1f2933"))
    parts.append(
        f'<text x="14" y="{height / 2:.1f}" font-size="12" fill="#1f2933" text-anchor="middle" '
        f'transform="rotate(-90 14 {height / 2:.1f})">{_esc(y_label)}</text>'
    )
    return parts


def svg_curve(
    xs: Sequence[Any], ys: Sequence[Any], x_label: str, y_label: str, caption: str, diagonal: bool = False
) -> str:
    """Draw a curve on the unit square, e.g. ROC (with the chance diagonal) or precision-recall."""
    width, height, pad = 420, 340, 48
    inner_w, inner_h = width - 2 * pad, height - 2 * pad
    clean = [
        (float(x), float(y)) for x, y in _thin(xs, ys) if _number(x) is not None and _number(y) is not None
    ]
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{_esc(caption)}">',
        *_axes(width, height, pad, x_label, y_label),
    ]
    if diagonal:
        parts.append(
            f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{pad}" '
            'stroke="#9aa5b1" stroke-dasharray="5 4"/>'
        )
    points = " ".join(f"{pad + x * inner_w:.1f},{height - pad - y * inner_h:.1f}" for x, y in clean)
    parts.append(f'<polyline points="{points}" fill="none" stroke="#2f6fde" stroke-width="2.5"/>')
    parts.append(
        f'<text x="{width - pad - 6}" y="{height - pad - 10}" font-size="13" font-weight="600" '
        f'fill="#2f6fde" text-anchor="end">{_esc(caption)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def svg_bar_chart(items: Sequence[tuple[str, float]], unit: str) -> str:
    """Draw horizontal bars, largest first, with a value label at the end of each bar."""
    label_w, bar_w, row_h, top = 230, 560, 24, 10
    width = label_w + bar_w + 80
    height = top + row_h * len(items) + 28
    largest = max((v for _, v in items), default=0.0) or 1.0
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{_esc(unit)}">']
    for i, (name, value) in enumerate(items):
        y = top + i * row_h
        length = max(value / largest * bar_w, 1.0)
        parts.append(_text(label_w - 8, y + 15, _esc(name), size=12, anchor="end", fill="#1f2933"))
        parts.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{length:.1f}" height="15" rx="3" fill="#2f6fde"/>'
        )
        parts.append(_text(label_w + length + 6, y + 15, f"{value:.3f}"))
    parts.append(
        f'<text x="{label_w}" y="{height - 8}" font-size="11" fill="#616e7c">{_esc(unit)}</text></svg>'
    )
    return "".join(parts)


def _metric_gauge(name: str, value: float | None) -> str:
    """Draw a small bar showing how far a bias metric is from its no-bias value, clamped to the gauge."""
    if value is None:
        return ""
    centre, span = (1.0, 1.0) if name == "DI" else (0.0, 1.0)
    width, mid = 120, 60
    offset = max(-1.0, min(1.0, (value - centre) / span)) * mid
    x, w = (mid + offset, -offset) if offset < 0 else (mid, offset)
    colour = "#c62828" if abs(offset) > 0.2 * mid else "#2f6fde"
    return (
        f'<svg width="{width}" height="14" viewBox="0 0 {width} 14">'
        f'<rect x="0" y="5" width="{width}" height="4" rx="2" fill="#e4e7eb"/>'
        f'<rect x="{x:.1f}" y="3" width="{max(w, 1.5):.1f}" height="8" rx="2" fill="{colour}"/>'
        f'<line x1="{mid}" y1="0" x2="{mid}" y2="14" stroke="#616e7c"/></svg>'
    )


# --------------------------------------------------------------------------- sections


def _card(title: str, value: str, detail: str = "") -> str:
    """A headline number; ``value`` and ``detail`` must already be escaped."""
    return f'<div class="card"><div class="k">{_esc(title)}</div><div class="v">{value}</div>{detail}</div>'


def _headline(evaluation: Mapping[str, Any]) -> str:
    metrics = _get(evaluation, "binary_classification_metrics") or {}
    cards = []
    for key, title in (
        ("auc", "AUC"),
        ("accuracy", "Accuracy"),
        ("precision", "Precision"),
        ("recall", "Recall"),
    ):
        sd = _get(metrics, key, "standard_deviation")
        spread = f'<div class="s">± {_fmt(sd)}</div>' if _number(sd) is not None else ""
        cards.append(_card(title, _fmt(_get(metrics, key, "value")), spread))
    cards.append(_card("F1", _fmt(_get(metrics, "f1", "value"))))
    chosen = _get(evaluation, "decision_threshold", "selected_on")
    source = f'<div class="s">chosen on {_esc(chosen)}</div>' if chosen else ""
    cards.append(_card("Threshold", _fmt(_get(evaluation, "decision_threshold", "value")), source))
    return f'<section><h2>Model quality (test split)</h2><div class="cards">{"".join(cards)}</div></section>'


def _gate_rows(gates: Any) -> str:
    rows = []
    listed = [g for g in gates if isinstance(g, Mapping)] if isinstance(gates, list) else []
    sourced = any(g.get("source") for g in listed)
    for gate in listed:
        passed = gate.get("passed")
        verdict = (
            _badge("pass", "good") if passed is True else _badge("fail", "bad") if passed is False else ""
        )
        source = f"<td class='small muted'>{_esc(gate.get('source') or '')}</td>" if sourced else ""
        rows.append(
            f"<tr><td>{_esc(gate.get('name', '?'))}</td><td class='num'>{_fmt(gate.get('value'))}</td>"
            f"<td class='num'>{_fmt(gate.get('bound'))}</td>{source}<td>{verdict}</td></tr>"
        )
    if not rows:
        return _missing("Gate results")
    source_head = "<th>Threshold from</th>" if sourced else ""
    return (
        "<table class='fixed'><tr><th style='width:25%'>Gate</th><th class='num'>Value</th>"
        f"<th class='num'>Bound</th>{source_head}<th style='width:12%'></th></tr>{''.join(rows)}</table>"
    )


def _outcome(run: Mapping[str, Any]) -> str:
    """The run's outcome first: for a failed or stopped run, which step, why, and the gates."""
    status = run.get("status")
    outcome = run.get("outcome")
    if status not in {"Failed", "Stopped"} and not outcome:
        return ""
    gates = run.get("gates") if isinstance(run.get("gates"), Mapping) else {}
    pipeline_gates = gates.get("pipeline") if isinstance(gates.get("pipeline"), list) else []
    reason = run.get("failure_reason")
    details = ""
    if status in {"Failed", "Stopped"}:
        step = run.get("failed_step") or "unknown"
        details = (
            f"<p><b>Step:</b> {_esc(step)}</p>"
            f"<p><b>Why:</b> <span class='reason'>{_esc(reason or 'no reason recorded')}</span></p>"
        )
    gate_table = f"<h3>Pipeline quality gate</h3>{_gate_rows(pipeline_gates)}" if pipeline_gates else ""
    return (
        f'<section id="outcome"><h2>Run outcome</h2><div class="verdict">'
        f"{_badge(status or 'unknown', big=True)}<span>{_esc(outcome or '')}</span></div>"
        f"{details}{gate_table}</section>"
    )


def _approval(run: Mapping[str, Any]) -> str:
    approval = _get(run, "approval")
    if not isinstance(approval, Mapping):
        return f"<section><h2>Registry decision</h2>{_missing('The approval decision')}</section>"
    status = approval.get("status", "unknown")
    reasons = approval.get("reasons") if isinstance(approval.get("reasons"), list) else []
    items = "".join(f"<li>{_esc(r)}</li>" for r in reasons)
    reason_list = f'<ul class="reasons">{items}</ul>' if items else ""
    return (
        f'<section><h2>Registry decision</h2><div class="verdict">{_badge(status, big=True)}'
        f'<span class="muted">model package approval status set by the approval Lambda</span></div>'
        f"{reason_list}<h3>Gates</h3>{_gate_rows(approval.get('gates'))}</section>"
    )


def _step_row(number: int, step: Mapping[str, Any], longest: float) -> str:
    seconds = _number(step.get("seconds")) or 0.0
    bar = f'<div class="bar" style="width:{seconds / longest * 100:.1f}%"></div>'
    return (
        f"<tr><td class='num muted'>{number}</td><td>{_esc(step.get('name', '?'))}</td>"
        f"<td class='muted'>{_esc(step.get('type', ''))}</td>"
        f"<td>{_badge(step.get('status', 'unknown'))}</td>"
        f"<td class='num'>{seconds:.1f} s</td><td style='width:30%'>{bar}</td></tr>"
    )


def _steps(run: Mapping[str, Any]) -> str:
    raw = _get(run, "steps")
    steps = [s for s in raw if isinstance(s, Mapping)] if isinstance(raw, list) else []
    if not steps:
        return f"<section><h2>Pipeline steps</h2>{_missing('Step results')}</section>"
    durations = [_number(s.get("seconds")) or 0.0 for s in steps]
    longest = max(durations) or 1.0
    rows = "".join(_step_row(i, step, longest) for i, step in enumerate(steps, start=1))
    summary = f"({len(steps)} steps, {sum(durations):.1f} s)"
    return (
        f"<section><h2>Pipeline steps <span class='muted small'>{summary}</span></h2>"
        "<table><tr><th class='num'>#</th><th>Step</th><th>Type</th><th>Status</th><th class='num'>Time</th>"
        "<th></th></tr>"
        f"{rows}</table></section>"
    )


def _roc(metrics: Mapping[str, Any]) -> str:
    fpr = _get(metrics, "receiver_operating_characteristic_curve", "false_positive_rates")
    tpr = _get(metrics, "receiver_operating_characteristic_curve", "true_positive_rates")
    if not isinstance(fpr, list) or not isinstance(tpr, list) or not fpr:
        return f"<div><h3>ROC curve</h3>{_missing('The ROC curve')}</div>"
    caption = f"AUC {_fmt(_get(metrics, 'auc', 'value'))}"
    chart = svg_curve(fpr, tpr, "False positive rate", "True positive rate", caption, diagonal=True)
    return f"<div><h3>ROC curve</h3>{chart}</div>"


def _precision_recall(metrics: Mapping[str, Any]) -> str:
    precisions = _get(metrics, "precision_recall_curve", "precisions")
    recalls = _get(metrics, "precision_recall_curve", "recalls")
    if not isinstance(precisions, list) or not isinstance(recalls, list) or not recalls:
        return f"<div><h3>Precision-recall curve</h3>{_missing('The precision-recall curve')}</div>"
    chart = svg_curve(recalls, precisions, "Recall", "Precision", "fraud = positive class")
    return f"<div><h3>Precision-recall curve</h3>{chart}</div>"


def _confusion_matrix(evaluation: Mapping[str, Any]) -> str:
    matrix = _get(evaluation, "binary_classification_metrics", "confusion_matrix")
    counts = {(a, p): _number(_get(matrix, a, p)) for a in ("0", "1") for p in ("0", "1")}
    if any(v is None for v in counts.values()):
        return f"<div><h3>Confusion matrix</h3>{_missing('The confusion matrix')}</div>"
    largest = max(v or 0.0 for v in counts.values()) or 1.0
    names = {("0", "0"): "TN", ("0", "1"): "FP", ("1", "0"): "FN", ("1", "1"): "TP"}
    rows = []
    for actual, title in (("0", "Actual: not fraud"), ("1", "Actual: fraud")):
        row_total = sum(counts[(actual, p)] or 0.0 for p in ("0", "1")) or 1.0
        cells = []
        for predicted in ("0", "1"):
            count = counts[(actual, predicted)] or 0.0
            shade = 0.08 + 0.55 * count / largest
            cells.append(
                f'<td style="background:rgba(47,111,222,{shade:.2f})">{count:.0f}'
                f"<span>{names[(actual, predicted)]} · {count / row_total:.1%} of row</span></td>"
            )
        rows.append(f"<tr><th>{title}</th>{''.join(cells)}</tr>")
    threshold = _fmt(_get(evaluation, "decision_threshold", "value"))
    return (
        f"<div><h3>Confusion matrix at threshold {threshold}</h3><table class='cm'>"
        "<tr><th></th><th>Predicted: not fraud</th><th>Predicted: fraud</th></tr>"
        f"{''.join(rows)}</table></div>"
    )


def _curves(evaluation: Mapping[str, Any]) -> str:
    metrics = _get(evaluation, "binary_classification_metrics") or {}
    return (
        f'<section><h2>Discrimination and errors</h2><div class="grid3">{_roc(metrics)}'
        f"{_precision_recall(metrics)}{_confusion_matrix(evaluation)}</div></section>"
    )


def _metric_rows(metrics: Any) -> str:
    rows = []
    for metric in metrics if isinstance(metrics, list) else []:
        if not isinstance(metric, Mapping):
            continue
        name = str(metric.get("name", "?"))
        known = bias.METRICS.get(name)
        value = _number(metric.get("value"))
        error = metric.get("error")
        note = f'<div class="small muted">{_esc(error)}</div>' if error else ""
        rows.append(
            f"<tr><td><b>{_esc(name)}</b></td><td>{_esc(metric.get('description', ''))}</td>"
            f"<td class='num'>{_fmt(value)}</td><td>{_metric_gauge(name, value)}</td>"
            f"<td class='small'>{_esc(known.meaning) if known else ''}{note}</td></tr>"
        )
    return "".join(rows)


_BIAS_HEADER = (
    "<tr><th style='width:8%'>Metric</th><th style='width:27%'>Description</th>"
    "<th class='num' style='width:9%'>Value</th><th style='width:15%'>vs. no bias</th><th>Meaning</th></tr>"
)


def _bias_table(analysis: Mapping[str, Any], key: str, title: str) -> str:
    section = _get(analysis, key)
    facets = _get(section, "facets")
    if not isinstance(facets, Mapping) or not facets:
        return f"<h3>{_esc(title)}</h3>{_missing(title)}"
    blocks = []
    for facet_name, groups in facets.items():
        for group in groups if isinstance(groups, list) else []:
            facet = f"{facet_name} = {_get(group, 'value_or_threshold')}"
            blocks.append(
                f"<h3>{_esc(title)} · facet d: {_esc(facet)} · favourable: {_esc(section.get('label'))} = "
                f"{_esc(section.get('label_value_or_threshold'))}</h3>"
                f"<table class='fixed'>{_BIAS_HEADER}{_metric_rows(_get(group, 'metrics'))}</table>"
            )
    return "".join(blocks)


def _bias(analysis: Mapping[str, Any]) -> str:
    return (
        "<section><h2>Bias (SageMaker Clarify metrics)</h2>"
        '<p class="small muted">Facet <i>a</i> is everyone outside facet <i>d</i>. "Accepted" means the '
        "favourable outcome, i.e. the claim is not flagged as fraud. The gauge is centred on the no-bias "
        "value (1 for DI, 0 for the rest) and turns red beyond ±0.2.</p>"
        f"{_bias_table(analysis, 'pre_training_bias_metrics', 'Pre-training (data)')}"
        f"{_bias_table(analysis, 'post_training_bias_metrics', 'Post-training (model)')}</section>"
    )


def shap_units(label0: Any) -> str:
    """What the SHAP numbers measure, as the file says; never log-odds by assumption.

    Our step-7 job writes ``units`` (log-odds of fraud). A file from SageMaker Clarify has no
    such key: its KernelSHAP values are in the model output's units, probabilities for this
    model unless the config asked for ``use_logit``.
    """
    units = _get(label0, "units")
    if units == "log-odds":
        return "log-odds of fraud"
    if isinstance(units, str) and units:
        return _esc(units)
    return "model output units, as SageMaker Clarify wrote them"


def _shap(analysis: Mapping[str, Any]) -> str:
    label0 = _get(analysis, "explanations", "kernel_shap", "label0")
    values = _get(label0, "global_shap_values")
    numeric = {str(k): _number(v) for k, v in values.items()} if isinstance(values, Mapping) else {}
    items = sorted(((k, v) for k, v in numeric.items() if v is not None), key=lambda kv: -kv[1])[
        :TOP_FEATURES
    ]
    if not items:
        return f"<section><h2>What drives the predictions</h2>{_missing('Global SHAP values')}</section>"
    method = _get(label0, "explainer") or "Clarify KernelSHAP"
    return (
        f"<section><h2>What drives the predictions <span class='muted small'>(top {len(items)} of "
        f"{len(numeric)} features)</span></h2>"
        f"{svg_bar_chart(items, f'mean |SHAP value| ({shap_units(label0)})')}"
        f'<p class="small muted">Expected value (mean margin): {_fmt(_get(label0, "expected_value"))}. '
        f"Method: {_esc(method)}.</p></section>"
    )


def _header(run: Mapping[str, Any]) -> str:
    details = [
        f"{label}: {_esc(run[key])}"
        for key, label in (
            ("pipeline_name", "Pipeline"),
            ("execution_id", "Execution"),
            ("started_at", "Started"),
            ("model_package_arn", "Model package"),
        )
        if run.get(key) is not None
    ]
    subtitle = " · ".join(details) or "Local run of the SageMaker pipeline definition"
    return (
        "<header><h1>Auto-insurance claim fraud detection · pipeline run report</h1>"
        f'<div class="sub">{subtitle}</div></header>'
    )


def render_html(run: Mapping[str, Any], evaluation: Mapping[str, Any], analysis: Mapping[str, Any]) -> str:
    """Build the report page as a string (see :func:`render_report`)."""
    run, evaluation, analysis = (x if isinstance(x, Mapping) else {} for x in (run, evaluation, analysis))
    body = "".join(
        (
            _outcome(run),
            _approval(run),
            _headline(evaluation),
            _curves(evaluation),
            _bias(analysis),
            _shap(analysis),
            _steps(run),
        )
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Fraud model run report</title><style>{_CSS}</style></head>"
        f"<body>{_header(run)}<main>{body}</main></body></html>\n"
    )


def render_report(
    run: Mapping[str, Any], evaluation: Mapping[str, Any], analysis: Mapping[str, Any], out_path: str | Path
) -> Path:
    """Write the run report to ``out_path`` and return the path.

    ``run`` carries ``steps`` (``name``, ``type``, ``status``, ``seconds``) and ``approval``
    (``status``, ``reasons``, ``gates``), ``evaluation`` is the evaluation step's
    ``evaluation.json`` and ``analysis`` is Clarify's ``analysis.json``.

    Examples
    --------
    >>> render_report({"steps": []}, {}, {}, "report.html").name  # doctest: +SKIP
    'report.html'
    """
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(run, evaluation, analysis), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- monitoring page


def _alarm_rows(alarms: Any) -> str:
    rows = "".join(
        f"<tr><td>{_esc(a.get('alarm'))}</td><td>{_esc(a.get('metric'))}</td><td>{_fmt(a.get('value'))}</td>"
        f"<td>{_esc(a.get('comparison'))} {_fmt(a.get('threshold'))}</td>"
        f"<td>{_badge(a.get('state'), 'bad' if a.get('state') == 'ALARM' else 'good')}</td>"
        f"<td>{'retrains' if a.get('retrain') else 'notifies'}</td></tr>"
        for a in alarms or []
    )
    header = "<tr><th>alarm</th><th>metric</th><th>value</th><th>rule</th><th>state</th><th>action</th></tr>"
    return f"<table>{header}{rows}</table>"


def _drift_chart(summary: Mapping[str, Any]) -> str:
    features = summary.get("feature_drift") or {}
    items = sorted(
        (
            (name, float(entry["psi"]))
            for name, entry in features.items()
            if _number(entry.get("psi")) is not None
        ),
        key=lambda item: -item[1],
    )[:TOP_FEATURES]
    if not items:
        return _missing("feature drift (not enough traffic to judge)")
    threshold = _get(summary, "thresholds", "psi")
    unit = "PSI against the deployed model's baseline" + (f" (alarm above {threshold})" if threshold else "")
    return svg_bar_chart(items, unit)


def _triggered(summary: Mapping[str, Any]) -> str:
    items = summary.get("triggered") or []
    if not items:
        return "<p>No alarm asked for retraining.</p>"
    return "<ul>" + "".join(f"<li>{_esc(json.dumps(item, sort_keys=True))}</li>" for item in items) + "</ul>"


def render_monitor_html(summary: Mapping[str, Any]) -> str:
    """The monitoring cycle's page: status, drift chart, alarms, violations and what was triggered."""
    violations = "".join(
        f"<li>{_esc(json.dumps(v, sort_keys=True))}</li>" for v in summary.get("violations") or []
    )
    quality = summary.get("live_quality") or {}
    cards = "".join(
        (
            _card("status", _badge(summary.get("status"))),
            _card("drift applied", _fmt(summary.get("drift"), 2)),
            _card("live AUC", _fmt(quality.get("auc"))),
            _card("live recall", _fmt(quality.get("recall"))),
        )
    )
    body = (
        f'<section><h2>Monitoring</h2><div class="cards">{cards}</div></section>'
        f"<section><h2>Feature drift</h2>{_drift_chart(summary)}</section>"
        f"<section><h2>Alarms</h2>{_alarm_rows(summary.get('alarms'))}</section>"
        f"<section><h2>Violations</h2><ul>{violations or '<li>none</li>'}</ul></section>"
        f"<section><h2>Triggered</h2>{_triggered(summary)}</section>"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Fraud model monitoring</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
