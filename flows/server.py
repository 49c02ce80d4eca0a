"""A local Prefect server for `voices serve`, started and stopped with it.

Schedules need a real Prefect API: the embedded one never fires them. When no
`PREFECT_API_URL` is configured, `voices serve` runs `prefect server start` on 127.0.0.1 with
its SQLite database in the workspace, and stops it on exit. This module and `media.ffmpeg` are
the only places that start processes.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

START_TIMEOUT_S = 180.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def local_prefect_server(home: Path, port: int = 0) -> Iterator[str]:
    """Run a Prefect server until the block ends; yield its API URL."""
    port = port or free_port()
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.pop("PREFECT_API_URL", None)
    command = [
        sys.executable,
        "-m",
        "prefect",
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    log_file = (home / "server.log").open("ab")
    process = subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        _wait_healthy(url, process, home / "server.log")
        log.info("Prefect server at %s (log: %s)", url, home / "server.log")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_file.close()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Prefect server stopped at start; see {log_path}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(
        f"the Prefect server did not answer within {START_TIMEOUT_S:.0f} s; see {log_path}"
    )
