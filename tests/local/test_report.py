"""The run report: self-contained HTML with the metrics, the decision, the charts and escaped text."""

from __future__ import annotations

import copy
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline_def.local.report import render_report
from pipeline_def.scripts import bias_shap as bias
from tests.scripts.bias_shap_fixtures import ClarifyCase

VOID_TAGS = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed", "source", "wbr"}
SVG_LEAF_TAGS = {"line", "rect", "polyline", "path", "circle"}


class PageParser(HTMLParser):
    """Collects what the tests look at: tag balance, attributes, and each SVG's label and texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.svgs: list[dict[str, Any]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "svg":
            self.svgs.append({"label": dict(attrs).get("aria-label"), "texts": []})
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if "text" in self.stack[-1:] and "svg" in self.stack:
            self.svgs[-1]["texts"].append(data)


def parse(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def roc_points(labels: np.ndarray, scores: np.ndarray) -> tuple[list[float], list[float]]:
    order = np.argsort(-scores)
    true_positives = np.concatenate([[0], np.cumsum(labels[order] == 1)])
    false_positives = np.concatenate([[0], np.cumsum(labels[order] == 0)])
    return (false_positives / false_positives[-1]).tolist(), (true_positives / true_positives[-1]).tolist()


@pytest.fixture(scope="module")
def evaluation(clarify_case: ClarifyCase) -> dict[str, Any]:
    """An evaluation.json for the generated split, in the evaluation step's layout."""
    labels, scores = clarify_case.frame["fraud"].to_numpy(), clarify_case.scores
    flagged = scores > clarify_case.threshold
    fpr, tpr = roc_points(labels, scores)
    return {
        "binary_classification_metrics": {
            "auc": {"value": 0.8766, "standard_deviation": 0.0123},
            "accuracy": {"value": 0.9012, "standard_deviation": 0.01},
            "precision": {"value": 0.4321, "standard_deviation": 0.02},
            "recall": {"value": 0.6543, "standard_deviation": 0.03},
            "f1": {"value": 0.5204, "standard_deviation": 0.02},
            "confusion_matrix": {
                "0": {"0": int(np.sum(~flagged & (labels == 0))), "1": int(np.sum(flagged & (labels == 0)))},
                "1": {"0": int(np.sum(~flagged & (labels == 1))), "1": int(np.sum(flagged & (labels == 1)))},
            },
            "receiver_operating_characteristic_curve": {
                "false_positive_rates": fpr,
                "true_positive_rates": tpr,
            },
            "precision_recall_curve": {"precisions": [1.0, 0.8, 0.5, 0.3], "recalls": [0.0, 0.4, 0.7, 1.0]},
        },
        "decision_threshold": {
            "value": clarify_case.threshold,
            "selected_on": "validation",
            "rule": "max F1",
        },
    }


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    steps = ["DataProcess", "HyperParameterTuning", "EvalBestModel", "CheckAUC", "CreateModel"]
    return {
        "pipeline_name": "fraud-detection-local",
        "execution_id": "local-0001",
        "steps": [
            {"name": name, "type": "Processing", "status": "Succeeded", "seconds": 1.5 * (i + 1)}
            for i, name in enumerate(steps)
        ],
        "approval": {
            "status": "Approved",
            "reasons": ["all quality and bias gates passed"],
            "gates": [
                {"name": "auc_min", "value": 0.8766, "bound": 0.75, "passed": True},
                {"name": "dppl_abs_max", "value": 0.02, "bound": 0.1, "passed": True},
            ],
        },
    }


@pytest.fixture(scope="module")
def page(
    tmp_path_factory: pytest.TempPathFactory,
    run: dict[str, Any],
    evaluation: dict[str, Any],
    clarify_output: tuple[dict, Path],
) -> Path:
    analysis, _ = clarify_output
    return render_report(run, evaluation, analysis, tmp_path_factory.mktemp("report") / "report.html")


def test_report_shows_the_headline_metrics(page: Path) -> None:
    text = page.read_text()
    for shown in ("0.877", "± 0.012", "0.901", "0.432", "0.654", "0.520", "0.230"):
        assert shown in text


def test_report_shows_the_registry_decision_with_its_reasons(page: Path) -> None:
    # Given an approved run, When its report is read, Then the decision and its reasons are shown
    text = page.read_text()
    assert '<span class="badge good big">Approved</span>' in text
    assert "all quality and bias gates passed" in text


def test_report_shows_every_approval_gate(page: Path) -> None:
    # Given a run decided by two gates, When its report is read, Then both gates are named
    text = page.read_text()
    assert "auc_min" in text
    assert "dppl_abs_max" in text


def test_report_lists_every_step(page: Path, run: dict[str, Any]) -> None:
    # Given a run of five steps, When its report is read, Then each step has a row
    text = page.read_text()
    for step in run["steps"]:
        assert f"<td>{step['name']}</td>" in text


def test_report_shows_each_steps_time(page: Path) -> None:
    # Given a last step of 7.5 seconds, When the report is read, Then its time is shown
    assert "7.5 s" in page.read_text()


@pytest.mark.parametrize(
    "label",
    ["AUC 0.877", "fraud = positive class", "mean |SHAP value| (log-odds of fraud)"],
    ids=["roc", "precision-recall", "shap"],
)
def test_report_draws_the_chart_as_inline_svg(page: Path, label: str) -> None:
    # Given the report, When its inline SVGs are parsed, Then one of them is the chart with this label
    assert label in [svg["label"] for svg in parse(page).svgs]


