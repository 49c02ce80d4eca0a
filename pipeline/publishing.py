"""Publishing as plain functions: which approved clips are due where, and the ledger around
each remote call. Never twice: a publication is recorded before and after the call, and when
the ledger cannot tell whether an earlier try finished, the remote is asked first.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import JsonValue

from catalog.consent import blocked_reason
from catalog.ledger import (
    approved_clips,
    mark_done,
    mark_problem,
    mark_uploading,
    publication,
    save_session,
    up_on,
)
from catalog.models import (
    SETTLED,
    Audience,
    ClipRecord,
    FootageRecord,
    Localization,
    PublicationRecord,
    SubtitleFiles,
    UploadSession,
)
from channels.base import Channel, PublishRequest, RemoteResult, UpdatesCaptions, marker_line
from channels.errors import (
    ChannelError,
    InvalidRequestError,
    UnconfirmedPublicationError,
)
from config import Settings
from media.errors import MediaError
from media.shrink import shrink_to_fit
from pipeline.context import Context
from pipeline.plan import caption_track, is_draft
from pipeline.translation_review import translated_tracks, unreviewed_languages
from subtitles.redact import redact_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """A configured channel: the client, which render it takes, and who may see it."""

    channel: Channel
    profile: str
    audience: Audience = "public"


def build_targets(settings: Settings) -> tuple[list[Target], list[str]]:
    """The enabled channels; a channel that cannot start (no token...) is a problem, not a crash."""
    targets, problems = [], []
    builders = [
        (settings.youtube.enabled, _youtube),
        (settings.telegram.enabled, _telegram),
        (settings.folder.enabled, _folder),
    ]
    for enabled, build in builders:
        if not enabled:
            continue
        try:
            targets.append(build(settings))
        except ChannelError as exc:
            problems.append(str(exc))
        except ValueError as exc:  # a setting the channel cannot work with
            problems.append(f"{build.__name__.strip('_')} settings: {exc}")
    return targets, problems


def _youtube(settings: Settings) -> Target:
    from channels.youtube import YouTubeChannel, build_service

    y = settings.youtube
    service = build_service(y.token_file.expanduser(), y.api_endpoint or None)
    channel = YouTubeChannel(
        service,
        privacy=y.privacy,
        category_id=y.category_id,
        playlist_id=y.playlist_id or None,
        notify_subscribers=y.notify_subscribers,
        takedown=y.takedown,
    )
    return Target(channel=channel, profile=y.profile)


def _telegram(settings: Settings) -> Target:
    from channels.errors import AuthError
    from channels.telegram import TelegramChannel

    t = settings.telegram
    token = t.token.get_secret_value()
    if not token or not t.chat_id:
        raise AuthError(
            "telegram: set VOICES_TELEGRAM__TOKEN (the bot token, in the "
            "environment only) and telegram.chat_id"
        )
    limit = round(t.max_upload_mb * 1_000_000) if t.max_upload_mb else None
    channel = TelegramChannel(
        token, t.chat_id, base_url=t.base_url, local_server=t.local_server, max_upload_bytes=limit
    )
    return Target(channel=channel, profile=t.profile)


def _folder(settings: Settings) -> Target:
    from channels.folder import FolderChannel

    f = settings.folder
    if not f.path:
        raise InvalidRequestError("folder: set folder.path to the drop folder (or disable it)")
    return Target(
        channel=FolderChannel(Path(f.path).expanduser()), profile=f.profile, audience=f.audience
    )


def due(ctx: Context, targets: list[Target], now: datetime) -> list[tuple[int, Target]]:
    """(clip id, target) pairs to try now: approved, not yet done on that channel, and due
    (a channel that schedules remotely takes clips whose time is still to come)."""
    work = []
    for clip_id, publish_at in approved_clips(ctx.catalog):
        for target in targets:
            if publish_at and publish_at > now and not target.channel.schedules_remotely:
                continue
            # An unconfirmed one is listed so that every run says it waits for a person.
            if publication(ctx.catalog, clip_id, target.channel.name).status not in SETTLED:
                work.append((clip_id, target))
    return work


def request_for(
    ctx: Context, clip: ClipRecord, footage: FootageRecord, target: Target, marker: str
) -> PublishRequest:
    render = clip.renders[target.profile]
    youtube = ctx.settings.youtube
    kids = youtube.made_for_kids_with_minors if footage.has_minors else youtube.made_for_kids
    publish_at = clip.publish_at
    # A public channel gets no machine translation a person has not approved.
    unreviewed = unreviewed_languages(ctx, footage) if target.audience == "public" else set()
    subtitles = {lang: f for lang, f in clip.subtitles.items() if lang not in unreviewed}
    return PublishRequest(
        clip_id=clip.id,
        video=render.path,
        width=render.width,
        height=render.height,
        duration_ms=render.duration_ms,
        # Redacted again here: a person may have typed a name into an edited title.
        title=redact_text(clip.title, footage.sidecar.redact),
        description=redact_text(clip.description, footage.sidecar.redact),
        tags=tuple(redact_text(tag, footage.sidecar.redact) for tag in footage.sidecar.tags),
        language=footage.language,
        localizations={
            language: Localization(
                title=redact_text(text.title, footage.sidecar.redact),
                description=redact_text(text.description, footage.sidecar.redact),
            )
            for language, text in clip.localizations.items()
        },
        subtitles=subtitles,
        thumbnail=clip.thumbnail,
        preview=clip.preview,
        made_for_kids=kids,
        publish_at=publish_at if publish_at and publish_at > datetime.now(UTC) else None,
        marker=marker,
    )


def fit_for_channel(request: PublishRequest, channel: Channel) -> PublishRequest:
    """The request with a smaller copy of the video when the channel has a size limit it is
    over (e.g. 50 MB through Telegram's cloud Bot API)."""
    limit = channel.max_upload_bytes
    if limit is None or request.video.stat().st_size <= limit:
        return request
    smaller = request.video.with_name(f"{request.video.stem}.{channel.name}.mp4")
    try:
        video = shrink_to_fit(request.video, limit, smaller)
    except MediaError as exc:
        raise InvalidRequestError(f"{channel.name}, clip {request.clip_id}: {exc}") from exc
    return request.model_copy(update={"video": video})


def publish_clip(ctx: Context, clip_id: int, target: Target) -> PublicationRecord | None:
    """Publish one clip on one channel, with the ledger around the call. None: another
    publisher took this publication after this one read it (or a person decided again in
    between); the channel was not called, and the work is not this run's to report."""
    clip = ctx.catalog.clip(clip_id)
    footage = ctx.catalog.footage(clip.footage_id)
    record = publication(ctx.catalog, clip_id, target.channel.name)
    if record.status in SETTLED or record.status == "unconfirmed":
        return record  # unconfirmed: a person must look at the channel (`voices resolve`)
    if clip.decision != "approved":  # decided again while this run was going
        log.warning("clip %d is %s now; not posted to %s", clip_id, clip.decision, record.channel)
        return record
    reason = _blocked(ctx, clip, footage, target)
    if reason:
        return mark_problem(ctx.catalog, record.id, "blocked", reason)
    try:
        request = fit_for_channel(
            request_for(ctx, clip, footage, target, record.marker), target.channel
        )
    except ChannelError as exc:
        mark_problem(ctx.catalog, record.id, "failed", str(exc))
        raise
    if record.attempts > 0 and not record.session:  # an earlier try may have reached it
        settled = _ask_remote(ctx, record, target.channel, request)
        if settled is not None:
            return settled
    taken = mark_uploading(ctx.catalog, record)
    if taken is None:
        now = publication(ctx.catalog, clip_id, record.channel)
        log.info(
            "clip %d on %s: taken by another publisher, or decided again, since this one read "
            "it (%s now); not posted from here",
            clip_id,
            record.channel,
            now.status,
        )
        return None
    return _call(ctx, taken, target, request)


def _ask_remote(
    ctx: Context, record: PublicationRecord, channel: Channel, request: PublishRequest
) -> PublicationRecord | None:
    """Settle a row an earlier run left unsure: found remotely, or for a person to check when
    the remote cannot be asked and the earlier try may have posted it (it was `uploading`)."""
    if channel.finds_existing:
        found = channel.find_existing(request)
        return _done(ctx, record, found, request) if found is not None else None
    if record.status == "uploading":
        problem = (
            f"{channel.name}: an earlier run stopped while posting clip "
            f"{request.clip_id}; look for the line '{marker_line(record.marker)}' in "
            "the channel, then run `voices resolve`"
        )
        return mark_problem(ctx.catalog, record.id, "unconfirmed", problem)
    return None


def _call(
    ctx: Context, record: PublicationRecord, target: Target, request: PublishRequest
) -> PublicationRecord:
    def save(session: UploadSession) -> None:
        save_session(ctx.catalog, record.id, session)

    try:
        result = target.channel.publish(request, record.session or None, save)
    except UnconfirmedPublicationError as exc:
        mark_problem(ctx.catalog, record.id, "unconfirmed", str(exc))
        raise
    except ChannelError as exc:
        mark_problem(ctx.catalog, record.id, "failed", str(exc))
        raise
    return _done(ctx, record, result, request)


def _done(
    ctx: Context, record: PublicationRecord, result: RemoteResult, request: PublishRequest
) -> PublicationRecord:
    log.info("clip %d on %s: %s %s", request.clip_id, record.channel, result.status, result.url)
    done = mark_done(
        ctx.catalog,
        record.id,
        status=result.status,
        remote_id=result.remote_id,
        url=result.url,
        scheduled_at=request.publish_at,
    )
    # What its caption tracks said, so that a later correction replaces them (refresh_captions).
    save_session(ctx.catalog, record.id, {"captions": caption_digests(request.subtitles)})
    return done


def caption_digests(subtitles: dict[str, SubtitleFiles]) -> dict[str, JsonValue]:
    """What each caption track says, as a SHA-256 of the file a channel is sent."""
    digests: dict[str, JsonValue] = {}
    for language, files in subtitles.items():
        path = files.srt if files.srt.is_file() else files.vtt
        if path.is_file():
            digests[language] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def refresh_captions(ctx: Context, targets: list[Target]) -> tuple[list[str], list[str]]:
    """Caption tracks of clips already up, replaced where their words changed since they went
    up (a person's correction, realigned), on channels that can replace them (YouTube): only
    the languages that changed. Returns (what was replaced, what failed); a failure is tried
    again by the next run. A publication from before this was recorded gets its tracks
    recorded as they are now, and is compared from then on."""
    replaced: list[str] = []
    failed: list[str] = []
    for target in targets:
        channel = target.channel
        if not isinstance(channel, UpdatesCaptions):
            continue
        for record in up_on(ctx.catalog, channel.name):
            clip = ctx.catalog.clip(record.clip_id)
            if not record.remote_id or target.profile not in clip.renders:
                continue
            footage = ctx.catalog.footage(clip.footage_id)
            request = request_for(ctx, clip, footage, target, record.marker)
            now = caption_digests(request.subtitles)
            before = record.session.get("captions")
            if not isinstance(before, dict):
                save_session(ctx.catalog, record.id, {**record.session, "captions": now})
                continue
            changed = {
                language: files
                for language, files in request.subtitles.items()
                if language in now and before.get(language) != now[language]
            }
            if not changed:
                continue
            try:
                channel.refresh_captions(clip.id, record.remote_id, changed)
            except ChannelError as exc:
                failed.append(f"clip {clip.id} on {channel.name}: captions not replaced: {exc}")
                continue
            save_session(ctx.catalog, record.id, {**record.session, "captions": now})
            languages = ", ".join(sorted(changed))
            replaced.append(f"clip {clip.id} on {channel.name}: captions replaced ({languages})")
    return replaced, failed


def _blocked(ctx: Context, clip: ClipRecord, footage: FootageRecord, target: Target) -> str | None:
    settings = ctx.settings
    reason = blocked_reason(footage.sidecar, target.audience)
    if reason:
        return f"consent: {reason}"
    if footage.has_minors and target.audience == "public" and not clip.signoff_by:
        return (
            f"shows a minor: needs a safeguarding sign-off by someone other than "
            f"{clip.approved_by or 'the approver'} (voices signoff {clip.id} --by NAME)"
        )
    captions = caption_track(settings, footage, target.profile)
    if (
        captions
        and is_draft(settings, footage, captions)
        and not settings.transcription.publish_drafts
    ):
        return (
            f"its burned captions are a machine draft in {footage.language}, a language the "
            f"model hears badly: correct the transcript (voices correct {footage.id} FILE), "
            "or set transcription.publish_drafts"
        )
    if captions and target.audience == "public":
        unapproved = _unapproved_captions(ctx, footage, captions.language)
        if unapproved:
            return unapproved
    render = clip.renders.get(target.profile)
    if render is None or not render.path.is_file():
        return f"no '{target.profile}' render of this clip; run `voices run` first"
    return None


def _unapproved_captions(ctx: Context, footage: FootageRecord, language: str) -> str | None:
    """Why captions in `language` may not be burned into a public channel's video: a machine
    translation no person has approved (None: they may)."""
    if language not in unreviewed_languages(ctx, footage):
        return None
    [track] = [t for t in translated_tracks(ctx, footage) if t.language == language]
    return (
        f"its burned captions are a machine translation into {language} that no person has "
        f"approved: read {track.srt or 'it'}, then run `voices translation approve "
        f"{footage.id} {language} --by NAME` (or set translation.review_before_public: false)"
    )


def close_targets(targets: list[Target]) -> None:
    """Close the channels' network clients."""
    for target in targets:
        target.channel.close()


def check_targets(settings: Settings) -> tuple[list[str], list[str]]:
    """Try every enabled channel now: (what was reached, problems with their fixes)."""
    targets, problems = build_targets(settings)
    reached = []
    try:
        for target in targets:
            try:
                reached.append(f"{target.channel.name}: {target.channel.check()}")
            except ChannelError as exc:
                problems.append(str(exc))
    finally:
        close_targets(targets)
    return reached, problems
