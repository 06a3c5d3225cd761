"""Failure-alert function: tells the operators why a pipeline run failed or was stopped."""
