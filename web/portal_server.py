"""How the portal meets the network: who the client is, whether it came over https, and the
server that runs it.

Behind a reverse proxy every request comes from the proxy's address, and only the proxy knows
the partner's address and whether the connection was https (`X-Forwarded-For`,
`X-Forwarded-Proto`). Anyone can send those headers, so they are believed only from the
addresses in `portal.trusted_proxies` (by default none), by `TrustedProxies` here, and by
nothing else: uvicorn's own proxy handling, which trusts 127.0.0.1 unless told otherwise, is
off in `server_config`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(addresses: Iterable[str]) -> tuple[Network, ...]:
    """`127.0.0.1`, `10.0.0.0/8`, `::1` as networks (the settings checked they parse)."""
    return tuple(ipaddress.ip_network(item, strict=False) for item in addresses)


def trusted(host: str, proxies: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(host.strip())
    except ValueError:
        return False
    return any(address in network for network in proxies)


def forwarded_client(x_forwarded_for: str, proxies: Sequence[Network]) -> str | None:
    """The partner's address in an `X-Forwarded-For` chain: each proxy appends the address it
    saw, so read from the right and stop at the first one that is not a trusted proxy (what
    is left of it anyone could have written). None when that entry is not an IP address."""
    hops = [hop.strip() for hop in x_forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not trusted(hop, proxies):
            return _address(hop)
    return _address(hops[0]) if hops else None  # proxies all the way: the first one


def _address(hop: str) -> str | None:
    try:
        return str(ipaddress.ip_address(hop))
    except ValueError:
        return None  # a port or garbage: not an address to count failures by


class TrustedProxies:
    """ASGI middleware: for a request from a trusted proxy, the client address and scheme the
    proxy reports; for any other request, the connection's own, whatever the headers say."""

    def __init__(self, app: ASGIApp, proxies: Iterable[str]) -> None:
        self.app = app
        self.proxies = networks(proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = scope.get("client")
        if scope["type"] == "http" and self.proxies and peer and trusted(peer[0], self.proxies):
            scope = self._as_forwarded(scope)
        await self.app(scope, receive, send)

    def _as_forwarded(self, scope: Scope) -> Scope:
        headers: dict[bytes, list[str]] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, []).append(value.decode("latin-1"))
        scope = dict(scope)
        chain = ", ".join(headers.get(b"x-forwarded-for", []))
        client = forwarded_client(chain, self.proxies) if chain else None
        if client:
            scope["client"] = (client, 0)
        protos = ",".join(headers.get(b"x-forwarded-proto", [])).split(",")
        proto = protos[-1].strip().lower()  # the last proxy's word
        if proto in ("http", "https"):
            scope["scheme"] = proto
        return scope


def server_config(app: ASGIApp, host: str, port: int, **options: Any) -> uvicorn.Config:
    """uvicorn's settings for the portal: no proxy headers of its own (`TrustedProxies`
    decides), no access log (a partner's first request carries its token in the query
    string), no `Server` header."""
    defaults: dict[str, Any] = {
        "proxy_headers": False,
        "forwarded_allow_ips": [],
        "access_log": False,
        "server_header": False,
    }
    return uvicorn.Config(app, host=host, port=port, **(defaults | options))
