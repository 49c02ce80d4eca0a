"""TelegramChannel.take_down (deleteMessage) against the local Bot API stand-in."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import httpx
import pytest

from channels.base import TakedownRequest
from channels.errors import (
    AuthError,
    InvalidRequestError,
    QuotaExceededError,
    TakedownRefusedError,
)
from channels.telegram import TelegramChannel
from tests.channels.fake_telegram import DELETE_WINDOW_S, FakeTelegram
from tests.channels.test_telegram import CHAT, MARKER, Sleeps, channel, full_text, no_save, request


class Clock:
    """The fake's wall clock, moved by the test."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeTelegram]:
    with FakeTelegram(clock=clock) as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0) as http:
        yield http


def posted(telegram: TelegramChannel) -> TakedownRequest:
    """Post a clip and give the takedown the ledger would build from the result."""
    result = telegram.publish(request(), None, no_save)
    return TakedownRequest(
        clip_id=7, channel="telegram", remote_id=result.remote_id, url=result.url, marker=MARKER
    )


def test_take_down_deletes_the_post_and_again_is_already_gone(
    fake: FakeTelegram, client: httpx.Client
) -> None:
    telegram = channel(fake, client)
    takedown = posted(telegram)
    message_id = fake.messages[0].message_id
    assert takedown.remote_id == f"{CHAT}:{message_id}"

    first = telegram.take_down(takedown)
    again = telegram.take_down(takedown)

    assert (first.status, first.answer) == ("deleted", f"message {message_id} deleted")
    assert again.status == "already_gone"
    assert again.answer == f"message {message_id}: 400 Bad Request: message to delete not found"
    assert fake.deleted == [(CHAT, message_id)] and fake.messages == []
    assert [call.status for call in fake.delete_calls()] == [200, 400]


def test_a_post_older_than_48_hours_must_be_deleted_by_hand(
    fake: FakeTelegram, client: httpx.Client, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sleeps = Sleeps()
    telegram = channel(fake, client, sleeps)
    takedown = posted(telegram)
    clock.now += DELETE_WINDOW_S + 3600

    with pytest.raises(TakedownRefusedError) as caught:
        telegram.take_down(takedown)

    message = str(caught.value)
    assert "clip 7" in message and "message can't be deleted" in message
    assert f"a person must delete it by hand in the channel: {takedown.url}" in message
    assert takedown.url == f"https://t.me/voices_test/{fake.messages[0].message_id}"
    assert fake.token not in full_text(caught.value) and fake.token not in caplog.text
    assert [call.status for call in fake.delete_calls()] == [400] and sleeps == []  # no retry
    assert len(fake.messages) == 1


def test_429_on_delete_waits_retry_after_then_deletes(
    fake: FakeTelegram, client: httpx.Client
) -> None:
    sleeps = Sleeps(real=True)
    telegram = channel(fake, client, sleeps)
    takedown = posted(telegram)
    fake.delete_faults = {1: "429"}

    assert telegram.take_down(takedown).status == "deleted"

    assert [call.status for call in fake.delete_calls()] == [429, 200]
    assert sleeps == [1.0] and fake.messages == []


def test_429_longer_than_allowed_stops_the_takedown(
    fake: FakeTelegram, client: httpx.Client
) -> None:
    telegram = channel(fake, client)
    takedown = posted(telegram)
    fake.delete_faults, fake.retry_after_s = {1: "429"}, 3600

    with pytest.raises(QuotaExceededError) as caught:
        telegram.take_down(takedown)

    assert caught.value.retry_after is not None and "taking down clip 7" in str(caught.value)
    assert len(fake.messages) == 1


def test_502_on_delete_is_retried_it_is_safe_to_repeat(
    fake: FakeTelegram, client: httpx.Client
) -> None:
    sleeps = Sleeps()
    telegram = channel(fake, client, sleeps)
    takedown = posted(telegram)
    fake.delete_faults = {1: "502"}

    assert telegram.take_down(takedown).status == "deleted"

    assert [call.status for call in fake.delete_calls()] == [502, 200] and sleeps == [1.0]


def test_wrong_token_is_an_auth_error_without_the_token(
    fake: FakeTelegram, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    takedown = posted(channel(fake, client))
    wrong = "987654321:AAWrongSecretToken-do-not-log"

    with pytest.raises(AuthError) as caught:
        channel(fake, client, token=wrong).take_down(takedown)

    message = str(caught.value)
    assert "@BotFather" in message and "clip 7" in message and takedown.url
    assert f"or delete it by hand in the channel: {takedown.url}" in message
    assert wrong not in full_text(caught.value) and wrong not in caplog.text
    assert len(fake.messages) == 1


def test_a_post_without_a_recorded_message_id_is_for_a_person(
    fake: FakeTelegram, client: httpx.Client
) -> None:
    telegram = channel(fake, client)
    unknown = TakedownRequest(clip_id=7, channel="telegram", remote_id="", marker=MARKER)

    with pytest.raises(TakedownRefusedError, match=f"look for the line 'ref: {MARKER}'"):
        telegram.take_down(unknown)
    with pytest.raises(InvalidRequestError, match="not CHAT:MESSAGE_ID; check the ledger"):
        telegram.take_down(unknown.model_copy(update={"remote_id": "@voices_test"}))
    assert fake.calls == []
