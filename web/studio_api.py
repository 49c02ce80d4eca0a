"""The studio's JSON API, `/api/v1`: everything the pages do, for automation and tests.

Authenticated as `web.studio_auth` says (a staff token as `Authorization: Bearer`); roles apply
exactly as on the pages. Errors are `{"detail": "what is wrong and what to do"}` with 400
(a request that cannot be done as asked), 401, 403, 404 or 422 (a malformed body).
Described by the app's OpenAPI schema at `/api/v1/openapi.json`.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from catalog import audit
from catalog.ledger import DecisionError, decide, in_zone, mark_found, mark_resend, sign_off
from catalog.ledger import publications_of as ledger_publications
from catalog.models import Consent
from catalog.store import NotInCatalog
from pipeline.editing import EditError, SegmentText, add_clip, correct_segments
from pipeline.safeguarding import ConsentError, change_consent
from pipeline.status import ClipReport, FootageReport, status_report
from web.studio_auth import Staff, from_api
from web.studio_state import Studio


class TranscriptWord(BaseModel):
    start_ms: int
    end_ms: int
    text: str


class TranscriptSegment(BaseModel):
    start_ms: int
    end_ms: int
    text: str
    words: list[TranscriptWord] = []


class TranscriptOut(BaseModel):
    footage_id: int
    language: str
    source: Literal["machine", "corrected"]
    segments: list[TranscriptSegment]


class TranscriptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    segments: list[SegmentText] = Field(min_length=1)


class Accepted(BaseModel):
    detail: str
    correction: str | None = None
    run_started: bool = False


class PersonConsent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    consent: Consent


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    consent: Consent | Literal["withdrawn"] | None = None
    people: list[PersonConsent] = []


class ConsentOut(BaseModel):
    said: list[str]
    taken_down: list[str]
    problems: list[str]


class ClipIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    footage_id: int
    quote_from: str = Field(alias="from", min_length=1)
    quote_to: str = Field(alias="to", min_length=1)
    title: str = ""


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: datetime | None = None


class PublicationOut(BaseModel):
    clip_id: int
    footage_id: int
    title: str
    channel: str
    status: str
    url: str | None
    scheduled_at: str | None
    published_at: str | None
    error: str | None
    ref: str
    taken_down_at: str | None


class SettleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    found: bool
    url: str = ""


class AuditOut(BaseModel):
    at: str
    actor: str
    action: str
    footage_id: int | None
    clip_id: int | None
    detail: str


def api_routes(studio: Studio) -> APIRouter:
    def staff(request: Request) -> Staff:
        return from_api(studio.catalog, request)

    Who = Annotated[Staff, Depends(staff)]
    router = APIRouter(prefix="/api/v1")

    @router.get("/footage")
    def footage(who: Who) -> list[FootageReport]:
        """Every footage, as `voices status --json` lists it."""
        return status_report(studio.catalog, studio.settings).footage

    @router.get("/footage/{footage_id}/transcript")
    def transcript(footage_id: int, who: Who) -> TranscriptOut:
        """The transcript in use: a person's correction once there is one."""
        found = studio.transcript(footage_id)
        if found is None:
            raise HTTPException(404, f"footage {footage_id} has no transcript yet")
        record, text = found
        return TranscriptOut(
            footage_id=footage_id,
            language=text.spoken_language,
            source="corrected" if record.source == "corrected" else "machine",
            segments=[
                TranscriptSegment(
                    start_ms=s.start_ms,
                    end_ms=s.end_ms,
                    text=s.text,
                    words=[
                        TranscriptWord(**w.model_dump(include={"start_ms", "end_ms", "text"}))
                        for w in s.words
                    ],
                )
                for s in text.segments
            ],
        )

    @router.put("/footage/{footage_id}/transcript", status_code=202)
    def correct(footage_id: int, body: TranscriptIn, who: Who) -> Accepted:
        """Correct the text; voices puts the words back on the audio (forced alignment) and
        redoes the subtitles, captions and renders that use them, in a run started now."""
        who.need("editor")
        try:
            kept = correct_segments(studio.context, footage_id, body.segments, who.name)
        except EditError as exc:
            raise HTTPException(400, str(exc)) from exc
        started = studio.start_run()
        return Accepted(
            detail="kept; the words are aligned to the audio by the run",
            correction=str(kept),
            run_started=started,
        )

    @router.post("/footage/{footage_id}/consent")
    def consent(footage_id: int, body: ConsentIn, who: Who) -> ConsentOut:
        """Change the consent of the footage and of people in it; a downgrade takes down what
        it no longer allows, now."""
        who.need("safeguarding")
        if body.consent is None and not body.people:
            raise HTTPException(400, "say what changes: consent, people, or both")
        said: list[str] = []
        down: list[str] = []
        problems: list[str] = []
        changes: list[dict[str, Any]] = []
        if body.consent == "withdrawn":
            changes.append({"withdraw": True})
        elif body.consent is not None:
            changes.append({"level": body.consent})
        changes += [{"level": p.consent, "person": p.name} for p in body.people]
        for change in changes:
            try:
                outcome = change_consent(studio.context, footage_id, who.name, **change)
            except ConsentError as exc:
                raise HTTPException(400, str(exc)) from exc
            said += outcome.said
            down += outcome.taken_down
            problems += outcome.problems
        return ConsentOut(said=said, taken_down=down, problems=problems)

    @router.post("/clips", status_code=201)
    def new_clip(body: ClipIn, who: Who) -> ClipReport:
        """A clip from the quoted words to the quoted words; rendered by the next run."""
        who.need("editor")
        try:
            made = add_clip(
                studio.context,
                body.footage_id,
                body.quote_from,
                body.quote_to,
                body.title,
                who.name,
            )
        except EditError as exc:
            raise HTTPException(400, str(exc)) from exc
        studio.start_run()
        return studio.clip_report(made.id)

    @router.post("/clips/{clip_id}/approve")
    def approve(clip_id: int, who: Who, body: ApproveIn | None = None) -> ClipReport:
        """Approve a clip, to be published from `at` (with its zone; a bare time is read in
        the campaign's time zone), or at once."""
        who.need("approver")
        studio.catalog.clip(clip_id)  # 404 before anything changes
        at = body.at if body else None
        when = in_zone(at, studio.settings.schedule.timezone) if at else None
        decide(studio.catalog, [clip_id], "approved", who.name, when)
        studio.publish_at(when)
        return studio.clip_report(clip_id)

    @router.post("/clips/{clip_id}/reject")
    def reject(clip_id: int, who: Who) -> ClipReport:
        who.need("approver")
        studio.catalog.clip(clip_id)
        decide(studio.catalog, [clip_id], "rejected", who.name)
        return studio.clip_report(clip_id)

    @router.post("/clips/{clip_id}/signoff")
    def signoff(clip_id: int, who: Who) -> ClipReport:
        """The safeguarding sign-off a clip showing a minor needs, by another account than the
        one that approved it."""
        who.need("safeguarding")
        try:
            sign_off(studio.catalog, clip_id, who.name)
        except DecisionError as exc:
            raise HTTPException(400, str(exc)) from exc
        return studio.clip_report(clip_id)

    @router.get("/publications")
    def publications(who: Who) -> list[PublicationOut]:
        """Where every clip went or is going: links, schedule, failures, takedowns."""
        return studio.publications()

    @router.post("/publications/{clip_id}/{channel}/settle")
    def settle(clip_id: int, channel: str, body: SettleIn, who: Who) -> PublicationOut:
        """A person looked at the channel for the publication's ref line: it is there
        (`found`, with its address), or it is not and is sent again."""
        who.need("approver")
        found = [p for p in ledger_publications(studio.catalog, clip_id) if p.channel == channel]
        allowed = ("unconfirmed",) if body.found else ("unconfirmed", "failed")
        if not found or found[0].status not in allowed:
            state = found[0].status if found else "no publication"
            raise HTTPException(400, f"clip {clip_id} on {channel} is {state}: nothing to settle")
        if body.found:
            mark_found(studio.catalog, found[0].id, body.url or None, who.name)
        else:
            mark_resend(studio.catalog, found[0].id, who.name)
        return next(
            p for p in studio.publications() if p.clip_id == clip_id and p.channel == channel
        )

    @router.get("/audit")
    def audit_log(
        who: Who,
        footage: int | None = None,
        actor: str | None = None,
        action: str | None = None,
    ) -> list[AuditOut]:
        """Who did what, when, to what; newest first."""
        rows = audit.entries(studio.catalog, footage)
        return [
            AuditOut(
                at=e.at.isoformat(),
                actor=e.actor,
                action=e.action,
                footage_id=e.footage_id,
                clip_id=e.clip_id,
                detail=e.detail,
            )
            for e in reversed(rows)
            if (actor is None or e.actor == actor) and (action is None or e.action == action)
        ]

    @router.post("/run", status_code=202)
    def run(who: Who) -> Accepted:
        """Process the inbox now (as `voices run`); a run already going is left to finish."""
        who.need("editor")
        started = studio.start_run()
        return Accepted(detail="started" if started else "a run is going", run_started=started)

    _ = NotInCatalog  # raised by the catalog, answered 404 by the app's handler
    return router
