"""`voices approve` and `voices publish` end to end: consent gates, the ledger, real clients
against local stand-ins of YouTube and Telegram, and a folder channel."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from catalog.ledger import mark_uploading, publication
from config import load_settings
from flows.locks import Busy, exclusive
from flows.publish import PUBLISH_LIMIT, publish_flow
from pipeline.context import open_catalog
from tests.channels.fake_telegram import FakeTelegram
from tests.channels.fake_youtube import FakeYouTube
from tests.flows.world import ADULT, CHILD, SHY, add_footage, publications
from tests.helpers import data, status, voices

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_only_approved_consented_clips_are_published_once(
    isolated_env: Path, channels_env: dict[str, Any]
) -> None:
    youtube: FakeYouTube = channels_env["youtube"]
    telegram: FakeTelegram = channels_env["telegram"]
    catalog = open_catalog(load_settings())
    try:
        _, (public, unapproved) = add_footage(catalog, isolated_env, "public", "public", [ADULT])
        _, (shy, _) = add_footage(catalog, isolated_env, "shy", "public", [ADULT, SHY])
        _, (internal, _) = add_footage(catalog, isolated_env, "internal", "internal", [])
        _, (kids, later) = add_footage(catalog, isolated_env, "kids", "public", [ADULT, CHILD])
        renders = {
            c: catalog.clip(c).renders["vertical"].path.read_bytes() for c in (public, kids, later)
        }
    finally:
        catalog.close()
    assert voices("approve", str(public), str(shy), str(internal), str(kids))[0] == 0
    at = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    assert voices("approve", str(later), "--at", at.isoformat())[0] == 0

    code, output = voices("publish")
    assert code == 0, output
    # A clip showing a minor waits for a second, named approval by someone else.
    assert {v.snippet["title"] for v in youtube.videos.values()} == {"public 1"}
    waiting = publications(kids)["youtube"]
    assert waiting["status"] == "blocked" and "safeguarding sign-off" in waiting["error"]
    code, output = voices("signoff", str(kids), str(later), "--by", "root")
    assert code == 1 and "must come from someone else" in output  # root approved them
    assert voices("signoff", str(kids), str(later), "--by", "Гульнара")[0] == 0

    code, output = voices("publish")

    assert code == 0, output
    uploads = {v.snippet["title"]: v for v in youtube.videos.values()}
    # The clip approved for later waits in the ledger: with `youtube.privacy: private` a
    # YouTube publishAt would make it public at that time (see the channel's own tests).
    assert sorted(uploads) == ["kids 1", "public 1"]
    assert uploads["public 1"].data == renders[public]
    assert set(uploads["public 1"].captions) == {"ky", "en"}
    assert uploads["public 1"].status["selfDeclaredMadeForKids"] is False
    assert uploads["kids 1"].status["selfDeclaredMadeForKids"] is True
    assert sorted(m.video for m in telegram.messages) == sorted([renders[public], renders[kids]])
    assert len(list(channels_env["drop"].glob("*.mp4"))) == 2  # not the one scheduled later

    report = publications(public)
    assert {report[c]["status"] for c in ("youtube", "telegram", "folder")} == {"published"}
    assert report["youtube"]["remote_id"] in youtube.videos
    assert report["youtube"]["url"].endswith(report["youtube"]["remote_id"])
    assert publications(later) == {}  # waits for its time on every channel
    blocked = publications(shy)["youtube"]
    assert blocked["status"] == "blocked" and "Нурлан (father)" in blocked["error"]
    assert publications(internal)["telegram"]["status"] == "blocked"
    assert publications(unapproved) == {}

    code, output = voices("publish")  # nothing new: nothing is uploaded again
    assert code == 0, output
    assert len(youtube.videos) == 2 and len(telegram.messages) == 2


def test_a_crash_mid_upload_is_settled_by_asking_or_by_a_person(
    isolated_env: Path, channels_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    youtube: FakeYouTube = channels_env["youtube"]
    telegram: FakeTelegram = channels_env["telegram"]
    monkeypatch.setenv("VOICES_FOLDER__ENABLED", "false")
    catalog = open_catalog(load_settings())
    try:
        _, (clip, second) = add_footage(catalog, isolated_env, "crash", "public", [ADULT])
        assert voices("approve", str(clip), str(second))[0] == 0
        # The process was killed mid-call on both channels: YouTube had stored the video,
        # Telegram may or may not have posted it. The ledger says "uploading" for both.
        for channel in ("youtube", "telegram"):
            record = publication(catalog, clip, channel)
            assert mark_uploading(catalog, record) is not None
        youtube_marker = publication(catalog, clip, "youtube").marker
        youtube.seed_videos(1, description=f"earlier upload\n\nref: {youtube_marker}")
        [seeded] = youtube.videos
    finally:
        catalog.close()
    youtube.faults.quota_on_insert = True  # and today's YouTube quota is spent

    code, output = voices("publish")

    assert code == 1 and "quota" in output.lower()
    assert list(youtube.videos) == [seeded]  # found by its marker, not uploaded again
    found = publications(clip)["youtube"]
    assert found["status"] == "published" and found["remote_id"] == seeded
    failed = publications(second)["youtube"]
    assert failed["status"] == "failed" and "quota" in failed["error"].lower()
    # Telegram cannot be asked: the clip waits for a person instead of a second post...
    assert publications(clip)["telegram"]["status"] == "unconfirmed"
    # ...while YouTube's quota does not stop Telegram for the other clip.
    assert publications(second)["telegram"]["status"] == "published"
    assert len(telegram.messages) == 1

    code, output = voices("resolve", str(clip), "youtube", "--resend")
    assert code == 2 and "published" in output  # a published clip is never sent again
    code, output = voices("resolve", str(clip), "telegrm", "--posted")
    assert code == 2 and "no publication" in output
    assert "telegrm" not in publications(clip)  # a typo leaves no row behind
    assert voices("resolve", str(clip), "telegram", "--resend")[0] == 0
    assert voices("publish")[0] == 1  # YouTube still over quota for the second clip
    assert publications(clip)["telegram"]["status"] == "published"
    assert len(telegram.messages) == 2


def test_status_json_keeps_its_shape(isolated_env: Path) -> None:
    catalog = open_catalog(load_settings())
    try:
        add_footage(catalog, isolated_env, "shape", "public", [ADULT])
    finally:
        catalog.close()
    report = status()
    # Which catalog it reads, never with a password in it.
    assert report["catalog"] == f"sqlite:///{isolated_env / 'catalog.sqlite'}"
    [footage] = report["footage"]
    assert {
        "id",
        "source_name",
        "status",
        "error",
        "language",
        "duration",
        "transcript",
        "subtitles",
        "clips",
    } <= set(footage)
    clip = footage["clips"][0]
    assert {
        "id",
        "start",
        "end",
        "text",
        "title",
        "status",
        "renders",
        "thumbnail",
        "subtitles",
        "package",
        "publications",
        "downloads",
    } <= set(clip)
    assert set(clip["renders"]) == {"vertical", "tv"}  # not an empty dict that passes `all`
    for path in clip["renders"].values():  # absolute, in the workspace as mounted now
        assert Path(path).is_absolute() and Path(path).is_relative_to(isolated_env)
        assert Path(path).is_file()


def test_a_lost_telegram_answer_waits_for_a_person(
    isolated_env: Path, channels_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    telegram: FakeTelegram = channels_env["telegram"]
    for name in ("YOUTUBE", "FOLDER"):
        monkeypatch.setenv(f"VOICES_{name}__ENABLED", "false")
    catalog = open_catalog(load_settings())
    try:
        _, (clip, _) = add_footage(catalog, isolated_env, "lost", "public", [ADULT])
    finally:
        catalog.close()
    assert voices("approve", str(clip))[0] == 0
    telegram.faults = {1: "drop"}  # Telegram posts it, the answer never arrives

    code, output = voices("publish")
    assert code == 1, output
    assert publications(clip)["telegram"]["status"] == "unconfirmed"
    code, output = voices("publish")  # not sent again on its own; still asks for a person
    assert code == 1 and "ref: vc" in output
    assert len(telegram.messages) == 1 and publications(clip)["telegram"]["status"] == "unconfirmed"

    code, output = voices(
        "resolve", str(clip), "telegram", "--posted", "--url", "https://t.me/voices_test/101"
    )
    assert code == 0 and "ref: vc" in output
    done = publications(clip)["telegram"]
    assert done["status"] == "published" and done["url"] == "https://t.me/voices_test/101"
    assert voices("publish")[0] == 0 and len(telegram.messages) == 1


def test_check_reports_each_channel(
    isolated_env: Path, channels_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = voices("check")
    assert code == 0, output
    assert "youtube: voices test channel" in output
    assert "telegram:" in output and str(channels_env["drop"]) in output

    monkeypatch.setenv("VOICES_TELEGRAM__TOKEN", "123:wrong-token-value")
    monkeypatch.setenv("VOICES_FOLDER__PATH", str(isolated_env / "unmounted"))
    code, output = voices("check")
    assert code == 1
    assert "problem" in output and "wrong-token-value" not in output
    assert "mounted" in output


def test_a_second_publisher_steps_aside(isolated_env: Path, channels_env: dict[str, Any]) -> None:
    catalog = open_catalog(load_settings())
    try:
        _, (clip, _) = add_footage(catalog, isolated_env, "busy", "public", [ADULT])
    finally:
        catalog.close()
    assert voices("approve", str(clip))[0] == 0

    with exclusive(isolated_env, "publish"):  # another `voices publish` is at work
        code, output = voices("publish")
        assert code == 0 and "another 'publish' run" in output
        with pytest.raises(Busy), exclusive(isolated_env, "publish"):
            pass
        state = publish_flow(str(isolated_env), return_state=True)
    assert not channels_env["youtube"].videos and not channels_env["telegram"].messages
    # Its run must not look like one that did the work (issue 14).
    assert state.name == "Skipped" and "another 'publish' run" in (state.message or "")
    assert state.result().skipped

    assert voices("publish")[0] == 0
    assert len(channels_env["youtube"].videos) == 1
    done = publish_flow(str(isolated_env), return_state=True)
    assert done.name == "Completed" and not done.result().skipped


def test_telegram_gets_a_smaller_copy_when_the_render_is_over_its_limit(
    isolated_env: Path, channels_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    telegram: FakeTelegram = channels_env["telegram"]
    for name in ("YOUTUBE", "FOLDER"):
        monkeypatch.setenv(f"VOICES_{name}__ENABLED", "false")
    monkeypatch.setenv("VOICES_TELEGRAM__MAX_UPLOAD_MB", "2.5")
    catalog = open_catalog(load_settings())
    try:
        _, (clip, _) = add_footage(catalog, isolated_env, "big", "public", [ADULT])
        render = catalog.clip(clip).renders["vertical"].path
        shutil.copy(data("auto_editor_example.mp4"), render)  # a whole 3 MB video
    finally:
        catalog.close()
    assert voices("approve", str(clip))[0] == 0

    code, output = voices("publish")

    assert code == 0, output
    [message] = telegram.messages
    assert len(message.video) <= 2_500_000
    assert message.video == render.with_name("vertical.telegram.mp4").read_bytes()
    assert render.stat().st_size > 2_500_000  # the render itself is untouched


def test_rejecting_a_scheduled_clip_says_it_is_still_scheduled_there(
    isolated_env: Path, channels_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TELEGRAM", "FOLDER"):
        monkeypatch.setenv(f"VOICES_{name}__ENABLED", "false")
    monkeypatch.setenv("VOICES_YOUTUBE__PRIVACY", "public")  # YouTube keeps the time itself
    catalog = open_catalog(load_settings())
    try:
        _, (clip, _) = add_footage(catalog, isolated_env, "later", "public", [ADULT])
    finally:
        catalog.close()
    at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    assert voices("approve", str(clip), "--at", at.isoformat())[0] == 0
    assert voices("publish")[0] == 0

    code, output = voices("reject", str(clip))

    assert code == 0 and "still scheduled on youtube" in output and "take it down" in output
    assert voices("publish")[0] == 0 and len(channels_env["youtube"].videos) == 1


def test_a_correction_after_publishing_replaces_the_caption_tracks(
    isolated_env: Path, channels_env: dict[str, Any]
) -> None:
    youtube: FakeYouTube = channels_env["youtube"]
    catalog = open_catalog(load_settings())
    try:
        _, (clip, _) = add_footage(catalog, isolated_env, "public", "public", [ADULT])
        files = catalog.clip(clip).subtitles
    finally:
        catalog.close()
    assert voices("approve", str(clip))[0] == 0
    assert voices("publish")[0] == 0
    [video] = youtube.videos.values()
    first = {language: media for language, (_, media) in video.captions.items()}
    assert set(first) == {"ky", "en"}

    # A person corrects the Kyrgyz words; the run that follows writes the clip's captions anew.
    corrected = "1\n00:00:00,000 --> 00:00:02,000\nтууралган сөз\n"
    files["ky"].srt.write_text(corrected, encoding="utf-8")
    code, output = voices("publish")
    assert code == 0, output

    [(_, language)] = youtube.caption_updates  # one track replaced in place, no new upload
    assert language == "ky"
    assert video.captions["ky"][1] == corrected.encode()
    assert video.captions["en"][1] == first["en"]
    assert len(youtube.videos) == 1 and len(video.caption_ids) == 2
    assert voices("publish")[0] == 0  # nothing changed since: nothing sent again
    assert len(youtube.caption_updates) == 1


def test_a_run_steps_aside_while_another_machine_holds_the_publish_limit(
    isolated_env: Path, channels_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Machines with no lock file in common share the Prefect API: its global concurrency
    limit lets one publishing run through at a time, and a run frees its slot when done."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )

    telegram: FakeTelegram = channels_env["telegram"]
    for name in ("YOUTUBE", "FOLDER"):
        monkeypatch.setenv(f"VOICES_{name}__ENABLED", "false")
    catalog = open_catalog(load_settings())
    try:
        _, (clip, _) = add_footage(catalog, isolated_env, "limit", "public", [ADULT])
    finally:
        catalog.close()
    assert voices("approve", str(clip))[0] == 0
    with get_client(sync_client=True) as client:
        # Another machine's run holds the only slot.
        client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=PUBLISH_LIMIT, limit=1, active_slots=1)
        )
        try:
            code, output = voices("publish")
            assert code == 0 and PUBLISH_LIMIT in output, output
            assert telegram.messages == [] and publications(clip) == {}  # not even looked at

            update = GlobalConcurrencyLimitUpdate(active_slots=0)  # that run ended
            client.update_global_concurrency_limit(PUBLISH_LIMIT, update)
            code, output = voices("publish")

            assert code == 0, output
            assert len(telegram.messages) == 1
            assert client.read_global_concurrency_limit_by_name(PUBLISH_LIMIT).active_slots == 0
        finally:
            client.delete_global_concurrency_limit_by_name(PUBLISH_LIMIT)
