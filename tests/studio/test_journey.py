"""A staff journey through the studio in Debian's Chromium (Playwright), on real footage.

An editor signs in, finds a held file and why, fixes its description in the form and watches
the run the studio starts process it; corrects what the machine heard and sees the new words in
the player's subtitles; makes a clip by selecting words. An approver approves it for a time, a
safeguarding officer (a second person) signs it off, as it shows a minor; it is published to
the YouTube stand-in and the publications page links to it. The main pages are photographed in
English and Russian along the way (`STUDIO_SCREENSHOTS` keeps them; tests/studio/SCREENSHOTS.md).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from catalog.store import Catalog
from config import load_settings
from flows.runs import RunOnDemand
from tests.channels.fake_youtube import FakeYouTube
from tests.helpers import CHROMIUM, data, voices
from tests.portal import serve
from tests.studio import PASSWORD, add_accounts
from web.studio import create_studio

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("prefect_api"),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"
    ),
]

SPOKEN = "set white with p two soon"
RUN_S = 300  # a run in a child process: Prefect, the model, alignment, renders


@pytest.fixture
def studio_url(
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_youtube: FakeYouTube,
    youtube_token_file: Path,
) -> Iterator[str]:
    for name, value in {
        "VOICES_CLIPS__MIN_SECONDS": "1",
        "VOICES_CLIPS__MAX_CANDIDATES": "1",
        "VOICES_CLIPS__RENDER": '["square", "web"]',
        "VOICES_YOUTUBE__ENABLED": "true",
        "VOICES_YOUTUBE__API_ENDPOINT": fake_youtube.url,
        "VOICES_YOUTUBE__TOKEN_FILE": str(youtube_token_file),
        "VOICES_YOUTUBE__PROFILE": "square",
        "VOICES_YOUTUBE__MADE_FOR_KIDS_WITH_MINORS": "true",
    }.items():
        monkeypatch.setenv(name, value)
    inbox = isolated_env / "inbox"
    inbox.mkdir(parents=True)
    shutil.copy(data("grid_swwp2s.mpg"), inbox / "grid.mpg")
    # A mistake in the description: the file is held until someone fixes it.
    (inbox / "grid.yaml").write_text("language: english\nconsent: public\n", "utf-8")
    assert voices("run")[0] == 0
    settings = load_settings(isolated_env)
    catalog = Catalog(settings.catalog_url, isolated_env)
    try:
        add_accounts(catalog)
    finally:
        catalog.close()
    runs = RunOnDemand(isolated_env)
    with serve(create_studio(settings, runs)) as base:
        yield base


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("STUDIO_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def signed_in(browser: Any, base: str, name: str, locale: str = "en-GB", width: int = 1280) -> Any:
    context = browser.new_context(locale=locale, viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form[action='/login'] button").click()
    page.wait_for_url(f"{base}/")
    return page


def until(page: Any, check: Callable[[], bool], seconds: float = RUN_S) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, page.content()[-3000:]
        time.sleep(2)
        page.reload()


def test_a_staff_journey(studio_url: str, browser: Any, shots: Path) -> None:
    base = studio_url
    editor = signed_in(browser, base, "edna")
    problems: list[str] = []
    editor.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    # A held file, and why.
    row = editor.locator("tr", has_text="grid.mpg")
    assert "held" in row.inner_text()
    assert "line 1" in row.inner_text() and "language" in row.inner_text()
    editor.screenshot(path=str(shots / "footage-list.en.png"), full_page=True)

    # Its description fixed in the form; the studio starts a run, and it is processed.
    row.locator("a").click()
    form = editor.locator("#describe")
    form.locator("input[name=language]").fill("en")
    form.locator("select[name=consent]").select_option("public")
    form.locator("input[name=person-0-name]").fill("Bakyt")
    form.locator("select[name=person-0-consent]").select_option("public")
    form.locator("input[name=person-0-minor]").check()
    form.locator("button").click()
    assert "Description saved" in editor.locator(".said").inner_text()
    until(editor, lambda: "done" in editor.locator("h2").first.inner_text())
    footage_url = editor.url.split("?")[0]

    # What the machine heard, corrected; the run times it to the audio again.
    segments = editor.locator("textarea[name^=seg-]")
    heard = " ".join(segments.nth(i).input_value() for i in range(segments.count()))
    assert heard.strip()
    for i in range(segments.count()):
        segments.nth(i).fill(SPOKEN if i == 0 else "")
    editor.locator("#transcript-form button").click()
    until(editor, lambda: "transcript: corrected" in editor.locator("main").inner_text())
    editor.screenshot(path=str(shots / "footage.en.png"), full_page=True)

    # The new words are in the player's subtitles.
    player = editor.locator("#player")
    cues = player.evaluate(
        """async v => {
            const track = v.textTracks[0];
            track.mode = "showing";
            for (let i = 0; i < 50 && (!track.cues || !track.cues.length); i++) {
                await new Promise(r => setTimeout(r, 100));
            }
            return Array.from(track.cues || []).map(c => c.text).join(" ");
        }"""
    )
    assert SPOKEN in cues.lower().replace(".", "").replace(",", ""), cues

    # A clip made by selecting words: the first, then shift-click the last.
    words = editor.locator("#transcript .w")
    words.first.click()
    words.last.click(modifiers=["Shift"])
    assert editor.locator("#clip-from").input_value().lower().startswith("set white")
    assert editor.locator("#clip-to").input_value().lower().rstrip(".").endswith("two soon")
    editor.locator("#clip-form input[name=title]").fill("A new clip")
    editor.locator("#clip-form button").click()
    assert "Clip made" in editor.locator(".said").inner_text()
    card = editor.locator(".card", has_text="A new clip")
    clip_id = int((card.get_attribute("id") or "").removeprefix("clip-"))
    until(editor, lambda: editor.locator(f"#clip-{clip_id} video").count() > 0)

    # Approved for a time (in the campaign's zone; a minute ago, so it may go now).
    approver = signed_in(browser, base, "abdul")
    approver.goto(footage_url)
    wall = datetime.now(ZoneInfo("Asia/Bishkek")) - timedelta(minutes=1)
    card = approver.locator(f"#clip-{clip_id}")
    card.locator("input[name=at]").fill(wall.strftime("%Y-%m-%dT%H:%M"))
    card.locator("form[action$='/approve'] button").click()
    card = approver.locator(f"#clip-{clip_id}")
    assert "Approved by abdul" in card.inner_text()
    assert wall.strftime("%Y-%m-%d %H:%M") in card.inner_text()  # shown in local time
    # The approver cannot sign off their own approval; safeguarding, a second person, does.
    assert card.locator("form[action$='/signoff']").count() == 1
    guard = signed_in(browser, base, "saule")
    guard.goto(footage_url)
    guard.locator(f"#clip-{clip_id} form[action$='/signoff'] button").click()
    assert "Signed off by saule" in guard.locator(f"#clip-{clip_id}").inner_text()

    # Published by the publishing run, to the YouTube stand-in; its link is on the page.
    assert voices("publish")[0] == 0
    editor.goto(f"{base}/publications")
    row = editor.locator("tr", has_text="A new clip")
    assert "published" in row.inner_text()
    link = row.locator("a[href^='http']").get_attribute("href")
    assert link and "youtu" in link
    editor.screenshot(path=str(shots / "publications.en.png"), full_page=True)
    for page, name in (("/audit", "audit"), ("/partners", "partners")):
        editor.goto(f"{base}{page}")
        editor.screenshot(path=str(shots / f"{name}.en.png"), full_page=True)
    assert not [p for p in problems if "Content Security Policy" in p], problems

    # The same pages in Russian, chosen by the browser's language.
    russian = signed_in(browser, base, "edna", locale="ru-RU")
    assert russian.locator("nav a").first.inner_text() == "Записи"
    for page, name in (
        ("/", "footage-list"),
        (footage_url.removeprefix(base), "footage"),
        ("/publications", "publications"),
        ("/audit", "audit"),
        ("/partners", "partners"),
    ):
        russian.goto(f"{base}{page}")
        russian.screenshot(path=str(shots / f"{name}.ru.png"), full_page=True)
        if name == "publications":
            assert "опубликовано" in russian.locator("main").inner_text()
    # On a phone: nothing scrolls sideways but the wide tables, inside their own box.
    phone = signed_in(browser, base, "abdul", locale="ru-RU", width=375)
    for page in ("/", footage_url.removeprefix(base), "/publications", "/audit"):
        phone.goto(f"{base}{page}")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375, page
    phone.goto(footage_url)
    phone.screenshot(path=str(shots / "footage.phone.ru.png"), full_page=True)
    russian.goto(f"{base}/login")
    russian.context.clear_cookies()
    russian.goto(f"{base}/login")
    russian.screenshot(path=str(shots / "login.ru.png"))
