"""Prefect flows and tasks (thin wrappers over plain functions), schedules, and the CLI."""
