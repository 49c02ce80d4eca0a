"""What the studio's pages and API share (`Studio`): the settings, the catalog, the runs it
starts, the templates, and the views both show."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates

from catalog.models import StaffRecord, TranscriptRecord
from config import Settings
from flows.runs import RunOnDemand
from pipeline.context import Context
from pipeline.editing import Transcript, transcript_in_use
from pipeline.status import ClipReport, footage_report
from web.studio_text import LANG_COOKIE, NAMES, choose, gettext_for, languages

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from web.studio_api import PublicationOut

TEMPLATES = Path(__file__).parent / "templates"
MARKER_PREFIX = "ref:"  # channels.base.MARKER_PREFIX: the line a post carries to be found again
LANG_COOKIE_SECONDS = 60 * 60 * 24 * 365


class Studio:
    def __init__(self, settings: Settings, runs: RunOnDemand | None = None) -> None:
        self.settings = settings
        self.config = settings.studio
        self.https_only = self.config.public_url.startswith("https://")
        self.context = Context.open(settings)
        self.catalog = self.context.catalog
        self.runs = runs
        self.templates = Jinja2Templates(directory=TEMPLATES)
        self.lifetime = timedelta(hours=self.config.session_hours)

    def close(self) -> None:
        if self.runs is not None:
            self.runs.stop()
        self.context.close()

    def start_run(self) -> bool:
        """Process what changed now, in a `voices run` of its own (see `flows.runs`)."""
        return self.runs.request() if self.runs is not None else False

    def publish_at(self, when: datetime | None) -> None:
        """A publishing run at `when` where a Prefect server runs the schedules (see
        `flows.publish_at`); in a thread, so the page does not wait on Prefect."""
        if when is None or when <= datetime.now(UTC):
            return
        from flows.publish_at import schedule_publishing

        def schedule() -> None:
            log.info("approval for %s: %s", when, schedule_publishing(self.settings, when))

        threading.Thread(target=schedule, name="voices-publish-at", daemon=True).start()

    # views

    def transcript(self, footage_id: int) -> tuple[TranscriptRecord, Transcript] | None:
        return transcript_in_use(self.context, footage_id)

    def clip_report(self, clip_id: int) -> ClipReport:
        clip = self.catalog.clip(clip_id)
        footage = footage_report(self.catalog, clip.footage_id, self.settings)
        return next(c for c in footage.clips if c.id == clip_id)

    def publications(self) -> list[PublicationOut]:
        from catalog.ledger import publications_of
        from web.studio_api import PublicationOut

        found = []
        for footage in self.catalog.all_footage():
            for clip in self.catalog.clips_of(footage.id):
                for p in publications_of(self.catalog, clip.id):
                    found.append(
                        PublicationOut(
                            clip_id=clip.id,
                            footage_id=footage.id,
                            title=clip.title,
                            channel=p.channel,
                            status=p.status,
                            url=p.url,
                            scheduled_at=_iso(p.scheduled_at),
                            published_at=_iso(p.published_at),
                            error=p.error or None,
                            ref=f"{MARKER_PREFIX}{p.marker}",
                            taken_down_at=_iso(p.taken_down_at),
                        )
                    )
        return found

    # pages

    def language(self, request: Request, account: StaffRecord | None) -> tuple[str, bool]:
        return choose(
            account.language if account else None,
            request.query_params.get("lang"),
            request.cookies.get(LANG_COOKIE),
            request.headers.get("accept-language"),
        )

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any],
        account: StaffRecord | None = None,
        csrf: str | None = None,
        status: int = 200,
    ) -> Response:
        lang, remember = self.language(request, account)
        context |= {
            "lang": lang,
            "_": gettext_for(lang),
            "nonce": request.state.csp_nonce,
            "me": account,
            "csrf": csrf,
            "languages": [(code, NAMES.get(code, code)) for code in languages()],
            "zone": self.settings.schedule.timezone,
        }
        response: Response = self.templates.TemplateResponse(
            request, name, context, status_code=status
        )
        response.headers["Cache-Control"] = "no-store"
        if remember:
            response.set_cookie(
                LANG_COOKIE,
                lang,
                max_age=LANG_COOKIE_SECONDS,
                samesite="lax",
                secure=self.secure(request),
            )
        return response

    def secure(self, request: Request) -> bool:
        return self.https_only or request.url.scheme == "https"


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat()
