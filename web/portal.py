"""The partner portal: partners find and download subtitled clips, and see nothing else.

    create_app(settings) -> FastAPI

One server-rendered page (no JavaScript; English and Russian; fits a phone) lists the approved
clips whose consent allows partners, a page at a time, each with a light player, what the
partner may do with it, and its downloads (`web.portal_page`); the file routes are in
`web.portal_downloads`, and what the routes share is `web.state.Portal`. Every response, errors
included, carries the security headers below, and the page's only inline code is its
stylesheet, allowed by a per-request nonce. No response builds an address from the request's
Host header: redirects are relative, and links to the portal use `portal.public_url`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import anyio
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config import Settings
from web.portal_access import (
    COOKIE_SECONDS,
    TOKEN_COOKIE,
    FailureLimiter,
    PartnerDep,
    TokenInLink,
    TooManyAttempts,
    Unauthorized,
)
from web.portal_clips import narrow, visible_clips
from web.portal_downloads import download_routes
from web.portal_page import (
    Paging,
    card,
    filters_from,
    footage_options,
    language_options,
    page_links,
    switch_url,
)
from web.portal_server import TrustedProxies
from web.portal_text import messages
from web.state import Portal, ui_language

log = logging.getLogger(__name__)

HSTS_SECONDS = 60 * 60 * 24 * 365

CSP = (
    "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'nonce-{nonce}'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def create_app(settings: Settings, *, limiter: FailureLimiter | None = None) -> FastAPI:
    """The portal over `settings.workspace`'s exports and its catalog."""
    portal = Portal(settings, limiter)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        portal.catalog.close()

    app = FastAPI(
        title="voices portal",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # Starlette would answer `/clips/1/package.zip/` with a redirect to an absolute URL
        # built from the request's Host header, query (and token) included: a 404 instead.
        redirect_slashes=False,
    )
    app.state.catalog, app.state.limiter = portal.catalog, portal.limiter
    app.add_middleware(SecurityHeaders, always_https=portal.https_only)
    app.add_middleware(TrustedProxies, proxies=portal.config.trusted_proxies)  # outermost
    _error_handlers(app, portal)
    app.include_router(page_routes(portal))
    app.include_router(download_routes(portal))
    return app


def page_routes(portal: Portal) -> APIRouter:
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse)
    def index(
        request: Request,
        partner: PartnerDep,
        language: str | None = None,
        footage: str | None = None,
        page: str | None = None,
    ) -> Response:
        filters = filters_from(language, footage)
        everything = visible_clips(portal.catalog, partner.languages)
        matching = narrow(everything, filters)
        paging = Paging.of(len(matching), portal.config.page_size, page)
        lang, _ = ui_language(request)
        credit = portal.config.credit
        context = {
            "partner": partner.name,
            "total": len(matching),
            "cards": [card(view, lang, credit) for view in paging.slice(matching)],
            "pages": page_links(request, filters, paging, lang),
            "language_options": language_options(everything, filters, lang),
            "footage_options": footage_options(everything, filters, lang),
            "switch_url": switch_url(request, "ru" if lang == "en" else "en"),
        }
        return portal.render(request, "index.html", context)

    return router


def _error_handlers(app: FastAPI, portal: Portal) -> None:
    def unauthorized(request: Request, _exc: Exception) -> Response:
        t = messages(ui_language(request)[0])
        context = {"heading": t["denied_title"], "text": t["denied_text"]}
        response = portal.render(request, "denied.html", context, 401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="voices"'
        if TOKEN_COOKIE in request.cookies:
            secure = portal.secure(request)
            response.delete_cookie(TOKEN_COOKIE, httponly=True, samesite="lax", secure=secure)
        return response

    async def too_many(request: Request, exc: Exception) -> Response:
        wait = exc.retry_after if isinstance(exc, TooManyAttempts) else 60
        await anyio.sleep(portal.limiter.delay_s)  # a guesser waits; no thread does
        t = messages(ui_language(request)[0])
        context = {"heading": t["slow_title"], "text": t["slow_text"].format(seconds=wait)}
        response = portal.render(request, "denied.html", context, 429)
        response.headers["Retry-After"] = str(wait)
        return response

    def token_in_link(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TokenInLink)
        response = RedirectResponse(exc.location, status_code=303)
        response.headers["Cache-Control"] = "no-store"
        secure = portal.secure(request)
        response.set_cookie(
            TOKEN_COOKIE, exc.token, COOKIE_SECONDS, httponly=True, samesite="lax", secure=secure
        )
        return response

    def not_found(_request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 404
        return Response("Not found\n" if status == 404 else "", status, media_type="text/plain")

    app.add_exception_handler(Unauthorized, unauthorized)
    app.add_exception_handler(TooManyAttempts, too_many)
    app.add_exception_handler(TokenInLink, token_in_link)
    app.add_exception_handler(StarletteHTTPException, not_found)
    app.add_exception_handler(RequestValidationError, not_found)


class SecurityHeaders:
    """Adds the security headers to every response, errors included, and the CSP nonce.
    Strict-Transport-Security goes with every answer to an https request, and with every
    answer when the portal's public address is https. An error the app did not handle is
    logged here and answered with a plain 500 that carries the headers too (Starlette's own
    500 is sent from outside every middleware, without them)."""

    def __init__(self, app: ASGIApp, always_https: bool = False, csp: str = CSP) -> None:
        self.app = app
        self.always_https = always_https
        self.csp = csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        https = self.always_https or scope.get("scheme") == "https"
        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in security_headers(nonce, https, self.csp).items():
                    headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception:
            if started:
                raise
            log.exception("%s %s failed", scope.get("method"), scope.get("path"))
            failed = Response(
                "Something went wrong on our side. Please try again later.\n",
                500,
                headers={"Cache-Control": "no-store"},
                media_type="text/plain",
            )
            await failed(scope, receive, with_headers)


def security_headers(nonce: str, https: bool = False, csp: str = CSP) -> Mapping[str, str]:
    headers = {
        "Content-Security-Policy": csp.format(nonce=nonce),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if https:
        headers["Strict-Transport-Security"] = f"max-age={HSTS_SECONDS}"
    return headers
