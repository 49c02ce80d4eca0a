"""Prefect only: flows, thin tasks (each one call into `pipeline/`), deployments, schedules, the
local server and the run locks."""
