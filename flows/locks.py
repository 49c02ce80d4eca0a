"""One run at a time per workspace and kind of work.

Two `voices publish` at once (a cron job overlapping a person, or a slow run overlapping the
next scheduled one) could both read a publication as pending and post it twice; two ingests
would race for the same inbox files. A lock file in the workspace, held with `flock` for the
length of the run, makes the second one step aside. The lock goes with the process: a crash
never leaves it held.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Busy(Exception):
    """Another process holds the lock; the message says which kind of run."""


@contextmanager
def exclusive(workspace: Path, name: str) -> Iterator[None]:
    path = workspace / f".{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise Busy(f"another '{name}' run is working on {workspace}; try again later") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()
