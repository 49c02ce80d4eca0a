"""`python -m cli`: the `voices` command."""

from cli.app import app

app()
