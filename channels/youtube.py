"""YouTube through the Data API v3 (google-api-python-client): the channel.

`YouTubeChannel` publishes with a resumable upload whose session is handed to the ledger before
any byte is sent, so a crashed run resumes where the server says it got to, and a publication
without a session looks for its marker first, so a reset one is not uploaded twice. `take_down`
deletes a video (`videos.delete`) or, with ``takedown="private"``, makes it private. Credentials,
the service and error sorting live in `channels.youtube_client` (`build_service` and `authorize`
are re-exported here); what needs no client library in `channels.youtube_rules`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Literal

from googleapiclient.discovery import Resource  # type: ignore[import-untyped]
from googleapiclient.errors import HttpError  # type: ignore[import-untyped]
from googleapiclient.http import MediaFileUpload  # type: ignore[import-untyped]

from catalog.models import SubtitleFiles, UploadSession
from channels import youtube_rules as rules
from channels.base import (
    PublishRequest,
    RemoteResult,
    SaveSession,
    TakedownRequest,
    TakedownResult,
    marker_line,
)
from channels.errors import AuthError
from channels.youtube_client import (
    NETWORK_ERRORS,
    channel_errors,
    error_reason,
    not_found,
)
from channels.youtube_client import authorize as authorize
from channels.youtube_client import build_service as build_service

logger = logging.getLogger(__name__)

UPLOAD_UNIT = 256 * 1024
LOOKUP_PAGES = 20  # 1,000 latest uploads, 20 + 20 quota units


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
    """Publishes clips to the channel the service's credentials belong to.

    `privacy` is what every upload gets. A clip approved for a later time goes up with YouTube's
    `publishAt` only when `privacy` is "public" (publishAt makes a video public at that time);
    otherwise `schedules_remotely` is False and the ledger holds the clip until its time.
    `takedown` is what `take_down` does: "delete" the video, or make it "private".
    """

    name = "youtube"
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
        takedown: Literal["delete", "private"] = "delete",
        chunk_size: int = UPLOAD_UNIT * 4,
        num_retries: int = 5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if privacy not in ("private", "unlisted", "public"):
            raise ValueError(f"privacy must be private, unlisted or public, not {privacy!r}")
        if takedown not in ("delete", "private"):
            raise ValueError(f"takedown must be delete or private, not {takedown!r}")
        if chunk_size != -1 and (chunk_size <= 0 or chunk_size % UPLOAD_UNIT):
            raise ValueError("chunk_size must be a multiple of 256 KiB (or -1 for one request)")
        self._service = service
        self._privacy, self._category_id, self._playlist_id = privacy, category_id, playlist_id
        self._notify, self._chunk_size = notify_subscribers, chunk_size
        self._num_retries, self._sleep = num_retries, sleep
        self._takedown = takedown
        self.schedules_remotely = privacy == "public"

    def close(self) -> None:
        """Close the client's connections."""
        self._service.close()

    def check(self) -> str:
        """The channel's title, which proves the token works (1 quota unit)."""
        with channel_errors("youtube: checking the token"):
            found = self._run(self._service.channels().list(part="snippet", mine=True))
        if not found.get("items"):
            raise AuthError(
                "youtube: this Google account has no YouTube channel; run "
                "`voices auth youtube` again with the channel's account"
            )
        return str(found["items"][0]["snippet"]["title"])

    def find_existing(self, request: PublishRequest) -> RemoteResult | None:
        """Look for the marker line in the descriptions of the channel's latest uploads."""
        return self._find(request.clip_id, request.marker)

    def _find(self, clip_id: int, marker: str) -> RemoteResult | None:
        """The upload whose description has the line `ref: <marker>`, among the latest 1,000
        (1 quota unit for the channel, then 2 a page of 50)."""
        with channel_errors(f"youtube: clip {clip_id}"):
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
                if found := self._match(ids, marker_line(marker)):
                    return found
                if not page.get("nextPageToken"):
                    return None
        logger.warning("youtube: clip %s: not among the latest uploads", clip_id)
        return None

    def publish(
        self, request: PublishRequest, session: UploadSession | None, save_session: SaveSession
    ) -> RemoteResult:
        """Upload (or resume) the video, then captions, thumbnail and playlist entry.

        Without a session (a first try, or one the ledger reset) the channel's uploads are
        searched for the marker first: a clip already there is returned, never uploaded again.
        """
        body = rules.video_body(request, self._privacy, self._category_id)
        rules.check_files(request)
        progress = _Session(session, save_session)
        if not progress.state and (earlier := self.find_existing(request)):
            found = (request.clip_id, earlier.remote_id)
            logger.warning("youtube: clip %s is already up as %s; not uploaded again", *found)
            return earlier
        with channel_errors(f"youtube: clip {request.clip_id}"):
            video_id = progress.state.get("video_id") or self._upload(request, body, progress)
            self._finish(request, str(video_id), progress)
        return rules.remote_result(str(video_id), scheduled="publishAt" in body["status"])

    def take_down(self, request: TakedownRequest) -> TakedownResult:
        """Delete the video (50 quota units), or make it private when so configured.

        Without a video id (the ledger never learnt it) the video is looked up by its marker.
        """
        video_id = request.remote_id
        if not video_id:
            found = self._find(request.clip_id, request.marker)
            if found is None:
                line = marker_line(request.marker)
                answer = f"no upload among the latest {LOOKUP_PAGES * 50} has '{line}'"
                return TakedownResult(status="already_gone", answer=answer)
            video_id = found.remote_id
        where = f"youtube: taking down clip {request.clip_id} (video {video_id})"
        by_hand = f"remove it by hand in YouTube Studio: {rules.studio_url(video_id)}"
        with channel_errors(where, by_hand):
            if self._takedown == "private":
                return self._make_private(video_id)
            return self._delete(video_id)

    def _delete(self, video_id: str) -> TakedownResult:
        try:
            self._run(self._service.videos().delete(id=video_id))
        except HttpError as exc:
            if not not_found(exc):
                raise
            return TakedownResult(status="already_gone", answer=f"video {video_id}: 404 not found")
        logger.info("youtube: video %s deleted", video_id)
        return TakedownResult(status="deleted", answer=f"video {video_id} deleted")

    def _make_private(self, video_id: str) -> TakedownResult:
        """`videos.update` resets every status field it is not given: the others are sent back."""
        found = self._run(self._service.videos().list(part="status", id=video_id))
        if not found.get("items"):
            return TakedownResult(status="already_gone", answer=f"video {video_id}: not found")
        current: dict[str, Any] = found["items"][0].get("status", {})
        was = str(current.get("privacyStatus", "unknown"))
        if was == "private" and not current.get("publishAt"):
            answer = f"video {video_id} was already private"
            return TakedownResult(status="made_private", answer=answer)
        body = {"id": video_id, "status": rules.private_status(current)}
        try:
            self._run(self._service.videos().update(part="status", body=body))
        except HttpError as exc:
            if not not_found(exc):
                raise
            return TakedownResult(status="already_gone", answer=f"video {video_id}: 404 not found")
        scheduled = ", its scheduled publication cancelled" if current.get("publishAt") else ""
        logger.info("youtube: video %s made private (was %s)%s", video_id, was, scheduled)
        answer = f"video {video_id} made private (was {was}){scheduled}"
        return TakedownResult(status="made_private", answer=answer)

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
                part=rules.parts(body),
                body=body,
                notifySubscribers=self._notify,
                media_body=media,
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
            except NETWORK_ERRORS as exc:
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

    def refresh_captions(
        self, clip_id: int, remote_id: str, subtitles: dict[str, SubtitleFiles]
    ) -> None:
        """Replace the video's tracks in these languages (a correction changed their words):
        the track voices put up in a language is updated in place (captions.update, 450 quota
        units), a language it lacks gets a new one (captions.insert, 400); listing them costs
        50. Tracks a person added on YouTube (another name) are left alone."""
        with channel_errors(f"youtube: clip {clip_id}: captions"):
            listing = self._run(self._service.captions().list(part="snippet", videoId=remote_id))
            ours = {
                item["snippet"]["language"]: item["id"]
                for item in listing.get("items", [])
                if item["snippet"].get("name") == rules.caption_name(item["snippet"]["language"])
            }
            for language, files in sorted(subtitles.items()):
                if language in ours:
                    self._replace_caption(ours[language], files)
                else:
                    self._caption(remote_id, language, files)
        logger.info("youtube: clip %s: captions replaced (%s)", clip_id, ", ".join(subtitles))

    def _replace_caption(self, caption_id: str, files: SubtitleFiles) -> None:
        path = files.srt if files.srt.is_file() else files.vtt
        media = MediaFileUpload(str(path), mimetype="application/octet-stream")
        try:
            body = {"id": caption_id, "snippet": {"isDraft": False}}
            update = self._service.captions().update(part="snippet", body=body, media_body=media)
            self._run(update)
        finally:
            media.stream().close()

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
            said = error_reason(exc)
            logger.warning("youtube: clip %s: thumbnail refused (403 %s)", clip_id, said)
        finally:
            media.stream().close()

    def _add_to_playlist(self, video_id: str) -> None:
        resource = {"kind": "youtube#video", "videoId": video_id}
        body = {"snippet": {"playlistId": self._playlist_id, "resourceId": resource}}
        self._run(self._service.playlistItems().insert(part="snippet", body=body))
