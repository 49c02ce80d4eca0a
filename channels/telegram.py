"""Telegram: post a rendered clip to a channel with the Bot API's `sendVideo`.

Limits (PLATFORMS.md): 50 MB an upload through the cloud Bot API, 2000 MB through a local Bot
API server; caption at most 1024 characters; thumbnail JPEG under 200 kB, at most 320 px a side.

A channel does no media work: the video's width, height and duration and the thumbnail (the
request's `preview`, made to those limits by the render step) come in the `PublishRequest`. What
is not there is not sent; Telegram then shows its own guesses. The caption, the post's link and
those fields are made in `channels.telegram_rules`.

Known limit, the lost answer: `sendVideo` has no idempotency key and the Bot API cannot list a
channel's messages, so a post whose answer was lost cannot be looked up. So a request is retried
only when it certainly did not arrive whole (no connection, dropped while sending, a 429); when
all of it was sent and no answer came, or a 5xx came (a proxy's 502 after the upload says nothing
about whether Telegram posted it), `UnconfirmedPublicationError` lets the ledger mark it for a
person to check (search the channel for the caption's last line, ``ref: <marker>``) instead of
posting twice.

`take_down` deletes the post (``deleteMessage``). Bots may delete only posts younger than 48
hours: an older one raises `TakedownRefusedError`, naming the post for a person to delete.

The bot token is part of every URL: messages here are scrubbed, a wrapped httpx error is a
scrubbed copy without its request, and a filter on the ``httpx`` logger redacts its URLs.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from catalog.models import UploadSession
from channels.base import (
    PublishRequest,
    RemoteResult,
    SaveSession,
    TakedownRequest,
    TakedownResult,
    marker_line,
)
from channels.errors import (
    AuthError,
    ChannelError,
    InvalidRequestError,
    QuotaExceededError,
    TakedownRefusedError,
    TransientChannelError,
    UnconfirmedPublicationError,
)
from channels.telegram_rules import build_caption, message_url, read_preview, video_fields

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org"
# Telegram says "50 MB" and "2000 MB"; decimal megabytes are the safe reading.
CLOUD_MAX_UPLOAD_BYTES = 50 * 1000 * 1000
LOCAL_MAX_UPLOAD_BYTES = 2000 * 1000 * 1000
MAX_BACKOFF_S = 60.0
_T = TypeVar("_T")


class TelegramChannel:
    """Posts clips with a bot that is an administrator of the channel `chat_id`.

    `chat_id` is ``@channelname`` or a numeric id (``-100…``). For files over 50 MB run a local
    Bot API server (``telegram-bot-api --local``) and pass its `base_url` with
    ``local_server=True``. `max_upload_bytes` overrides the platform's limit.
    """

    name = "telegram"
    schedules_remotely = False
    finds_existing = False  # the Bot API cannot list a channel's messages

    def __init__(
        self,
        token: str,
        chat_id: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        local_server: bool = False,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 4,
        max_upload_bytes: int | None = None,
        max_retry_after_s: float = 300.0,
        backoff_s: float = 1.0,
    ) -> None:
        if not token or not chat_id or max_retries < 0:
            raise ValueError("telegram needs a bot token (@BotFather), a chat_id, max_retries >= 0")
        if local_server and base_url.rstrip("/") == DEFAULT_BASE_URL:
            raise ValueError("local_server=True needs the base_url of your local Bot API server")
        self.chat_id = chat_id
        self.local_server = local_server
        default_limit = LOCAL_MAX_UPLOAD_BYTES if local_server else CLOUD_MAX_UPLOAD_BYTES
        self.max_upload_bytes = max_upload_bytes or default_limit
        self.max_retries = max_retries
        self.max_retry_after_s = max_retry_after_s
        self.backoff_s = backoff_s
        self._token = token
        self._base_url = base_url.rstrip("/")
        self._sleep = sleep
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=httpx.Timeout(300.0, connect=10.0))
        _TOKENS.add(token)
        if _redact_tokens not in logging.getLogger("httpx").filters:
            logging.getLogger("httpx").addFilter(_redact_tokens)

    def close(self) -> None:
        """Close the HTTP client if this channel made it (an injected one stays open)."""
        if self._owns_client:
            self._client.close()

    def find_existing(self, request: PublishRequest) -> RemoteResult | None:
        """None: the Bot API cannot read a channel's history, so it cannot tell.

        The ledger's message id is the only record of a post; a post whose answer was lost comes
        out of `publish` as `UnconfirmedPublicationError`, never as a silent repost.
        """
        return None

    def check(self) -> str:
        """Ask the Bot API who the bot is (``getMe``): its username, or an error with the fix."""
        where = f"telegram ({self.chat_id})"
        reply = self._call("getMe", where)
        if isinstance(reply, _Retry):
            raise reply.error from reply.cause
        if not isinstance(reply.result, dict):
            raise _status_error(reply.status, reply.said, where)
        return str(reply.result.get("username", ""))

    def publish(
        self, request: PublishRequest, session: UploadSession | None, save_session: SaveSession
    ) -> RemoteResult:
        """Post the clip as one message. `session` is unused: Telegram has no resumable upload."""
        self._check_size(request)
        thumbnail = read_preview(request)
        fields = {
            "chat_id": self.chat_id,
            "caption": build_caption(request.title, request.description, request.marker),
            "supports_streaming": "true",
            **video_fields(request),
        }
        message = self._send_video(request, fields, thumbnail)
        message_id: int = message["message_id"]
        log.info("telegram: clip %d is message %d in %s", request.clip_id, message_id, self.chat_id)
        chat = message.get("chat")
        username = chat.get("username") if isinstance(chat, dict) else None
        url = message_url(self.chat_id, message_id, username)
        return RemoteResult(remote_id=f"{self.chat_id}:{message_id}", url=url)

    def _check_size(self, request: PublishRequest) -> None:
        try:
            size = request.video.stat().st_size
        except OSError as exc:
            raise InvalidRequestError(
                f"telegram: clip {request.clip_id}'s video {request.video} cannot be read "
                f"({exc.strerror}); render the clip again"
            ) from exc
        if size > self.max_upload_bytes:
            fix = "" if self.local_server else " or use a local Bot API server (up to 2000 MB)"
            raise InvalidRequestError(
                f"telegram: clip {request.clip_id}'s video {request.video.name} is "
                f"{size / 1e6:.1f} MB, over this bot's {self.max_upload_bytes / 1e6:g} MB limit; "
                f"render a smaller copy{fix}"
            )

    def take_down(self, request: TakedownRequest) -> TakedownResult:
        """Delete the post (``deleteMessage``); a post not there is "already_gone"."""
        chat_id, message_id = _message_of(request, self.chat_id)
        url = (
            request.url or message_url(chat_id, message_id) or f"message {message_id} in {chat_id}"
        )
        where = f"telegram ({chat_id}), taking down clip {request.clip_id}"
        fields = {"chat_id": chat_id, "message_id": str(message_id)}
        reply = self._retrying(lambda: self._call("deleteMessage", where, data=fields))
        if reply.result is True:
            log.info("telegram: clip %d: message %d deleted", request.clip_id, message_id)
            return TakedownResult(status="deleted", answer=f"message {message_id} deleted")
        if reply.status == 400 and "message to delete not found" in reply.said.lower():
            return TakedownResult(
                status="already_gone", answer=f"message {message_id}: {reply.said}"
            )
        by_hand = f"delete it by hand in the channel: {url}"
        if reply.status == 400 and "can't be deleted" in reply.said.lower():
            raise TakedownRefusedError(
                f"{where}: the Bot API refused ({reply.said}); a bot may delete only posts "
                "younger than 48 hours (and only as an admin that may post or delete "
                f"messages), so retrying will not help: a person must {by_hand}"
            )
        raise _status_error(reply.status, reply.said, where, by_hand)

    def say(self, chat_id: str, text: str) -> None:
        """A plain text message to a chat (an operator's, for notifications)."""
        where = f"telegram: message to {chat_id}"
        fields = {"chat_id": chat_id, "text": text[:4096], "disable_web_page_preview": "true"}
        reply = self._retrying(lambda: self._call("sendMessage", where, data=fields))
        if reply.status != 200:
            raise _status_error(reply.status, reply.said, where)

    def _send_video(
        self, request: PublishRequest, fields: dict[str, str], thumbnail: bytes | None
    ) -> dict[str, Any]:
        """POST sendVideo, retrying only what certainly did not post, `max_retries` times."""
        return self._retrying(lambda: self._post_video_once(request, fields, thumbnail))

    def _retrying(self, attempt: Callable[[], _T | _Retry]) -> _T:
        """`attempt` until it gives something other than a `_Retry`, `max_retries` times."""
        for number in range(self.max_retries + 1):
            outcome = attempt()
            if not isinstance(outcome, _Retry):
                return outcome
            if number == self.max_retries:
                raise outcome.error from outcome.cause
            delay = outcome.delay_s
            if delay is None:
                delay = min(self.backoff_s * 2**number, MAX_BACKOFF_S)
            log.warning("%s; retry %d of %d in %.1f s", outcome.error, number + 1,
                        self.max_retries, delay)  # fmt: skip
            self._sleep(delay)
        raise AssertionError("unreachable")

    def _post_video_once(
        self, request: PublishRequest, fields: dict[str, str], thumbnail: bytes | None
    ) -> dict[str, Any] | _Retry:
        where = f"telegram ({self.chat_id}), clip {request.clip_id}"
        lost = f"look for the line '{marker_line(request.marker)}' in the channel"
        with request.video.open("rb") as video:
            files: dict[str, Any] = {"video": (request.video.name, video, "video/mp4")}
            if thumbnail is not None:
                files["thumbnail"] = ("thumbnail.jpg", thumbnail, "image/jpeg")
            reply = self._call("sendVideo", where, lost, data=fields, files=files)
        if isinstance(reply, _Retry):
            return reply
        if reply.status != 200:
            raise _status_error(reply.status, reply.said, where)
        if not isinstance(reply.result, dict) or not isinstance(
            reply.result.get("message_id"), int
        ):
            raise UnconfirmedPublicationError(f"{where}: answered ok without a message id; {lost}")
        return reply.result

    def _call(self, method: str, where: str, lost: str = "", **body: Any) -> _Reply | _Retry:
        """POST one Bot API method: the answer, a `_Retry`, or a raised `ChannelError`.

        `lost` (a post's "look for it" hint) marks a call that may have posted when all of it was
        sent and no usable answer came back.
        """
        url = f"{self._base_url}/bot{self._token}/{method}"
        http_request = self._client.build_request("POST", url, **body)
        http_request.stream = tracker = _SentTracker(http_request.stream)
        try:
            response = self._client.send(http_request)
        except httpx.TransportError as exc:
            failure = exc  # raised below, outside this block, so the original is not chained
        else:
            return self._parse(response, where, lost if tracker.sent_all else "")
        what = _scrub_tokens(f"{type(failure).__name__}: {failure}".rstrip(": "), {self._token})
        # A copy without its request (whose URL holds the token), keeping the traceback.
        cause = type(failure)(_scrub_tokens(str(failure), {self._token}))
        cause = cause.with_traceback(failure.__traceback__)
        if tracker.sent_all and lost:  # a post (not getMe) may have gone out
            raise UnconfirmedPublicationError(
                f"{where}: all was sent but no answer came ({what}); it may be live: {lost}, "
                "then record the post or publish again"
            ) from cause
        fix = "check the network and base_url, then retry"
        error = TransientChannelError(f"{where}: did not get through ({what}); {fix}")
        return _Retry(error, None, cause)

    def _parse(self, response: httpx.Response, where: str, lost: str = "") -> _Reply | _Retry:
        """A Bot API answer (its `result`, or a refusal to sort), a `_Retry` (429, or a 5xx to
        a call that cannot have posted), or a raised `UnconfirmedPublicationError` (a 5xx once a
        whole post was sent: it may be live)."""
        try:
            body = response.json()
        except ValueError:  # an HTML error page from a proxy
            body = {}
        body = body if isinstance(body, dict) else {}
        if response.status_code == 200 and body.get("ok") is True:
            return _Reply(200, body.get("result"), "")
        code = body.get("error_code")
        status = code if isinstance(code, int) else response.status_code
        description = str(body.get("description") or response.reason_phrase)
        said = f"{status} {_scrub_tokens(description, {self._token})}"
        if status == 429:
            parameters = body.get("parameters")
            retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
            return self._rate_limited(retry_after, said, where)
        if status >= 500 and lost:  # after the whole upload: Telegram may have posted it
            raise UnconfirmedPublicationError(
                f"{where}: {said} after the whole video was sent; it may be live: {lost}, then "
                "record the post or publish again"
            )
        if status >= 500:
            error = TransientChannelError(f"{where}: Bot API failed ({said}); retry later")
            return _Retry(error, None, None)
        return _Reply(status, None, said)

    def _rate_limited(self, retry_after: object, said: str, where: str) -> _Retry:
        """Wait `retry_after` and retry, unless that is longer than `max_retry_after_s`."""
        seconds = float(retry_after) if isinstance(retry_after, int | float) else None
        until = datetime.now(UTC) + timedelta(seconds=seconds or MAX_BACKOFF_S)
        message = f"{where}: told to wait ({said}); no calls to this bot until {until:%H:%M:%S} UTC"
        error = QuotaExceededError(message, retry_after=until)
        if seconds is not None and seconds > self.max_retry_after_s:
            raise error
        return _Retry(error, seconds, None)


@dataclass(frozen=True)
class _Retry:
    """A failure that certainly did not post: retry after `delay_s` (None: back off)."""

    error: ChannelError
    delay_s: float | None
    cause: BaseException | None


@dataclass(frozen=True)
class _Reply:
    """A final Bot API answer: ok (200, its `result`) or a refusal (`said`: "400 Bad Request:
    …", scrubbed of the token) for the caller to sort."""

    status: int
    result: object
    said: str


def _status_error(status: int, said: str, where: str, by_hand: str = "") -> ChannelError:
    """Sort a refusal (a 4xx other than 429) by what must happen next, with the fix;
    `by_hand` (takedowns): how a person can do it instead."""
    kind: type[ChannelError] = AuthError
    if status in (401, 404):
        fix = "the bot token was refused: copy it again from @BotFather and check base_url"
    elif status == 403 or (status == 400 and re.search(r"chat not found|rights", said, re.I)):
        fix = "check chat_id ('@name' or the numeric id); make the bot an admin that may post"
    elif by_hand:
        kind, fix = TakedownRefusedError, by_hand
    elif status == 413:
        kind, fix = InvalidRequestError, "render a smaller copy or use a local Bot API server"
    else:
        kind, fix = InvalidRequestError, "fix the clip"
    if by_hand and kind is AuthError:
        fix = f"{fix}, or {by_hand}"
    return kind(f"{where}: the Bot API refused it ({said}); {fix}")


def _message_of(request: TakedownRequest, chat_id: str) -> tuple[str, int]:
    """(chat, message id) from a post's remote id, "CHAT:MESSAGE_ID"."""
    where = f"telegram ({chat_id}), taking down clip {request.clip_id}"
    if not request.remote_id:
        raise TakedownRefusedError(
            f"{where}: no message id was recorded (the post was never confirmed) and the Bot API "
            f"cannot search a channel: a person must look for the line "
            f"'{marker_line(request.marker)}' in the channel and delete that post by hand"
        )
    chat, _, number = request.remote_id.rpartition(":")
    if not chat or not number.isdigit():
        raise InvalidRequestError(
            f"{where}: the recorded remote id {request.remote_id!r} is not CHAT:MESSAGE_ID; "
            f"check the ledger's record, or delete the post by hand ({request.url or chat_id})"
        )
    return chat, int(number)


class _SentTracker(httpx.SyncByteStream):
    """Wraps a request body and records whether every byte was handed to the connection."""

    def __init__(self, inner: httpx.SyncByteStream | httpx.AsyncByteStream) -> None:
        assert isinstance(inner, httpx.SyncByteStream), "httpx.Client bodies are synchronous"
        self._inner = inner
        self.sent_all = False

    def __iter__(self) -> Iterator[bytes]:
        self.sent_all = False
        yield from self._inner
        self.sent_all = True


_TOKENS: set[str] = set()


def _redact_tokens(record: logging.LogRecord) -> bool:
    """A filter for the ``httpx`` logger, which logs every request's URL at INFO."""
    message = record.getMessage()
    scrubbed = _scrub_tokens(message, _TOKENS)
    if scrubbed != message:
        record.msg, record.args = scrubbed, None
    return True


def _scrub_tokens(text: str, tokens: set[str]) -> str:
    for token in tokens:
        text = text.replace(token, "<token>").replace(quote(token, safe=""), "<token>")
    return text
