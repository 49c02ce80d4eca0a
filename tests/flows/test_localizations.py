"""A clip's title and description in other languages: set by a person, or machine translated
at their request (Google Translate stand-in), and sent to the YouTube stand-in as the video's
localizations beside its default language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config import load_settings
from pipeline.context import open_catalog
from tests.channels.fake_youtube import FakeYouTube
from tests.flows.world import ADULT, add_footage
from tests.helpers import status, voices
from tests.subtitles.fake_translate import API_KEY, FakeTranslate, fake_translation

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_titles_per_language_reach_youtube_as_localizations(
    isolated_env: Path, channels_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    youtube: FakeYouTube = channels_env["youtube"]
    monkeypatch.setenv("VOICES_TELEGRAM__ENABLED", "false")
    monkeypatch.setenv("VOICES_FOLDER__ENABLED", "false")
    catalog = open_catalog(load_settings())
    try:
        footage, (clip, _) = add_footage(catalog, isolated_env, "mother", "public", [ADULT])
        catalog.set_language(footage, "ky")
        catalog.edit_clip(clip, "staff", description="Апам жөнүндө.")
    finally:
        catalog.close()
    code, output = voices(
        "edit", str(clip), "--language", "ru", "--title", "Голос матери",
        "--description", "О маме.",
    )  # fmt: skip
    assert code == 0, output
    code, output = voices("edit", str(clip), "--language", "ky", "--title", "Энемдин үнү")
    assert code == 2 and "in ky already" in output  # its own language: edit the clip itself
    translate = FakeTranslate().start()
    try:
        monkeypatch.setenv("VOICES_TRANSLATION__PROVIDER", "google")
        monkeypatch.setenv("VOICES_TRANSLATION__API_KEY", API_KEY)
        monkeypatch.setenv("VOICES_TRANSLATION__API_ENDPOINT", translate.url)
        code, output = voices("edit", str(clip), "--translate", "en")
    finally:
        translate.stop()
    assert code == 0, output
    english = {
        "title": fake_translation("mother 1", "en"),
        "description": fake_translation("Апам жөнүндө.", "en"),
    }
    assert english["title"] in output and english["description"] in output  # seen by the person
    [request] = translate.requests
    assert (request.source, request.target) == ("ky", "en")
    [clip_report] = [c for c in status()["footage"][0]["clips"] if c["id"] == clip]
    russian = {"title": "Голос матери", "description": "О маме."}
    assert clip_report["localizations"] == {"en": english, "ru": russian}

    assert voices("approve", str(clip))[0] == 0
    code, output = voices("publish")

    assert code == 0, output
    [video] = youtube.videos.values()
    assert video.snippet["title"] == "mother 1" and video.snippet["defaultLanguage"] == "ky"
    assert video.localizations == {"en": english, "ru": russian}
    assert "localizations" in video.params["part"].split(",")
