"""A machine translation waits for a person's approval before a public channel: burned into a
video, it blocks YouTube; as a soft track, YouTube does not get it while partners do; a new
translation (its source changed) needs approving again. Real clients against the Google
Translate and YouTube stand-ins."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.channels.fake_telegram import FakeTelegram
from tests.channels.fake_youtube import FakeYouTube
from tests.flows.test_languages import drop
from tests.flows.world import publications
from tests.helpers import status, voices
from tests.subtitles.fake_translate import API_KEY, FakeTranslate

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]


@pytest.fixture
def world(
    isolated_env: Path, channels_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """YouTube (public) and a partners' drop folder; translation into Russian by the stand-in."""
    fake = FakeTranslate().start()
    for name, value in {
        "VOICES_TRANSLATION__PROVIDER": "google",
        "VOICES_TRANSLATION__API_KEY": API_KEY,
        "VOICES_TRANSLATION__API_ENDPOINT": fake.url,
        "VOICES_TRANSLATION__TRANSLATE_TO": '["ru"]',
        "VOICES_CLIPS__MIN_SECONDS": "4",
        "VOICES_CLIPS__MAX_CANDIDATES": "1",
        "VOICES_CLIPS__RENDER": '["vertical", "tv"]',
        "VOICES_TELEGRAM__ENABLED": "false",
        "VOICES_FOLDER__AUDIENCE": "partners",
    }.items():
        monkeypatch.setenv(name, value)
    drop(isolated_env, "address", consent="public")
    try:
        yield {**channels_env, "translate": fake}
    finally:
        fake.stop()


def portal_page() -> str:
    """The partner portal's page, in English, for a new partner."""
    from fastapi.testclient import TestClient

    from catalog.partners import add_partner
    from config import load_settings
    from pipeline.context import open_catalog
    from web.portal import create_app

    settings = load_settings()
    catalog = open_catalog(settings)
    try:
        token = add_partner(catalog, "School 12", by="test")
    finally:
        catalog.close()
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    with TestClient(create_app(settings)) as portal:
        page = portal.get("/", headers=headers)
    assert page.status_code == 200
    return page.text


def test_burned_machine_translation_is_blocked_for_youtube_until_approved(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    youtube: FakeYouTube = world["youtube"]
    telegram: FakeTelegram = world["telegram"]
    monkeypatch.setenv("VOICES_CLIPS__CAPTIONS_BY_PROFILE", '{"vertical": "ru"}')
    monkeypatch.setenv("VOICES_TELEGRAM__ENABLED", "true")  # public too, also sent `vertical`
    assert voices("run")[0] == 0
    [footage] = status()["footage"]
    russian = footage["subtitles"]["ru"]
    assert russian["source"] == "translated" and russian["reviewed_by"] is None
    assert footage["subtitles"]["en"]["reviewed_by"] is None  # its own words: nothing to approve
    [clip] = footage["clips"]
    assert voices("approve", str(clip["id"]))[0] == 0

    code, output = voices("publish")

    assert code == 0, output
    assert youtube.videos == {} and telegram.messages == []
    waiting = publications(clip["id"])
    assert waiting["youtube"]["status"] == "blocked"
    assert waiting["telegram"]["status"] == "blocked"
    command = f"voices translation approve {footage['id']} ru --by NAME"
    assert "machine translation into ru" in waiting["youtube"]["error"]
    assert command in waiting["youtube"]["error"] and russian["srt"] in waiting["youtube"]["error"]
    assert waiting["folder"]["status"] == "published"  # partners may have it as it is
    page = portal_page()  # and the portal says what it is
    assert "Russian (machine translation)" in page and "English (machine" not in page

    code, output = voices("translation", "list", str(footage["id"]))
    assert code == 0 and "translated" in output and "not on public" in output
    code, output = voices("translation", "approve", str(footage["id"]), "ru", "--by", "Айгуль")
    assert code == 0, output
    code, output = voices("publish")

    assert code == 0, output
    [video] = youtube.videos.values()
    assert set(video.captions) == {"en", "ru"}
    assert publications(clip["id"])["youtube"]["status"] == "published"
    # What the channels received is the render with Russian burned in.
    vertical = Path(clip["renders"]["vertical"])
    assert video.data == vertical.read_bytes()
    assert [m.video for m in telegram.messages] == [vertical.read_bytes()]
    assert "ru:" in vertical.with_suffix(".ass").read_text("utf-8")
    [footage] = status()["footage"]
    assert footage["subtitles"]["ru"]["reviewed_by"] == "Айгуль"
    approvals = [a for a in footage["audit"] if a["action"] == "approve_translation"]
    assert [a["actor"] for a in approvals] == ["Айгуль"]
    code, output = voices("translation", "list")
    assert code == 0 and "by Айгуль" in output

    # The source changes (the English track's reading rules, so its cues): translated anew,
    # the approval was of the old text.
    asked = len(world["translate"].requests)
    monkeypatch.setenv("VOICES_SUBTITLES__LANGUAGES", '{"en": {"max_cps": 15}}')
    assert voices("run")[0] == 0
    assert len(world["translate"].requests) > asked
    [footage] = status()["footage"]
    assert footage["subtitles"]["ru"]["source"] == "translated"
    assert footage["subtitles"]["ru"]["reviewed_by"] is None
    code, output = voices("translation", "list")
    assert "Айгуль" not in output and "not on public" in output


def test_youtube_gets_no_caption_track_of_an_unapproved_translation(
    world: dict[str, Any],
) -> None:
    youtube: FakeYouTube = world["youtube"]
    assert voices("run")[0] == 0  # captions burned in its own words (English)
    [footage] = status()["footage"]
    [clip] = footage["clips"]
    assert set(clip["subtitles"]) == {"en", "ru"}
    assert voices("approve", str(clip["id"]))[0] == 0

    code, output = voices("publish")

    assert code == 0, output
    [video] = youtube.videos.values()
    assert set(video.captions) == {"en"}  # no Russian: nobody approved it
    [sent] = world["drop"].glob("*.json")
    files = json.loads(sent.read_text("utf-8"))["files"]
    assert set(files["subtitles"]) == {"en", "ru"}  # partners get both


def test_a_persons_file_and_the_footages_own_words_need_no_approval(
    world: dict[str, Any], tmp_path: Path
) -> None:
    assert voices("run")[0] == 0
    [footage] = status()["footage"]
    code, output = voices("translation", "approve", str(footage["id"]), "en", "--by", "Айгуль")
    assert code == 2 and "no track in 'en'" in output and "voices translation list" in output
    code, output = voices("translation", "approve", str(footage["id"]), "kk", "--by", "Айгуль")
    assert code == 2 and "(its translated tracks: ru)" in output
