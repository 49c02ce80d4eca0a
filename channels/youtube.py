"""YouTube through the Data API v3 (google-api-python-client), the only module importing it.

`authorize` runs the browser consent once and stores an authorized-user token file (0600);
`build_service` loads it, refreshes it, and gives a client whose later refreshes are written back
to the same file; `YouTubeChannel` publishes with a resumable upload whose session is handed to
the ledger before any byte is sent, so a crashed run resumes where the server says it got to.
Errors come out sorted as in `channels.errors`; messages never carry a token.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import google_auth_httplib2  # type: ignore[import-untyped]
import httplib2  # type: ignore[import-untyped]
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import InstalledAppFlow  # type: ignore[import-untyped]
from googleapiclient.discovery import Resource, build  # type: ignore[import-untyped]
from googleapiclient.errors import HttpError  # type: ignore[import-untyped]
from googleapiclient.http import MediaFileUpload, build_http  # type: ignore[import-untyped]

from catalog.models import SubtitleFiles, UploadSession
from channels import youtube_rules as rules
from channels.base import PublishRequest, RemoteResult, SaveSession, marker_line
from channels.errors import (
    AuthError,
    ChannelError,
    InvalidRequestError,
    QuotaExceededError,
    TransientChannelError,
)
from channels.token_file import save_token

logger = logging.getLogger(__name__)

SCOPES = ["https://www.googleapis.com/auth/youtube.force-ssl"]
REAUTH = "run `voices auth youtube` again"
UPLOAD_UNIT = 256 * 1024
LOOKUP_PAGES = 20  # 1,000 latest uploads, 20 + 20 quota units
_QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded", "uploadLimitExceeded"}
_NETWORK_ERRORS = (httplib2.HttpLib2Error, http.client.HTTPException, OSError)


def _reason(exc: HttpError) -> str:
    try:
        error = json.loads(exc.content).get("error")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return ""
    if isinstance(error, dict):
        errors = error.get("errors") or [{}]
        return str(errors[0].get("reason") or error.get("status") or "")
    return str(error or "")


def _from_http(exc: HttpError, where: str) -> ChannelError:
    status, reason = exc.resp.status, _reason(exc)
    what = f"{where}: YouTube answered {status} {reason}".rstrip()
    if reason in _QUOTA_REASONS:
        until = rules.next_pacific_midnight()
        message = f"{what}; the quota is used up, wait until {until:%Y-%m-%d %H:%M} UTC"
        return QuotaExceededError(message, retry_after=until)
    if status in (408, 429) or status >= 500:
        return TransientChannelError(f"{what}; retry later")
    if status in (401, 403):
        return AuthError(f"{what}; {REAUTH} (or fix the channel's permissions)")
    return InvalidRequestError(f"{what}; fix the clip's metadata or files")


def _translate(exc: Exception, where: str) -> ChannelError | None:
    if isinstance(exc, HttpError):
        return _from_http(exc, where)
    if isinstance(exc, RefreshError):
        if exc.retryable:
            return TransientChannelError(f"{where}: token refresh failed; retry later")
        return AuthError(f"{where}: Google refused the stored token; {REAUTH}")
    if isinstance(exc, TransportError) or (
        isinstance(exc, _NETWORK_ERRORS) and getattr(exc, "filename", None) is None
    ):
        return TransientChannelError(f"{where}: network error ({type(exc).__name__}); retry")
    if isinstance(exc, OSError):
        return InvalidRequestError(f"{where}: cannot read {exc.filename}; fix the clip's files")
    return None


@contextmanager
def _errors(where: str) -> Iterator[None]:
    """Third-party errors out as `ChannelError`s, once, `from` the original."""
    try:
        yield
    except ChannelError:
        raise
    except Exception as exc:
        translated = _translate(exc, where)
        if translated is None:
            raise
        raise translated from exc


class _PersistentCredentials(Credentials):
    """Authorized-user credentials that write themselves back to their file on every refresh."""

    token_file: Path | None = None

    def refresh(self, request: Any) -> None:
        super().refresh(request)  # type: ignore[no-untyped-call]
        if self.token_file is not None:
            save_token(self.token_file, json.loads(self.to_json()))  # type: ignore[no-untyped-call]
            logger.info("youtube: access token refreshed and saved to %s", self.token_file)


def _load_credentials(token_file: Path, token_uri: str | None) -> _PersistentCredentials:
    try:
        load = _PersistentCredentials.from_authorized_user_file
        credentials: _PersistentCredentials = load(str(token_file))  # type: ignore[no-untyped-call]
    except (OSError, ValueError, KeyError) as exc:
        message = f"youtube: cannot use the token file {token_file} ({type(exc).__name__})"
        raise AuthError(f"{message}; {REAUTH}") from exc
    if token_uri:  # google-auth ignores a token_uri in the file, on purpose
        expiry = credentials.expiry
        credentials = credentials.with_token_uri(token_uri)
        credentials.expiry = expiry
    credentials.token_file = token_file
    return credentials


def build_service(
    token_file: Path, api_endpoint: str | None = None, *, token_uri: str | None = None
) -> Resource:
    """A YouTube Data API client from a token file made by `authorize`.

    `api_endpoint` and `token_uri` point the client at a stand-in (tests); leave them out.
    """
    credentials = _load_credentials(token_file, token_uri)
    if not credentials.valid:
        transport = build_http()
        try:
            with _errors("youtube: refreshing the token"):
                credentials.refresh(google_auth_httplib2.Request(transport))
        finally:
            transport.close()
    options = {"api_endpoint": api_endpoint} if api_endpoint else None
    return build(
        "youtube",
        "v3",
        credentials=credentials,
        client_options=options,
        static_discovery=True,
        cache_discovery=False,
    )


def authorize(
    client_secrets: Path, token_file: Path, port: int = 0, *, open_browser: bool = True
) -> None:
    """Ask a person for consent in the browser once; store the token file (0600)."""
    flow = InstalledAppFlow.from_client_secrets_file(str(client_secrets), scopes=SCOPES)
    credentials = flow.run_local_server(port=port, prompt="consent", open_browser=open_browser)
    if not credentials.refresh_token:
        raise AuthError(f"youtube: Google gave no refresh token; {REAUTH}")
    save_token(token_file, json.loads(credentials.to_json()))
    logger.info("youtube: authorized; token saved to %s", token_file)


# -- upload plumbing ----------------------------------------------------------------------------


class _ReplayableFileUpload(MediaFileUpload):  # type: ignore[misc]
    """A MediaFileUpload that hands each chunk over as bytes, not as a slice of the open file.

    The stock class sends a one-shot slice of the file; when the same PUT goes out again
    (next_chunk's own 5xx retry, httplib2's silent resend after a dropped connection) the slice
    is spent, the resend promises a chunk in Content-Length and carries nothing, and it hangs.
    """

    def has_stream(self) -> bool:
        return False


class _Session:
    """The upload state the ledger keeps for this publication, saved on every change."""

    def __init__(self, saved: dict[str, Any] | None, save_session: SaveSession) -> None:
        self.state: dict[str, Any] = dict(saved or {})
        self._save_session = save_session

    def update(self, **changes: Any) -> None:
        self.state.update(changes)
        self._save_session(dict(self.state))


class _SessionRecorder:
    """Stands in for the client's http: hands the session URL to the ledger before any byte."""

    def __init__(self, http: Any, session: _Session) -> None:
        self._http, self._session = http, session

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        response, content = self._http.request(uri, method, *args, **kwargs)
        if method == "POST" and response.status == 200 and "location" in response:
            self._session.update(resumable_uri=response["location"], progress=0)
        return response, content


