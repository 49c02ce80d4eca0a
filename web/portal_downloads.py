"""The portal's file routes: a clip id and a kind of file in, the file (or a 404) out.

    /clips/{id}/video/{profile}        vertical | square | landscape | tv (| web: the player's)
    /clips/{id}/subtitles/{lang}.{vtt|srt}
    /clips/{id}/thumbnail.jpg
    /clips/{id}/poster.jpg             the player's small picture, inline only
    /clips/{id}/package.zip

`?download=1` asks for an attachment; without it a file is served inline (the player, the
subtitle track). Every answer supports HTTP Range and If-Range (Starlette's FileResponse), and
the bytes sent are logged per partner. A clip the partner may not see is a 404, exactly like one
that does not exist.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter, HTTPException, Response
from starlette.responses import FileResponse

from catalog.models import PartnerRecord
from catalog.partners import record_download
from web.portal_access import PartnerDep
from web.portal_clips import ClipView, visible_clip
from web.portal_files import (
    SUBTITLE_KINDS,
    MeteredFileResponse,
    NotServable,
    content_disposition,
    download_name,
    package_zip,
    poster_file,
    render_file,
    subtitle_file,
    thumbnail_file,
)
from web.state import Portal

log = logging.getLogger(__name__)

CLIP_ID = re.compile(r"[0-9]{1,12}")
FILE_CACHE = "private, max-age=300"
METHODS = ["GET", "HEAD"]
# One writer at a time, so the range requests of one transfer join one row of the log.
_log_lock = threading.Lock()


def download_routes(portal: Portal) -> APIRouter:
    router = APIRouter()

    @router.api_route("/clips/{clip_id}/video/{profile}", methods=METHODS)
    def video(
        clip_id: str, profile: str, partner: PartnerDep, download: str | None = None
    ) -> Response:
        view = clip_for(portal, clip_id, partner)
        path = found(lambda: render_file(view, profile, portal.roots))
        return send(portal, partner, view, path, f".{profile}.mp4", "video/mp4", download)

    @router.api_route("/clips/{clip_id}/subtitles/{file}", methods=METHODS)
    def subtitles(
        clip_id: str, file: str, partner: PartnerDep, download: str | None = None
    ) -> Response:
        view = clip_for(portal, clip_id, partner)
        language, _, kind = file.rpartition(".")
        path = found(lambda: subtitle_file(view, language, kind, portal.roots))
        media = SUBTITLE_KINDS[kind]
        return send(portal, partner, view, path, f".{language}.{kind}", media, download)

    @router.api_route("/clips/{clip_id}/thumbnail.jpg", methods=METHODS)
    def thumbnail(clip_id: str, partner: PartnerDep, download: str | None = None) -> Response:
        view = clip_for(portal, clip_id, partner)
        path = found(lambda: thumbnail_file(view, portal.roots))
        return picture(view, path, download)

    @router.api_route("/clips/{clip_id}/poster.jpg", methods=METHODS)
    def poster(clip_id: str, partner: PartnerDep) -> Response:
        view = clip_for(portal, clip_id, partner)
        return picture(view, found(lambda: poster_file(view, portal.roots)), None)

    @router.api_route("/clips/{clip_id}/package.zip", methods=METHODS)
    def package(clip_id: str, partner: PartnerDep) -> Response:
        view = clip_for(portal, clip_id, partner)
        path = found(lambda: package_zip(view, portal.roots))
        return send(portal, partner, view, path, ".zip", "application/zip", "1", "package.zip")

    return router


def clip_for(portal: Portal, clip_id: str, partner: PartnerRecord) -> ClipView:
    view = None
    if CLIP_ID.fullmatch(clip_id):
        view = visible_clip(portal.catalog, int(clip_id), partner.languages)
    if view is None:
        raise HTTPException(404)
    return view


def picture(view: ClipView, path: Path, download: str | None) -> Response:
    name, fallback = download_name(view, ".jpg"), f"clip-{view.id}.jpg"
    disposition = content_disposition(name, fallback, inline=download is None)
    headers = {"Content-Disposition": disposition, "Cache-Control": FILE_CACHE}
    return FileResponse(path, media_type="image/jpeg", headers=headers)


def found(locate: Callable[[], Path]) -> Path:
    try:
        return locate()
    except NotServable as exc:
        raise HTTPException(404) from exc


def send(
    portal: Portal,
    partner: PartnerRecord,
    view: ClipView,
    path: Path,
    suffix: str,
    media_type: str,
    download: str | None,
    label: str | None = None,
) -> Response:
    """The file (Range and If-Range supported); its bytes are logged for the partner once sent.
    `download` is the `?download=` parameter: present, the file is an attachment."""
    label = label or suffix.lstrip(".")
    how = "download" if download is not None else "stream"

    def log_sent(size: int) -> None:
        with _log_lock:
            record_download(portal.catalog, partner.id, view.id, label, size, how)
        log.info(
            "partner %s: %s of clip %d, %d bytes (%s)", partner.name, label, view.id, size, how
        )

    name, fallback = download_name(view, suffix), f"clip-{view.id}{suffix}"
    headers = {
        "Content-Disposition": content_disposition(name, fallback, inline=download is None),
        "Cache-Control": FILE_CACHE,
    }
    return MeteredFileResponse(path, log_sent, media_type=media_type, headers=headers)
