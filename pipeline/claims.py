"""Who is working, and on what: this process's name among the workers, and the leases it holds
while it works (`catalog.leases`), renewed in the background until released.

    with Holding(ctx.catalog, seconds=120) as held:
        if held.take(footage_lease(12)):
            ...  # footage 12 is ours until we release it or stop renewing
            held.release(footage_lease(12))

A process that dies stops renewing; its leases lapse after `seconds` and others take the work.
A lease that was lost while held (this process stalled for longer than `seconds`, and another
took the work) is reported by `lost()`, so the work can stop rather than race the new holder.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from types import TracebackType

from catalog import leases
from catalog.store import Catalog

log = logging.getLogger(__name__)


def worker_name() -> str:
    """This worker's name: `VOICES_WORKER` (set by `voices cluster` for each worker it starts),
    or the machine's name."""
    return os.environ.get("VOICES_WORKER", "").strip() or socket.gethostname()


def holder_id() -> str:
    """A name unique to this process, for leases: the worker's name, the process, a nonce."""
    return f"{worker_name()}/{os.getpid()}/{secrets.token_hex(3)}"


class Holding:
    """The leases one run holds, renewed every third of `seconds` by a background thread."""

    def __init__(self, catalog: Catalog, seconds: float, holder: str | None = None) -> None:
        self.catalog = catalog
        self.seconds = seconds
        self.holder = holder or holder_id()
        self._held: set[str] = set()
        self._lost: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Holding:
        self._thread = threading.Thread(target=self._renew, name="voices-leases", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for name in list(self._held):
            self.release(name)

    def take(self, name: str) -> bool:
        if not leases.take(self.catalog, name, self.holder, self.seconds):
            return False
        with self._lock:
            self._held.add(name)
            self._lost.discard(name)
        return True

    def release(self, name: str) -> None:
        with self._lock:
            self._held.discard(name)
        leases.release(self.catalog, name, self.holder)

    def lost(self, name: str) -> bool:
        with self._lock:
            return name in self._lost

    def _renew(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            with self._lock:
                names = sorted(self._held)
            for name in names:
                try:
                    kept = leases.renew(self.catalog, name, self.holder, self.seconds)
                except Exception as exc:  # the database away for a moment: try again soon
                    log.warning("could not renew the lease on %s: %s", name, exc)
                    continue
                if not kept:
                    log.error("lost the lease on %s (another worker took it)", name)
                    with self._lock:
                        self._held.discard(name)
                        self._lost.add(name)
