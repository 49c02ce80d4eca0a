"""The portal in a real browser: Debian's headless Chromium driven by Playwright.

A partner opens the link they were sent, sees their clips on a phone-sized screen, plays one
(its light `web` rendition) with subtitles showing, and downloads files whose bytes match the
exports; a long list loads no video and only the pictures near the screen. The page's own CSP
stays on (no bypass), so this also proves the page works under it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config import load_settings
from tests.helpers import CHROMIUM
from tests.portal import CUE_TEXT, VIDEO, World, build_world, serve, wait_for_downloads
from web.portal import create_app

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
)

PLAYING = """v => {
    const showing = Array.from(v.textTracks).filter(t => t.mode === "showing");
    const track = showing[0];
    const cues = track && track.activeCues ? Array.from(track.activeCues) : [];
    return {
        time: v.currentTime,
        tracks: v.textTracks.length,
        showing: showing.map(t => t.language),
        cue: cues.length ? cues[0].text : null,
        error: v.error ? v.error.code : null,
        src: v.currentSrc,
    };
}"""


@pytest.fixture
def world(isolated_env: Path) -> World:
    return build_world(isolated_env)


@pytest.fixture
def url(world: World) -> Iterator[str]:
    with serve(create_app(load_settings(world.workspace))) as base:
        yield base


def play_until_subtitled(video: Any, seconds: float = 15) -> dict[str, Any]:
    """Start the (muted) player and wait until time advances with a subtitle cue showing."""
    video.evaluate("v => { v.muted = true; return v.play(); }")
    deadline = time.monotonic() + seconds
    while True:
        state: dict[str, Any] = video.evaluate(PLAYING)
        if (state["time"] > 0.3 and state["cue"]) or state["error"]:
            return state
        if time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def take(page: Any, href: str) -> Any:
    """Click the download link to `href` and return Playwright's Download."""
    with page.expect_download() as info:
        page.locator(f'a[href="{href}"]').click()
    return info.value


def test_partner_opens_link_plays_with_subtitles_and_downloads(
    world: World, url: str, browser: Any
) -> None:
    context = browser.new_context(
        accept_downloads=True, locale="ru-RU", viewport={"width": 375, "height": 740}
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    page.goto(f"{url}/?token={world.tokens['alpha']}")
    assert page.url == f"{url}/"  # the token left the address bar
    cookie = next(c for c in context.cookies() if c["name"] == "voices_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.locator("h1").inner_text() == "Ролики для партнёров"  # Accept-Language: ru
    cards = page.locator("li.card")
    assert cards.count() == 3
    expected = [f"clip-{world.clips[name]}" for name in world.visible]
    assert [cards.nth(i).get_attribute("id") for i in range(3)] == expected
    # Fits a phone: the stylesheet applied (CSP nonce) and nothing scrolls sideways.
    assert page.evaluate("getComputedStyle(document.querySelector('.cards')).display") == "grid"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    public = world.clips["public"]
    video = page.locator(f"#clip-{public} video")
    assert video.get_attribute("preload") == "none"
    state = play_until_subtitled(video)
    assert state["error"] is None, state
    assert state["tracks"] == 2 and state["showing"] == ["ru"], state  # the UI's language
    assert state["time"] > 0.3 and state["cue"] == CUE_TEXT["ru"], state
    assert state["src"] == f"{url}/clips/{public}/video/web", state  # the light rendition

    download = take(page, f"/clips/{public}/video/vertical?download=1")
    assert download.suggested_filename == f"clip-{public} Дом — это люди.vertical.mp4"
    assert Path(download.path()).read_bytes() == VIDEO.read_bytes()

    srt = Path(take(page, f"/clips/{public}/subtitles/ru.srt?download=1").path()).read_bytes()
    assert srt == (world.files("public") / "ru.srt").read_bytes()
    assert not [p for p in problems if "Content Security Policy" in p], problems
    context.close()
    _assert_logged(world, public)


def _assert_logged(world: World, clip: int) -> None:
    expected = {
        ("vertical.mp4", "download"),
        ("ru.srt", "download"),
        ("web.mp4", "stream"),
        ("ru.vtt", "stream"),
    }
    found = wait_for_downloads(
        world, clip, lambda logged: expected <= {(d["file"], d["how"]) for d in logged}
    )
    assert expected <= {(d["file"], d["how"]) for d in found}


def test_a_long_list_is_light_on_a_phone(isolated_env: Path, browser: Any) -> None:
    """17 clips: a page of 12, no video bytes before a partner presses play, and only the
    posters near the screen (the player's small preview, never the full thumbnail)."""
    world = build_world(isolated_env, more=14)
    asked: list[str] = []
    with serve(create_app(load_settings(world.workspace))) as url:
        context = browser.new_context(locale="en-US", viewport={"width": 375, "height": 740})
        page = context.new_page()
        page.on("request", lambda request: asked.append(request.url))
        page.goto(f"{url}/?token={world.tokens['alpha']}")
        page.wait_for_load_state("networkidle")
        assert page.locator("li.card").count() == 12
        first_page = list(asked)
        page.locator('a[rel="next"]').click()
        page.wait_for_load_state("networkidle")
        assert page.locator("li.card").count() == len(world.visible) - 12
        context.close()
    assert not [u for u in first_page if "/video/" in u or "thumbnail.jpg" in u], first_page
    posters = [u for u in first_page if u.endswith("/poster.jpg")]
    assert 1 <= len(posters) <= 6, posters  # the ones near the screen, not all twelve
    assert f"/clips/{world.clips['ky_only']}/poster.jpg" in posters[0]


def test_without_a_link_the_browser_sees_nothing(world: World, url: str, browser: Any) -> None:
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    response = page.goto(f"{url}/")
    assert response is not None and response.status == 401
    assert page.locator("h1").inner_text() == "A partner link is needed"
    assert page.locator("li.card").count() == 0 and "Quote of" not in page.content()
    wrong = page.goto(f"{url}/?token=not-a-real-token")
    assert wrong is not None and wrong.status == 401 and not context.cookies()
    context.close()
