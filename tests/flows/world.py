"""A publishing world for flow tests: processed footage with rendered clips (real MP4 bytes,
subtitles) recorded in the catalog without rendering, and the channels' local stand-ins."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog import Catalog
from catalog.models import (
    ClipDraft,
    ClipOutputs,
    NewFootage,
    RenderOutput,
    Sidecar,
    SubtitleFiles,
)
from tests.channels.fake_telegram import TOKEN, FakeTelegram
from tests.channels.fake_youtube import FakeYouTube
from tests.helpers import data, status

ADULT = {"name": "Айгүл", "role": "mother", "consent": "public"}
CHILD = {"name": "Бакыт", "role": "son", "minor": True, "consent": "public"}
SHY = {"name": "Нурлан", "role": "father", "consent": "partners"}


def add_footage(
    catalog: Catalog,
    workspace: Path,
    name: str,
    consent: str,
    people: list[dict[str, Any]],
    source_name: str = "",
    **sidecar_fields: Any,
) -> tuple[int, list[int]]:
    """A processed footage with two rendered clips: real MP4 bytes, subtitles, a thumbnail,
    a partner package; its original in the library."""
    sha = (name.encode().hex() * 64)[:64]
    sidecar = Sidecar.model_validate(
        {"consent": consent, "people": people, "tags": ["family"], "title": name, "language": "ky"}
        | sidecar_fields
    )
    original = workspace / "library" / sha[:2] / sha / "original.mp4"
    original.parent.mkdir(parents=True)
    shutil.copyfile(data("auto_editor_example.mp4"), original)
    footage = catalog.record_footage(
        NewFootage(
            sha256=sha,
            source_name=source_name or f"{name}.mp4",
            status="processed",
            path=original,
            library_path=original,
            sidecar=sidecar,
        )
    )
    drafts = [
        ClipDraft(start_ms=0, end_ms=20_000, text=f"{name} one", title=f"{name} 1"),
        ClipDraft(start_ms=30_000, end_ms=50_000, text=f"{name} two", title=f"{name} 2"),
    ]
    catalog.sync_clips(footage, drafts, "key")
    ids = []
    for clip in catalog.clips_of(footage):
        folder = workspace / "clips" / sha[:12] / str(clip.id)
        folder.mkdir(parents=True)
        video = folder / "vertical.mp4"
        with data("auto_editor_example.mp4").open("rb") as source:
            video.write_bytes(source.read(600_000 + clip.id))  # distinct bytes per clip
        for lang in ("ky", "en"):
            (folder / f"{lang}.srt").write_text(
                f"1\n00:00:00,000 --> 00:00:02,000\n{lang} {clip.id}\n", encoding="utf-8"
            )
            (folder / f"{lang}.vtt").write_text(
                f"WEBVTT\n\n00:00.000 --> 00:02.000\n{lang} {clip.id}\n", encoding="utf-8"
            )
        shutil.copy(video, folder / "tv.mp4")
        renders = {
            p: RenderOutput(
                path=folder / f"{p}.mp4", key="k", width=1080, height=1920, duration_ms=20_000
            )
            for p in ("vertical", "tv")
        }
        subtitles = {
            lang: SubtitleFiles(srt=folder / f"{lang}.srt", vtt=folder / f"{lang}.vtt")
            for lang in ("ky", "en")
        }
        catalog.record_outputs(
            clip.id, ClipOutputs(renders=renders, subtitles=subtitles, thumbnail=None)
        )
        package = workspace / "packages" / sha[:12] / f"{clip.start_ms}-{clip.end_ms}"
        shutil.copytree(folder, package)
        catalog.set_package(clip.id, package)
        ids.append(clip.id)
    return footage, ids


@pytest.fixture
def channels_env(
    monkeypatch: pytest.MonkeyPatch,
    fake_youtube: FakeYouTube,
    youtube_token_file: Path,
    tmp_path: Path,
) -> Iterator[dict[str, Any]]:
    telegram = FakeTelegram().__enter__()
    drop = tmp_path / "tv-drop"
    drop.mkdir()
    for name, value in {
        "VOICES_YOUTUBE__ENABLED": "true",
        "VOICES_YOUTUBE__API_ENDPOINT": fake_youtube.url,
        "VOICES_YOUTUBE__TOKEN_FILE": str(youtube_token_file),
        "VOICES_YOUTUBE__MADE_FOR_KIDS_WITH_MINORS": "true",
        "VOICES_TELEGRAM__ENABLED": "true",
        "VOICES_TELEGRAM__TOKEN": TOKEN,
        "VOICES_TELEGRAM__CHAT_ID": "@voices_test",
        "VOICES_TELEGRAM__BASE_URL": telegram.base_url,
        "VOICES_FOLDER__ENABLED": "true",
        "VOICES_FOLDER__PATH": str(drop),
        # The world's footage is Kyrgyz, whose machine captions are drafts: these tests are
        # about the ledger, so drafts may go out (the draft rule has its own test).
        "VOICES_TRANSCRIPTION__PUBLISH_DRAFTS": "true",
    }.items():
        monkeypatch.setenv(name, value)
    yield {"youtube": fake_youtube, "telegram": telegram, "drop": drop}
    telegram.__exit__(None, None, None)


def publications(clip_id: int) -> dict[str, dict[str, Any]]:
    for footage in status()["footage"]:
        for clip in footage["clips"]:
            if clip["id"] == clip_id:
                return {p["channel"]: p for p in clip["publications"]}
    raise AssertionError(f"no clip {clip_id}")
