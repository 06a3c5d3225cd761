"""Job scripts that the pipeline's processing steps run, one self-contained file each.

SageMaker ships a single file into the built-in XGBoost 1.7-1 container (Python 3.8, pandas 1.2,
numpy 1.19, xgboost 1.7) and runs it with ``python3``, so a script here may import only the
standard library, numpy, pandas, boto3 and xgboost, never this repository. Every path and
setting arrives as a command-line argument, which lets the local run execute the same file with
container paths mapped to local folders. The code therefore sticks to APIs that behave the same in
those old versions and in this repository's pinned ones.

- ``preprocess.py``: FraudDataProcess, point-in-time dataset from the Feature Store offline store.
- ``evaluate.py``: FraudEvalBestModel, decision threshold and test metrics (``evaluation.json``).
- ``clarify_config.py``: FraudClarifyConfig, Clarify's ``analysis_config.json``.
"""
