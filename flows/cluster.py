"""A real cluster on one machine, started by one command (`make cluster`, `voices cluster start`),
for trying the scaled-out setup and for CI:

- PostgreSQL from the system's packages, in a data folder of the workspace's, listening on
  127.0.0.1 only, with a generated password; it holds two databases, the catalog and Prefect's;
- a Prefect server on that PostgreSQL;
- a work pool of type process, the global concurrency limit `voices-publish`, the deployments
  (`flows.deployments`, from the settings);
- workers (two by default), each named `worker-N` (`VOICES_WORKER`), each running one flow run
  at a time, as a worker on a machine of its own would; and, when asked, workers of the
  transcription pool (`cluster.transcribe_pool`), named `transcriber-N`.

It leaves `cluster.yaml` in the workspace (the catalog's URL and the server's address; readable
by its owner only: it holds the database password), so that afterwards
`VOICES_WORKSPACE=DIR voices run|status|publish` use the cluster with nothing else set.
`voices cluster stop` stops it all and keeps the data; `start` again brings it back.

PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user (made by
Debian's package), and its data folder lives where that user can reach it.

This module, `flows.server` and `media.ffmpeg` are the only places that start processes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from config.settings import CLUSTER_CONFIG_NAME
from flows.embedded import module_logs
from flows.server import free_port, stop_group

log = logging.getLogger(__name__)

STATE_FILE = "cluster.json"
START_TIMEOUT_S = 180.0


class ClusterError(Exception):
    """The cluster could not be started or reached; the message says what to do."""


# --- PostgreSQL ------------------------------------------------------------------------------


def pg_bin() -> Path:
    """The folder of PostgreSQL's server programs (`PG_BIN`, or the newest Debian install)."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise ClusterError(
        "PostgreSQL's server programs (initdb, pg_ctl) are not installed: on Debian, "
        "`apt-get install postgresql`; or set PG_BIN to the folder that holds them"
    )


def _as_db_user() -> tuple[list[str], int | None, int | None]:
    """How to run PostgreSQL's programs: as root, through `runuser` as `postgres`."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ClusterError(
            "PostgreSQL refuses to run as root and there is no `postgres` user: install "
            "Debian's postgresql package (it makes one) or run this as another user"
        ) from exc
    return ["runuser", "-u", "postgres", "--"], user.pw_uid, user.pw_gid


def _reachable_by(path: Path, uid: int | None) -> bool:
    """Whether another user can reach `path` (every folder above it lets others through)."""
    if uid is None:
        return True
    for folder in [path, *path.parents]:
        if folder.exists() and not os.stat(folder).st_mode & 0o001:
            return False
    return True


def _pg(command: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    prefix, _, _ = _as_db_user()
    done = subprocess.run([*prefix, *command], capture_output=True, text=True, check=False, cwd="/")
    if check and done.returncode != 0:
        raise ClusterError(f"{Path(command[0]).name} failed: {(done.stderr or done.stdout)[-800:]}")
    return done


@dataclass
class Postgres:
    """A PostgreSQL server of our own: its data folder, port and superuser's password."""

    data: Path
    port: int
    password: str
    user: str = "voices"

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    @classmethod
    def create(cls, data: Path, port: int = 0) -> Postgres:
        """initdb a new cluster in `data` (which must not hold one)."""
        _, uid, gid = _as_db_user()
        data.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(24)
        secret = data.parent / f".{data.name}.pw"
        secret.write_text(password + "\n", encoding="utf-8")
        if uid is not None and gid is not None:
            os.chown(data, uid, gid)
            os.chown(secret, uid, gid)
        secret.chmod(0o600)
        data.chmod(0o700)
        try:
            _pg(
                [
                    str(pg_bin() / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "voices",
                    f"--pwfile={secret}",
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        finally:
            secret.unlink(missing_ok=True)
        return cls(data=data, port=port or free_port(), password=password)

    def start(self) -> None:
        if self.running():
            return
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories=''"
        logfile = self.data / "server.log"
        _pg([str(pg_bin() / "pg_ctl"), "-D", str(self.data), "-w", "-t", "120", "-l",
             str(logfile), "-o", options, "start"])  # fmt: skip

    def stop(self) -> None:
        if self.running():
            _pg([str(pg_bin() / "pg_ctl"), "-D", str(self.data), "-w", "-m", "fast", "stop"])

    def running(self) -> bool:
        status = _pg([str(pg_bin() / "pg_ctl"), "-D", str(self.data), "status"], check=False)
        return status.returncode == 0

    def ensure_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres", "postgresql"), autocommit=True) as connection:
            found = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if found is None:
                connection.execute(f'CREATE DATABASE "{name}"')


def pg_data_folder(workspace: Path) -> Path:
    """Where the cluster's PostgreSQL keeps its data: in the workspace, or, when the database
    user cannot reach the workspace (a root-only folder), under /var/tmp."""
    _, uid, _ = _as_db_user()
    inside = workspace / ".cluster" / "postgres"
    if _reachable_by(workspace, uid):
        return inside
    digest = hashlib.sha256(str(workspace).encode()).hexdigest()[:12]
    return Path("/var/tmp") / f"voices-cluster-{digest}" / "postgres"


# --- processes -------------------------------------------------------------------------------


def start_daemon(args: list[str], env: dict[str, str], log_path: Path) -> int:
    """`python ARGS` in a session of its own that outlives us, output to `log_path`; its
    process id. (posix_spawn rather than Popen: nothing here waits for it.)"""
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    try:
        return os.posix_spawn(
            sys.executable,
            [sys.executable, *args],
            env,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, null_fd, 0),
                (os.POSIX_SPAWN_DUP2, log_fd, 1),
                (os.POSIX_SPAWN_DUP2, log_fd, 2),
            ],
            setsid=True,
        )
    finally:
        os.close(log_fd)
        os.close(null_fd)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --- the cluster -----------------------------------------------------------------------------


@dataclass
class ClusterState:
    """What `start` left running, kept in the workspace's `.cluster/cluster.json`."""

    pg_data: str
    pg_port: int
    prefect_port: int
    processes: dict[str, int] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}"


