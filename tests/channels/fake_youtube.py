"""A local stand-in for the YouTube Data API v3, over TLS on 127.0.0.1, for the real client.

It speaks the wire protocols google-api-python-client uses: the resumable upload (a POST that
answers with a session URL, PUTs with `Content-Range`, `308` with `Range` until done, and
`bytes */TOTAL` status queries; the parts of the resource it keeps are those `part` names, as
YouTube's: `localizations` only when named, and then only with `snippet.defaultLanguage`),
multipart caption uploads, simple thumbnail uploads, the list
calls, `videos.delete` (204; 404 `videoNotFound`), `videos.update` of the status part (which, as
YouTube's does, resets every mutable status field it is not given), and an OAuth token endpoint.
`FakeYouTube.faults` injects the failures the channel must survive; `videos`, `sessions`, `puts`,
`received` and `updates` record what arrived so tests can assert on it.
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
    # (status, reason) answered to videos.delete and videos.update, e.g. (403, "quotaExceeded")
    takedown_error: tuple[int, str] | None = None


@dataclass
class StoredVideo:
    id: str
    snippet: dict[str, Any]
    status: dict[str, Any]
    params: dict[str, str]
    data: bytes
    captions: dict[str, tuple[dict[str, Any], bytes]] = field(default_factory=dict)
    caption_ids: dict[str, str] = field(default_factory=dict)  # caption id -> language
    thumbnail: bytes | None = None
    localizations: dict[str, Any] = field(default_factory=dict)

    def resource(self) -> dict[str, Any]:
        made_for_kids = bool(self.status.get("selfDeclaredMadeForKids"))
        status = {"madeForKids": made_for_kids, **self.status}
        found = {"id": self.id, "snippet": self.snippet, "status": status}
        return found | ({"localizations": self.localizations} if self.localizations else {})


# videos.update's status part: what it sets, and what a field left out becomes.
_STATUS_DEFAULTS: dict[str, Any] = {
    "privacyStatus": "public",  # the channel's default upload privacy
    "embeddable": True,
    "license": "youtube",
    "publicStatsViewable": True,
}
_STATUS_CLEARED = ("publishAt", "selfDeclaredMadeForKids", "containsSyntheticMedia")


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


@dataclass(frozen=True)
class Received:
    """One API call (not the upload's PUTs) as it arrived, and the status it was answered."""

    method: str
    path: str
    query: dict[str, str]
    status: int


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

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch

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


def _multipart(request: _Handler) -> tuple[dict[str, Any], bytes]:
    """The JSON metadata and the media of a multipart upload."""
    raw = request.body()
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    meta_part, media_part = (cast(bytes, p.get_payload(decode=True)) for p in message.iter_parts())
    return json.loads(meta_part), media_part


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
        self.received: list[Received] = []
        self.caption_updates: list[tuple[str, str]] = []  # (caption id, language) replaced
        self.updates: list[dict[str, Any]] = []  # videos.update bodies, as sent
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
            ("PUT", "/upload/youtube/v3/captions"): self._update_caption,
            ("GET", "/youtube/v3/captions"): self._list_captions,
            ("POST", "/upload/youtube/v3/thumbnails/set"): self._thumbnail,
            ("GET", "/youtube/v3/channels"): self._channels,
            ("GET", "/youtube/v3/playlistItems"): self._list_playlist,
            ("POST", "/youtube/v3/playlistItems"): self._add_to_playlist,
            ("GET", "/youtube/v3/videos"): self._list_videos,
            ("DELETE", "/youtube/v3/videos"): self._delete_video,
            ("PUT", "/youtube/v3/videos"): self._update_video,
        }
        handler = handlers.get(route)
        if handler is None:
            request.body()
            return _error(404, "notFound", f"no route for {route}")
        answer = handler(request, query)
        if not parts.path.startswith("/upload/"):
            with self._lock:
                self.received.append(Received(request.command, parts.path, query, answer[0]))
        return answer

    def calls(self, method: str, path: str = "/youtube/v3/videos") -> list[Received]:
        with self._lock:
            return [r for r in self.received if (r.method, r.path) == (method, path)]

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
        parts = query.get("part", "").split(",")
        localized = "localizations" in parts and metadata.get("localizations")
        if localized and not metadata.get("snippet", {}).get("defaultLanguage"):
            return _error(
                400,
                "defaultLanguageNotSet",
                "The request is trying to add localized video details without specifying the "
                "default language of the video details.",
            )
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
        video = StoredVideo(self._new_id("v"), snippet, status, session.params, data)
        if "localizations" in session.params.get("part", "").split(","):
            video.localizations = session.metadata.get("localizations", {})
        video = self._store(video)
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
        metadata, media_part = _multipart(request)
        snippet = metadata["snippet"]
        video = self.videos.get(snippet.get("videoId", ""))
        if video is None:
            return _error(404, "videoNotFound", "no such video")
        caption_id = self._new_id("c")
        with self._lock:
            video.captions[snippet["language"]] = (snippet, media_part)
            video.caption_ids[caption_id] = snippet["language"]
        return _json(200, {"kind": "youtube#caption", "id": caption_id, "snippet": snippet})

    def _list_captions(self, request: _Handler, query: dict[str, str]) -> Answer:
        request.body()
        video = self.videos.get(query.get("videoId", ""))
        if video is None:
            return _error(404, "videoNotFound", "no such video")
        with self._lock:
            items = [
                {"kind": "youtube#caption", "id": cid, "snippet": video.captions[lang][0]}
                for cid, lang in video.caption_ids.items()
            ]
        return _json(200, {"kind": "youtube#captionListResponse", "items": items})

    def _update_caption(self, request: _Handler, query: dict[str, str]) -> Answer:
        metadata, media_part = _multipart(request)
        caption_id = metadata.get("id", "")
        with self._lock:
            video = next((v for v in self.videos.values() if caption_id in v.caption_ids), None)
            if video is None:
                return _error(404, "captionNotFound", "no such caption track")
            language = video.caption_ids[caption_id]
            snippet = dict(video.captions[language][0]) | metadata.get("snippet", {})
            video.captions[language] = (snippet, media_part)
            self.caption_updates.append((caption_id, language))
        return _json(200, {"kind": "youtube#caption", "id": caption_id, "snippet": snippet})

    def _thumbnail(self, request: _Handler, query: dict[str, str]) -> Answer:
        data = request.body()
        if self.faults.thumbnail_forbidden:
            return _error(403, "forbidden", "The channel is not allowed custom thumbnails.")
        self.videos[query["videoId"]].thumbnail = data
        return _json(200, {"kind": "youtube#thumbnailSetResponse", "items": [{}]})

    # -- takedowns -----------------------------------------------------------------------------

    def _delete_video(self, request: _Handler, query: dict[str, str]) -> Answer:
        request.body()
        if self.faults.takedown_error is not None:
            return _error(*self.faults.takedown_error, "The request cannot be completed.")
        with self._lock:
            video = self.videos.pop(query.get("id", ""), None)
            if video is not None:
                for playlist in self.playlists.values():
                    playlist[:] = [i for i in playlist if i != video.id]
        if video is None:
            message = "The video that you are trying to delete cannot be found."
            return _error(404, "videoNotFound", message)
        return 204, {}, b""

    def _update_video(self, request: _Handler, query: dict[str, str]) -> Answer:
        body = json.loads(request.body() or b"{}")
        with self._lock:
            self.updates.append(body)
        if self.faults.takedown_error is not None:
            return _error(*self.faults.takedown_error, "The request cannot be completed.")
        if query.get("part") != "status":
            return _error(400, "invalidPart", "only part=status is supported here")
        video = self.videos.get(body.get("id", ""))
        if video is None:
            message = "The video that you are trying to update cannot be found."
            return _error(404, "videoNotFound", message)
        given = body.get("status", {})
        if given.get("publishAt") and given.get("privacyStatus") != "private":
            return _error(400, "invalidPublishAt", "publishAt needs privacyStatus private")
        with self._lock:  # every mutable field is replaced: what is left out is reset
            kept = {
                k: v
                for k, v in video.status.items()
                if k not in _STATUS_DEFAULTS and k not in _STATUS_CLEARED
            }
            video.status = {**kept, **_STATUS_DEFAULTS, **given}
        return _json(200, video.resource())

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
