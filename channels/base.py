"""The one small interface every destination implements.

A channel publishes one rendered clip, answers one question (is this clip already there?) and
takes a clip down again when a family withdraws consent. The ledger (see `pipeline.publishing`)
records every publication before and after the remote call; a channel only has to (1) report
resumable-upload state through `save_session` before it sends bytes, (2) resume from `session`
when given one, (3) find an earlier upload by its `marker` when asked, and (4) take down what it
published, saying whether it was deleted, made private or already gone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from catalog.models import Localization, SubtitleFiles, UploadSession


class PublishRequest(BaseModel):
    """Everything a channel needs to publish one clip. Built from the catalog by the ledger."""

    model_config = ConfigDict(frozen=True)

    clip_id: int
    video: Path
    title: str
    description: str
    tags: tuple[str, ...] = ()
    language: str | None = None
    # The title and description in other languages (YouTube's localizations), per language.
    localizations: dict[str, Localization] = {}
    # Per language: the clip's subtitles as SRT and WebVTT.
    subtitles: dict[str, SubtitleFiles] = {}
    thumbnail: Path | None = None  # a full-size JPEG (up to 1280 px): YouTube, folders
    # Facts about `video`, recorded by the render step, so a channel never probes media itself
    # (Telegram's sendVideo wants them). None: not known; a channel then sends none.
    width: int | None = Field(default=None, gt=0)
    height: int | None = Field(default=None, gt=0)
    duration_ms: int | None = Field(default=None, ge=0)
    # A JPEG of the clip at most 320 px on its long side and under 200 kB, made by the render
    # step (Telegram's thumbnail limits; `media.render.make_preview`). None: no preview is sent.
    preview: Path | None = None
    made_for_kids: bool = False
    publish_at: AwareDatetime | None = None
    # A unique token for this (clip, channel), placed where the remote keeps it (a description
    # line, a caption), so an upload whose answer was lost can be found again.
    marker: str


class RemoteResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    remote_id: str
    url: str
    status: Literal["published", "scheduled"] = "published"


class TakedownRequest(BaseModel):
    """One clip to take down from one channel. Built from the ledger's publication record."""

    model_config = ConfigDict(frozen=True)

    clip_id: int
    channel: str
    # What `publish` returned: YouTube the video id, Telegram "CHAT:MESSAGE_ID", a folder the
    # video's file name. "" when the ledger never learnt it (an answer lost): channels that can
    # look a clip up by `marker` (YouTube, folders) then do; Telegram asks a person.
    remote_id: str
    url: str | None = None
    marker: str  # the clip's marker on this channel (the `ref:` line)


class TakedownResult(BaseModel):
    """What a takedown did; `answer` is the remote's answer in a few words, for the ledger."""

    model_config = ConfigDict(frozen=True)

    status: Literal["deleted", "made_private", "already_gone"]
    answer: str


SaveSession = Callable[[UploadSession], None]

MARKER_PREFIX = "ref: "


def marker_line(marker: str) -> str:
    """The line a channel puts in a post so a person (or `find_existing`) can find it again."""
    return f"{MARKER_PREFIX}{marker}"


@runtime_checkable
class UpdatesCaptions(Protocol):
    """A channel that can replace the caption tracks of a video already up (YouTube), so a
    correction made after publishing reaches the people watching."""

    def refresh_captions(
        self, clip_id: int, remote_id: str, subtitles: dict[str, SubtitleFiles]
    ) -> None:
        """Replace (or add) the video's tracks in these languages with these files."""
        ...


class Channel(Protocol):
    """A destination for clips. Implementations take their client (or base URL) in __init__."""

    name: str
    # True when the remote itself publishes at a future time (YouTube's publishAt, only with
    # privacy "public"); otherwise the ledger waits until the time has come to call `publish`.
    schedules_remotely: bool

    @property
    def finds_existing(self) -> bool:
        """False when the remote cannot be asked what is already there (Telegram's Bot API):
        a try that may have posted then waits for a person instead of posting again."""
        ...

    @property
    def max_upload_bytes(self) -> int | None:
        """The largest file the channel takes; the ledger sends a smaller copy of bigger ones."""
        ...

    def close(self) -> None:
        """Release network clients."""
        ...

    def check(self) -> str:
        """Prove the channel can be used now (credentials, permissions, space): a short
        description of what was reached, or a `ChannelError` saying what to fix."""
        ...

    def find_existing(self, request: PublishRequest) -> RemoteResult | None:
        """Ask the remote whether this clip (by `request.marker`) is already there."""
        ...

    def publish(
        self, request: PublishRequest, session: UploadSession | None, save_session: SaveSession
    ) -> RemoteResult:
        """Publish the clip, resuming from `session` if given; raise a `ChannelError`."""
        ...

    def take_down(self, request: TakedownRequest) -> TakedownResult:
        """Remove the clip (or hide it, where so configured); a clip not there is
        "already_gone", so calling this again is safe. Raise a `ChannelError` saying what to do
        (a `TakedownRefusedError` when only a person can remove it)."""
        ...
