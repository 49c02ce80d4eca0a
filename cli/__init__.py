"""The `voices` command: parses, calls into `flows/` and `pipeline/`, prints."""
