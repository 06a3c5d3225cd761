"""Approval function: gates a PendingManualApproval model package on its registered evidence."""
