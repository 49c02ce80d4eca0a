"""The partner portal: partners find and download subtitled clips, and see nothing else.

    create_app(settings) -> FastAPI

One server-rendered page (no JavaScript; English and Russian; fits a phone) lists the approved
clips whose consent allows partners, each with a player and its downloads; the file routes are
in `web.portal_downloads`, and what the routes share is `web.state.Portal`. Every response
carries the security headers below, and the page's only inline code is its stylesheet, allowed
by a per-request nonce.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

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
from web.portal_clips import ClipView, Filters, narrow, visible_clips
from web.portal_downloads import download_routes
from web.portal_text import language_name, messages
from web.state import Portal, ui_language

log = logging.getLogger(__name__)

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
        title="voices portal", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.catalog, app.state.limiter = portal.catalog, portal.limiter
    app.add_middleware(SecurityHeaders)
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
    ) -> Response:
        filters = Filters(
            language=language or None,
            footage_id=int(footage) if footage and footage.isdigit() else None,
        )
        everything = visible_clips(portal.catalog, partner.languages)
        shown = narrow(everything, filters)
        lang, _ = ui_language(request)
        context = {
            "partner": partner.name,
            "cards": [card(view, lang) for view in shown],
            "language_options": language_options(everything, filters, lang),
            "footage_options": footage_options(everything, filters),
            "switch_url": switch_url(request, "ru" if lang == "en" else "en"),
        }
        return portal.render(request, "index.html", context)

    return router


def card(view: ClipView, lang: str) -> dict[str, Any]:
    """What the template shows of one clip: words, a player, and its download links."""
    t = messages(lang)
    base = f"/clips/{view.id}"
    shown = [c for c in (lang, view.spoken) if c in view.subtitles] + list(view.subtitles)
    tracks = [
        {
            "src": f"{base}/subtitles/{code}.vtt",
            "lang": code,
            "label": language_name(code, lang),
            "default": code == shown[0],
        }
        for code in view.subtitles
    ]
    return {
        "id": view.id,
        "title": view.title or f"#{view.id}",
        "quote": view.quote,
        "spoken": view.spoken,
        "duration": duration(view.duration_ms),
        "languages": describe_languages(view, lang),
        "video": f"{base}/video/{view.renders[0]}",
        "poster": f"{base}/thumbnail.jpg" if view.thumbnail or view.package else None,
        "tracks": tracks,
        "videos": [
            {"label": t.get(f"profile_{p}", p), "href": f"{base}/video/{p}?download=1"}
            for p in view.renders
        ],
        "subtitle_links": [
            {"label": f"{language_name(code, lang)} {kind.upper()}", "href": href}
            for code in view.subtitles
            for kind, href in (
                ("srt", f"{base}/subtitles/{code}.srt?download=1"),
                ("vtt", f"{base}/subtitles/{code}.vtt?download=1"),
            )
        ],
        "package": f"{base}/package.zip" if view.package else None,
        "thumbnail": f"{base}/thumbnail.jpg?download=1" if view.thumbnail else None,
    }


def duration(ms: int) -> str:
    seconds = max(0, round(ms / 1000))
    return f"{seconds // 60}:{seconds % 60:02d}"


def describe_languages(view: ClipView, lang: str) -> str:
    t = messages(lang)
    names = []
    for code in view.languages:
        name = language_name(code, lang)
        names.append(f"{name} ({t['spoken']})" if code == view.spoken else name)
    return ", ".join(names)


def language_options(views: list[ClipView], filters: Filters, lang: str) -> list[dict[str, Any]]:
    codes = sorted({code for view in views for code in view.languages})
    return [
        {"value": c, "label": language_name(c, lang), "selected": c == filters.language}
        for c in codes
    ]


def footage_options(views: list[ClipView], filters: Filters) -> list[dict[str, Any]]:
    titles = {view.footage_id: view.footage_title for view in views}
    return [
        {"value": fid, "label": title, "selected": fid == filters.footage_id}
        for fid, title in sorted(titles.items(), key=lambda item: item[1].casefold())
    ]


def switch_url(request: Request, lang: str) -> str:
    query = request.url.include_query_params(lang=lang).query
    return f"{request.url.path}?{query}"


def _error_handlers(app: FastAPI, portal: Portal) -> None:
    def unauthorized(request: Request, _exc: Exception) -> Response:
        t = messages(ui_language(request)[0])
        context = {"heading": t["denied_title"], "text": t["denied_text"]}
        response = portal.render(request, "denied.html", context, 401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="voices"'
        if TOKEN_COOKIE in request.cookies:
            response.delete_cookie(TOKEN_COOKIE, httponly=True, samesite="lax")
        return response

    def too_many(request: Request, exc: Exception) -> Response:
        wait = exc.retry_after if isinstance(exc, TooManyAttempts) else 60
        t = messages(ui_language(request)[0])
        context = {"heading": t["slow_title"], "text": t["slow_text"].format(seconds=wait)}
        response = portal.render(request, "denied.html", context, 429)
        response.headers["Retry-After"] = str(wait)
        return response

    def token_in_link(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TokenInLink)
        response = RedirectResponse(exc.location, status_code=303)
        response.headers["Cache-Control"] = "no-store"
        secure = request.url.scheme == "https"
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
    """Adds the security headers to every response, errors included, and the CSP nonce."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in security_headers(nonce).items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


def security_headers(nonce: str) -> Mapping[str, str]:
    return {
        "Content-Security-Policy": CSP.format(nonce=nonce),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
