"""Telegram's rules that need no HTTP: the caption, the post's link, and what sendVideo is told
about the video (size, duration, preview), applied before anything is sent.

A caption is at most 1,024 characters counted in UTF-16 code units and ends with the clip's
marker line (``ref: <marker>``), which a person searches for when an answer was lost. The
preview (sendVideo's `thumbnail`) is a JPEG under 200 kB, at most 320 px a side.
"""

from __future__ import annotations

import re

from channels.base import PublishRequest, marker_line
from channels.errors import InvalidRequestError

CAPTION_MAX_CHARS = 1024
THUMBNAIL_MAX_BYTES = 200 * 1000  # "less than 200 kB"


def build_caption(title: str, description: str, marker: str, limit: int = CAPTION_MAX_CHARS) -> str:
    """Title, a blank line, the description, and ``ref: <marker>`` as the last line.

    Telegram counts UTF-16 code units (an emoji may count 2), so this does too. A long text is
    cut at a character boundary, after a word where one ends near the cut, and ends with "…";
    the marker line is always kept whole.
    """
    tail = marker_line(marker)
    body = "\n\n".join(part.strip() for part in (title, description) if part.strip())
    room = limit - _utf16_units(tail) - 2
    if not body or room < 2:
        return _cut(tail, limit)
    return f"{_cut(body, room)}\n\n{tail}"


def _cut(text: str, room: int) -> str:
    if _utf16_units(text) <= room:
        return text
    kept: list[str] = []
    used = 1  # the "…"
    for char in text:
        used += _utf16_units(char)
        if used > room:
            break
        kept.append(char)
    cut = "".join(kept)
    word_end = re.search(r"\s+\S*\Z", cut)
    if word_end and word_end.start() > 0 and len(cut) - word_end.start() <= 40:
        cut = cut[: word_end.start()]
    return cut.rstrip() + "…"


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def message_url(chat_id: str, message_id: int, username: str | None = None) -> str:
    """A t.me link: public channels by name, private ones (``-100…``) for members; else ""."""
    name = username or (chat_id[1:] if chat_id.startswith("@") else "")
    if name:
        return f"https://t.me/{name}/{message_id}"
    if chat_id.startswith("-100") and chat_id[4:].isdigit():
        return f"https://t.me/c/{chat_id[4:]}/{message_id}"
    return ""


def video_fields(request: PublishRequest) -> dict[str, str]:
    """sendVideo's `width`, `height` and `duration` (whole seconds) from what the render step
    recorded; a field it did not record is left out rather than guessed."""
    fields: dict[str, str] = {}
    if request.width is not None and request.height is not None:
        fields["width"], fields["height"] = str(request.width), str(request.height)
    if request.duration_ms:
        fields["duration"] = str(max(1, (request.duration_ms + 500) // 1000))  # half up
    return fields


def read_preview(request: PublishRequest) -> bytes | None:
    """The preview's bytes for sendVideo's `thumbnail`, checked against Telegram's 200 kB.

    The render step makes it to fit; checking again here turns a preview from elsewhere (or an
    older render) into a clear error before the upload, instead of a refusal after it.
    """
    if request.preview is None:
        return None
    try:
        data = request.preview.read_bytes()
    except OSError as exc:
        raise InvalidRequestError(
            f"telegram: clip {request.clip_id}'s preview {request.preview} cannot be read "
            f"({exc.strerror}); render the clip again"
        ) from exc
    if len(data) >= THUMBNAIL_MAX_BYTES:
        raise InvalidRequestError(
            f"telegram: clip {request.clip_id}'s preview {request.preview} is "
            f"{len(data) / 1000:.0f} kB, over Telegram's 200 kB thumbnail limit; make it again "
            "with media.render.make_preview (320 px, under 200 kB)"
        )
    return data