def _state_path(workspace: Path) -> Path:
    return workspace / ".cluster" / STATE_FILE


def read_state(workspace: Path) -> ClusterState | None:
    path = _state_path(workspace)
    if not path.exists():
        return None
    return ClusterState(**json.loads(path.read_text(encoding="utf-8")))


def _write_state(workspace: Path, state: ClusterState) -> None:
    _state_path(workspace).write_text(json.dumps(asdict(state), indent=2), encoding="utf-8")


def _password(workspace: Path) -> str:
    return (workspace / ".cluster" / "postgres.password").read_text(encoding="utf-8").strip()


def start(
    workspace: Path,
    workers: int = 2,
    config_file: Path | None = None,
    say: Callable[[str], None] = log.info,
    transcribe_workers: int = 0,
) -> ClusterState:
    """Start (or bring back) the cluster of `workspace`, with `workers` on the work pool and
    `transcribe_workers` on the transcription pool (`cluster.transcribe_pool`); return what
    runs."""
    workspace = workspace.absolute()
    home = workspace / ".cluster"
    home.mkdir(parents=True, exist_ok=True)
    state = read_state(workspace)
    if state is None:
        data = pg_data_folder(workspace)
        if (data / "PG_VERSION").exists():
            raise ClusterError(
                f"{data} holds a database this workspace has no record of; "
                "move it away or remove it, then start again"
            )
        say(f"PostgreSQL: a new database cluster in {data}")
        postgres = Postgres.create(data)
        secret = home / "postgres.password"
        secret.write_text(postgres.password + "\n", encoding="utf-8")
        secret.chmod(0o600)
        state = ClusterState(pg_data=str(data), pg_port=postgres.port, prefect_port=free_port())
        _write_state(workspace, state)
    postgres = Postgres(Path(state.pg_data), state.pg_port, _password(workspace))
    postgres.start()
    for database in ("catalog", "prefect"):
        postgres.ensure_database(database)
    say(f"PostgreSQL on 127.0.0.1:{postgres.port} (databases catalog and prefect)")
    _write_settings(workspace, postgres, state)

    env = _base_env(workspace)
    server = state.processes.get("prefect-server")
    if server is None or not _alive(server):
        server_env = dict(
            env,
            PREFECT_HOME=str(home / "prefect"),
            PREFECT_API_DATABASE_CONNECTION_URL=postgres.url("prefect", "postgresql+asyncpg"),
        )
        server_env.pop("PREFECT_API_URL", None)
        args = ["-m", "prefect", "server", "start", "--host", "127.0.0.1"]
        args += ["--port", str(state.prefect_port)]
        state.processes["prefect-server"] = start_daemon(
            args, server_env, home / "prefect-server.log"
        )
        _write_state(workspace, state)
    _wait_healthy(state.api_url, state.processes["prefect-server"], home / "prefect-server.log")
    say(f"Prefect server on PostgreSQL: {state.ui_url}")

    from config import load_settings

    settings = load_settings(workspace, config_file)
    deploy(settings, config_file, state.api_url)
    say(f"work pool {settings.cluster.pool!r} and the deployments: created")

    wanted = [(f"worker-{n}", settings.cluster.pool) for n in range(1, workers + 1)]
    if transcribe_workers and not settings.cluster.transcribe_pool:
        raise ClusterError(
            "transcription workers need a pool: set cluster.transcribe_pool (e.g. transcribe) "
            "in the workspace's voices.yaml"
        )
    pool = settings.cluster.transcribe_pool
    wanted += [(f"transcriber-{n}", pool) for n in range(1, transcribe_workers + 1)]
    for name, pool in wanted:
        pid = state.processes.get(name)
        if pid is not None and _alive(pid):
            continue
        worker_env = module_logs(
            dict(
                env,
                PREFECT_API_URL=state.api_url,
                VOICES_WORKER=name,
                PREFECT_HOME=str(home / name),
            )
        )
        args = ["-m", "prefect", "worker", "start", "--pool", pool]
        args += ["--type", "process", "--name", name, "--limit", "1"]
        state.processes[name] = start_daemon(args, worker_env, home / f"{name}.log")
        _write_state(workspace, state)
        say(f"{name} started on the pool {pool!r} (log: {home / f'{name}.log'})")
    return state


