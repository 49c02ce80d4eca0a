"""What the portal's routes share (`Portal`), in a module of its own so that the page and the
download routes both import it and neither imports the other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates

from config import Settings
from pipeline.context import open_catalog
from web.portal_access import COOKIE_SECONDS, FailureLimiter
from web.portal_files import export_roots
from web.portal_text import LANG_COOKIE, choose_language, messages

TEMPLATES = Path(__file__).parent / "templates"


class Portal:
    """What the routes share: the catalog, the export folders, the brake, the templates, and
    the portal's settings (`config`)."""

    def __init__(self, settings: Settings, limiter: FailureLimiter | None) -> None:
        self.config = settings.portal
        self.https_only = self.config.public_url.startswith("https://")
        self.catalog = open_catalog(settings)
        self.roots = export_roots(settings.workspace)
        self.limiter = limiter if limiter is not None else FailureLimiter()
        self.templates = Jinja2Templates(directory=TEMPLATES)

    def render(
        self, request: Request, name: str, context: dict[str, Any], status: int = 200
    ) -> Response:
        lang, remember = ui_language(request)
        context |= {"lang": lang, "t": messages(lang), "nonce": request.state.csp_nonce}
        response = self.templates.TemplateResponse(request, name, context, status_code=status)
        response.headers["Cache-Control"] = "no-store"
        if remember:
            response.set_cookie(
                LANG_COOKIE,
                lang,
                max_age=COOKIE_SECONDS,
                samesite="lax",
                secure=self.secure(request),
            )
        return response

    def secure(self, request: Request) -> bool:
        """Whether cookies get `Secure`: the public address is https, or this request came
        over https (said by a trusted proxy, see `web.portal_server`)."""
        return self.https_only or request.url.scheme == "https"


def ui_language(request: Request) -> tuple[str, bool]:
    return choose_language(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )
