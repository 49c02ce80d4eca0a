"""One run at a time per workspace and kind of work.

Two `voices publish` at once (a cron job overlapping a person, or a slow run overlapping the
next scheduled one) could both read a publication as pending and post it twice; two ingests
would race for the same inbox files. A lock file in the workspace, held with `flock` for the
length of the run, makes the second one step aside. The lock goes with the process: a crash
never leaves it held.

A run that stepped aside ends in the state `Skipped` (of type Completed, so nothing alarms),
never in a plain `Completed` that would look as if it had done the work; its summary says
`skipped` and why.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from prefect.client.schemas.objects import State

Summary = TypeVar("Summary")


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


def skipped(summary: Summary, reason: str) -> Summary:
    """What a flow returns when it did nothing because another run held the work: the state
    `Skipped`, which Prefect records as the run's final state and unwraps for a caller of the
    flow, who gets `summary` (typed as such for that reason)."""
    from prefect.states import Completed

    return cast(Summary, Completed(name="Skipped", message=reason, data=summary))


def failed(summary: Summary, problems: list[str]) -> Summary:
    """What a flow returns when something it worked on failed: the state `Failed`, with the
    problems as its message, carrying the summary. Prefect records the run as Failed (red in
    the UI, what automations watch); `outcome` hands the summary to a caller of the flow."""
    from prefect.states import Failed

    more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
    shown = "; ".join(problems[:5]) + more
    return cast(Summary, Failed(message=shown, data=summary))


def outcome(state: State[Summary]) -> Summary:
    """The summary a flow run returned, whether it ended Completed, Skipped or Failed (call
    flows with `return_state=True` and pass the state here)."""
    # `_sync`: Prefect would hand back a coroutine where it guesses an event loop is running.
    return cast(Summary, state.result(raise_on_failure=False, _sync=True))  # type: ignore[call-overload]
