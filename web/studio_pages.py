"""The studio's pages: server-rendered, one small script (`web/static/studio.js`) for the
player and for choosing words, and forms that post back with the session's CSRF token.

Each action answers with a redirect back to the page it came from (post/redirect/get), with
what happened in `?said=` and, when something could not be done, the reason in `?problem=`.
"""

import os
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from catalog import audit
from catalog.ledger import DecisionError, decide, mark_found, mark_resend, sign_off
from catalog.ledger import publications_of as ledger_publications
from catalog.models import FootageRecord, Sidecar
from catalog.partners import PartnerError, add_partner, downloads_by_clip, list_partners
from catalog.partners import revoke_partner as revoke_partner_token
from catalog.staff import AccountLocked, set_language, sign_in, sign_out
from pipeline.editing import EditError, SegmentText, add_clip, correct_segments, describe
from pipeline.packages import update_package
from pipeline.status import FootageReport, footage_report, status_report
from web.studio_auth import (
    CSRF_FIELD,
    SESSION_COOKIE,
    Staff,
    check_csrf,
    from_session,
)
from web.studio_state import Studio
from web.studio_text import languages

LOGIN_COOKIE = "voices_studio_login"
STATIC = Path(__file__).parent / "static"
MEDIA_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".m4v", ".avi", ".mpg", ".mpeg", ".mts")
AUDIO_SUFFIXES = (".wav", ".mp3", ".m4a", ".ogg", ".flac", ".opus", ".aac")


