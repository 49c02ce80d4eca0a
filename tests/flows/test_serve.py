"""`voices serve` starts a real Prefect server, and its schedule really fires a run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from flows.server import free_port
from tests.helpers import data

pytestmark = pytest.mark.slow

DEADLINE_S = 300


def _completed_scheduled_runs(api: str) -> list[dict[str, object]]:
    body = {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}
    try:
        response = httpx.post(f"{api}/flow_runs/filter", json=body, timeout=5)
    except httpx.HTTPError:
        return []
    if response.status_code != 200:
        return []
    runs: list[dict[str, object]] = response.json()
    return [run for run in runs if run.get("auto_scheduled")]


def test_scheduled_processing_run_fires(isolated_env: Path) -> None:
    inbox = isolated_env / "inbox"
    inbox.mkdir(parents=True)
    shutil.copy(data("jfk.wav"), inbox / "jfk.wav")
    port = free_port()
    env = dict(
        os.environ,
        VOICES_SCHEDULE__PROCESS_EVERY_MINUTES="0.1",
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2",
        PREFECT_RUNNER_POLL_FREQUENCY="2",
        PYTHONUNBUFFERED="1",
    )
    env.pop("PREFECT_API_URL", None)
    log = (isolated_env.parent / "serve.log").open("wb")
    command = [sys.executable, "-m", "flows.cli", "serve", "--port", str(port)]
    serve = subprocess.Popen(
        command,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parents[2],
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + DEADLINE_S
        runs: list[dict[str, object]] = []
        while time.monotonic() < deadline and not runs:
            assert serve.poll() is None, (isolated_env.parent / "serve.log").read_text()
            time.sleep(2)
            runs = _completed_scheduled_runs(api)
        assert runs, (isolated_env.parent / "serve.log").read_text()[-3000:]
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
        log.close()
    status = subprocess.run(
        [sys.executable, "-m", "flows.cli", "status", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    [footage] = json.loads(status.stdout)["footage"]
    assert footage["status"] == "processed" and footage["subtitles"]["en"]["srt"]
    with pytest.raises(httpx.HTTPError):  # the server went away with `voices serve`
        httpx.get(f"{api}/health", timeout=2)
