"""TelegramChannel against a local Bot API stand-in over real HTTP: no mocked client."""

from __future__ import annotations

import logging
import socket
import time
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from channels.base import PublishRequest
from channels.errors import (
    AuthError,
    InvalidRequestError,
    QuotaExceededError,
    TransientChannelError,
    UnconfirmedPublicationError,
)
from channels.telegram import CLOUD_MAX_UPLOAD_BYTES, LOCAL_MAX_UPLOAD_BYTES, TelegramChannel
from channels.telegram_rules import build_caption, message_url
from media.render import make_preview
from tests.channels.fake_telegram import FakeTelegram, Fault
from tests.helpers import data

VIDEO = data("auto_editor_example.mp4")
MARKER = "vc7tg3f9a2c1"
CHAT = "@voices_test"


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The preview the render step makes for Telegram: a JPEG, 320 px, under 200 kB."""
    return make_preview(VIDEO, 1000, tmp_path_factory.mktemp("preview") / "preview.jpg")


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0) as http:
        yield http


class Sleeps(list[float]):
    """Records the waits a channel asks for; `real` makes them real too."""

    def __init__(self, real: bool = False) -> None:
        super().__init__()
        self.real = real

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.real:
            time.sleep(seconds)


def channel(
    fake: FakeTelegram, client: httpx.Client, sleep: Sleeps | None = None, **options: Any
) -> TelegramChannel:
    options.setdefault("token", fake.token)
    return TelegramChannel(
        chat_id=CHAT,
        base_url=fake.base_url,
        client=client,
        sleep=Sleeps() if sleep is None else sleep,
        **options,
    )


def request(video: Path = VIDEO, thumbnail: Path | None = None, **fields: Any) -> PublishRequest:
    fields.setdefault("title", "Voters in Naryn on the new polling stations")
    fields.setdefault("description", "Short clip.")
    return PublishRequest(clip_id=7, video=video, thumbnail=thumbnail, marker=MARKER, **fields)


def no_save(session: dict[str, Any]) -> None:
    raise AssertionError("Telegram has no upload session to save")


def full_text(exc: BaseException) -> str:
    """Everything a log or a person could see of an error: messages, chain and traceback."""
    return "".join(traceback.format_exception(exc))


def test_publish_sends_one_message_with_the_file_caption_and_thumbnail(
    fake: FakeTelegram,
    client: httpx.Client,
    preview: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    long_description = "Кандидаттар шайлоочулар менен жолугушту 🗳. " * 60
    telegram = channel(fake, client)
    # What the render step recorded about the video (the channel never opens it).
    clip = request(
        preview=preview, description=long_description, width=1080, height=1920, duration_ms=29_500
    )

    result = telegram.publish(clip, None, no_save)

    assert len(fake.messages) == 1
    message = fake.messages[0]
    assert message.video == VIDEO.read_bytes()
    assert message.chat_id == CHAT
    assert message.supports_streaming
    assert len(message.caption.encode("utf-16-le")) // 2 <= 1024
    assert message.caption.startswith("Voters in Naryn on the new polling stations\n\n")
    assert message.caption.endswith(f"…\n\nref: {MARKER}")
    # As the render step recorded them; the duration in whole seconds, half up.
    assert (message.fields["width"], message.fields["height"]) == ("1080", "1920")
    assert message.fields["duration"] == "30"
    assert message.thumbnail == preview.read_bytes()
    assert result.remote_id == f"{CHAT}:{message.message_id}"
    assert result.url == f"https://t.me/voices_test/{message.message_id}"
    assert telegram.find_existing(request()) is None
    assert fake.token not in caplog.text
    assert "<token>" in caplog.text  # httpx's request lines were logged, redacted


def test_publish_without_preview_or_facts_sends_none_of_them(
    fake: FakeTelegram, client: httpx.Client, preview: Path
) -> None:
    # A full-size thumbnail (for YouTube) is not Telegram's: without a preview none is sent.
    channel(fake, client).publish(request(thumbnail=preview), None, no_save)

    assert [m.thumbnail for m in fake.messages] == [None]
    assert not {"width", "height", "duration", "thumbnail"} & set(fake.messages[0].fields)
    assert fake.messages[0].caption == (
        f"Voters in Naryn on the new polling stations\n\nShort clip.\n\nref: {MARKER}"
    )


def test_429_waits_retry_after_then_posts_once(fake: FakeTelegram, client: httpx.Client) -> None:
    fake.faults = {1: "429"}
    sleeps = Sleeps(real=True)

    channel(fake, client, sleeps).publish(request(), None, no_save)

    first, second = fake.send_video_calls()
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= fake.retry_after_s  # the fake answers 429 again if sooner
    assert sleeps == [1.0]
    assert len(fake.messages) == 1


def test_429_longer_than_allowed_stops_the_channel(
    fake: FakeTelegram, client: httpx.Client
) -> None:
    fake.faults, fake.retry_after_s = {1: "429"}, 3600
    sleeps = Sleeps()

    with pytest.raises(QuotaExceededError) as caught:
        channel(fake, client, sleeps).publish(request(), None, no_save)

    assert caught.value.retry_after is not None
    wait = (caught.value.retry_after - datetime.now(UTC)).total_seconds()
    assert 3500 < wait <= 3600
    assert sleeps == [] and fake.messages == []


@pytest.fixture
def big_video(tmp_path: Path) -> Path:
    """32 MB (a hole: no disk used), far more than the sockets hold, so a server that answers
    before reading the body cuts the upload short."""
    video = tmp_path / "big.mp4"
    with video.open("wb") as out:
        out.truncate(32_000_000)
    return video


def test_502_before_the_body_was_read_is_retried_with_backoff(
    fake: FakeTelegram, client: httpx.Client, big_video: Path
) -> None:
    fake.faults = {1: "502-early", 2: "502-early"}
    sleeps = Sleeps()

    channel(fake, client, sleeps).publish(request(video=big_video), None, no_save)

    assert [call.status for call in fake.send_video_calls()] == [502, 502, 200]
    assert sleeps == [1.0, 2.0]
    assert len(fake.messages) == 1


def test_5xx_before_the_body_until_retries_run_out_is_transient(
    fake: FakeTelegram, client: httpx.Client, big_video: Path
) -> None:
    fake.faults = {1: "502-early", 2: "502-early", 3: "502-early"}

    with pytest.raises(TransientChannelError) as caught:
        channel(fake, client, max_retries=2).publish(request(video=big_video), None, no_save)

    assert not isinstance(caught.value, UnconfirmedPublicationError)
    assert "502" in str(caught.value)
    assert len(fake.send_video_calls()) == 3 and fake.messages == []


@pytest.mark.parametrize("fault", ["502", "502-posted"])
def test_5xx_after_the_whole_upload_is_unconfirmed_not_retried(
    fake: FakeTelegram, client: httpx.Client, fault: Fault
) -> None:
    # A proxy's 502 once the whole video was read says nothing about whether Telegram posted
    # it ("502-posted": it did): retrying could post it twice.
    fake.faults = {1: fault}
    sleeps = Sleeps()

    with pytest.raises(UnconfirmedPublicationError) as caught:
        channel(fake, client, sleeps).publish(request(), None, no_save)

    assert [call.status for call in fake.send_video_calls()] == [502]
    assert sleeps == []
    assert len(fake.messages) == (1 if fault == "502-posted" else 0)
    message = str(caught.value)
    assert "502 Bad Gateway" in message and f"ref: {MARKER}" in message and "clip 7" in message
    assert fake.token not in full_text(caught.value)


def test_wrong_token_is_an_auth_error_without_the_token(
    fake: FakeTelegram, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "987654321:AAWrongSecretToken-do-not-log"
    telegram = channel(fake, client, token=wrong)

    with pytest.raises(AuthError) as caught:
        telegram.publish(request(), None, no_save)
    with pytest.raises(AuthError) as checked:
        telegram.check()

    assert "@BotFather" in str(caught.value)
    for exc in (caught.value, checked.value):
        assert wrong not in full_text(exc)
    assert wrong not in caplog.text
    assert fake.messages == []
    assert channel(fake, client).check() == "voices_bot"


def test_size_limit_is_enforced_before_any_upload(
    fake: FakeTelegram, client: httpx.Client, tmp_path: Path
) -> None:
    with pytest.raises(InvalidRequestError, match="local Bot API server"):
        channel(fake, client, max_upload_bytes=1_000_000).publish(request(), None, no_save)

    sparse = tmp_path / "huge.mp4"
    with sparse.open("wb") as out:  # no disk used: a hole the size of the limit plus one byte
        out.truncate(CLOUD_MAX_UPLOAD_BYTES + 1)
    with pytest.raises(InvalidRequestError, match=r"over this bot's 50 MB limit"):
        channel(fake, client).publish(request(video=sparse), None, no_save)
    with sparse.open("wb") as out:
        out.truncate(LOCAL_MAX_UPLOAD_BYTES + 1)
    local = channel(fake, client, local_server=True)
    with pytest.raises(InvalidRequestError, match=r"2000 MB limit; render a smaller copy$"):
        local.publish(request(video=sparse), None, no_save)
    assert fake.calls == []


def test_a_short_clip_lasts_at_least_a_second(fake: FakeTelegram, client: httpx.Client) -> None:
    channel(fake, client).publish(request(duration_ms=400), None, no_save)

    assert fake.messages[0].fields["duration"] == "1"
    assert "width" not in fake.messages[0].fields  # no size recorded, none sent


def test_a_preview_over_200_kb_is_refused_before_any_upload(
    fake: FakeTelegram, client: httpx.Client, tmp_path: Path
) -> None:
    too_big = tmp_path / "preview.jpg"
    too_big.write_bytes(b"\xff\xd8" + bytes(200_000))
    with pytest.raises(InvalidRequestError, match=r"preview .*preview\.jpg is 200 kB, over"):
        channel(fake, client).publish(request(preview=too_big), None, no_save)

    missing = tmp_path / "gone.jpg"
    with pytest.raises(InvalidRequestError, match=r"gone\.jpg cannot be read"):
        channel(fake, client).publish(request(preview=missing), None, no_save)
    assert fake.calls == []


def test_413_from_the_server_is_invalid_request(fake: FakeTelegram, client: httpx.Client) -> None:
    fake.max_upload_bytes = 1_000_000

    with pytest.raises(InvalidRequestError, match="413 Request Entity Too Large"):
        channel(fake, client).publish(request(), None, no_save)

    assert fake.messages == []


def test_lost_answer_is_unconfirmed_and_never_posted_twice(
    fake: FakeTelegram, client: httpx.Client
) -> None:
    fake.faults = {1: "drop"}
    sleeps = Sleeps()

    with pytest.raises(UnconfirmedPublicationError) as caught:
        channel(fake, client, sleeps).publish(request(), None, no_save)

    assert len(fake.messages) == 1
    assert [call.status for call in fake.send_video_calls()] == [0]
    assert sleeps == []
    assert f"ref: {MARKER}" in str(caught.value)
    assert fake.token not in full_text(caught.value)


def test_unreachable_server_is_retried_then_transient(client: httpx.Client) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = Sleeps()
    token = "111:AAUnreachableSecret"
    telegram = TelegramChannel(
        token, CHAT, base_url=f"http://127.0.0.1:{port}", client=client, sleep=sleeps
    )

    with pytest.raises(TransientChannelError) as caught:
        telegram.publish(request(), None, no_save)

    assert not isinstance(caught.value, UnconfirmedPublicationError)
    assert "ConnectError" in str(caught.value)
    assert sleeps == [1.0, 2.0, 4.0, 8.0]
    assert token not in full_text(caught.value)


def test_caption_is_cut_at_a_character_boundary_counting_utf16() -> None:
    caption = build_caption("Title", "🗳" * 2000, "m1")

    assert len(caption.encode("utf-16-le")) // 2 <= 1024
    assert caption.endswith("🗳…\n\nref: m1")  # no half of a surrogate pair
    assert build_caption("", "", "m1") == "ref: m1"
    words = build_caption("T", "word " * 400, "m1", limit=100)
    assert words.endswith("word…\n\nref: m1") and len(words) <= 100


def test_message_urls() -> None:
    assert message_url("@voices", 5) == "https://t.me/voices/5"
    assert message_url("-1001234567890", 5) == "https://t.me/c/1234567890/5"
    assert message_url("-1001234567890", 5, "voices") == "https://t.me/voices/5"
    assert message_url("424242", 5) == ""


def test_own_client_is_closed(fake: FakeTelegram) -> None:
    telegram = TelegramChannel(fake.token, CHAT, base_url=fake.base_url)
    try:
        assert telegram.check() == "voices_bot"
    finally:
        telegram.close()
