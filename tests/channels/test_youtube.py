"""YouTubeChannel with the real google-api-python-client against the local YouTube stand-in."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import stat
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from catalog.models import Localization
from channels.base import PublishRequest
from channels.errors import AuthError, QuotaExceededError, TransientChannelError
from channels.token_file import save_token
from channels.youtube import YouTubeChannel, authorize, build_service
from tests.channels.fake_youtube import (
    CHUNK,
    CLIENT_SECRET,
    FIRST_ACCESS_TOKEN,
    REFRESH_TOKEN,
    UPLOADS_PLAYLIST,
    FakeYouTube,
    Put,
)

MakeRequest = Callable[..., PublishRequest]


class Sessions:
    """What the channel hands the ledger through `save_session`, and what had arrived by then."""

    def __init__(self, fake: FakeYouTube) -> None:
        self.fake = fake
        self.saved: list[dict[str, Any]] = []
        self.puts_when_saved: list[int] = []

    def __call__(self, session: dict[str, Any]) -> None:
        self.saved.append(dict(session))
        self.puts_when_saved.append(len(self.fake.puts))


def channel(service: Any, sleeps: list[float] | None = None, **options: Any) -> YouTubeChannel:
    record = sleeps if sleeps is not None else []
    return YouTubeChannel(service, chunk_size=CHUNK, num_retries=3, sleep=record.append, **options)


def only_video(fake: FakeYouTube, source: Path) -> str:
    """Exactly one video arrived, byte for byte the source; its id."""
    assert len(fake.videos) == 1
    (video,) = fake.videos.values()
    assert video.data == source.read_bytes()
    return video.id


def chunk_puts(fake: FakeYouTube, outcome: str | None = None) -> list[Put]:
    return [p for p in fake.puts if p.start is not None and outcome in (None, p.outcome)]


def test_publish_uploads_one_video_with_captions_thumbnail_and_playlist(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest
) -> None:
    request = make_request()
    sessions = Sessions(fake_youtube)

    result = channel(youtube_service, playlist_id="PLcampaign").publish(request, None, sessions)

    video_id = only_video(fake_youtube, request.video)
    assert (result.remote_id, result.status) == (video_id, "published")
    assert result.url == f"https://youtu.be/{video_id}"
    video = fake_youtube.videos[video_id]
    assert video.snippet["title"] == request.title
    assert video.snippet["description"].splitlines()[-1] == f"ref: {request.marker}"
    assert video.snippet["tags"] == ["voices", "интервью"]
    assert video.snippet["categoryId"] == "29"
    assert video.snippet["defaultLanguage"] == video.snippet["defaultAudioLanguage"] == "ru"
    assert video.status["privacyStatus"] == "private"
    assert video.status["selfDeclaredMadeForKids"] is False
    assert "publishAt" not in video.status
    assert video.params["notifySubscribers"] == "false"
    assert set(video.captions) == {"ru", "en"}
    ru_snippet, ru_content = video.captions["ru"]
    assert ru_content == request.subtitles["ru"].srt.read_bytes()
    assert (ru_snippet["videoId"], ru_snippet["name"]) == (video_id, "Русский")
    assert video.captions["en"][1] == request.subtitles["en"].vtt.read_bytes()
    assert request.thumbnail is not None
    assert video.thumbnail == request.thumbnail.read_bytes()
    assert fake_youtube.playlists["PLcampaign"] == [video_id]
    # The session URL reached the ledger before a single byte of the video was sent.
    first = sessions.saved[0]
    assert first["progress"] == 0 and "upload_id=" in first["resumable_uri"]
    assert sessions.puts_when_saved[0] == 0
    assert [p.start for p in chunk_puts(fake_youtube)] == [0, CHUNK, 2 * CHUNK]
    assert sessions.saved[-1]["video_id"] == video_id
    assert sessions.saved[-1]["done"] == ["caption:en", "caption:ru", "playlist", "thumbnail"]


def test_scheduled_clip_is_private_with_publish_at_and_made_for_kids(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest
) -> None:
    at = datetime(2030, 1, 2, 9, 4, 5, tzinfo=ZoneInfo("Asia/Bishkek"))  # 03:04:05 UTC
    request = make_request(publish_at=at, made_for_kids=True, subtitles={}, thumbnail=None)

    result = channel(youtube_service, privacy="public").publish(request, None, lambda s: None)

    video = fake_youtube.videos[only_video(fake_youtube, request.video)]
    assert result.status == "scheduled"
    assert video.status["privacyStatus"] == "private"
    assert video.status["publishAt"] == "2030-01-02T03:04:05Z"
    assert video.status["selfDeclaredMadeForKids"] is True
    assert channel(youtube_service).find_existing(request) == result


@pytest.mark.parametrize("privacy", ["private", "unlisted"])
def test_scheduled_clip_is_never_made_public_unless_privacy_is_public(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest, privacy: str
) -> None:
    # publishAt makes a video public at that time: with privacy private or unlisted the clip
    # goes up as configured, without it, and the ledger holds it until its time instead.
    at = datetime(2030, 1, 2, 9, 4, 5, tzinfo=ZoneInfo("Asia/Bishkek"))
    request = make_request(publish_at=at, subtitles={}, thumbnail=None)
    youtube = channel(youtube_service, privacy=privacy)

    result = youtube.publish(request, None, lambda s: None)

    assert youtube.schedules_remotely is False
    assert channel(youtube_service, privacy="public").schedules_remotely is True
    (session,) = fake_youtube.sessions.values()
    assert session.metadata["status"]["privacyStatus"] == privacy  # as the stand-in received it
    assert "publishAt" not in session.metadata["status"]
    video = fake_youtube.videos[only_video(fake_youtube, request.video)]
    assert video.status["privacyStatus"] == privacy and "publishAt" not in video.status
    assert result.status == "published"


@pytest.mark.parametrize("session", [None, {}])
def test_a_publication_reset_without_its_session_is_not_uploaded_again(
    fake_youtube: FakeYouTube,
    youtube_service: Any,
    make_request: MakeRequest,
    session: dict[str, Any] | None,
) -> None:
    # `voices resolve --resend` resets the ledger row (session {}): the clip is found by its
    # marker in the channel's uploads instead of going up a second time.
    request = make_request(subtitles={}, thumbnail=None)
    youtube = channel(youtube_service)
    first = youtube.publish(request, None, lambda s: None)
    fake_youtube.seed_videos(60)  # newer uploads: the clip is on the second page
    puts = len(fake_youtube.puts)

    again = youtube.publish(request, session, lambda s: None)

    assert again == first
    assert len(fake_youtube.sessions) == 1 and len(fake_youtube.puts) == puts
    assert [v for v in fake_youtube.videos.values() if v.data] == [
        fake_youtube.videos[first.remote_id]
    ]


def test_metadata_is_brought_within_youtube_limits(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest
) -> None:
    description = "<b>Голос</b> " + "Длинное описание клипа. " * 250  # ~12,000 bytes
    request = make_request(
        title="Я" * 95 + " <ok>",  # 101 characters
        description=description,
        tags=("a<b>", "with space", "voices", *(f"tag-{i:05d}" for i in range(60))),
        subtitles={},
        thumbnail=None,
    )

    channel(youtube_service).publish(request, None, lambda s: None)

    snippet = fake_youtube.videos[only_video(fake_youtube, request.video)].snippet
    assert len(snippet["title"]) == 100
    text, marker_line = snippet["description"].rsplit("\n\n", 1)
    assert len(snippet["description"].encode("utf-8")) <= 5000
    assert marker_line == f"ref: {request.marker}"
    kept = text.removesuffix("…")
    cleaned = description.replace("<", "‹").replace(">", "›")
    assert cleaned.startswith(kept) and len(kept) > 2000  # cut at a character boundary
    tags = snippet["tags"]
    assert tags[:3] == ["a‹b›", "with space", "voices"] and len(tags) < 63
    assert sum(len(t) + 2 * (" " in t) for t in tags) + len(tags) - 1 <= 500  # commas count
    for value in (snippet["title"], snippet["description"], *snippet["tags"]):
        assert "<" not in value and ">" not in value


def test_localizations_go_up_with_the_default_language(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest
) -> None:
    """Title and description per language reach YouTube as the video's `localizations`
    (named in `part`, beside `snippet.defaultLanguage`), within the same limits."""
    request = make_request(
        language="ky",
        localizations={
            "ru": Localization(title="Голос матери", description="Интервью <полное>"),
            "en": Localization(title="A mother's voice " + "x" * 100, description=""),
            "ky": Localization(title="its own language: not a localization"),
        },
        subtitles={},
        thumbnail=None,
    )

    channel(youtube_service).publish(request, None, lambda s: None)

    [session] = fake_youtube.sessions.values()
    assert set(session.params["part"].split(",")) == {"snippet", "status", "localizations"}
    video = fake_youtube.videos[only_video(fake_youtube, request.video)]
    assert video.snippet["defaultLanguage"] == "ky"
    assert video.localizations == {
        "ru": {"title": "Голос матери", "description": "Интервью ‹полное›"},
        "en": {"title": ("A mother's voice " + "x" * 100)[:99] + "…", "description": ""},
    }
    assert video.resource()["localizations"] == video.localizations


def test_without_a_language_no_localizations_are_sent(
    fake_youtube: FakeYouTube,
    youtube_service: Any,
    make_request: MakeRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    request = make_request(
        language=None,
        localizations={"ru": Localization(title="Голос")},
        subtitles={},
        thumbnail=None,
    )

    channel(youtube_service).publish(request, None, lambda s: None)

    [session] = fake_youtube.sessions.values()
    assert session.params["part"] == "snippet,status" and "localizations" not in session.metadata
    assert fake_youtube.videos[only_video(fake_youtube, request.video)].localizations == {}
    assert "YouTube needs the default language first" in caplog.text


def test_chunk_answered_503_is_retried_and_completes_once(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest
) -> None:
    fake_youtube.faults.chunk_503 = {2}
    sleeps: list[float] = []
    request = make_request(subtitles={}, thumbnail=None)

    channel(youtube_service, sleeps).publish(request, None, lambda s: None)

    only_video(fake_youtube, request.video)
    assert [(p.start, p.outcome) for p in chunk_puts(fake_youtube)] == [
        (0, "committed"),
        (CHUNK, "503"),
        (CHUNK, "committed"),
        (2 * CHUNK, "complete"),
    ]
    assert len(sleeps) == 1  # the library's own backoff, through the injected sleep


def test_connection_dropped_mid_chunk_resumes_and_completes_once(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest
) -> None:
    fake_youtube.faults.chunk_drop = {2}
    request = make_request(subtitles={}, thumbnail=None)

    channel(youtube_service).publish(request, None, lambda s: None)

    only_video(fake_youtube, request.video)
    dropped = chunk_puts(fake_youtube, "dropped")
    assert [p.start for p in dropped] == [CHUNK]
    committed = [p.start for p in chunk_puts(fake_youtube) if p.outcome != "dropped"]
    assert committed == [0, CHUNK, 2 * CHUNK]


def _publish_in_child(token_file: Path, url: str, request_json: str, session_file: Path) -> None:
    """The first attempt, in a process the test kills mid-upload."""
    service = build_service(token_file, url, token_uri=f"{url}token")
    request = PublishRequest.model_validate_json(request_json)

    def save(session: dict[str, Any]) -> None:
        part = session_file.with_suffix(".part")
        part.write_text(json.dumps(session), encoding="utf-8")
        os.replace(part, session_file)

    channel(service).publish(request, None, save)


def test_killed_upload_resumes_from_the_servers_offset(
    fake_youtube: FakeYouTube,
    youtube_service: Any,
    youtube_token_file: Path,
    make_request: MakeRequest,
    tmp_path: Path,
) -> None:
    request = make_request(subtitles={}, thumbnail=None)
    session_file = tmp_path / "session.json"
    fake_youtube.faults.chunk_hang = 2  # the second chunk never gets an answer
    args = (youtube_token_file, fake_youtube.url, request.model_dump_json(), session_file)
    child = multiprocessing.get_context("fork").Process(target=_publish_in_child, args=args)
    child.start()
    try:
        assert fake_youtube.hung.wait(timeout=30)
    finally:
        child.kill()
        child.join()
        child.close()
    fake_youtube.release_hang()
    saved = json.loads(session_file.read_text(encoding="utf-8"))
    upload_id = urllib.parse.parse_qs(urllib.parse.urlsplit(saved["resumable_uri"]).query)
    committed = fake_youtube.committed(upload_id["upload_id"][0])
    assert committed == saved["progress"] == CHUNK and not fake_youtube.videos
    before = len(fake_youtube.puts)

    result = channel(youtube_service).publish(request, saved, lambda s: None)

    assert result.remote_id == only_video(fake_youtube, request.video)
    second = fake_youtube.puts[before:]
    assert second[0].outcome == "query"  # Content-Range: bytes */TOTAL
    assert [p.start for p in second[1:]] == [committed, 2 * CHUNK]
    spans = [(p.start, p.end) for p in fake_youtube.puts if p.outcome in ("committed", "complete")]
    assert spans == [(0, CHUNK - 1), (CHUNK, 2 * CHUNK - 1), (2 * CHUNK, 699_999)]


def test_expired_token_is_refreshed_and_saved_0600(
    fake_youtube: FakeYouTube, youtube_token_file: Path, make_request: MakeRequest
) -> None:
    stored = json.loads(youtube_token_file.read_text(encoding="utf-8"))
    youtube_token_file.write_text(json.dumps({**stored, "expiry": "2020-01-01T00:00:00Z"}))

    # Expired in the file: refreshed (through the fake's token endpoint) before anything else.
    service = build_service(youtube_token_file, fake_youtube.url, token_uri=fake_youtube.token_uri)
    try:
        after_build = json.loads(youtube_token_file.read_text(encoding="utf-8"))
        assert after_build["token"] == "ya29.fake-access-1"
        fake_youtube.revoke_access_tokens()  # the server now answers 401 to that token too
        request = make_request(subtitles={}, thumbnail=None)
        channel(service).publish(request, None, lambda s: None)
    finally:
        service.close()

    only_video(fake_youtube, request.video)
    assert fake_youtube.refreshes == 2
    saved = json.loads(youtube_token_file.read_text(encoding="utf-8"))
    assert saved["token"] == "ya29.fake-access-2"
    assert saved["refresh_token"] == REFRESH_TOKEN
    assert stat.S_IMODE(youtube_token_file.stat().st_mode) == 0o600


def test_refused_refresh_is_an_auth_error_without_secrets(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest
) -> None:
    fake_youtube.revoke_access_tokens()
    fake_youtube.faults.refresh_fails = True  # invalid_grant: consent revoked or expired

    with pytest.raises(AuthError) as caught:
        channel(youtube_service).publish(make_request(), None, lambda s: None)

    message = str(caught.value)
    assert "voices auth youtube" in message and "clip 7" in message
    for secret in (FIRST_ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET):
        assert secret not in message
    assert not fake_youtube.videos


def test_quota_exceeded_stops_until_pacific_midnight(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest
) -> None:
    fake_youtube.faults.quota_on_insert = True
    sessions = Sessions(fake_youtube)

    with pytest.raises(QuotaExceededError) as caught:
        channel(youtube_service).publish(make_request(), None, sessions)

    retry_after = caught.value.retry_after
    assert retry_after is not None and retry_after > datetime.now(UTC)
    pacific = retry_after.astimezone(ZoneInfo("America/Los_Angeles"))
    assert (pacific.hour, pacific.minute) == (0, 0)
    assert "quota" in str(caught.value)
    assert not fake_youtube.videos and not sessions.saved


def test_lost_answer_is_found_again_by_marker(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest
) -> None:
    fake_youtube.faults.lose_answer = True
    request = make_request(subtitles={}, thumbnail=None)
    youtube = channel(youtube_service)

    with pytest.raises(TransientChannelError):
        youtube.publish(request, None, lambda s: None)

    video_id = only_video(fake_youtube, request.video)
    fake_youtube.seed_videos(120)  # newer uploads: the clip is on the third page now
    found = youtube.find_existing(request)
    assert found is not None and found.remote_id == video_id
    assert youtube.find_existing(make_request(marker="voices-clip-8-youtube-0000")) is None
    assert fake_youtube.playlists[UPLOADS_PLAYLIST][120] == video_id


def test_thumbnail_refused_leaves_the_video_published(
    fake_youtube: FakeYouTube,
    youtube_service: Any,
    make_request: MakeRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_youtube.faults.thumbnail_forbidden = True
    request = make_request(subtitles={})

    with caplog.at_level(logging.WARNING, logger="channels.youtube"):
        result = channel(youtube_service).publish(request, None, lambda s: None)

    assert result.remote_id == only_video(fake_youtube, request.video)
    assert fake_youtube.videos[result.remote_id].thumbnail is None
    assert "thumbnail refused (403 forbidden)" in caplog.text


def test_authorize_stores_the_consented_token_0600(
    fake_youtube: FakeYouTube, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = tmp_path / "client_secret.json"
    installed = {
        "client_id": "fake-client.apps.googleusercontent.com",
        "client_secret": CLIENT_SECRET,
        "auth_uri": f"{fake_youtube.url}auth",
        "token_uri": fake_youtube.token_uri,
        "redirect_uris": ["http://localhost"],
    }
    secrets.write_text(json.dumps({"installed": installed}), encoding="utf-8")
    token_file = tmp_path / "secrets" / "youtube-token.json"
    errors: list[BaseException] = []

    def run() -> None:
        try:
            authorize(secrets, token_file, open_browser=False)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    with caplog.at_level(logging.INFO, logger="google_auth_oauthlib.flow"):
        worker = threading.Thread(target=run)
        worker.start()
        consent_url = _wait_for_consent_url(caplog, worker)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(consent_url).query)
        answer = urllib.parse.urlencode({"state": query["state"][0], "code": "4/fake-code"})
        # The browser, after consent, lands on the flow's local server.
        with urllib.request.urlopen(f"{query['redirect_uri'][0]}?{answer}", timeout=10) as page:
            assert page.status == 200
        worker.join(timeout=30)

    assert not errors and query["prompt"] == ["consent"]
    saved = json.loads(token_file.read_text(encoding="utf-8"))
    assert saved["refresh_token"] == REFRESH_TOKEN
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


def _wait_for_consent_url(caplog: pytest.LogCaptureFixture, worker: threading.Thread) -> str:
    for _ in range(200):
        for record in caplog.records:
            if "https://" in record.getMessage():
                return record.getMessage().split()[-1]
        worker.join(timeout=0.05)
    raise AssertionError("authorize never showed a consent URL")


def test_save_token_keeps_the_refresh_token(tmp_path: Path) -> None:
    token_file = tmp_path / "token.json"
    save_token(token_file, {"token": "a", "refresh_token": "r"})
    save_token(token_file, {"token": "b", "refresh_token": None})

    assert json.loads(token_file.read_text(encoding="utf-8")) == {
        "token": "b",
        "refresh_token": "r",
    }
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
