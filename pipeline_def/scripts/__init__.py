"""Job scripts that the pipeline's processing steps run, one self-contained file each.

SageMaker ships a single file into the SageMaker XGBoost 3.0-5 image (Python 3.10, pandas 2.2.3,
numpy 2.1.0, xgboost 3.0.5) and runs it with ``python3``, so a script here may import only the
standard library, numpy, pandas, boto3 and xgboost, never this repository (an import-linter
contract checks it). Every path and setting arrives as a command-line argument, and any engine
the caller wants to swap (FraudDataProcess's query engine) is a parameter of ``main``: the local
run starts the same file with container paths mapped to local folders.

- ``preprocess.py``: FraudDataProcess, point-in-time dataset from the Feature Store offline store.
- ``evaluate.py``: FraudEvalBestModel, decision threshold and test metrics (``evaluation.json``).
- ``clarify_config.py``: FraudClarifyConfig, the analysis config in Clarify's format.
- ``bias_shap.py``: FraudBiasExplainability, bias metrics and TreeSHAP (``analysis.json``).
"""