def page_routes(studio: Studio) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def staff(request: Request) -> Staff:
        return from_session(studio.catalog, request)

    Who = Annotated[Staff, Depends(staff)]
    Csrf = Annotated[str, Form(alias=CSRF_FIELD)]

    def render(request: Request, who: Staff | None, name: str, **context: Any) -> Response:
        context |= {
            "said": request.query_params.get("said", ""),
            "problem": request.query_params.get("problem", ""),
            "path": request.url.path,
        }
        account = who.account if who else None
        csrf = who.csrf if who else None
        return studio.render(request, name, context, account, csrf)

    def back(where: str, said: str = "", problem: str = "") -> Response:
        page, _, anchor = where.partition("#")
        query = urlencode({k: v for k, v in (("said", said), ("problem", problem)) if v})
        target = f"{page}?{query}" if query else page
        return RedirectResponse(f"{target}#{anchor}" if anchor else target, status_code=303)

    def acting(who: Staff, csrf: str, role: Any = None) -> None:
        check_csrf(who, csrf)
        if role is not None:
            who.need(role)

    # signing in

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, failed: str = "", next: str = "/") -> Response:
        token = os.urandom(24).hex()
        page = render(
            request, None, "studio_login.html", login_token=token, failed=failed, next=_local(next)
        )
        response = page
        response.set_cookie(
            LOGIN_COOKIE,
            token,
            900,
            httponly=True,
            samesite="strict",
            secure=studio.secure(request),
        )
        return response

    @router.post("/login")
    def login(
        request: Request,
        name: Annotated[str, Form()],
        password: Annotated[str, Form()],
        login_token: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or login_token != expected:
            return again("expired", next)
        lifetime = studio.lifetime
        try:
            signed = sign_in(studio.catalog, name, password, lifetime)
        except AccountLocked as exc:
            return again(f"locked:{exc.retry_after}", next)
        if signed is None:
            time.sleep(0.2)
            return again("wrong", next)
        response = RedirectResponse(_local(next), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            signed.cookie,
            int(lifetime.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=studio.secure(request),
        )
        response.delete_cookie(LOGIN_COOKIE)
        return response

    def again(failed: str, next: str) -> Response:
        query = {"failed": failed} | ({"next": _local(next)} if _local(next) != "/" else {})
        return RedirectResponse(f"/login?{urlencode(query)}", status_code=303)

    @router.post("/logout")
    def logout(request: Request, who: Who, csrf: Csrf) -> Response:
        acting(who, csrf)
        sign_out(studio.catalog, request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
        return response

    @router.post("/language")
    def language(
        who: Who, csrf: Csrf, lang: Annotated[str, Form()], to: Annotated[str, Form()] = "/"
    ) -> Response:
        acting(who, csrf)
        if lang in languages():
            set_language(studio.catalog, who.name, lang)
        return back(to if to.startswith("/") and not to.startswith("//") else "/")

    # inbox and footage

    @router.get("/", response_class=HTMLResponse)
    def index(
        request: Request,
        who: Who,
        state: str = "",
        language: str = "",
        since: str = "",
    ) -> Response:
        report = status_report(studio.catalog, studio.settings).footage
        rows = [footage_row(f) for f in report]
        langs = sorted({r["language"] for r in rows if r["language"]})
        states = sorted({r["state"] for r in rows})
        shown = [
            r
            for r in rows
            if (not state or r["state"] == state)
            and (not language or r["language"] == language)
            and (not since or r["added"] >= since)
        ]
        return render(
            request,
            who,
            "studio_index.html",
            rows=shown,
            waiting=inbox_waiting(studio),
            states=states,
            langs=langs,
            state=state,
            language=language,
            since=since,
        )

    def footage_row(f: FootageReport) -> dict[str, Any]:
        record = studio.catalog.footage(f.id)
        return {
            "id": f.id,
            "name": f.source_name,
            "state": f.status,
            "language": f.language or "",
            "consent": f.consent,
            "error": f.error or "",
            "clips": len(f.clips),
            "added": record.created_at.date().isoformat() if record.created_at else "",
            "title": record.sidecar.title if record.sidecar else "",
        }

    @router.get("/footage/{footage_id}", response_class=HTMLResponse)
    def footage_page(request: Request, footage_id: int, who: Who) -> Response:
        record = studio.catalog.footage(footage_id)
        report = footage_report(studio.catalog, footage_id, studio.settings)
        found = studio.transcript(footage_id)
        segments = found[1].segments if found else ()
        source = found[0].source if found else None
        zone = ZoneInfo(studio.settings.schedule.timezone)
        return render(
            request,
            who,
            "studio_footage.html",
            f=report,
            record=record,
            sidecar=record.sidecar or Sidecar(),
            segments=segments,
            source=source,
            video=_is_video(record),
            tracks=sorted(report.subtitles),
            local=lambda iso: _wall_clock(iso, zone),
        )

    @router.post("/footage/{footage_id}/describe")
    async def describe_page(request: Request, footage_id: int, who: Who) -> Response:
        form = await request.form()
        acting(who, str(form.get(CSRF_FIELD, "")), "editor")
        where = f"/footage/{footage_id}"
        fields = sidecar_fields({k: str(v) for k, v in form.multi_items()})
        try:
            await run_in_threadpool(describe, studio.context, footage_id, fields, who.name)
        except EditError as exc:
            return back(where, problem=str(exc))
        studio.start_run()
        return back(where, said="Description saved.")

    @router.post("/footage/{footage_id}/transcript")
    async def transcript(request: Request, footage_id: int, who: Who) -> Response:
        form = await request.form()
        acting(who, str(form.get(CSRF_FIELD, "")), "editor")
        segments = []
        for key, value in form.multi_items():
            if key.startswith("seg-"):
                start, _, end = key[4:].partition("-")
                segments.append(SegmentText(start_ms=int(start), end_ms=int(end), text=str(value)))
        where = f"/footage/{footage_id}"
        try:
            await run_in_threadpool(
                correct_segments, studio.context, footage_id, segments, who.name
            )
        except EditError as exc:
            return back(where, problem=str(exc))
        studio.start_run()
        return back(
            where,
            said="Correction saved. The words are timed to the audio again; the subtitles follow.",
        )

    @router.post("/footage/{footage_id}/clips")
    def new_clip(
        footage_id: int,
        who: Who,
        csrf: Csrf,
        quote_from: Annotated[str, Form(alias="from")],
        quote_to: Annotated[str, Form(alias="to")],
        title: Annotated[str, Form()] = "",
    ) -> Response:
        acting(who, csrf, "editor")
        where = f"/footage/{footage_id}"
        try:
            made = add_clip(studio.context, footage_id, quote_from, quote_to, title, who.name)
        except EditError as exc:
            return back(where, problem=str(exc))
        studio.start_run()
        return back(f"{where}#clip-{made.id}", said="Clip made. It is being rendered.")

    @router.post("/run")
    def run_now(who: Who, csrf: Csrf) -> Response:
        acting(who, csrf, "editor")
        studio.start_run()
        return back("/", said="Processing started. Reload the page to follow it.")

    # clips

    @router.post("/clips/{clip_id}/approve")
    def approve(clip_id: int, who: Who, csrf: Csrf, at: Annotated[str, Form()] = "") -> Response:
        acting(who, csrf, "approver")
        clip = studio.catalog.clip(clip_id)
        where = f"/footage/{clip.footage_id}#clip-{clip_id}"
        when = None
        if at.strip():
            try:
                when = datetime.fromisoformat(at.strip())
            except ValueError:
                return back(where, problem=f"{at!r} is not a time")
            if when.tzinfo is None:  # a form's datetime-local: the campaign's wall clock
                when = when.replace(tzinfo=ZoneInfo(studio.settings.schedule.timezone))
        decide(studio.catalog, [clip_id], "approved", who.name, when)
        studio.publish_at(when)
        return back(where, said="Approved.")

    @router.post("/clips/{clip_id}/reject")
    def reject(clip_id: int, who: Who, csrf: Csrf) -> Response:
        acting(who, csrf, "approver")
        clip = studio.catalog.clip(clip_id)
        decide(studio.catalog, [clip_id], "rejected", who.name)
        return back(f"/footage/{clip.footage_id}#clip-{clip_id}", said="Rejected.")

    @router.post("/clips/{clip_id}/signoff")
    def signoff(clip_id: int, who: Who, csrf: Csrf) -> Response:
        acting(who, csrf, "safeguarding")
        clip = studio.catalog.clip(clip_id)
        where = f"/footage/{clip.footage_id}#clip-{clip_id}"
        try:
            sign_off(studio.catalog, clip_id, who.name)
        except DecisionError as exc:
            return back(where, problem=str(exc))
        return back(where, said="Signed off.")

    @router.post("/clips/{clip_id}/edit")
    def edit(
        clip_id: int,
        who: Who,
        csrf: Csrf,
        title: Annotated[str, Form()],
        description: Annotated[str, Form()] = "",
    ) -> Response:
        acting(who, csrf, "editor")
        clip = studio.catalog.clip(clip_id)
        updated = studio.catalog.edit_clip(
            clip_id, who.name, title=title.strip(), description=description.strip()
        )
        if updated.package:  # the partner package carries the title and description too
            update_package(studio.context, studio.catalog.footage(clip.footage_id), updated)
        return back(f"/footage/{clip.footage_id}#clip-{clip_id}", said="Saved.")

    # publications, partners, audit

    @router.get("/publications", response_class=HTMLResponse)
    def publications(request: Request, who: Who) -> Response:
        zone = ZoneInfo(studio.settings.schedule.timezone)
        return render(
            request,
            who,
            "studio_publications.html",
            rows=studio.publications(),
            local=lambda iso: _wall_clock(iso, zone),
        )

    @router.post("/publications/{clip_id}/{channel}/settle")
    def settle(
        clip_id: int,
        channel: str,
        who: Who,
        csrf: Csrf,
        found: Annotated[str, Form()],
        url: Annotated[str, Form()] = "",
    ) -> Response:
        acting(who, csrf, "approver")
        wanted = [p for p in ledger_publications(studio.catalog, clip_id) if p.channel == channel]
        if not wanted or wanted[0].status not in ("unconfirmed", "failed"):
            return back("/publications", problem=f"clip {clip_id} on {channel}: nothing to settle")
        if found == "yes" and wanted[0].status == "unconfirmed":
            mark_found(studio.catalog, wanted[0].id, url.strip() or None, who.name)
        else:
            mark_resend(studio.catalog, wanted[0].id, who.name)
        return back("/publications", said="Settled.")

    @router.get("/partners", response_class=HTMLResponse)
    def partners(request: Request, who: Who) -> Response:
        downloads = downloads_by_clip(studio.catalog)
        taken: dict[str, list[Any]] = {}
        for clip_id, rows in downloads.items():
            for row in rows:
                taken.setdefault(row.partner, []).append((clip_id, row))
        return render(
            request,
            who,
            "studio_partners.html",
            partners=list_partners(studio.catalog),
            taken=taken,
            link=request.query_params.get("link", ""),
        )

    @router.post("/partners")
    def add(
        request: Request,
        who: Who,
        csrf: Csrf,
        name: Annotated[str, Form()],
        langs: Annotated[str, Form(alias="languages")] = "",
    ) -> Response:
        acting(who, csrf, "admin")
        try:
            token = add_partner(studio.catalog, name, langs.split(","), by=who.name)
        except PartnerError as exc:
            return back("/partners", problem=str(exc))
        base = studio.settings.portal.public_url or "http://127.0.0.1:8080"
        link = f"{base}/?token={token}"
        # The link is shown once, on this answer only, never put in an address.
        return render(
            request,
            who,
            "studio_partners.html",
            partners=list_partners(studio.catalog),
            taken={},
            link=link,
        )

    @router.post("/partners/{name}/revoke")
    def revoke(name: str, who: Who, csrf: Csrf) -> Response:
        acting(who, csrf, "admin")
        try:
            revoke_partner_token(studio.catalog, name, by=who.name)
        except PartnerError as exc:
            return back("/partners", problem=str(exc))
        return back("/partners", said="Revoked: the link no longer works.")

    @router.get("/audit", response_class=HTMLResponse)
    def audit_page(
        request: Request, who: Who, actor: str = "", action: str = "", footage: str = ""
    ) -> Response:
        entries = audit.entries(studio.catalog, int(footage) if footage.isdigit() else None)
        actors = sorted({e.actor for e in entries})
        actions = sorted({e.action for e in entries})
        shown = [
            e
            for e in reversed(entries)
            if (not actor or e.actor == actor) and (not action or e.action == action)
        ]
        return render(
            request,
            who,
            "studio_audit.html",
            entries=shown[:500],
            actors=actors,
            actions=actions,
            actor=actor,
            action=action,
            footage=footage,
        )

    # media for the players

    @router.get("/media/footage/{footage_id}")
    def footage_media(footage_id: int, who: Who) -> Response:
        record = studio.catalog.footage(footage_id)
        if record.library_path is None or not record.library_path.is_file():
            raise HTTPException(404)
        return FileResponse(record.library_path, headers={"Cache-Control": "private, no-store"})

    @router.get("/media/footage/{footage_id}/{language}.vtt")
    def footage_vtt(footage_id: int, language: str, who: Who) -> Response:
        files = footage_report(studio.catalog, footage_id, studio.settings).subtitles.get(language)
        if not files:
            raise HTTPException(404)
        return FileResponse(
            str(files["vtt"]), media_type="text/vtt", headers={"Cache-Control": "no-store"}
        )

    @router.get("/media/clips/{clip_id}/{profile}.mp4")
    def clip_media(clip_id: int, profile: str, who: Who) -> Response:
        clip = studio.catalog.clip(clip_id)
        render_ = clip.renders.get(profile)
        if render_ is None or not render_.path.is_file():
            raise HTTPException(404)
        return FileResponse(
            render_.path, media_type="video/mp4", headers={"Cache-Control": "private, no-store"}
        )

    @router.get("/static/studio.js")
    def script() -> Response:
        return FileResponse(STATIC / "studio.js", media_type="text/javascript")

    return router


def sidecar_fields(form: dict[str, str]) -> dict[str, Any]:
    """The describe form as a sidecar's fields. People are rows `person-N-name`, `-role`,
    `-consent`, `-minor`; lists are comma-separated (redact: one per line)."""

    def listed(text: str, sep: str = ",") -> list[str]:
        return [item.strip() for item in text.split(sep) if item.strip()]

    people = []
    for n in range(50):
        name = form.get(f"person-{n}-name", "").strip()
        if not name:
            continue
        people.append(
            {
                "name": name,
                "role": form.get(f"person-{n}-role", "").strip(),
                "consent": form.get(f"person-{n}-consent", "internal"),
                "minor": form.get(f"person-{n}-minor") == "on",
            }
        )
    return {
        "title": form.get("title", "").strip(),
        "description": form.get("description", "").strip(),
        "language": form.get("language", "").strip() or None,
        "languages": listed(form.get("languages", "")),
        "consent": form.get("consent", "internal"),
        "people": [{k: v for k, v in p.items() if v not in ("", False)} for p in people],
        "recorded": form.get("recorded", "").strip() or None,
        "location": form.get("location", "").strip(),
        "public_location": form.get("public_location") == "on",
        "public_recorded": form.get("public_recorded") == "on",
        "faces": form.get("faces", "show"),
        "redact": listed(form.get("redact", ""), "\n"),
        "tags": listed(form.get("tags", "")),
    }


def inbox_waiting(studio: Studio) -> list[dict[str, Any]]:
    """Files in the inbox no run has taken yet: still being copied, or waiting for a run."""
    inbox = studio.settings.workspace / "inbox"
    settle = studio.settings.ingest.settle_seconds
    known = {f.path for f in studio.catalog.all_footage()}
    found: list[dict[str, Any]] = []
    if not inbox.is_dir():
        return found
    for path in sorted(inbox.rglob("*")):
        if not path.is_file() or path in known or path.name.startswith("."):
            continue
        if path.suffix.lower() not in MEDIA_SUFFIXES + AUDIO_SUFFIXES:
            continue
        age = time.time() - path.stat().st_mtime
        found.append({"name": path.relative_to(inbox).as_posix(), "copying": age < settle})
    return found


def _is_video(record: FootageRecord) -> bool:
    info = record.media_info
    return bool(info and info.video_codec)


def _local(path: str) -> str:
    """A path on this site to go on to after signing in; anything else goes home."""
    ok = path.startswith("/") and not path.startswith(("//", "/\\")) and "\\" not in path
    return path if ok and not path.startswith("/login") else "/"


def _wall_clock(iso: str | None, zone: ZoneInfo) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M")
