"""Telegram: post a rendered clip to a channel with the Bot API's `sendVideo`.

Limits (PLATFORMS.md): 50 MB an upload through the cloud Bot API, 2000 MB through a local Bot
API server; caption at most 1024 characters; thumbnail JPEG under 200 kB, at most 320 px a side.

A channel does no media work: the video's width, height and duration and the thumbnail (the
request's `preview`, made to those limits by the render step) come in the `PublishRequest`. What
is not there is not sent; Telegram then shows its own guesses.

Known limit, the lost answer: `sendVideo` has no idempotency key and the Bot API cannot list a
channel's messages, so a post whose answer was lost cannot be looked up. So a request is retried
only when it certainly did not arrive whole (no connection, dropped while sending, an error
status); when all of it was sent and no answer came (or a 504), `UnconfirmedPublicationError`
lets the ledger mark it for a person to check (search the channel for the caption's last line,
``ref: <marker>``) instead of posting twice.

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
from typing import Any
from urllib.parse import quote

import httpx

from catalog.models import UploadSession
from channels.base import PublishRequest, RemoteResult, SaveSession, marker_line
from channels.errors import (
    AuthError,
    ChannelError,
    InvalidRequestError,
    QuotaExceededError,
    TransientChannelError,
    UnconfirmedPublicationError,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org"
# Telegram says "50 MB" and "2000 MB"; decimal megabytes are the safe reading.
CLOUD_MAX_UPLOAD_BYTES = 50 * 1000 * 1000
LOCAL_MAX_UPLOAD_BYTES = 2000 * 1000 * 1000
CAPTION_MAX_CHARS = 1024
THUMBNAIL_MAX_BYTES = 200 * 1000  # "less than 200 kB"
MAX_BACKOFF_S = 60.0


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
        result = self._call("getMe", f"telegram ({self.chat_id})")
        if isinstance(result, _Retry):
            raise result.error from result.cause
        return str(result.get("username", ""))

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

    def _send_video(
        self, request: PublishRequest, fields: dict[str, str], thumbnail: bytes | None
    ) -> dict[str, Any]:
        """POST sendVideo, retrying only what certainly did not post, `max_retries` times."""
        for attempt in range(self.max_retries + 1):
            outcome = self._post_video_once(request, fields, thumbnail)
            if not isinstance(outcome, _Retry):
                return outcome
            if attempt == self.max_retries:
                raise outcome.error from outcome.cause
            delay = outcome.delay_s
            if delay is None:
                delay = min(self.backoff_s * 2**attempt, MAX_BACKOFF_S)
            log.warning("%s; retry %d of %d in %.1f s", outcome.error, attempt + 1,
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
            result = self._call("sendVideo", where, lost, data=fields, files=files)
        if isinstance(result, dict) and not isinstance(result.get("message_id"), int):
            raise UnconfirmedPublicationError(f"{where}: answered ok without a message id; {lost}")
        return result

    def _call(
        self, method: str, where: str, lost: str = "", **body: Any
    ) -> dict[str, Any] | _Retry:
        """POST one Bot API method: its `result`, a `_Retry`, or a raised `ChannelError`."""
        url = f"{self._base_url}/bot{self._token}/{method}"
        http_request = self._client.build_request("POST", url, **body)
        http_request.stream = tracker = _SentTracker(http_request.stream)
        try:
            response = self._client.send(http_request)
        except httpx.TransportError as exc:
            failure = exc  # raised below, outside this block, so the original is not chained
        else:
            return self._parse(response, where, lost)
        what = _scrub_tokens(f"{type(failure).__name__}: {failure}".rstrip(": "), {self._token})
        # A copy without its request (whose URL holds the token), keeping the traceback.
        cause = type(failure)(_scrub_tokens(str(failure), {self._token}))
        cause = cause.with_traceback(failure.__traceback__)
        if tracker.sent_all and lost:  # a post (not getMe) may have gone out
            raise UnconfirmedPublicationError(
                f"{where}: all was sent but no answer came ({what}); it may be live: {lost}, "
                "then record the post or publish again"
            ) from cause
        return _Retry(TransientChannelError(f"{where}: did not get through ({what})"), None, cause)

    def _parse(
        self, response: httpx.Response, where: str, lost: str = ""
    ) -> dict[str, Any] | _Retry:
        """The `result` of a Bot API answer, a `_Retry`, or a raised `ChannelError`."""
        try:
            body = response.json()
        except ValueError:  # an HTML error page from a proxy
            body = {}
        body = body if isinstance(body, dict) else {}
        result = body.get("result")
        if response.status_code == 200 and body.get("ok") is True and isinstance(result, dict):
            return result
        code = body.get("error_code")
        status = code if isinstance(code, int) else response.status_code
        description = str(body.get("description") or response.reason_phrase)
        said = f"{status} {_scrub_tokens(description, {self._token})}"
        if status == 429:
            parameters = body.get("parameters")
            retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
            return self._rate_limited(retry_after, said, where)
        if status == 504 and lost:  # the gateway timed out after the upload: it may be posted
            raise UnconfirmedPublicationError(f"{where}: {said} after the upload; {lost}")
        if status >= 500:
            return _Retry(TransientChannelError(f"{where}: Bot API failed ({said})"), None, None)
        raise _status_error(status, said, where)

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


def _status_error(status: int, said: str, where: str) -> ChannelError:
    """Sort a refusal (a 4xx other than 429) by what must happen next, with the fix."""
    kind: type[ChannelError] = AuthError
    if status in (401, 404):
        fix = "the bot token was refused: copy it again from @BotFather and check base_url"
    elif status == 403 or (status == 400 and re.search(r"chat not found|rights", said, re.I)):
        fix = "check chat_id ('@name' or the numeric id); make the bot an admin that may post"
    elif status == 413:
        kind, fix = InvalidRequestError, "render a smaller copy or use a local Bot API server"
    else:
        kind, fix = InvalidRequestError, "fix the clip"
    return kind(f"{where}: the Bot API refused it ({said}); {fix}")


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


def build_caption(title: str, description: str, marker: str, limit: int = CAPTION_MAX_CHARS) -> str:
    """Title, a blank line, the description, and ``ref: <marker>`` as the last line.

    Telegram counts UTF-16 code units (an emoji may count 2), so this does too. A long text is
    cut at a character boundary, after a word where one ends near the cut, and ends with "…";
    the marker line is always kept whole.
    """
    tail = marker_line(marker)
    body = "\n\n".join(part.strip() for part in (title, description) if part.strip())
    room = limit - _utf16_units(tail) - 2
    if not body or room < 2:
        return _cut(tail, limit)
    return f"{_cut(body, room)}\n\n{tail}"


def _cut(text: str, room: int) -> str:
    if _utf16_units(text) <= room:
        return text
    kept: list[str] = []
    used = 1  # the "…"
    for char in text:
        used += _utf16_units(char)
        if used > room:
            break
        kept.append(char)
    cut = "".join(kept)
    word_end = re.search(r"\s+\S*\Z", cut)
    if word_end and word_end.start() > 0 and len(cut) - word_end.start() <= 40:
        cut = cut[: word_end.start()]
    return cut.rstrip() + "…"


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def message_url(chat_id: str, message_id: int, username: str | None = None) -> str:
    """A t.me link: public channels by name, private ones (``-100…``) for members; else ""."""
    name = username or (chat_id[1:] if chat_id.startswith("@") else "")
    if name:
        return f"https://t.me/{name}/{message_id}"
    if chat_id.startswith("-100") and chat_id[4:].isdigit():
        return f"https://t.me/c/{chat_id[4:]}/{message_id}"
    return ""


def video_fields(request: PublishRequest) -> dict[str, str]:
    """sendVideo's `width`, `height` and `duration` (whole seconds) from what the render step
    recorded; a field it did not record is left out rather than guessed."""
    fields: dict[str, str] = {}
    if request.width is not None and request.height is not None:
        fields["width"], fields["height"] = str(request.width), str(request.height)
    if request.duration_ms:
        fields["duration"] = str(max(1, (request.duration_ms + 500) // 1000))  # half up
    return fields


def read_preview(request: PublishRequest) -> bytes | None:
    """The preview's bytes for sendVideo's `thumbnail`, checked against Telegram's 200 kB.

    The render step makes it to fit; checking again here turns a preview from elsewhere (or an
    older render) into a clear error before the upload, instead of a refusal after it.
    """
    if request.preview is None:
        return None
    try:
        data = request.preview.read_bytes()
    except OSError as exc:
        raise InvalidRequestError(
            f"telegram: clip {request.clip_id}'s preview {request.preview} cannot be read "
            f"({exc.strerror}); render the clip again"
        ) from exc
    if len(data) >= THUMBNAIL_MAX_BYTES:
        raise InvalidRequestError(
            f"telegram: clip {request.clip_id}'s preview {request.preview} is "
            f"{len(data) / 1000:.0f} kB, over Telegram's 200 kB thumbnail limit; make it again "
            "with media.render.make_preview (320 px, under 200 kB)"
        )
    return data


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
