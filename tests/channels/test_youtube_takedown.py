"""YouTubeChannel.take_down with the real client against the local YouTube stand-in."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from channels.base import PublishRequest, TakedownRequest
from channels.errors import (
    AuthError,
    QuotaExceededError,
    TakedownRefusedError,
    TransientChannelError,
)
from channels.youtube import YouTubeChannel
from tests.channels.fake_youtube import (
    CLIENT_SECRET,
    FIRST_ACCESS_TOKEN,
    REFRESH_TOKEN,
    UPLOADS_PLAYLIST,
    FakeYouTube,
    Received,
)
from tests.channels.test_youtube import channel

MakeRequest = Callable[..., PublishRequest]
SECRETS = (FIRST_ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET)


def published(youtube: YouTubeChannel, request: PublishRequest) -> TakedownRequest:
    """Publish `request` and give the takedown the ledger would build from the result."""
    result = youtube.publish(request, None, lambda s: None)
    return TakedownRequest(
        clip_id=request.clip_id,
        channel="youtube",
        remote_id=result.remote_id,
        url=result.url,
        marker=request.marker,
    )


def full_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def test_take_down_deletes_the_video_and_again_is_already_gone(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest
) -> None:
    youtube = channel(youtube_service, playlist_id="PLcampaign")
    request = make_request()
    takedown = published(youtube, request)
    video_id = takedown.remote_id

    first = youtube.take_down(takedown)
    again = youtube.take_down(takedown)

    assert first.status == "deleted" and video_id in first.answer
    assert again.status == "already_gone" and "404" in again.answer
    # The stand-in saw both deletes, for that id: 204, then 404 videoNotFound.
    assert fake_youtube.calls("DELETE") == [
        Received("DELETE", "/youtube/v3/videos", {"id": video_id}, 204),
        Received("DELETE", "/youtube/v3/videos", {"id": video_id}, 404),
    ]
    assert video_id not in fake_youtube.videos
    assert video_id not in fake_youtube.playlists[UPLOADS_PLAYLIST]
    assert video_id not in fake_youtube.playlists["PLcampaign"]
    assert youtube.find_existing(request) is None


def test_take_down_without_a_video_id_finds_it_by_marker(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest
) -> None:
    youtube = channel(youtube_service)
    request = make_request(subtitles={}, thumbnail=None)
    takedown = published(youtube, request).model_copy(update={"remote_id": ""})
    (video_id,) = fake_youtube.videos
    fake_youtube.seed_videos(3)  # someone else's, newer: not to be touched

    assert youtube.take_down(takedown).status == "deleted"

    assert [call.query["id"] for call in fake_youtube.calls("DELETE")] == [video_id]
    assert len(fake_youtube.videos) == 3
    gone = youtube.take_down(takedown)
    assert gone.status == "already_gone" and f"ref: {request.marker}" in gone.answer
    assert len(fake_youtube.calls("DELETE")) == 1  # nothing found, nothing deleted


def test_take_down_private_keeps_the_other_status_fields_and_cancels_the_schedule(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest
) -> None:
    at = datetime.now(UTC) + timedelta(days=3)
    request = make_request(publish_at=at, made_for_kids=True, subtitles={}, thumbnail=None)
    takedown = published(channel(youtube_service, privacy="public"), request)
    video = fake_youtube.videos[takedown.remote_id]
    assert (video.status["privacyStatus"], "publishAt" in video.status) == ("private", True)
    youtube = channel(youtube_service, takedown="private")

    result = youtube.take_down(takedown)

    assert result.status == "made_private"
    assert "scheduled publication cancelled" in result.answer
    # One update, with every status field YouTube would otherwise reset, and no publishAt.
    assert fake_youtube.updates == [
        {
            "id": takedown.remote_id,
            "status": {
                "embeddable": True,
                "selfDeclaredMadeForKids": True,
                "privacyStatus": "private",
            },
        }
    ]
    assert [call.status for call in fake_youtube.calls("PUT")] == [200]
    status = fake_youtube.videos[takedown.remote_id].status
    assert status["privacyStatus"] == "private" and "publishAt" not in status
    assert status["selfDeclaredMadeForKids"] is True and status["uploadStatus"] == "uploaded"
    assert not fake_youtube.calls("DELETE")
    # Again: already private, nothing sent; once deleted elsewhere: already gone.
    assert youtube.take_down(takedown).answer.endswith("was already private")
    assert len(fake_youtube.updates) == 1
    channel(youtube_service).take_down(takedown)
    assert youtube.take_down(takedown).status == "already_gone"


def test_take_down_private_of_a_public_video(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest
) -> None:
    request = make_request(subtitles={}, thumbnail=None)
    takedown = published(channel(youtube_service, privacy="public"), request)

    result = channel(youtube_service, takedown="private").take_down(takedown)

    assert (result.status, result.answer) == (
        "made_private",
        f"video {takedown.remote_id} made private (was public)",
    )
    status = fake_youtube.videos[takedown.remote_id].status
    assert (status["privacyStatus"], status["selfDeclaredMadeForKids"]) == ("private", False)


@pytest.mark.parametrize("mode", ["delete", "private"])
def test_quota_stops_the_takedown_and_says_how_to_do_it_by_hand(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest, mode: str
) -> None:
    youtube = channel(youtube_service, privacy="public", takedown=mode)
    takedown = published(youtube, make_request(subtitles={}, thumbnail=None))
    fake_youtube.faults.takedown_error = (403, "quotaExceeded")

    with pytest.raises(QuotaExceededError) as caught:
        youtube.take_down(takedown)

    message = str(caught.value)
    assert caught.value.retry_after is not None and caught.value.retry_after > datetime.now(UTC)
    assert "clip 7" in message and "quota is used up" in message
    assert f"https://studio.youtube.com/video/{takedown.remote_id}/edit" in message
    assert takedown.remote_id in fake_youtube.videos
    assert len(fake_youtube.calls("DELETE" if mode == "delete" else "PUT")) == 1


def test_refused_token_is_an_auth_error_without_secrets(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest
) -> None:
    youtube = channel(youtube_service)
    takedown = published(youtube, make_request(subtitles={}, thumbnail=None))
    fake_youtube.revoke_access_tokens()
    fake_youtube.faults.refresh_fails = True

    with pytest.raises(AuthError) as caught:
        youtube.take_down(takedown)

    assert "voices auth youtube" in str(caught.value) and "clip 7" in str(caught.value)
    for secret in SECRETS:
        assert secret not in full_text(caught.value)
    assert takedown.remote_id in fake_youtube.videos


def test_forbidden_delete_names_the_fix(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest
) -> None:
    youtube = channel(youtube_service)
    takedown = published(youtube, make_request(subtitles={}, thumbnail=None))
    fake_youtube.faults.takedown_error = (403, "forbidden")

    with pytest.raises(AuthError) as caught:
        youtube.take_down(takedown)

    message = str(caught.value)
    assert "403 forbidden" in message and "clip 7" in message
    assert "voices auth youtube" in message and "YouTube Studio" in message
    for secret in SECRETS:
        assert secret not in full_text(caught.value)


def test_an_unexpected_refusal_or_a_wrong_endpoint_is_not_taken_for_gone(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest
) -> None:
    youtube = channel(youtube_service)
    takedown = published(youtube, make_request(subtitles={}, thumbnail=None))

    for status, reason in ((400, "badRequest"), (404, "notFound")):
        fake_youtube.faults.takedown_error = (status, reason)
        with pytest.raises(TakedownRefusedError) as caught:
            youtube.take_down(takedown)
        message = str(caught.value)
        assert f"{status} {reason}" in message and "clip 7" in message
        studio = f"https://studio.youtube.com/video/{takedown.remote_id}/edit"
        assert f"remove it by hand in YouTube Studio: {studio}" in message

    assert takedown.remote_id in fake_youtube.videos


def test_a_failing_backend_is_retried_then_transient(
    fake_youtube: FakeYouTube, youtube_service: Any, make_request: MakeRequest
) -> None:
    sleeps: list[float] = []
    youtube = channel(youtube_service, sleeps)
    takedown = published(youtube, make_request(subtitles={}, thumbnail=None))
    fake_youtube.faults.takedown_error = (503, "backendError")

    with pytest.raises(TransientChannelError) as caught:
        youtube.take_down(takedown)

    assert "retry later" in str(caught.value) and "clip 7" in str(caught.value)
    assert len(fake_youtube.calls("DELETE")) == 4 and len(sleeps) == 3  # num_retries=3
    fake_youtube.faults.takedown_error = None
    assert youtube.take_down(takedown).status == "deleted"
