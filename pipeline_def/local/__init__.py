"""Local, offline stand-ins for the SageMaker jobs of the pipeline (no Docker, no AWS account)."""
