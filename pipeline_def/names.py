"""Names the definition gives its steps, files and paths: API for everyone who reads a run.

The local run, the stacks' IAM scopes, tests, dashboards and alarms refer to these. They live
apart from the builder so that reading a name never imports the SageMaker SDK.
"""

from __future__ import annotations

#: The SageMaker XGBoost framework image every job runs in (built-in training, transform, and our
#: scripts): Python 3.10, xgboost 3.0.5 (aws/sagemaker-xgboost-container, docker/3.0-5). The
#: local run pins xgboost-cpu to the same 3.0 release, so a model behaves alike in both places.
XGBOOST_VERSION = "3.0-5"
#: The xgboost library inside that image; requirements.txt pins xgboost-cpu to the same release.
XGBOOST_LIBRARY_VERSION = "3.0.5"
PREFIX = "fraud-detection"
#: Training jobs write <artifact bucket>/<PREFIX>/<TUNING_FOLDER>/<job>/output/model.tar.gz.
TUNING_FOLDER = "tuning"
GROUP_VARIABLE = "customer_education"

# Step names are API: the local run, tests, dashboards and alarms refer to them.
STEP_PROCESS = "FraudDataProcess"
STEP_TUNING = "FraudHyperParameterTuning"
STEP_EVAL = "FraudEvalBestModel"
STEP_CREATE_MODEL = "FraudCreateModel"
STEP_CLARIFY_CONFIG = "FraudClarifyConfig"
STEP_TRANSFORM = "FraudTransform"
STEP_BIAS = "FraudBiasExplainability"
STEP_REGISTER = "FraudRegisterModel"
STEP_CONDITION = "FraudCheckEvaluation"
STEP_FAIL = "FraudModelBelowQualityBar"
STEP_DRIFT_BASELINE = "FraudDriftBaseline"
#: The monitoring pipeline's one step: drift.py ``check`` over the endpoint's data capture.
STEP_MONITOR = "FraudMonitor"
#: The ingestion pipeline (a file landed under incoming/<group>/ into its feature group).
STEP_INGEST_VALIDATE = "FraudIngestValidate"
STEP_INGEST_CHECK = "FraudIngestCheck"
STEP_INGEST_PUT = "FraudIngestPut"
STEP_INGEST_QUARANTINE = "FraudIngestQuarantine"
STEP_INGEST_REJECTED = "FraudIngestRejected"

EVALUATION_PROPERTY_FILE = "EvaluationReport"
DATASET_PROPERTY_FILE = "DatasetMetadata"
CUTOFF_PATH = "data_cutoff_time"
AUC_PATH = "binary_classification_metrics.auc.value"
RECALL_PATH = "binary_classification_metrics.recall.value"
#: evaluation.json: the decision threshold chosen on validation (fraud if score > value).
THRESHOLD_PATH = "decision_threshold.value"

SCRIPT_NAMES = ("preprocess.py", "evaluate.py", "clarify_config.py", "bias_shap.py", "drift.py")

# Monitoring: where its inputs and outputs live under <artifact bucket>/<PREFIX>/.
#: The endpoint's data capture; SageMaker adds <endpoint>/<variant>/yyyy/mm/dd/hh/ below it.
DATA_CAPTURE_FOLDER = "data-capture"
#: The deployed package's baseline.json, copied there by the deploy function when it deploys.
MONITORING_BASELINE_FOLDER = "monitoring/baseline"
MONITORING_REPORTS_FOLDER = "monitoring/reports"
#: Labels that arrive later, keyed by the capture's inference or event id (drift.py's layout).
GROUND_TRUTH_FOLDER = "ground-truth"
DRIFT_BASELINE_FILE = "baseline.json"
#: CloudWatch namespace of the monitoring figures is ``<METRICS_NAMESPACE>/<environment>``.
METRICS_NAMESPACE = "FraudDetection/Monitoring"

# Ingestion: a file put under <data bucket>/<INCOMING_FOLDER>/<group>/ starts the ingestion pipeline;
# a rejected one moves to <data bucket>/<REJECTED_FOLDER>/<group>/<execution id>/ with its report.
INCOMING_FOLDER = "incoming"
REJECTED_FOLDER = "rejected"
#: <artifact bucket>/<PREFIX>/<INGESTION_FOLDER>/<execution id>/{report,parts,put}/
INGESTION_FOLDER = "ingestion"
INGEST_REPORT_FILE = "report.json"
INGEST_STATUS_VALID = "valid"
#: <artifact bucket>/<PREFIX>/<INGESTION_PACKAGE_FOLDER>/<digest>/: the job's Python package.
INGESTION_PACKAGE_FOLDER = "ingestion-package"
#: The job's entry file inside that package.
INGESTION_JOB = "pipeline_def/data/ingest/job.py"