def test_confusion_matrix_shows_the_counts_at_the_threshold(page: Path, evaluation: dict[str, Any]) -> None:
    text = page.read_text()
    matrix = evaluation["binary_classification_metrics"]["confusion_matrix"]
    assert "Confusion matrix at threshold 0.230" in text
    for actual, predicted, name in (("0", "0", "TN"), ("0", "1", "FP"), ("1", "0", "FN"), ("1", "1", "TP")):
        assert f"{matrix[actual][predicted]}<span>{name} · " in text


def test_bias_tables_give_every_metric_with_a_one_line_meaning(
    page: Path, clarify_output: tuple[dict, Path]
) -> None:
    analysis, _ = clarify_output
    text = parse(page).text
    for section in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        for metric in analysis[section]["facets"]["customer_gender_female"][0]["metrics"]:
            assert metric["name"] in text
            assert bias.METRICS[metric["name"]].meaning in text


def test_shap_chart_shows_the_fifteen_most_important_features(
    page: Path, clarify_output: tuple[dict, Path]
) -> None:
    analysis, _ = clarify_output
    values = analysis["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    top = sorted(values, key=values.get, reverse=True)[:15]
    [chart] = [svg for svg in parse(page).svgs if svg["label"] == "mean |SHAP value| (log-odds of fraud)"]
    assert [t for t in chart["texts"] if t in values] == top


def test_a_clarify_file_without_units_is_not_called_log_odds(
    tmp_path: Path, run: dict[str, Any], evaluation: dict[str, Any], clarify_output: tuple[dict, Path]
) -> None:
    # Given a file as SageMaker Clarify writes it: KernelSHAP, no units key, no explainer key
    analysis = copy.deepcopy(clarify_output[0])
    label0 = analysis["explanations"]["kernel_shap"]["label0"]
    del label0["units"], label0["explainer"]

    # When the report is rendered
    labels = [
        svg["label"] for svg in parse(render_report(run, evaluation, analysis, tmp_path / "r.html")).svgs
    ]

    # Then the SHAP chart names Clarify's units, not log-odds
    assert "mean |SHAP value| (model output units, as SageMaker Clarify wrote them)" in labels
    assert not [label for label in labels if label and "log-odds" in label]


def test_report_is_well_formed(page: Path) -> None:
    parser = parse(page)
    assert parser.problems == []
    assert parser.stack == []


def test_report_loads_nothing_from_outside(page: Path) -> None:
    parser = parse(page)
    assert not [tag for tag, _ in parser.tags if tag in {"script", "link", "img", "iframe", "object"}]
    referenced = [v for _, attrs in parser.tags for k, v in attrs.items() if k in {"src", "href"}]
    assert referenced == []
    text = page.read_text()
    assert "http:" not in text
    assert "https:" not in text
    assert "url(" not in text


def test_text_from_the_inputs_is_escaped(tmp_path: Path) -> None:
    run = {"steps": [{"name": "<script>alert(1)</script>", "type": "x", "status": "Succeeded", "seconds": 1}]}
    page = render_report(run, {}, {}, tmp_path / "report.html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.read_text()
    assert not [tag for tag, _ in parse(page).tags if tag == "script"]


def test_missing_inputs_render_as_not_available(tmp_path: Path) -> None:
    page = render_report({}, {}, {}, tmp_path / "report.html")
    parser = parse(page)
    assert parser.problems == []
    assert page.read_text().count("not available for this run") >= 5


def render_an_undefined_metric(tmp_path: Path) -> str:
    """The report text for a bias metric Clarify could not compute, with the reason "why"."""
    analysis = {
        "post_training_bias_metrics": {
            "label": "fraud",
            "label_value_or_threshold": "0",
            "facets": {
                "customer_gender_female": [
                    {
                        "value_or_threshold": "1",
                        "metrics": [
                            {
                                "name": "DI",
                                "description": "Disparate Impact (DI)",
                                "value": None,
                                "error": "why",
                            }
                        ],
                    }
                ]
            },
        }
    }
    return render_report({}, {}, analysis, tmp_path / "report.html").read_text()


def test_an_undefined_metric_shows_na(tmp_path: Path) -> None:
    # Given a metric without a value, When the report is rendered, Then its value cell says n/a
    assert "<td class='num'>n/a</td>" in render_an_undefined_metric(tmp_path)


def test_an_undefined_metric_shows_the_reason(tmp_path: Path) -> None:
    # Given a metric without a value, When the report is rendered, Then Clarify's reason is shown
    assert '<div class="small muted">why</div>' in render_an_undefined_metric(tmp_path)


# ---------------------------------------------------------------- rendering in a real browser


def png_pixels(path: Path) -> bytes:
    """Decompress a PNG's image data (the filtered scanlines). It is enough to see whether pixels vary."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    position, idat = 8, b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        if kind == b"IDAT":
            idat += data[position + 8 : position + 8 + length]
        position += 12 + length
    return zlib.decompress(idat)


def test_report_renders_in_headless_chromium(page: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail(
            "chromium is not installed: run `make test`, which installs it (apt-get install chromium)"
        )
    screenshot = tmp_path / "report.png"
    # Given the page, when a headless browser with no network features renders it
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={screenshot}",
            "--window-size=1280,2000",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    # Then the screenshot exists and is not blank: a blank page decompresses to a handful of byte values
    assert screenshot.stat().st_size > 20_000
    assert len(set(png_pixels(screenshot))) > 64
