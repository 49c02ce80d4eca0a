"""A local stand-in for the Telegram Bot API: real HTTP on 127.0.0.1 for the real client.

It answers `POST /bot<token>/sendVideo` (multipart, as the Bot API takes it), `deleteMessage`
and `getMe` in the Bot API's JSON shape, and behaves as Telegram does where it matters to a
publisher: a wrong token is a 401, a 429 names `retry_after` and blocks every call until it has
passed, a body over `max_upload_bytes` is a 413, deleting a message that is not there is a 400
"message to delete not found", and one older than 48 hours (by `clock`) a 400 "message can't be
deleted". `faults` injects failures by sendVideo call number (1-based): "429", "502" (an HTML
page, as a proxy sends, once the whole body was read), "502-posted" (the same after the message
was stored), "502-early" (answered before reading the body, then the connection is closed) and
"drop" (the message is stored, then the connection is closed without an answer: the lost
answer); `delete_faults` ("429", "502") by deleteMessage call number. `messages` (what is
posted now), `deleted` and `calls` record what arrived so tests can assert on it.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, cast
from urllib.parse import parse_qs

log = logging.getLogger(__name__)

TOKEN = "123456789:AAFakeTokenForTestsOnly-abcdefghijk"
Fault = Literal["429", "502", "502-posted", "502-early", "drop"]
DELETE_WINDOW_S = 48 * 3600  # bots may delete only messages younger than this
_BAD_GATEWAY = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass(frozen=True)
class PostedVideo:
    """One sendVideo the fake accepted, as it arrived."""

    message_id: int
    chat_id: str
    caption: str
    video: bytes
    video_filename: str
    thumbnail: bytes | None
    fields: dict[str, str]
    date: float = 0.0  # the fake's clock when it was posted

    @property
    def supports_streaming(self) -> bool:
        return self.fields.get("supports_streaming") == "true"


@dataclass(frozen=True)
class Call:
    method: str
    at: float  # time.monotonic() when the request had arrived whole
    status: int  # 0: the connection was dropped without an answer


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    drop: bool = False  # close the connection without answering


@dataclass
class FakeTelegram:
    """The Bot API of one bot. Use as a context manager; `base_url` is valid inside it."""

    token: str = TOKEN
    max_upload_bytes: int | None = None
    retry_after_s: int = 1
    faults: dict[int, Fault] = field(default_factory=dict)
    delete_faults: dict[int, Fault] = field(default_factory=dict)
    clock: Callable[[], float] = time.time  # message dates, for the 48-hour delete window
    messages: list[PostedVideo] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)  # (chat id, text) of sendMessage
    deleted: list[tuple[str, int]] = field(default_factory=list)  # (chat_id, message_id)
    calls: list[Call] = field(default_factory=list)
    _blocked_until: float = 0.0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(101))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: _Server | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def send_video_calls(self) -> list[Call]:
        return [call for call in self.calls if call.method == "sendVideo"]

    def delete_calls(self) -> list[Call]:
        return [call for call in self.calls if call.method == "deleteMessage"]

    def __enter__(self) -> FakeTelegram:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def answer_before_body(self, path: str) -> Answer | None:
        """The "502-early" fault: an answer given before the body is read, or None."""
        token, _, method = path.removeprefix("/bot").partition("/")
        with self._lock:
            number = len(self.send_video_calls()) + 1
            if (
                token != self.token
                or method != "sendVideo"
                or self.faults.get(number) != "502-early"
            ):
                return None
            self.calls.append(Call(method, time.monotonic(), 502))
        return Answer(502, _BAD_GATEWAY, "text/html")

    def handle(self, path: str, content_type: str, body: bytes) -> Answer:
        """Answer one POST as the Bot API would (called by the HTTP handler, one at a time)."""
        token, _, method = path.removeprefix("/bot").partition("/")
        with self._lock:
            now = time.monotonic()
            answer = self._answer(token, method, content_type, body, now)
            self.calls.append(Call(method, now, 0 if answer.drop else answer.status))
        return answer

    def _answer(
        self, token: str, method: str, content_type: str, body: bytes, now: float
    ) -> Answer:
        if token != self.token:
            return _error(401, "Unauthorized")
        if method == "getMe":
            me = {"id": 123456789, "is_bot": True, "first_name": "Voices", "username": "voices_bot"}
            return _ok(me)
        if method == "sendMessage":
            return self._send_message(content_type, body)
        if method not in ("sendVideo", "deleteMessage"):
            return _error(404, "Not Found")
        if now < self._blocked_until:
            return self._too_many(math.ceil(self._blocked_until - now))
        if method == "deleteMessage":
            fault = self.delete_faults.get(len(self.delete_calls()) + 1)
        else:
            fault = self.faults.get(len(self.send_video_calls()) + 1)
        if fault == "429":
            self._blocked_until = now + self.retry_after_s
            return self._too_many(self.retry_after_s)
        if fault == "502":
            return Answer(502, _BAD_GATEWAY, "text/html")
        if method == "deleteMessage":
            return self._delete_message(content_type, body)
        if self.max_upload_bytes is not None and len(body) > self.max_upload_bytes:
            return _error(413, "Request Entity Too Large")
        answer = self._send_video(content_type, body, drop=fault == "drop")
        return Answer(502, _BAD_GATEWAY, "text/html") if fault == "502-posted" else answer

    def _send_message(self, content_type: str, body: bytes) -> Answer:
        """A text message (form-encoded, as httpx sends `data=`), kept in `texts`."""
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if not form.get("chat_id") or not form.get("text"):
            return _error(400, "Bad Request: message text is empty")
        self.texts.append((form["chat_id"], form["text"]))
        message = {"message_id": len(self.texts), "chat": {"id": form["chat_id"]}}
        return _ok(message | {"text": form["text"]})

    def _delete_message(self, content_type: str, body: bytes) -> Answer:
        if content_type.startswith("multipart/"):
            fields = parse_multipart(content_type, body)[0]
        else:
            fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        chat_id, message_id = fields.get("chat_id"), fields.get("message_id", "")
        if not chat_id:
            return _error(400, "Bad Request: chat_id is empty")
        if not message_id.isdigit():
            return _error(400, "Bad Request: message identifier is not specified")
        found = [
            m for m in self.messages if (m.chat_id, m.message_id) == (chat_id, int(message_id))
        ]
        if not found:
            return _error(400, "Bad Request: message to delete not found")
        if self.clock() - found[0].date >= DELETE_WINDOW_S:
            return _error(400, "Bad Request: message can't be deleted")
        self.messages.remove(found[0])
        self.deleted.append((chat_id, int(message_id)))
        return _ok(True)

    def _send_video(self, content_type: str, body: bytes, drop: bool) -> Answer:
        fields, files = parse_multipart(content_type, body)
        if "video" not in files:
            return _error(400, "Bad Request: there is no video in the request")
        if "chat_id" not in fields:
            return _error(400, "Bad Request: chat_id is empty")
        filename, video = files["video"]
        thumbnail = files.get("thumbnail")
        posted = PostedVideo(
            message_id=next(self._ids),
            chat_id=fields["chat_id"],
            caption=fields.get("caption", ""),
            video=video,
            video_filename=filename,
            thumbnail=thumbnail[1] if thumbnail else None,
            fields=fields,
            date=self.clock(),
        )
        self.messages.append(posted)
        if drop:
            return Answer(0, drop=True)
        return _ok(_message_json(posted))

    def _too_many(self, seconds: int) -> Answer:
        return _error(
            429, f"Too Many Requests: retry after {seconds}", parameters={"retry_after": seconds}
        )


def _message_json(posted: PostedVideo) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": -1001234567890, "type": "channel", "title": "Voices"}
    if posted.chat_id.startswith("@"):
        chat["username"] = posted.chat_id[1:]
    video = {
        "file_id": f"BAACAgIAAx-{posted.message_id}",
        "file_unique_id": f"AgAD{posted.message_id}",
        "width": int(posted.fields.get("width", 0)),
        "height": int(posted.fields.get("height", 0)),
        "duration": int(posted.fields.get("duration", 0)),
        "file_size": len(posted.video),
        "mime_type": "video/mp4",
    }
    return {
        "message_id": posted.message_id,
        "sender_chat": chat,
        "chat": chat,
        "date": int(posted.date),
        "video": video,
        "caption": posted.caption,
    }


def parse_multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """Form fields and files ({name: (filename, bytes)}) of a multipart/form-data body."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        payload = cast(bytes, part.get_payload(decode=True))
        filename = part.get_filename()
        if filename is None:
            fields[name] = payload.decode("utf-8")
        else:
            files[name] = (filename, payload)
    return fields, files


def _ok(result: object) -> Answer:
    return Answer(200, json.dumps({"ok": True, "result": result}).encode())


def _error(code: int, description: str, **extra: Any) -> Answer:
    body = {"ok": False, "error_code": code, "description": description, **extra}
    return Answer(code, json.dumps(body).encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeTelegram


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        fake = cast(_Server, self.server).fake
        early = fake.answer_before_body(self.path)
        if early is not None:  # unread, the body is thrown away with the connection
            self.close_connection = True
            self._answer(early, close=True)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        answer = fake.handle(self.path, self.headers.get("Content-Type", ""), body)
        if answer.drop:
            self.close_connection = True
            return
        self._answer(answer)

    def _answer(self, answer: Answer, close: bool = False) -> None:
        self.send_response(answer.status)
        if close:
            self.send_header("Connection", "close")
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake telegram: %s", re.sub(r"/bot[^/\s]*", "/bot<token>", format % args))
