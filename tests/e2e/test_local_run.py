"""The local run executes the deployed definition end to end: data to registry decision."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline_def import names
from pipeline_def.config import ApprovalSettings, environment, load_settings, read_context
from pipeline_def.definition.checks import DefinitionError
from pipeline_def.local import __main__ as cli
from pipeline_def.local import run as local_run
from pipeline_def.local.run import RunOptions, run

pytestmark = pytest.mark.long_module(4)

ROWS = 2000


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> dict:
    return run(RunOptions(workdir=tmp_path_factory.mktemp("good"), rows=ROWS, seed=7))


@pytest.fixture(scope="module")
def no_signal_run(tmp_path_factory) -> dict:
    return run(RunOptions(workdir=tmp_path_factory.mktemp("nosignal"), rows=ROWS, seed=7, signal=0.0))


def _json(path: str) -> dict:
    return json.loads(Path(path).read_text())


def _facet_metric(analysis: dict, name: str) -> float:
    (facet,) = analysis["post_training_bias_metrics"]["facets"]["customer_gender_female"]
    return next(m["value"] for m in facet["metrics"] if m["name"] == name)


def test_each_function_logs_to_its_own_file_as_to_cloudwatch(good_run):
    # Given a run whose approval function approved and whose deploy function deployed
    logs = Path(good_run["function_logs"])
    records = {
        function: [json.loads(line) for line in (logs / f"{function}.log").read_text().splitlines()]
        for function in ("approval", "deploy")
    }
    # Then each file holds its function's structured records about this run's package
    (decision,) = [r for r in records["approval"] if r["message"] == "approval decision"]
    assert (decision["model_package_arn"], decision["outcome"]) == (good_run["model_package_arn"], "approved")
    (deployment,) = [r for r in records["deploy"] if r["message"] == "deployment"]
    assert deployment["model_package_arn"] == good_run["model_package_arn"]


def test_every_step_of_the_true_branch_succeeds(good_run):
    statuses = {s["name"]: s["status"] for s in good_run["steps"]}
    assert good_run["status"] == "Succeeded"
    assert statuses.pop(names.STEP_FAIL) == "NotRun"
    assert set(statuses.values()) == {"Succeeded"}
    # The seed's 9 steps (the gate among them) and the drift baseline registered with the model
    assert set(statuses) == {
        names.STEP_PROCESS,
        names.STEP_TUNING,
        names.STEP_EVAL,
        names.STEP_CONDITION,
        f"{names.STEP_CREATE_MODEL}-CreateModel",
        names.STEP_CLARIFY_CONFIG,
        names.STEP_TRANSFORM,
        names.STEP_BIAS,
        f"{names.STEP_REGISTER}-RegisterModel",
        names.STEP_DRIFT_BASELINE,
    }


def test_registry_holds_one_package_with_the_status_the_dev_gates_imply(good_run):
    # Given the dev gates from cdk.json and the evidence the run produced
    settings = load_settings("dev")
    gates = ApprovalSettings.from_context(environment(read_context(), "dev"))
    metrics = _json(good_run["artifacts"]["evaluation"])["binary_classification_metrics"]
    analysis = _json(good_run["artifacts"]["bias_analysis"])
    passes = (
        metrics["auc"]["value"] >= settings.min_auc
        and metrics["recall"]["value"] >= settings.min_recall
        and gates.di_min <= _facet_metric(analysis, "DI") <= gates.di_max
        and abs(_facet_metric(analysis, "DPPL")) <= gates.max_abs_dppl
    )
    expected = ("Approved" if gates.auto_approve else "PendingManualApproval") if passes else "Rejected"
    # Then the single package in the group carries exactly that decision
    assert good_run["registry"]["packages_in_group"] == 1
    assert good_run["approval"]["status"] == expected


def test_an_approved_dev_model_is_deployed_to_the_environments_endpoint(good_run):
    if good_run["approval"]["status"] != "Approved":
        pytest.fail(f"expected the dev run to approve its model: {good_run['approval']['description']}")
    endpoint = good_run["approval"]["endpoint"]
    assert endpoint["EndpointName"] == load_settings("dev").endpoint_name


def test_run_json_lists_every_artifact(good_run):
    # Given the good run's run.json / When its artifacts are read
    artifacts = good_run["artifacts"]
    # Then each kind of artifact is listed
    assert set(artifacts) == {"evaluation", "bias_analysis", "predictions", "model", "report"}


def test_every_artifact_of_run_json_exists(good_run):
    # Given the good run's run.json / When its artifacts are read
    artifacts = good_run["artifacts"]
    # Then each path is a file
    assert all(Path(path).is_file() for path in artifacts.values())


def test_batch_predictions_agree_with_the_evaluation_confusion_matrix(good_run):
    # Transform (step 6) and evaluation (step 3) scored the same test set with the same model
    predictions = pd.read_csv(good_run["artifacts"]["predictions"])
    matrix = _json(good_run["artifacts"]["evaluation"])["binary_classification_metrics"]["confusion_matrix"]
    observed = pd.crosstab(predictions["fraud"], predictions["predicted_label"])
    for actual in (0, 1):
        for predicted in (0, 1):
            assert observed.loc[actual, predicted] == matrix[str(actual)][str(predicted)]


def test_predictions_have_one_row_per_test_record_with_the_documented_columns(good_run):
    predictions = pd.read_csv(good_run["artifacts"]["predictions"])
    analysis_rows = _json(good_run["artifacts"]["evaluation"])["dataset"]["test_rows"]
    assert list(predictions.columns) == ["fraud", "customer_gender_female", "score", "predicted_label"]
    assert len(predictions) == analysis_rows
    assert predictions["score"].between(0, 1).all()


def test_step_seven_class_imbalance_matches_the_test_sets_female_share(good_run):
    predictions = pd.read_csv(good_run["artifacts"]["predictions"])
    female = int(predictions["customer_gender_female"].sum())
    male = len(predictions) - female
    (facet,) = _json(good_run["artifacts"]["bias_analysis"])["pre_training_bias_metrics"]["facets"][
        "customer_gender_female"
    ]
    ci = next(m["value"] for m in facet["metrics"] if m["name"] == "CI")
    assert ci == pytest.approx((male - female) / (male + female))


def test_the_best_training_job_drove_the_model_that_was_evaluated(good_run):
    # The model step's artifact is the one the tuning step ranked first on validation:auc
    model = Path(good_run["artifacts"]["model"])
    assert model.parent.parent.name == good_run["best_training_job"]
    assert model.name == "model.tar.gz"


def _report_html(run_json):
    return Path(run_json["artifacts"]["report"]).read_text()


def test_report_shows_the_decision(good_run):
    # Given the good run's HTML report
    html = _report_html(good_run)
    # Then it shows the approval decision
    assert good_run["approval"]["status"] in html


def test_report_shows_the_charts(good_run):
    # Given the good run's HTML report
    html = _report_html(good_run)
    # Then it draws the charts
    assert html.count("<svg") >= 3


def _step_statuses(run_json):
    return {s["name"]: s["status"] for s in run_json["steps"]}


def test_without_signal_the_gate_fails(no_signal_run):
    # Given the run on data without signal
    statuses = _step_statuses(no_signal_run)
    # Then the quality gate's Fail step fails the run
    assert no_signal_run["status"] == "Failed"
    assert statuses[names.STEP_FAIL] == "Failed"


def test_without_signal_nothing_is_registered(no_signal_run):
    # Given the run on data without signal
    statuses = _step_statuses(no_signal_run)
    # Then the register step never ran and no package was created
    assert statuses[f"{names.STEP_REGISTER}-RegisterModel"] == "NotRun"
    assert no_signal_run["model_package_arn"] is None


def test_without_signal_the_failure_message_names_auc_and_recall(no_signal_run):
    reason = no_signal_run["failure_reason"]
    assert "AUC" in reason
    assert "recall" in reason
    assert "MinAuc" in reason


def test_a_definition_with_a_broken_reference_fails_naming_step_and_reference(tmp_path, monkeypatch):
    original = local_run.Definitions.training

    def broken_training(self, settings, *, digest):
        return original(self, settings, digest=digest).replace("Outputs['validation']", "Outputs['valid']")

    monkeypatch.setattr(local_run.Definitions, "training", broken_training)
    with pytest.raises(DefinitionError, match=r"FraudHyperParameterTuning: .*'valid'"):
        run(RunOptions(workdir=tmp_path, rows=300, seed=1))


def _run_cli_on_a_bad_row(tmp_path, capsys):
    """The CLI's run on synthetic files whose third data row has a broken value: (exit, stderr, claims)."""
    from pipeline_def.data.synthetic import write

    claims, customers = write(tmp_path / "data", 50, seed=3)
    lines = claims.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[3].split(",")
    cells[header.index("num_witnesses")] = "many"
    lines[3] = ",".join(cells)
    claims.write_text("\n".join(lines) + "\n")
    code = cli.main(
        [
            "run",
            "--claims",
            str(claims),
            "--customers",
            str(customers),
            "--workdir",
            str(tmp_path / "run"),
            "--quiet",
        ]
    )
    return code, capsys.readouterr().err, claims


