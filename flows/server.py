"""The processes `voices serve` runs: a local Prefect server, and the deployments' runner.

Schedules need a real Prefect API: the embedded one never fires them. When no
`PREFECT_API_URL` is configured, `voices serve` runs `prefect server start` on 127.0.0.1 with
its SQLite database in the workspace, and stops it on exit. This module, `flows.cluster` and
`media.ffmpeg` are the only places that start processes.

Nothing `voices serve` starts outlives it:
- each child runs in a process group of its own (`start_child`), and the whole group is stopped
  on every way out (a signal, an exception, the runner ending by itself): SIGTERM, then SIGKILL
  after `STOP_TIMEOUT_S`;
- each is started through this module's `__main__`, which asks the kernel to send it SIGTERM
  when its parent dies (`PR_SET_PDEATHSIG`) and then becomes the child, so a `voices serve`
  killed with SIGKILL takes its children along too;
- the server's process id is kept in `server.pid` beside its database, and a new start stops a
  server an older run left behind (one started by another version, say) before it begins.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 30.0
PID_FILE = "server.pid"
# Where a running server's API address is kept, for commands that schedule runs on it.
API_URL_FILE = "api_url"
_PR_SET_PDEATHSIG = 1


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
    stop_leftover_server(home)
    env = dict(os.environ, PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.pop("PREFECT_API_URL", None)
    log_path = home / "server.log"
    server = ["-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    process = start_child(server, env, log_path)
    pid_file = home / PID_FILE
    pid_file.write_text(f"{process.pid}\n", encoding="utf-8")
    url = f"http://127.0.0.1:{port}/api"
    try:
        _wait_healthy(url, process, log_path)
        log.info("Prefect server at %s (log: %s)", url, log_path)
        (home / API_URL_FILE).write_text(url + "\n", encoding="utf-8")
        yield url
    finally:
        ignore_stop_signals()
        stop_child(process)
        pid_file.unlink(missing_ok=True)
        (home / API_URL_FILE).unlink(missing_ok=True)


def ignore_stop_signals() -> None:
    """Once stopping, a second Ctrl-C must not cut the children's stop short; the process is on
    its way out anyway."""
    if threading.current_thread() is threading.main_thread():
        for stop in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop, signal.SIG_IGN)


def start_child(
    args: list[str], env: dict[str, str], log_path: Path | None = None
) -> subprocess.Popen[bytes]:
    """`python ARGS` in a process group of its own (stopped as one; Ctrl-C in a terminal
    reaches only us, who pass it on), dying with this process. Its output goes to `log_path`,
    or to ours."""
    command = [sys.executable, "-m", "flows.server", str(os.getpid()), *args]
    if log_path is None:
        return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_child(process: subprocess.Popen[bytes]) -> None:
    """Stop a child `start_child` started, and everything in its group."""
    stop_group(process.pid, process.poll)


def stop_group(pgid: int, reap: Callable[[], object] | None = None) -> None:
    """SIGTERM to the process group, SIGKILL after `STOP_TIMEOUT_S`; wait until it is empty."""
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _group_alive(pgid) and time.monotonic() < deadline:
        if reap is not None:
            reap()  # our own child must be waited for, or it lingers as a zombie
        time.sleep(0.1)
    if _group_alive(pgid):
        log.warning("the Prefect server did not stop within %.0f s; killing it", STOP_TIMEOUT_S)
        with suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        while _group_alive(pgid):
            if reap is not None:
                reap()
            time.sleep(0.1)
    if reap is not None:
        reap()


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group is still running (zombies do not count)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def server_processes(home: Path) -> list[int]:
    """Process ids of Prefect servers running with `home` as their PREFECT_HOME."""
    wanted = f"PREFECT_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:  # gone, or not ours to read
            continue
        is_server = b"flows.server" in command or (b"prefect" in command and b"server" in command)
        if is_server and wanted in environ:
            found.append(int(entry.name))
    return found


def stop_leftover_server(home: Path) -> None:
    """Stop a server an earlier run left with this home (its port and database are ours)."""
    for pid in server_processes(home):
        log.warning("stopping a Prefect server an earlier run left behind (pid %d)", pid)
        try:
            group = os.getpgid(pid)
        except ProcessLookupError:
            continue
        if group == pid:  # it leads its own group, as this module starts it
            stop_group(group)
        else:  # started by an older version inside someone else's group: only this process
            _stop_one(pid)
    (home / PID_FILE).unlink(missing_ok=True)


def _stop_one(pid: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


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


def _become(parent: int, args: list[str]) -> None:
    """Die with the parent, then turn into `python ARGS` (exec keeps that promise)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the promise was made
        sys.exit(1)
    os.execv(sys.executable, [sys.executable, *args])


if __name__ == "__main__":
    _become(int(sys.argv[1]), sys.argv[2:])
