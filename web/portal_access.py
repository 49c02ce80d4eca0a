"""Who is asking: the partner's token, from a header, a link or a cookie, and a brake on guessing.

A token travels as `Authorization: Bearer …`, as `?token=…` in the link a partner is sent, or
in the HttpOnly cookie that link leaves behind. A link with a token is answered with a redirect
to the same address without it, so the token does not linger in the address bar, the history
or a Referer. Tokens are never logged.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from catalog.models import PartnerRecord
from catalog.partners import partner_for_token
from catalog.store import Catalog

TOKEN_COOKIE = "voices_token"
TOKEN_PARAM = "token"
COOKIE_SECONDS = 60 * 60 * 24 * 90


class Unauthorized(Exception):
    """No token, or one that belongs to no active partner (401)."""


class TooManyAttempts(Exception):
    """This address sent too many wrong tokens lately (429)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("too many wrong tokens")
        self.retry_after = max(1, math.ceil(retry_after))


class TokenInLink(Exception):
    """A valid token came in the address: keep it in a cookie and send the browser on."""

    def __init__(self, token: str, location: str) -> None:
        super().__init__("token in link")
        self.token = token
        self.location = location

    def __repr__(self) -> str:  # never show the token, not even in a traceback
        return f"TokenInLink(location={self.location!r})"


class FailureLimiter:
    """Counts wrong tokens per client address in a sliding window; past `limit`, the address
    waits until the oldest failure leaves the window. Memory is bounded: at most
    `max_clients` addresses, least recently failing forgotten first."""

    def __init__(
        self,
        limit: int = 5,
        window_s: float = 60.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window_s, self.max_clients = limit, window_s, max_clients
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds this client must wait before its next try; 0 when it may try now."""
        with self._lock:
            failures = self._recent(client)
            if failures is None or len(failures) < self.limit:
                return 0.0
            return failures[0] + self.window_s - self._clock()

    def failed(self, client: str) -> None:
        with self._lock:
            failures = self._recent(client)
            if failures is None:
                failures = self._failures[client] = deque(maxlen=self.limit)
            failures.append(self._clock())
            self._failures.move_to_end(client)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def __len__(self) -> int:
        return len(self._failures)

    def _recent(self, client: str) -> deque[float] | None:
        failures = self._failures.get(client)
        if failures is None:
            return None
        horizon = self._clock() - self.window_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return None
        return failures


@dataclass(frozen=True)
class Presented:
    token: str = field(repr=False)
    from_link: bool


def presented_token(request: Request) -> Presented | None:
    """The token the request carries: header first, then the link, then the cookie."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return Presented(credentials.strip(), from_link=False)
    in_link = request.query_params.get(TOKEN_PARAM)
    if in_link:
        return Presented(in_link, from_link=True)
    cookie = request.cookies.get(TOKEN_COOKIE)
    return Presented(cookie, from_link=False) if cookie else None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def authenticate(request: Request, catalog: Catalog, limiter: FailureLimiter) -> PartnerRecord:
    """The partner behind the request, or Unauthorized / TooManyAttempts / TokenInLink."""
    presented = presented_token(request)
    if presented is None:
        raise Unauthorized
    client = client_address(request)
    wait = limiter.retry_after(client)
    if wait > 0:
        raise TooManyAttempts(wait)
    partner = partner_for_token(catalog, presented.token)
    if partner is None:
        limiter.failed(client)
        raise Unauthorized
    limiter.succeeded(client)
    if presented.from_link:
        raise TokenInLink(presented.token, address_without_token(request))
    return partner


def current_partner(request: Request) -> PartnerRecord:
    """The FastAPI dependency: `authenticate` with the app's catalog and brake."""
    state = request.app.state
    return authenticate(request, state.catalog, state.limiter)


PartnerDep = Annotated[PartnerRecord, Depends(current_partner)]


def address_without_token(request: Request) -> str:
    """The request's path and query minus `token`: where the link's redirect goes."""
    query = request.url.remove_query_params(TOKEN_PARAM).query
    return f"{request.url.path}?{query}" if query else request.url.path
