"""`voices serve` starts a real Prefect server, its schedule really fires a run, and the server
never outlives it (SIGINT, SIGTERM, SIGKILL, or one an older run left behind)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from flows.server import free_port, server_processes
from tests.helpers import data, mux_video

pytestmark = pytest.mark.slow

DEADLINE_S = 300
REPO = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", **extra)
    env.pop("PREFECT_API_URL", None)
    return env


def _sigint_ignored() -> None:
    """As a shell starts a command in the background: with SIGINT ignored, inherited."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _serve(
    workspace: Path, port: int, env: dict[str, str], background: bool = False, *more: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`voices serve` in a child process; killed at the end if the test left it running."""
    workspace.mkdir(parents=True, exist_ok=True)
    log_path = workspace.parent / "serve.log"
    with log_path.open("wb") as log:
        serve = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--port", str(port), *more],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            preexec_fn=_sigint_ignored if background else None,
        )
    try:
        yield serve
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


def _log(workspace: Path) -> str:
    path = workspace.parent / "serve.log"
    return path.read_text(errors="replace")[-4000:] if path.is_file() else ""


def _wait_for_api(api: str, serve: subprocess.Popen[bytes], workspace: Path) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        assert serve.poll() is None, _log(workspace)
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail(f"the Prefect server never answered\n{_log(workspace)}")


def _stop(serve: subprocess.Popen[bytes], sig: signal.Signals, workspace: Path) -> None:
    serve.send_signal(sig)
    try:
        serve.wait(timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail(f"voices serve did not stop within 90 s of {sig.name}\n{_log(workspace)}")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _processes_naming(port: int) -> list[str]:
    """Command lines of running processes that mention the port (a server left behind would)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(port).encode() in command and state != "Z":
            found.append(b" ".join(command).decode(errors="replace"))
    return found


def _assert_no_server(workspace: Path, port: int) -> None:
    deadline = time.monotonic() + 10  # the kernel may take a moment to close the socket
    while time.monotonic() < deadline and (_listening(port) or _processes_naming(port)):
        time.sleep(0.2)
    assert not _processes_naming(port)
    assert not server_processes(workspace / ".prefect-server")
    assert not _listening(port)


def _runs(api: str) -> list[dict[str, object]]:
    body = {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}
    try:
        response = httpx.post(f"{api}/flow_runs/filter", json=body, timeout=5)
    except httpx.HTTPError:
        return []
    if response.status_code != 200:
        return []
    runs: list[dict[str, object]] = response.json()
    return [run for run in runs if run.get("auto_scheduled")]


def _state_name(run: dict[str, object]) -> str:
    state = run.get("state")
    return str(state.get("name")) if isinstance(state, dict) else ""


