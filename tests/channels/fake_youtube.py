"""A local stand-in for the YouTube Data API v3, over TLS on 127.0.0.1, for the real client.

It speaks the wire protocols google-api-python-client uses: the resumable upload (a POST that
answers with a session URL, PUTs with `Content-Range`, `308` with `Range` until done, and
`bytes */TOTAL` status queries), multipart caption uploads, simple thumbnail uploads, the list
calls, and an OAuth token endpoint. `FakeYouTube.faults` injects the failures the channel must
survive; `videos`, `sessions` and `puts` record what arrived so tests can assert on it.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import itertools
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

UPLOADS_PLAYLIST = "UUfakeUploads"
REFRESH_TOKEN = "1//fake-refresh-token-secret"
FIRST_ACCESS_TOKEN = "ya29.fake-initial-access-token"
CLIENT_SECRET = "fake-client-secret"
CHUNK = 256 * 1024  # the smallest chunk the resumable protocol allows


@dataclass
class Faults:
    """Failures to inject. Chunk numbers count data PUTs from 1, over all sessions."""

    chunk_503: set[int] = field(default_factory=set)
    chunk_drop: set[int] = field(default_factory=set)  # read half the body, close, no answer
    chunk_hang: int | None = None  # hold this PUT (uncommitted) until `release_hang()`
    lose_answer: bool = False  # once complete, close every connection to the session unanswered
    quota_on_insert: bool = False
    thumbnail_forbidden: bool = False
    refresh_fails: bool = False  # the token endpoint answers invalid_grant


@dataclass
class StoredVideo:
    id: str
    snippet: dict[str, Any]
    status: dict[str, Any]
    params: dict[str, str]
    data: bytes
    captions: dict[str, tuple[dict[str, Any], bytes]] = field(default_factory=dict)
    thumbnail: bytes | None = None

    def resource(self) -> dict[str, Any]:
        return {"id": self.id, "snippet": self.snippet, "status": self.status}


@dataclass
class UploadSession:
    id: str
    metadata: dict[str, Any]
    params: dict[str, str]
    total: int
    data: bytearray = field(default_factory=bytearray)
    video_id: str | None = None


@dataclass(frozen=True)
class Put:
    """One PUT to an upload session: a chunk (start, end) or a status query (None, None)."""

    session: str
    start: int | None
    end: int | None
    outcome: str  # committed | complete | query | 503 | dropped | hung | mismatch | lost


class _Drop(Exception):
    """Close the connection without answering."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert on recorded state instead."""

    def _dispatch(self) -> None:
        try:
            status, headers, body = self.server.fake.handle(self)
        except _Drop:
            self.close_connection = True
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _dispatch

    def body(self, limit: int | None = None) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length if limit is None else min(limit, length))


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True

    def __init__(self, fake: FakeYouTube, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.connections: set[socket.socket] = set()

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.connections.discard(request)
        super().shutdown_request(request)


Answer = tuple[int, dict[str, str], bytes]


def _json(status: int, payload: dict[str, Any], **headers: str) -> Answer:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(payload).encode()


def _error(status: int, reason: str, message: str) -> Answer:
    errors = [{"message": message, "domain": "youtube", "reason": reason}]
    return _json(status, {"error": {"code": status, "message": message, "errors": errors}})


class FakeYouTube:
    """Start with `start()`, stop with `stop()`; `url` is the api_endpoint to give the client."""

    def __init__(self, cert: Path, key: Path) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.faults = Faults()
        self.videos: dict[str, StoredVideo] = {}
        self.sessions: dict[str, UploadSession] = {}
        self.puts: list[Put] = []
        self.playlists: dict[str, list[str]] = {}
        self.access_tokens = {FIRST_ACCESS_TOKEN}
        self.refreshes = 0
        self.hung = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._chunk_count = 0
        self._ids = itertools.count(1)
        self._server = _Server(self, context)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}/"
        self.token_uri = f"{self.url}token"

    def start(self) -> FakeYouTube:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        for connection in list(self._server.connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join()

    def release_hang(self) -> None:
        self._release.set()

    def revoke_access_tokens(self) -> None:
        """Every access token issued so far is refused from now on (401)."""
        with self._lock:
            self.access_tokens.clear()

    def seed_videos(self, count: int, description: str = "someone else's clip") -> None:
        """Earlier uploads, so that looking through the channel has to page."""
        for _ in range(count):
            snippet = {"title": "old", "description": description}
            self._store(
                StoredVideo(self._new_id("v"), snippet, {"privacyStatus": "public"}, {}, b"")
            )

    def committed(self, session_id: str) -> int:
        with self._lock:
            return len(self.sessions[session_id].data)

    # -- dispatch ---------------------------------------------------------------------------

    def handle(self, request: _Handler) -> Answer:
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        route = (request.command, parts.path)
        if route == ("POST", "/token"):
            return self._token(request)
        auth = request.headers.get("Authorization", "")
        with self._lock:
            authorized = auth.removeprefix("Bearer ") in self.access_tokens
        if not authorized:
            request.body()
            return _error(401, "authError", "Request had invalid authentication credentials.")
        handlers = {
            ("POST", "/upload/youtube/v3/videos"): self._start_upload,
            ("PUT", "/upload/youtube/v3/videos"): self._put,
            ("POST", "/upload/youtube/v3/captions"): self._caption,
            ("POST", "/upload/youtube/v3/thumbnails/set"): self._thumbnail,
            ("GET", "/youtube/v3/channels"): self._channels,
            ("GET", "/youtube/v3/playlistItems"): self._list_playlist,
            ("POST", "/youtube/v3/playlistItems"): self._add_to_playlist,
            ("GET", "/youtube/v3/videos"): self._list_videos,
        }
        handler = handlers.get(route)
        if handler is None:
            request.body()
            return _error(404, "notFound", f"no route for {route}")
        return handler(request, query)

    def _token(self, request: _Handler) -> Answer:
        form = {k: v[0] for k, v in parse_qs(request.body().decode()).items()}
        grant = form.get("grant_type")
        if self.faults.refresh_fails or grant not in ("refresh_token", "authorization_code"):
            payload = {"error": "invalid_grant", "error_description": "Token has been expired."}
            return _json(400, payload)
        with self._lock:
            self.refreshes += 1
            token = f"ya29.fake-access-{self.refreshes}"
            self.access_tokens.add(token)
        answer = {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
        if grant == "authorization_code":
            answer["refresh_token"] = REFRESH_TOKEN
        return _json(200, answer)

    # -- resumable upload -----------------------------------------------------------------

    def _start_upload(self, request: _Handler, query: dict[str, str]) -> Answer:
        metadata = json.loads(request.body() or b"{}")
        if query.get("uploadType") != "resumable":
            return _error(400, "badRequest", "only resumable uploads are supported here")
        if self.faults.quota_on_insert:
            return _error(403, "quotaExceeded", "The request cannot be completed: quota.")
        total = int(request.headers["X-Upload-Content-Length"])
        with self._lock:
            session = UploadSession(self._new_id("s"), metadata, query, total)
            self.sessions[session.id] = session
        location = f"{self.url}upload/youtube/v3/videos?uploadType=resumable&upload_id={session.id}"
        return 200, {"Location": location}, b""

    def _put(self, request: _Handler, query: dict[str, str]) -> Answer:
        session = self.sessions[query["upload_id"]]
        content_range = request.headers.get("Content-Range", "")
        if content_range.startswith("bytes */"):
            return self._status_query(request, session)
        span, _, _total = content_range.removeprefix("bytes ").partition("/")
        start, end = (int(x) for x in span.split("-"))
        with self._lock:
            self._chunk_count += 1
            number = self._chunk_count
        if number in self.faults.chunk_503:
            request.body()
            self._log(session, start, end, "503")
            return _error(503, "backendError", "Backend Error")
        if number in self.faults.chunk_drop:
            request.body(limit=(end - start + 1) // 2)
            self._log(session, start, end, "dropped")
            raise _Drop
        if number == self.faults.chunk_hang:
            self._log(session, start, end, "hung")
            self.hung.set()
            self._release.wait(timeout=30)
            raise _Drop
        return self._commit(session, start, end, request.body())

    def _status_query(self, request: _Handler, session: UploadSession) -> Answer:
        request.body()
        lost = session.video_id is not None and self.faults.lose_answer
        self._log(session, None, None, "lost" if lost else "query")
        if lost:
            raise _Drop
        return self._progress(session)

    def _commit(self, session: UploadSession, start: int, end: int, data: bytes) -> Answer:
        if session.video_id is not None and self.faults.lose_answer:
            self._log(session, start, end, "lost")
            raise _Drop
        if start != len(session.data) or len(data) != end - start + 1:
            self._log(session, start, end, "mismatch")
            return self._progress(session)
        session.data.extend(data)
        if len(session.data) < session.total:
            self._log(session, start, end, "committed")
            return self._progress(session)
        snippet = session.metadata.get("snippet", {})
        status = {"uploadStatus": "uploaded", **session.metadata.get("status", {})}
        data = bytes(session.data)
        video = self._store(StoredVideo(self._new_id("v"), snippet, status, session.params, data))
        session.video_id = video.id
        self._log(session, start, end, "lost" if self.faults.lose_answer else "complete")
        if self.faults.lose_answer:
            raise _Drop
        return self._progress(session)

    def _progress(self, session: UploadSession) -> Answer:
        if session.video_id is not None:
            return _json(200, self.videos[session.video_id].resource())
        headers = {"Range": f"bytes=0-{len(session.data) - 1}"} if session.data else {}
        return 308, headers, b""

    def _log(self, session: UploadSession, start: int | None, end: int | None, what: str) -> None:
        with self._lock:
            self.puts.append(Put(session.id, start, end, what))

    def _store(self, video: StoredVideo) -> StoredVideo:
        with self._lock:
            self.videos[video.id] = video
            self.playlists.setdefault(UPLOADS_PLAYLIST, []).insert(0, video.id)
        return video

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):010d}"

    # -- media beside the video -----------------------------------------------------------

    def _caption(self, request: _Handler, query: dict[str, str]) -> Answer:
        raw = request.body()
        head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
        meta_part, media_part = (
            cast(bytes, p.get_payload(decode=True)) for p in message.iter_parts()
        )
        snippet = json.loads(meta_part)["snippet"]
        video = self.videos.get(snippet.get("videoId", ""))
        if video is None:
            return _error(404, "videoNotFound", "no such video")
        video.captions[snippet["language"]] = (snippet, media_part)
        caption = {"kind": "youtube#caption", "id": f"c{len(video.captions)}", "snippet": snippet}
        return _json(200, caption)

    def _thumbnail(self, request: _Handler, query: dict[str, str]) -> Answer:
        data = request.body()
        if self.faults.thumbnail_forbidden:
            return _error(403, "forbidden", "The channel is not allowed custom thumbnails.")
        self.videos[query["videoId"]].thumbnail = data
        return _json(200, {"kind": "youtube#thumbnailSetResponse", "items": [{}]})

    # -- lists -------------------------------------------------------------------------------

    def _channels(self, request: _Handler, query: dict[str, str]) -> Answer:
        uploads = {"relatedPlaylists": {"uploads": UPLOADS_PLAYLIST}}
        item = {
            "kind": "youtube#channel",
            "id": "UCfake",
            "snippet": {"title": "voices test channel"},
            "contentDetails": uploads,
        }
        return _json(200, {"kind": "youtube#channelListResponse", "items": [item]})

    def _list_playlist(self, request: _Handler, query: dict[str, str]) -> Answer:
        with self._lock:
            ids = list(self.playlists.get(query["playlistId"], []))
        size = min(int(query.get("maxResults", "5")), 50)
        offset = int(query.get("pageToken", "0"))
        page = ids[offset : offset + size]
        items = [self._playlist_item(query["playlistId"], video_id) for video_id in page]
        answer: dict[str, Any] = {"kind": "youtube#playlistItemListResponse", "items": items}
        if offset + size < len(ids):
            answer["nextPageToken"] = str(offset + size)
        return _json(200, answer)

    def _playlist_item(self, playlist_id: str, video_id: str) -> dict[str, Any]:
        resource = {"kind": "youtube#video", "videoId": video_id}
        snippet = {"playlistId": playlist_id, "resourceId": resource}
        return {"snippet": snippet, "contentDetails": {"videoId": video_id}}

    def _add_to_playlist(self, request: _Handler, query: dict[str, str]) -> Answer:
        snippet = json.loads(request.body())["snippet"]
        video_id = snippet["resourceId"]["videoId"]
        with self._lock:
            self.playlists.setdefault(snippet["playlistId"], []).append(video_id)
        return _json(200, {"kind": "youtube#playlistItem", "snippet": snippet})

    def _list_videos(self, request: _Handler, query: dict[str, str]) -> Answer:
        ids = [i for i in query.get("id", "").split(",") if i in self.videos]
        items = [self.videos[i].resource() for i in ids]
        return _json(200, {"kind": "youtube#videoListResponse", "items": items})
