"""Retrain function: starts the training pipeline when a drift alarm fires, at most once per cool-down."""