def test_cli_exits_2_before_anything_runs_for_a_bad_row(tmp_path, capsys):
    # Given synthetic files with one broken value on the third data row
    # When the local run is started on them
    code, _, _ = _run_cli_on_a_bad_row(tmp_path, capsys)
    # Then it stops with exit code 2 before anything runs
    assert code == 2
    assert not (tmp_path / "run" / "run.json").exists()


def test_cli_names_file_line_and_column_of_a_bad_row(tmp_path, capsys):
    # Given synthetic files with one broken value on the third data row
    # When the local run is started on them
    _, err, claims = _run_cli_on_a_bad_row(tmp_path, capsys)
    # Then it names where the problem is
    assert f"{claims}:4:num_witnesses: 'many' is not a number" in err


def test_cli_refuses_an_unknown_parameter_override(tmp_path, capsys):
    code = cli.main(["run", "--rows", "300", "--workdir", str(tmp_path), "--param", "MinAUC=0.9", "--quiet"])
    assert code == 2
    assert "unknown parameter(s) MinAUC" in capsys.readouterr().err


def test_scores_are_probabilities_from_the_tuned_model(good_run):
    scores = pd.read_csv(good_run["artifacts"]["predictions"])["score"].to_numpy()
    assert np.isfinite(scores).all()
    assert scores.std() > 0


