"""YouTube's rules that need no client library, applied before anything is sent.

Title 1–100 characters; description at most 5,000 UTF-8 bytes, ending with the clip's marker
line (`ref: <marker>`) so an upload whose answer was lost can be found again; tags at most 500
characters counted YouTube's way; no `<` or `>` anywhere (replaced with `‹` `›`). What can be
fixed is fixed (and logged); what cannot raises `InvalidRequestError`. `publishAt` is sent only
with privacy "public": it makes a private video public at that time. Also: caption track names,
the thumbnail limit, the status a takedown sends, and when the daily quota resets.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from channels.base import PublishRequest, RemoteResult, marker_line
from channels.errors import InvalidRequestError

logger = logging.getLogger(__name__)

TITLE_CHARS, DESCRIPTION_BYTES, TAG_CHARS, CAPTION_NAME_CHARS = 100, 5000, 500, 150
THUMBNAIL_BYTES = 2 * 1024 * 1024
CAPTION_NAMES = {
    "en": "English",
    "ru": "Русский",
    "ky": "Кыргызча",
    "kk": "Қазақша",
    "uz": "Oʻzbekcha",
    "tg": "Тоҷикӣ",
}
_PACIFIC = ZoneInfo("America/Los_Angeles")


def _clean(text: str) -> str:
    return text.replace("<", "‹").replace(">", "›")


def clean_title(title: str, clip_id: int) -> str:
    """One line, no angle brackets, 1–100 characters (trimmed with an ellipsis)."""
    cleaned = " ".join(_clean(title).split())
    if not cleaned:
        raise InvalidRequestError(f"youtube: clip {clip_id}: the title is empty; give it one")
    if len(cleaned) > TITLE_CHARS:
        cleaned = cleaned[: TITLE_CHARS - 1].rstrip() + "…"
    return cleaned


def clean_description(description: str, marker: str, clip_id: int) -> str:
    """At most 5,000 UTF-8 bytes, cut at a character boundary, ending with the marker line."""
    if not marker or _clean(marker) != marker or len(marker.splitlines()) != 1:
        raise InvalidRequestError(f"youtube: clip {clip_id}: unusable marker; fix the ledger")
    tail = marker_line(marker)
    text = _fit_bytes(description, DESCRIPTION_BYTES - len(f"\n\n{tail}".encode()), clip_id)
    return f"{text}\n\n{tail}" if text else tail


def _fit_bytes(description: str, budget: int, clip_id: int) -> str:
    """The description without angle brackets, cut to `budget` UTF-8 bytes at a character."""
    text = _clean(description).strip()
    if len(text.encode()) > budget:
        cut = text.encode()[: budget - len("…".encode())].decode("utf-8", errors="ignore")
        text = cut.rstrip() + "…"
        logger.warning("youtube: clip %s: description cut to %d bytes", clip_id, budget)
    return text


def localizations(request: PublishRequest) -> dict[str, dict[str, str]]:
    """`localizations` of the video resource: title and description per language other than
    the video's own, under the same limits (the marker line stays in the default description).
    YouTube takes them only with a default language: without one, none are sent."""
    found = {lang: text for lang, text in request.localizations.items() if lang != request.language}
    if found and not request.language:
        logger.warning(
            "youtube: clip %s: its footage's language is not known, so its titles in %s are "
            "not sent (YouTube needs the default language first)",
            request.clip_id,
            ", ".join(sorted(found)),
        )
        return {}
    return {
        lang: {
            "title": clean_title(text.title, request.clip_id),
            "description": _fit_bytes(text.description, DESCRIPTION_BYTES, request.clip_id),
        }
        for lang, text in sorted(found.items())
    }


def clean_tags(tags: tuple[str, ...]) -> list[str]:
    """Tags in order while they fit 500 characters (commas and quotes around spaces count)."""
    kept: list[str] = []
    used = 0
    for raw in tags:
        tag = " ".join(_clean(raw).replace(",", " ").split())
        if not tag or tag.casefold() in {k.casefold() for k in kept}:
            continue
        cost = len(tag) + (2 if " " in tag else 0) + (1 if kept else 0)
        if used + cost > TAG_CHARS:
            logger.warning("youtube: tags beyond 500 characters dropped, from %r on", tag)
            break
        kept.append(tag)
        used += cost
    return kept


def video_body(request: PublishRequest, privacy: str, category_id: str) -> dict[str, Any]:
    """The `videos.insert` resource: snippet and status, within every limit."""
    snippet: dict[str, Any] = {
        "title": clean_title(request.title, request.clip_id),
        "description": clean_description(request.description, request.marker, request.clip_id),
        "categoryId": category_id,
    }
    if tags := clean_tags(request.tags):
        snippet["tags"] = tags
    if request.language:
        snippet["defaultLanguage"] = snippet["defaultAudioLanguage"] = request.language
    status: dict[str, Any] = {
        "privacyStatus": privacy,
        "embeddable": True,
        "selfDeclaredMadeForKids": request.made_for_kids,
    }
    if request.publish_at is not None and privacy == "public":
        at = request.publish_at.astimezone(UTC)  # a PublishRequest's time carries its zone
        status.update(privacyStatus="private", publishAt=at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    elif request.publish_at is not None:  # publishAt would make it public at that time
        logger.info("youtube: clip %s goes up %s, without publishAt", request.clip_id, privacy)
    body: dict[str, Any] = {"snippet": snippet, "status": status}
    if localized := localizations(request):
        body["localizations"] = localized
    return body


def parts(body: dict[str, Any]) -> str:
    """The `part` parameter naming every part of `body` (YouTube ignores parts not named)."""
    return ",".join(name for name in ("snippet", "status", "localizations") if name in body)


# What `videos.update` may set in `status` and resets when left out (publishAt aside).
_KEPT_STATUS = ("embeddable", "license", "publicStatsViewable", "containsSyntheticMedia")


def private_status(current: dict[str, Any]) -> dict[str, Any]:
    """The `status` for a `videos.update` that makes a video private and keeps it so.

    The update replaces every mutable status field: what it leaves out is reset, so the current
    values are sent back, `selfDeclaredMadeForKids` included (else it resets); `publishAt` is
    dropped, because a private video with a publishAt goes public at that time.
    """
    status = {key: current[key] for key in _KEPT_STATUS if key in current}
    kids = current.get("selfDeclaredMadeForKids", current.get("madeForKids"))
    if kids is not None:
        status["selfDeclaredMadeForKids"] = bool(kids)
    status["privacyStatus"] = "private"
    return status


def studio_url(video_id: str) -> str:
    """Where a person edits (or deletes) the video by hand."""
    return f"https://studio.youtube.com/video/{video_id}/edit"


def check_files(request: PublishRequest) -> None:
    """The video and every subtitle file must exist (a thumbnail is optional)."""
    where = f"youtube: clip {request.clip_id}"
    if not request.video.is_file():
        raise InvalidRequestError(f"{where}: no video file at {request.video}; render it again")
    for language, files in request.subtitles.items():
        if not files.srt.is_file() and not files.vtt.is_file():
            raise InvalidRequestError(f"{where}: no SRT/VTT file for {language}; make subtitles")


def remote_result(video_id: str, scheduled: bool) -> RemoteResult:
    url = f"https://youtu.be/{video_id}"
    if scheduled:
        return RemoteResult(remote_id=video_id, url=url, status="scheduled")
    return RemoteResult(remote_id=video_id, url=url, status="published")


def caption_name(language: str) -> str:
    return CAPTION_NAMES.get(language, language)[:CAPTION_NAME_CHARS]


def usable_thumbnail(path: Path | None, clip_id: int) -> tuple[Path, str] | None:
    """(path, mimetype) of a JPEG/PNG of at most 2 MiB, or None (logged) when there is none."""
    if path is None:
        return None
    if not path.is_file() or path.stat().st_size > THUMBNAIL_BYTES:
        logger.warning("youtube: clip %s: thumbnail missing or over 2 MiB, skipped", clip_id)
        return None
    return path, "image/png" if path.suffix.lower() == ".png" else "image/jpeg"


def next_pacific_midnight(now: datetime | None = None) -> datetime:
    """When YouTube's daily quota resets (midnight US/Pacific), in UTC."""
    local = (now or datetime.now(UTC)).astimezone(_PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), clock_time(), _PACIFIC)
    return midnight.astimezone(UTC)
