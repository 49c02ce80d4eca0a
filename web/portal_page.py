"""What the portal's page shows: a card per clip (player, what the partner may do with it, its
downloads), the filters, and the pages of a long list.

Everything here is built from `ClipView`s, which carry no name of a person and no source file
name; a footage without a title in its sidecar is "Interview N".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from web.portal_clips import ClipView, Filters
from web.portal_text import language_name, messages

_NUMBER = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() also takes "٣" and more


def number(value: str | None) -> int | None:
    """A query parameter as a positive id or page number, or None for anything else."""
    return int(value) if value and _NUMBER.fullmatch(value) and int(value) > 0 else None


def filters_from(language: str | None, footage: str | None) -> Filters:
    return Filters(language=language or None, footage_id=number(footage))


@dataclass(frozen=True)
class Paging:
    page: int
    pages: int
    size: int

    @classmethod
    def of(cls, total: int, size: int, asked: str | None) -> Paging:
        pages = max(1, math.ceil(total / size))
        return cls(page=min(number(asked) or 1, pages), pages=pages, size=size)

    def slice(self, views: Sequence[ClipView]) -> list[ClipView]:
        start = (self.page - 1) * self.size
        return list(views[start : start + self.size])


def page_links(request: Request, filters: Filters, paging: Paging, lang: str) -> dict[str, Any]:
    """Previous and next links that keep the filters (and a chosen UI language)."""
    t = messages(lang)
    keep = {"language": filters.language, "footage": filters.footage_id}
    keep["lang"] = request.query_params.get("lang")
    kept = {key: value for key, value in keep.items() if value}

    def href(page: int) -> str:
        query = kept | ({"page": page} if page > 1 else {})
        return f"/?{urlencode(query)}" if query else "/"

    return {
        "label": t["page_of"].format(page=paging.page, pages=paging.pages),
        "previous": href(paging.page - 1) if paging.page > 1 else None,
        "next": href(paging.page + 1) if paging.page < paging.pages else None,
        "shown": paging.pages > 1,
    }


def card(view: ClipView, lang: str, credit: str) -> dict[str, Any]:
    """What the template shows of one clip: words, a player, its use, and its download links."""
    t = messages(lang)
    base = f"/clips/{view.id}"
    shown = [c for c in (lang, view.spoken) if c in view.subtitles] + list(view.subtitles)
    tracks = [
        {
            "src": f"{base}/subtitles/{code}.vtt",
            "lang": code,
            "label": _track_label(view, code, lang),
            "default": code == shown[0],
        }
        for code in view.subtitles
    ]
    has_poster = bool(view.preview or view.thumbnail or view.package)
    return {
        "id": view.id,
        "title": view.title or f"#{view.id}",
        "quote": view.quote,
        "spoken": view.spoken,
        "duration": duration(view.duration_ms),
        "languages": describe_languages(view, lang),
        "video": f"{base}/video/{view.player}",
        "poster": f"{base}/poster.jpg" if has_poster else None,
        "tracks": tracks,
        "usage": usage(view, lang),
        "credit": t["credit"].format(credit=credit) if credit else None,
        "videos": [
            {
                "label": labelled_size(t.get(f"profile_{p}", p), view.render_paths[p], lang),
                "href": f"{base}/video/{p}?download=1",
            }
            for p in view.renders
        ],
        "subtitle_links": [
            {"label": f"{_track_label(view, code, lang)} {kind.upper()}", "href": href}
            for code in view.subtitles
            for kind, href in (
                ("srt", f"{base}/subtitles/{code}.srt?download=1"),
                ("vtt", f"{base}/subtitles/{code}.vtt?download=1"),
            )
        ],
        "package": f"{base}/package.zip" if view.package else None,
        "thumbnail": f"{base}/thumbnail.jpg?download=1" if view.thumbnail else None,
    }


def _track_label(view: ClipView, code: str, lang: str) -> str:
    """The language's name, and when a machine translated it, that it did."""
    name = language_name(code, lang)
    return f"{name} ({messages(lang)['machine']})" if code in view.machine else name


def usage(view: ClipView, lang: str) -> list[str]:
    """What the partner may do with the clip: its consent, and care for a child in it."""
    t = messages(lang)
    lines = [t["usage_public"] if view.consent == "public" else t["usage_partners"]]
    if view.has_minors:
        lines.append(t["usage_minors"])
    return lines


def labelled_size(label: str, path: Path, lang: str) -> str:
    """`Vertical 9:16 (24 MB)`: on a slow phone the size decides what to take."""
    try:
        size = path.stat().st_size
    except OSError:
        return label
    t = messages(lang)
    if size >= 1_000_000:
        mb = size / 1_000_000
        amount = f"{mb:.1f}" if mb < 10 else f"{mb:.0f}"
        text = t["megabytes"].format(size=amount)
    else:
        text = t["kilobytes"].format(size=max(1, round(size / 1000)))
    return f"{label} ({text.replace('.', ',') if lang == 'ru' else text})"


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


def footage_label(view: ClipView, lang: str) -> str:
    """The footage's title from its sidecar, else "Interview N": never its file name, which
    may hold a person's name."""
    return view.footage_title or messages(lang)["interview_n"].format(n=view.footage_id)


def language_options(views: list[ClipView], filters: Filters, lang: str) -> list[dict[str, Any]]:
    codes = sorted({code for view in views for code in view.languages})
    return [
        {"value": c, "label": language_name(c, lang), "selected": c == filters.language}
        for c in codes
    ]


def footage_options(views: list[ClipView], filters: Filters, lang: str) -> list[dict[str, Any]]:
    titles: Mapping[int, str] = {view.footage_id: footage_label(view, lang) for view in views}
    return [
        {"value": fid, "label": title, "selected": fid == filters.footage_id}
        for fid, title in sorted(titles.items(), key=lambda item: (item[1].casefold(), item[0]))
    ]


def switch_url(request: Request, lang: str) -> str:
    query = request.url.include_query_params(lang=lang).query
    return f"/?{query}"