def test_scheduled_processing_run_fires(isolated_env: Path) -> None:
    """Runs come every 6 s while the first still works, so most step aside: they must end as
    `Skipped`, and the test waits for the run that did the work, whatever its turn."""
    inbox = isolated_env / "inbox"
    inbox.mkdir(parents=True)
    shutil.copy(data("jfk.wav"), inbox / "jfk.wav")
    port = free_port()
    env = _env(
        VOICES_SCHEDULE__PROCESS_EVERY_MINUTES="0.1",
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2",
        PREFECT_RUNNER_POLL_FREQUENCY="2",
    )
    api = f"http://127.0.0.1:{port}/api"
    with _serve(isolated_env, port, env) as serve:
        deadline = time.monotonic() + DEADLINE_S
        worked: list[dict[str, object]] = []
        while time.monotonic() < deadline and not worked:
            assert serve.poll() is None, _log(isolated_env)
            time.sleep(2)
            worked = [run for run in _runs(api) if _state_name(run) == "Completed"]
        assert worked, _log(isolated_env)
        stepped_aside = {_state_name(run) for run in _runs(api)} - {"Completed"}
        assert stepped_aside <= {"Skipped"}
        _stop(serve, signal.SIGINT, isolated_env)
    _assert_no_server(isolated_env, port)
    status = subprocess.run(
        [sys.executable, "-m", "cli", "status", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    [footage] = json.loads(status.stdout)["footage"]
    assert footage["status"] == "processed" and footage["subtitles"]["en"]["srt"]


@pytest.mark.parametrize(
    ("sig", "background"),
    [(signal.SIGTERM, False), (signal.SIGKILL, False), (signal.SIGINT, True)],
    ids=["sigterm", "sigkill", "sigint-started-in-the-background"],
)
def test_server_goes_with_serve(isolated_env: Path, sig: signal.Signals, background: bool) -> None:
    """SIGTERM (a service manager stopping it), SIGKILL (the OOM killer) and SIGINT to a
    `voices serve` a shell started in the background (which inherits SIGINT ignored) leave no
    server, and the first and last a clean exit."""
    port = free_port()
    with _serve(isolated_env, port, _env(), background) as serve:
        _wait_for_api(f"http://127.0.0.1:{port}/api", serve, isolated_env)
        assert server_processes(isolated_env / ".prefect-server")
        _stop(serve, sig, isolated_env)
    if sig != signal.SIGKILL:
        assert serve.returncode == 0, _log(isolated_env)
    _assert_no_server(isolated_env, port)


def test_restart_stops_a_server_left_behind(isolated_env: Path) -> None:
    """A server an older run left on the workspace's port is stopped, and serve starts."""
    port = free_port()
    home = isolated_env / ".prefect-server"
    home.mkdir(parents=True)
    left = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--port", str(port)],
        env=_env(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # as if its parent were long gone
    )
    try:
        api = f"http://127.0.0.1:{port}/api"
        _wait_for_api(api, left, isolated_env)
        with _serve(isolated_env, port, _env()) as serve:
            deadline = time.monotonic() + 60
            while left.poll() is None and time.monotonic() < deadline:
                assert serve.poll() is None, _log(isolated_env)
                time.sleep(0.5)
            assert left.poll() is not None, _log(isolated_env)  # stopped, not merely outlived
            _wait_for_api(api, serve, isolated_env)
            [server] = server_processes(home)
            assert server != left.pid
            _stop(serve, signal.SIGINT, isolated_env)
        _assert_no_server(isolated_env, port)
    finally:
        if left.poll() is None:
            left.kill()
            left.wait()


def test_the_studio_runs_beside_the_deployments_and_goes_with_them(isolated_env: Path) -> None:
    port, studio = free_port(), free_port()
    more = ("--studio", "--studio-port", str(studio))
    with _serve(isolated_env, port, _env(), False, *more) as serve:
        deadline = time.monotonic() + DEADLINE_S
        page = None
        while time.monotonic() < deadline and page is None:
            assert serve.poll() is None, _log(isolated_env)
            try:
                page = httpx.get(f"http://127.0.0.1:{studio}/login", timeout=2)
            except httpx.HTTPError:
                time.sleep(1)
        assert page is not None and page.status_code == 200, _log(isolated_env)
        assert "Sign in" in page.text
        _stop(serve, signal.SIGTERM, isolated_env)
    assert serve.returncode == 0, _log(isolated_env)
    _assert_no_server(isolated_env, port)
    _assert_no_server(isolated_env, studio)


def test_an_approval_for_a_time_is_published_at_that_time(
    isolated_env: Path, tmp_path: Path
) -> None:
    """`voices approve --at` schedules a publishing run for that very time on the server
    `voices serve` runs, whose own cron would not fire for months."""
    inbox = isolated_env / "inbox"
    inbox.mkdir(parents=True)
    mux_video(data("jfk.wav"), inbox / "jfk.mp4")
    (inbox / "jfk.yaml").write_text("language: en\nconsent: public\n", encoding="utf-8")
    drop = tmp_path / "drop"
    drop.mkdir()
    env = _env(
        VOICES_CLIPS__MIN_SECONDS="2",
        VOICES_CLIPS__MAX_SECONDS="12",
        VOICES_CLIPS__MAX_CANDIDATES="1",
        VOICES_CLIPS__RENDER='["tv"]',
        VOICES_RENDER__PRESET="ultrafast",
        VOICES_FOLDER__ENABLED="true",
        VOICES_FOLDER__PATH=str(drop),
        VOICES_SCHEDULE__PUBLISH_CRON="0 3 1 1 *",  # once a year
        VOICES_SCHEDULE__PROCESS_EVERY_MINUTES="600",
        PREFECT_RUNNER_POLL_FREQUENCY="2",
    )
    cli = [sys.executable, "-m", "cli"]
    subprocess.run([*cli, "run"], env=env, check=True, capture_output=True)
    port = free_port()
    with _serve(isolated_env, port, env) as serve:
        _wait_for_api(f"http://127.0.0.1:{port}/api", serve, isolated_env)
        deadline = time.monotonic() + DEADLINE_S
        while not _deployed(port, "voices-publish/publish") and time.monotonic() < deadline:
            assert serve.poll() is None, _log(isolated_env)
            time.sleep(1)
        when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)
        approve = subprocess.run(
            [*cli, "approve", "--all", "--at", when.isoformat()],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert "a publishing run is scheduled for" in approve.stdout, approve.stdout
        posted: list[Path] = []
        while not posted and time.monotonic() < deadline:
            assert serve.poll() is None, _log(isolated_env)
            time.sleep(1)
            posted = list(drop.glob("*.json"))
        assert posted, _log(isolated_env)
        assert datetime.now(UTC) >= when  # not before its time
        assert datetime.now(UTC) - when < timedelta(seconds=90)  # and not at the next cron tick
        _stop(serve, signal.SIGTERM, isolated_env)
    _assert_no_server(isolated_env, port)


def _deployed(port: int, name: str) -> bool:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/api/deployments/name/{name}", timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200
