"""Takedowns: evidence, reports through channels, rechecks, escalation and relist detection."""
