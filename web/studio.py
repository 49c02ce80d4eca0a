"""The staff studio: communications staff see, correct, choose, approve and schedule.

    create_studio(settings, runs=None) -> FastAPI

Pages (`web.studio_pages`) for people, a JSON API under `/api/v1` (`web.studio_api`, described
at `/api/v1/openapi.json`) for automation and tests, both over `web.studio_state.Studio`, both
behind `web.studio_auth`. The studio is a site of its own, beside the partner portal: its own
cookie, its own accounts, its own address (`studio.public_url`) and proxies
(`studio.trusted_proxies`), with the portal's security headers (`web.portal.SecurityHeaders`)
and a policy that lets in the one script it serves itself.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from catalog.store import NotInCatalog
from config import Settings
from flows.runs import RunOnDemand
from web.portal import SecurityHeaders
from web.portal_server import TrustedProxies
from web.studio_api import api_routes
from web.studio_auth import CsrfRefused, Forbidden, NotSignedIn
from web.studio_pages import page_routes
from web.studio_state import Studio
from web.studio_text import gettext_for

log = logging.getLogger(__name__)

CSP = (
    "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'nonce-{nonce}'; "
    "script-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


def create_studio(settings: Settings, runs: RunOnDemand | None = None) -> FastAPI:
    """The studio over `settings.workspace`; `runs` starts processing after a change (None:
    changes wait for the next scheduled run)."""
    studio = Studio(settings, runs)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        studio.close()

    app = FastAPI(
        title="voices studio",
        version="1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        redirect_slashes=False,
    )
    app.state.studio = studio
    app.add_middleware(SecurityHeaders, always_https=studio.https_only, csp=CSP)
    app.add_middleware(TrustedProxies, proxies=settings.studio.trusted_proxies)
    _error_handlers(app, studio)
    app.include_router(api_routes(studio))
    app.include_router(page_routes(studio))
    return app


def _api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_handlers(app: FastAPI, studio: Studio) -> None:
    def not_signed_in(request: Request, _exc: Exception) -> Response:
        if _api(request):
            return JSONResponse(
                {"detail": "sign in: send a staff token as Authorization: Bearer"},
                401,
                headers={"WWW-Authenticate": 'Bearer realm="voices studio"'},
            )
        back = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(f"/login?next={quote(back)}", status_code=303)

    def refused(request: Request, exc: Exception) -> Response:
        if isinstance(exc, CsrfRefused):
            detail = "the form is out of date or came from another site: reload and try again"
        else:
            detail = str(exc)
        if _api(request):
            return JSONResponse({"detail": detail}, 403)
        lang, _ = studio.language(request, None)
        _ = gettext_for(lang)
        context = {"heading": _("Not allowed"), "text": _(detail)}
        return studio.render(request, "studio_message.html", context, status=403)

    def not_found(request: Request, exc: Exception) -> Response:
        if isinstance(exc, StarletteHTTPException):
            status, detail = exc.status_code, str(exc.detail)
        else:
            status, detail = 404, str(exc)
        if _api(request):
            return JSONResponse({"detail": detail}, status)
        return Response(f"{detail}\n", status, media_type="text/plain")

    def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = [f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()]
        if _api(request):
            return JSONResponse({"detail": "; ".join(problems)}, 422)
        return Response("; ".join(problems) + "\n", 422, media_type="text/plain")

    app.add_exception_handler(NotSignedIn, not_signed_in)
    app.add_exception_handler(Forbidden, refused)
    app.add_exception_handler(CsrfRefused, refused)
    app.add_exception_handler(NotInCatalog, not_found)
    app.add_exception_handler(StarletteHTTPException, not_found)
    app.add_exception_handler(RequestValidationError, invalid)
