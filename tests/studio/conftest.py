"""Every HTTP client a studio test opened is closed when it ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.studio import OPEN


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()
