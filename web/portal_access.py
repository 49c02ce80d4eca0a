"""Who is asking: the partner's token, from a header, a link or a cookie, and a brake on guessing.

A token travels as `Authorization: Bearer …`, as `?token=…` in the link a partner is sent, or
in the HttpOnly cookie that link leaves behind. A link with a token is answered with a redirect
to the same address without it, so the token does not linger in the address bar, the history
or a Referer. Tokens are never logged.

The brake counts wrong tokens per client address (per /64 for IPv6). An address past the limit
gets 429 for every further wrong token, each one counted and answered slowly, so guessing stays
slow for as long as it goes on; a valid token is always let through, because every partner
behind one NAT (a school, an office, a mobile operator) shares an address with the guesser.
The address is the connection's, or the one a trusted proxy reports (`web.portal_server`).
"""

from __future__ import annotations

import ipaddress
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
    """Counts wrong tokens per client in a sliding window; with `limit` of them in the window,
    the client's next wrong tokens are refused as too many (and counted, which keeps it
    refused while it goes on guessing) until the oldest leaves the window. `delay_s` is how long
    such a refusal is held back. Memory is bounded: at most `max_clients` clients, least
    recently failing forgotten first."""

    def __init__(
        self,
        limit: int = 5,
        window_s: float = 60.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        delay_s: float = 1.0,
    ) -> None:
        self.limit, self.window_s, self.max_clients = limit, window_s, max_clients
        self.delay_s = delay_s
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds until this client's next wrong token is no longer refused as too many."""
        with self._lock:
            return self._wait(self._recent(client))

    def failed(self, client: str) -> float:
        """Count a wrong token; the seconds to wait when the client was already over the
        limit (0: answer it as an ordinary wrong token)."""
        with self._lock:
            failures = self._recent(client)
            wait = self._wait(failures)
            if failures is None:
                failures = self._failures[client] = deque(maxlen=self.limit)
            failures.append(self._clock())
            self._failures.move_to_end(client)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)
            return wait

    def __len__(self) -> int:
        return len(self._failures)

    def _wait(self, failures: deque[float] | None) -> float:
        if failures is None or len(failures) < self.limit:
            return 0.0
        return max(0.0, failures[0] + self.window_s - self._clock())

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
    """Whom the brake counts: the client's address, or its /64 for IPv6 (one subscriber's
    network; an address each would let one guesser pass for millions)."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def authenticate(request: Request, catalog: Catalog, limiter: FailureLimiter) -> PartnerRecord:
    """The partner behind the request, or Unauthorized / TooManyAttempts / TokenInLink."""
    presented = presented_token(request)
    if presented is None:
        raise Unauthorized
    partner = partner_for_token(catalog, presented.token)
    if partner is None:
        wait = limiter.failed(client_address(request))
        raise TooManyAttempts(wait) if wait > 0 else Unauthorized
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
    path = "/" + request.url.path.lstrip("/\\")  # never `//host`: that would leave the site
    query = request.url.remove_query_params(TOKEN_PARAM).query
    return f"{path}?{query}" if query else path