# -- the channel --------------------------------------------------------------------------------


class YouTubeChannel:
    """Publishes clips to the channel the service's credentials belong to."""

    name = "youtube"
    schedules_remotely = True
    finds_existing = True
    max_upload_bytes: int | None = None  # 256 GB: far beyond any clip

    def __init__(
        self,
        service: Resource,
        *,
        privacy: str = "private",
        category_id: str = "29",
        playlist_id: str | None = None,
        notify_subscribers: bool = False,
        chunk_size: int = UPLOAD_UNIT * 4,
        num_retries: int = 5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if privacy not in ("private", "unlisted", "public"):
            raise ValueError(f"privacy must be private, unlisted or public, not {privacy!r}")
        if chunk_size != -1 and (chunk_size <= 0 or chunk_size % UPLOAD_UNIT):
            raise ValueError("chunk_size must be a multiple of 256 KiB (or -1 for one request)")
        self._service = service
        self._privacy, self._category_id, self._playlist_id = privacy, category_id, playlist_id
        self._notify, self._chunk_size = notify_subscribers, chunk_size
        self._num_retries, self._sleep = num_retries, sleep

    def close(self) -> None:
        """Close the client's connections."""
        self._service.close()

    def check(self) -> str:
        """The channel's title, which proves the token works (1 quota unit)."""
        with _errors("youtube: checking the token"):
            found = self._run(self._service.channels().list(part="snippet", mine=True))
        if not found.get("items"):
            raise AuthError(
                "youtube: this Google account has no YouTube channel; run "
                "`voices auth youtube` again with the channel's account"
            )
        return str(found["items"][0]["snippet"]["title"])

    def find_existing(self, request: PublishRequest) -> RemoteResult | None:
        """Look for the marker line in the descriptions of the channel's latest uploads."""
        with _errors(f"youtube: clip {request.clip_id}"):
            channels = self._run(self._service.channels().list(part="contentDetails", mine=True))
            if not channels.get("items"):
                return None
            uploads = channels["items"][0]["contentDetails"]["relatedPlaylists"]["uploads"]
            page: dict[str, Any] = {}
            for _ in range(LOOKUP_PAGES):
                listing = self._service.playlistItems().list(
                    part="contentDetails",
                    playlistId=uploads,
                    maxResults=50,
                    pageToken=page.get("nextPageToken"),
                )
                page = self._run(listing)
                ids = [item["contentDetails"]["videoId"] for item in page.get("items", [])]
                if found := self._match(ids, marker_line(request.marker)):
                    return found
                if not page.get("nextPageToken"):
                    return None
        logger.warning("youtube: clip %s: not among the latest uploads", request.clip_id)
        return None

    def publish(
        self, request: PublishRequest, session: UploadSession | None, save_session: SaveSession
    ) -> RemoteResult:
        """Upload (or resume) the video, then captions, thumbnail and playlist entry."""
        body = rules.video_body(request, self._privacy, self._category_id)
        rules.check_files(request)
        progress = _Session(session, save_session)
        with _errors(f"youtube: clip {request.clip_id}"):
            video_id = progress.state.get("video_id") or self._upload(request, body, progress)
            self._finish(request, str(video_id), progress)
        return rules.remote_result(str(video_id), scheduled=request.publish_at is not None)

    def _run(self, call: Any) -> Any:
        call._sleep = self._sleep  # HttpRequest's hook for the sleep between its own retries
        return call.execute(num_retries=self._num_retries)

    def _match(self, ids: list[str], line: str) -> RemoteResult | None:
        if not ids:
            return None
        found = self._run(self._service.videos().list(part="snippet,status", id=",".join(ids)))
        for video in found.get("items", []):
            if line in video["snippet"].get("description", "").splitlines():
                return rules.remote_result(
                    video["id"], scheduled=bool(video["status"].get("publishAt"))
                )
        return None

    def _upload(self, request: PublishRequest, body: dict[str, Any], session: _Session) -> str:
        media = _ReplayableFileUpload(
            str(request.video), mimetype="video/mp4", chunksize=self._chunk_size, resumable=True
        )
        try:
            insert = self._service.videos().insert(
                part="snippet,status", body=body, notifySubscribers=self._notify, media_body=media
            )
            insert._sleep = self._sleep
            if session.state.get("resumable_uri"):
                answer = self._ask_session(insert, str(session.state["resumable_uri"]))
                if answer == "gone" and (earlier := self.find_existing(request)):
                    return earlier.remote_id
                if isinstance(answer, dict):
                    return self._uploaded(answer, request, session)
            return self._uploaded(self._send_chunks(insert, session), request, session)
        finally:
            media.stream().close()

    def _ask_session(self, insert: Any, uri: str) -> dict[str, Any] | str | None:
        """Ask an earlier session how far it got (`Content-Range: bytes */SIZE`); aim at it."""
        size = insert.resumable.size()
        headers = {"Content-Range": f"bytes */{size}", "content-length": "0"}
        response, content = insert.http.request(uri, "PUT", headers=headers)
        if response.status in (200, 201):
            return dict(insert.postproc(response, content))
        if response.status in (404, 410):
            logger.warning("youtube: upload session expired (%s); starting again", response.status)
            return "gone"
        if response.status != 308:
            raise HttpError(response, content)  # not the session URL: it grants the upload
        committed = int(response["range"].rsplit("-", 1)[1]) + 1 if "range" in response else 0
        insert.resumable_uri, insert.resumable_progress = uri, committed
        logger.info("youtube: resuming upload at byte %d of %d", committed, size)
        return None

    def _send_chunks(self, insert: Any, session: _Session) -> dict[str, Any]:
        """next_chunk until done; after a dropped connection next_chunk asks the server first."""
        recorder = _SessionRecorder(insert.http, session)
        failures = 0
        while True:
            try:
                _, response = insert.next_chunk(http=recorder, num_retries=self._num_retries)
            except _NETWORK_ERRORS as exc:
                failures += 1
                if failures > self._num_retries:
                    raise
                logger.warning("youtube: upload cut (%s), retry %d", type(exc).__name__, failures)
                self._sleep(min(2.0**failures, 64.0))
                continue
            failures = 0
            if response is not None:
                return dict(response)
            session.update(resumable_uri=insert.resumable_uri, progress=insert.resumable_progress)

    def _uploaded(self, answer: dict[str, Any], request: PublishRequest, session: _Session) -> str:
        video_id = str(answer["id"])
        session.update(video_id=video_id, progress=request.video.stat().st_size)
        logger.info("youtube: clip %s uploaded as %s", request.clip_id, video_id)
        return video_id

    def _finish(self, request: PublishRequest, video_id: str, session: _Session) -> None:
        """Captions, thumbnail, playlist: each recorded in the session once done."""
        done = set(session.state.get("done", []))

        def once(step: str, action: Callable[[], None]) -> None:
            if step not in done:
                action()
                done.add(step)
                session.update(done=sorted(done))

        for language, files in sorted(request.subtitles.items()):
            once(f"caption:{language}", partial(self._caption, video_id, language, files))
        if thumbnail := rules.usable_thumbnail(request.thumbnail, request.clip_id):
            once("thumbnail", partial(self._thumbnail, request.clip_id, video_id, *thumbnail))
        if self._playlist_id:
            once("playlist", partial(self._add_to_playlist, video_id))

    def _caption(self, video_id: str, language: str, files: SubtitleFiles) -> None:
        name = rules.caption_name(language)
        snippet = {"videoId": video_id, "language": language, "name": name, "isDraft": False}
        path = files.srt if files.srt.is_file() else files.vtt
        media = MediaFileUpload(str(path), mimetype="application/octet-stream")
        try:
            body = {"snippet": snippet}
            self._run(self._service.captions().insert(part="snippet", body=body, media_body=media))
        finally:
            media.stream().close()

    def _thumbnail(self, clip_id: int, video_id: str, path: Path, mimetype: str) -> None:
        """A 403 (channel not verified) leaves the video up without it: warned, not raised."""
        media = MediaFileUpload(str(path), mimetype=mimetype)
        try:
            self._run(self._service.thumbnails().set(videoId=video_id, media_body=media))
        except HttpError as exc:
            if exc.resp.status != 403:
                raise
            logger.warning("youtube: clip %s: thumbnail refused (403 %s)", clip_id, _reason(exc))
        finally:
            media.stream().close()

    def _add_to_playlist(self, video_id: str) -> None:
        resource = {"kind": "youtube#video", "videoId": video_id}
        body = {"snippet": {"playlistId": self._playlist_id, "resourceId": resource}}
        self._run(self._service.playlistItems().insert(part="snippet", body=body))