def stop(workspace: Path, say: Callable[[str], None] = log.info) -> bool:
    """Stop every process of the cluster and its PostgreSQL (the data stays); False when there
    was no cluster."""
    workspace = workspace.absolute()
    state = read_state(workspace)
    if state is None:
        return False
    for name, pid in sorted(state.processes.items(), key=lambda item: item[0] == "prefect-server"):
        if _alive(pid):
            family = _descendants(pid)
            stop_group(pid)
            for member in family:  # flow runs that lead sessions of their own
                with suppress(ProcessLookupError):
                    os.kill(member, signal.SIGKILL)
            say(f"{name} stopped")
    state.processes = {}
    _write_state(workspace, state)
    postgres = Postgres(Path(state.pg_data), state.pg_port, _password(workspace))
    postgres.stop()
    say("PostgreSQL stopped (its data is kept)")
    return True


def kill_worker(workspace: Path, name: str) -> int:
    """SIGKILL a worker and every process it started (a lost machine, for tests and drills)."""
    state = read_state(workspace.absolute())
    if state is None or name not in state.processes:
        raise ClusterError(f"no worker {name} in this workspace's cluster")
    pid = state.processes[name]
    family = [pid, *_descendants(pid)]  # its flow runs may lead sessions of their own
    for member in family:
        with suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)
    return pid


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, of in parents.items() if of == parent]
        found += children
        frontier += children
    return found


def deploy(settings: Any, config_file: Path | None, api_url: str) -> None:
    """The work pool, the publishing limit and the deployments, on the server at `api_url`."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.workers.process import ProcessWorker

    from flows.deployments import deployments

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        with get_client(sync_client=True) as client:
            for pool in filter(None, (settings.cluster.pool, settings.cluster.transcribe_pool)):
                with suppress(ObjectAlreadyExists):
                    client.create_work_pool(
                        WorkPoolCreate(
                            name=pool,
                            type="process",
                            base_job_template=ProcessWorker.get_default_base_job_template(),
                        )
                    )
            with suppress(ObjectAlreadyExists):
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name="voices-publish", limit=1)
                )
        # Each applied as it is (`prefect.deploy` adds nothing for a process pool and, in
        # 3.8.8, fails afterwards reading the pool's workers).
        for deployment in deployments(settings, config_file, cluster=True):
            deployment.apply()  # to the pool it names


def _base_env(workspace: Path) -> dict[str, str]:
    env = dict(os.environ, VOICES_WORKSPACE=str(workspace))
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    for name in ("PREFECT_HOME", "VOICES_CATALOG__URL", "VOICES_CLUSTER__API_URL"):
        env.pop(name, None)
    return env


def _write_settings(workspace: Path, postgres: Postgres, state: ClusterState) -> None:
    path = workspace / CLUSTER_CONFIG_NAME
    settings = {
        "catalog": {"url": postgres.url("catalog")},
        "cluster": {"api_url": state.api_url},
    }
    text = (
        "# Written by `voices cluster start`: this workspace's cluster (its catalog on\n"
        "# PostgreSQL and its Prefect server). Holds a password: keep it to yourself.\n"
        + yaml.safe_dump(settings, sort_keys=False)
    )
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text, encoding="utf-8")


def _wait_healthy(url: str, pid: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not _alive(pid):
            raise ClusterError(f"the Prefect server stopped at start; see {log_path}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ClusterError(
        f"the Prefect server did not answer within {START_TIMEOUT_S:.0f} s; see {log_path}"
    )