def test_the_run_refuses_to_wipe_a_folder_it_did_not_create(tmp_path, capsys):
    # Given a non-empty folder that is not an earlier run (say, the repository by mistake)
    (tmp_path / "precious.txt").write_text("keep me")
    # When it is given as --workdir
    code = cli.main(["run", "--rows", "300", "--workdir", str(tmp_path), "--quiet"])
    # Then nothing is deleted and the error says why
    assert code == 2
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    assert "was not made by a local run" in capsys.readouterr().err


def test_the_package_records_the_time_latest_resolved_to_not_the_word(good_run):
    metadata = good_run["approval"]["customer_metadata"]
    recorded = datetime.fromisoformat(metadata["data_cutoff_time"].replace("Z", "+00:00"))
    assert recorded <= datetime.now(UTC)
    assert metadata["pipeline_execution_id"] == good_run["execution_id"]
    assert metadata["feature_groups"] == "fraud-mlops-dev-claims,fraud-mlops-dev-customers"


def test_step_seven_post_training_bias_is_computed_from_the_transform_predictions(good_run):
    # DPPL = q̂_a - q̂_d, the favourable outcome (not fraud) predicted for facet a minus facet d
    predictions = pd.read_csv(good_run["artifacts"]["predictions"])
    favourable = predictions["predicted_label"] == 0
    female = predictions["customer_gender_female"] == 1
    expected = favourable[~female].mean() - favourable[female].mean()
    analysis = _json(good_run["artifacts"]["bias_analysis"])
    assert _facet_metric(analysis, "DPPL") == pytest.approx(expected)


def test_step_seven_ran_the_deployed_bias_shap_script_with_the_pinned_xgboost(good_run):
    # The analysis records what computed it: the job script the definition names, and xgboost
    # of the image's release (3.0), so local evidence is what the cloud job would produce.
    job = _json(good_run["artifacts"]["bias_analysis"])["job"]
    assert job["script"] == "bias_shap.py"
    assert job["xgboost"].startswith(names.XGBOOST_LIBRARY_VERSION.rsplit(".", 1)[0] + ".")
