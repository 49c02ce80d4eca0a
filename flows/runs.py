"""Processing runs on demand, for the studio: a person saves a correction or a sidecar, and
what follows from it is redone now rather than at the next scheduled run.

`RunOnDemand.request()` starts `voices run` in a child process (through `flows.server`'s
`start_child`: its own process group, dying with the studio) unless one is going; a request
made while one is going starts another as soon as it ends, so no change waits for a schedule
and runs never pile up. The run takes the workspace's lock like any other: a scheduled run or
a worker busy with the same workspace makes it step aside, and that run picks the change up.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from flows.server import start_child, stop_child

log = logging.getLogger(__name__)


class RunOnDemand:
    def __init__(self, workspace: Path, config: Path | None = None) -> None:
        self.workspace = workspace
        self.config = config
        self._wanted = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._child: object | None = None
        self.runs = 0

    def request(self) -> bool:
        """Ask for a run; True when one will start (now or after the one going)."""
        with self._lock:
            if self._stopping.is_set():
                return False
            self._wanted.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="voices-run", daemon=True)
                self._thread.start()
        return True

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no run is going or wanted (tests); True when idle."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            child = self._child
        if child is not None:
            stop_child(child)  # type: ignore[arg-type]
        if self._thread is not None:
            self._thread.join(60)

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._wanted.is_set() or self._stopping.is_set():
                    return
                self._wanted.clear()
                args = ["-m", "cli", "run", "--workspace", str(self.workspace)]
                if self.config is not None:
                    args += ["--config", str(self.config)]
                logs = self.workspace / "logs"
                logs.mkdir(parents=True, exist_ok=True)
                child = start_child(args, dict(os.environ), logs / "studio-runs.log")
                self._child = child
            code = child.wait()
            with self._lock:
                self._child = None
                self.runs += 1
            log.info("voices run for the studio ended with %s", code)
