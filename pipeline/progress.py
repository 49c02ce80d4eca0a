"""A hook through which long steps report progress to whoever shows it (the CLI's bar)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Listener = Callable[[str, float], None]
_listeners: list[Listener] = []


def report(label: str, fraction: float) -> None:
    for listener in list(_listeners):
        listener(label, fraction)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)
