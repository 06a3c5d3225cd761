"""Approval function: gates a pending model package on its evidence; records later decisions on its card."""
