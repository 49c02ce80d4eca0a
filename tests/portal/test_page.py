"""The page, kind to phones and honest about each clip: a light rendition in the player, full
renders as downloads only, pages of clips with links that keep the filters, what a partner may
do with each clip, and no name of a person or of a source file anywhere a partner can reach.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from catalog.store import Catalog
from config import load_settings
from tests.portal import CHILD_FILE, NAMES, VIDEO, World, build_world, serve
from web.portal import create_app
from web.portal_access import FailureLimiter
from web.portal_text import MESSAGES


@pytest.fixture
def world(isolated_env: Path) -> World:
    return build_world(isolated_env)


@pytest.fixture
def url(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("VOICES_PORTAL__CREDIT", "© Our NGO")
    app = create_app(load_settings(world.workspace), limiter=FailureLimiter(delay_s=0))
    with serve(app) as base:
        yield base


def partner(base: str, world: World, name: str = "alpha") -> httpx.Client:
    headers = {"Authorization": f"Bearer {world.tokens[name]}"}
    return httpx.Client(base_url=base, headers=headers, timeout=10)


def cards(html: str) -> dict[int, str]:
    """Each card's HTML by clip id."""
    found = {}
    for part in html.split('<li class="card"')[1:]:
        match = re.search(r'data-clip="(\d+)"', part)
        assert match is not None
        found[int(match.group(1))] = part.split('<li class="card"')[0]
    return found


def test_the_player_takes_the_light_rendition(world: World, url: str) -> None:
    public, ky, partners = (world.clips[n] for n in ("public", "ky_only", "partners"))
    with partner(url, world) as http:
        shown = cards(http.get("/").text)
        web = http.get(f"/clips/{public}/video/web")
        poster = http.get(f"/clips/{public}/poster.jpg")
        package = http.get(f"/clips/{public}/package.zip")
    assert f'<source src="/clips/{public}/video/web"' in shown[public]
    assert f"/clips/{public}/video/web?download=1" not in shown[public]  # not a download
    assert f"/clips/{public}/video/vertical?download=1" in shown[public]
    assert f'<source src="/clips/{ky}/video/square"' in shown[ky]  # no web: the smallest
    assert f"/clips/{ky}/video/vertical?download=1" in shown[ky]
    assert f'<source src="/clips/{partners}/video/vertical"' in shown[partners]
    for card in shown.values():
        assert re.search(r'<video [^>]*preload="none"[^>]*loading="lazy"', card)
        assert 'poster="/clips/' in card and '/poster.jpg"' in card
    size = f"{VIDEO.stat().st_size / 1e6:.1f} MB"
    assert size in shown[public]  # the download says what it costs
    assert web.status_code == 200 and web.content == VIDEO.read_bytes()
    catalog = Catalog(world.catalog_url, world.workspace)
    try:
        preview = catalog.clip(public).preview
    finally:
        catalog.close()
    assert preview is not None  # the small picture (320 px), not the thumbnail
    assert poster.status_code == 200 and poster.content == preview.read_bytes()
    with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
        names = {Path(name).name for name in archive.namelist()}
        metadata = json.loads(archive.read(f"clip-{public}/metadata.json"))
    assert "web.mp4" not in names and "vertical.mp4" in names
    assert "web" not in metadata.get("renders", {})
    assert metadata["consent"] == "public" and metadata["includes_minors"] is False


def test_each_clip_says_what_a_partner_may_do(world: World, url: str) -> None:
    public, partners = world.clips["public"], world.clips["partners"]
    for lang in ("en", "ru"):
        t = MESSAGES[lang]
        with partner(url, world) as http:
            shown = cards(http.get("/", params={"lang": lang}).text)
        assert t["usage_public"] in shown[public] and t["usage_partners"] not in shown[public]
        assert t["usage_minors"] not in shown[public]
        assert t["usage_partners"] in shown[partners]  # consent: partners only
        assert t["usage_minors"] in shown[partners]  # a child is in it
        credit = t["credit"].format(credit="© Our NGO")
        assert all(credit in card for card in shown.values())
    assert "do not crop" in MESSAGES["en"]["usage_minors"]


def test_no_name_of_a_person_or_a_file_leaves(world: World, url: str) -> None:
    """The footage with no title is "Interview N", not its file name (a child's name); nothing
    a partner can fetch (page, zip, its metadata, file names) names anyone."""
    footage = world.footage["partner_interview"]
    stem = Path(CHILD_FILE).stem
    # A package whose metadata.json still names the file and the people (as the first
    # release's did): the zip takes it without them.
    metadata = world.files("partners") / "metadata.json"
    written = json.loads(metadata.read_text("utf-8"))
    written["source"] = written.get("source", {}) | {"name": CHILD_FILE}
    written["people"] = [{"name": "Бакыт Осмонов", "role": "son", "minor": True}]
    metadata.write_text(json.dumps(written, ensure_ascii=False), "utf-8")
    reachable = []
    with partner(url, world) as http:
        for lang, label in (("en", "Interview"), ("ru", "Интервью")):
            page = http.get("/", params={"lang": lang})
            assert f'<option value="{footage}">{label} {footage}</option>' in page.text
            reachable.append(page.text)
        for name in world.visible:
            clip = world.clips[name]
            package = http.get(f"/clips/{clip}/package.zip")
            with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
                for member in archive.namelist():
                    reachable.append(member)
                    if not member.endswith((".mp4", ".jpg")):
                        reachable.append(archive.read(member).decode("utf-8"))
            for path in ("video/vertical?download=1", "subtitles/ru.srt", "thumbnail.jpg"):
                answer = http.get(f"/clips/{clip}/{path}")
                reachable.append(answer.headers.get("content-disposition", ""))
    everything = "\n".join(reachable)
    assert stem not in everything and "Naryn" not in everything
    for name in NAMES:
        assert name not in everything, name


def test_long_lists_come_in_pages_that_keep_the_filters(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICES_PORTAL__PAGE_SIZE", "1")
    app = create_app(load_settings(world.workspace), limiter=FailureLimiter(delay_s=0))
    public, partners = world.clips["public"], world.clips["partners"]
    with serve(app) as base, partner(base, world) as http:
        first = http.get("/", params={"language": "ru"}).text
        assert list(cards(first)) == [public] and "Clips: 2" in first
        assert "Page 1 of 2" in first and 'rel="prev"' not in first
        following = re.search(r'<a href="([^"]+)" rel="next">', first)
        assert following is not None
        assert following.group(1).replace("&amp;", "&") == "/?language=ru&page=2"
        second = http.get(following.group(1).replace("&amp;", "&")).text
        assert list(cards(second)) == [partners] and 'rel="next"' not in second
        assert '<a href="/?language=ru" rel="prev">' in second
        beyond = http.get("/", params={"language": "ru", "page": "99"}).text
        assert list(cards(beyond)) == [partners]  # past the end: the last page
        everything = http.get("/").text
        assert len(cards(everything)) == 1 and "Page 1 of 3" in everything
        assert '<a href="/?page=2" rel="next">' in everything
