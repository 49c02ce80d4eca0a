"""The catalog's typed records: what crosses its door, in and out.

Every status is a `Literal`, so a misspelt one is a type error. Paths in records are absolute
(the catalog resolves them against the workspace); on disk the catalog stores them relative to
the workspace, so a moved or restored workspace keeps working.

The sidecar staff write (people, minors, consent) is stored and read as the `Sidecar` model;
consent and "has minors" are computed here, in one place, from typed people.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

FootageStatus = Literal["ingested", "processed", "failed", "rejected", "duplicate", "held"]
# Footage the pipeline works on (the rest waits for a person or is set aside for good).
WORKABLE: tuple[FootageStatus, ...] = ("ingested", "processed", "failed")
ClipDecision = Literal["candidate", "approved", "rejected"]
CLIP_DECISIONS: tuple[ClipDecision, ...] = ("candidate", "approved", "rejected")
ClipOrigin = Literal["auto", "chosen"]
PublicationStatus = Literal[
    "pending",
    "uploading",
    "published",
    "scheduled",
    "failed",
    "blocked",
    "unconfirmed",
    "takedown_pending",  # consent no longer allows it there; a takedown is due or failed
    "takedown_manual",  # the remote will not take it down for us: a person must (see error)
    "taken_down",
]
DONE: tuple[PublicationStatus, ...] = ("published", "scheduled")
# What may be on the channel now (a takedown must reach these).
MAYBE_OUT: tuple[PublicationStatus, ...] = (
    "published",
    "scheduled",
    "unconfirmed",
    "uploading",
    "failed",  # on a channel that can be asked, a failure may have come after the upload
    "takedown_pending",
    "takedown_manual",
)
# Never published (again) by a run: done, or taken down (a person decides about those).
SETTLED: tuple[PublicationStatus, ...] = (
    *DONE,
    "takedown_pending",
    "takedown_manual",
    "taken_down",
)
AuditAction = Literal[
    "approve",
    "reject",
    "signoff",
    "edit",
    "consent",
    "sidecar",
    "takedown",
    "partner_add",
    "partner_revoke",
    "resolve",
    "describe",
    "correct",
    "clip_add",
    "staff_add",
    "staff_change",
    "approve_translation",
]
TranscriptTask = Literal["transcribe", "translate"]
Consent = Literal["internal", "partners", "public"]
Audience = Literal["partners", "public"]
# Resumable-upload state a channel saves before it sends bytes (YouTube: the session URL, how
# far it got, which captions are up); plain JSON, which only the channel reads.
UploadSession = dict[str, JsonValue]


class Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class Person(BaseModel):
    """Someone in the footage, as the sidecar lists them. The name never leaves voices."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    role: str = ""
    minor: bool = False
    consent: Consent = "internal"


class Sidecar(BaseModel):
    """What staff said about a footage (`NAME.yaml` beside it); consent defaults to internal."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    language: str | None = None
    # Several spoken languages (an interview that switches): each stretch is transcribed in
    # its own, and recorded so.
    languages: tuple[str, ...] = ()
    title: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    recorded: date | None = None
    location: str = ""
    consent: Consent = "internal"
    people: tuple[Person, ...] = ()
    subtitle_profile: str | None = None
    # Only when the sidecar says so do the place and the date of recording go out with a clip.
    public_location: bool = False
    public_recorded: bool = False
    # Words (names, a school...) to remove from every text and mute in every render; list each
    # form to catch (Бакыт, Бакыта, Бакытом).
    redact: tuple[str, ...] = ()
    # `blur`: consent covers the voice only; every face in every render is blurred.
    faces: Literal["show", "blur"] = "show"

    @field_validator("language")
    @classmethod
    def _iso_639_1(cls, value: str | None) -> str | None:
        return None if value is None else _language_code(value)

    @field_validator("languages")
    @classmethod
    def _codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_language_code(code) for code in value))

    @property
    def has_minors(self) -> bool:
        return any(person.minor for person in self.people)


def _language_code(value: str) -> str:
    code = value.strip().lower()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise ValueError("use a two-letter ISO 639-1 code such as ru, ky, kk, uz, tg or en")
    return code


class MediaInfo(Record):
    """What probing found in a file: its streams and length."""

    format_name: str
    duration_ms: int
    audio_codec: str
    sample_rate: int
    channels: int
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    rotation: int = 0

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None


class FootageRecord(Record):
    id: int
    sha256: str
    source_name: str
    status: FootageStatus
    error: str
    path: Path  # where the file is now: the library, rejected/, duplicates/ or the inbox
    library_path: Path | None
    language: str | None
    duration_ms: int | None
    sidecar: Sidecar
    media_info: MediaInfo | None
    clips_key: str
    attempts: int = 0
    processed_by: str = ""  # the worker that last brought it up to date
    created_at: datetime | None = None  # when it was first seen in the inbox

    @property
    def consent(self) -> Consent:
        return self.sidecar.consent

    @property
    def people(self) -> tuple[Person, ...]:
        return self.sidecar.people

    @property
    def has_minors(self) -> bool:
        return self.sidecar.has_minors

    @property
    def has_video(self) -> bool:
        return self.media_info is not None and self.media_info.has_video


class NewFootage(Record):
    """An inbox entry as ingest filed it, to be recorded."""

    sha256: str
    source_name: str
    status: FootageStatus
    path: Path
    error: str = ""
    fingerprint: str = ""
    library_path: Path | None = None
    media_info: MediaInfo | None = None
    sidecar: Sidecar | None = None


TrackSource = Literal["machine", "corrected", "imported", "translated"]
# The engine names of transcripts not heard by a speech model.
ALIGNED, IMPORTED = "align", "import"


class TranscriptRecord(Record):
    id: int
    footage_id: int
    key: str
    task: TranscriptTask
    language: str
    engine: str
    model: str
    path: Path
    # Who approved this machine translation for public channels, and when ("": nobody yet).
    reviewed_by: str = ""
    reviewed_at: datetime | None = None

    @property
    def needs_review(self) -> bool:
        """A machine translation no person has approved yet."""
        return self.source == "translated" and not self.reviewed_by

    @property
    def source(self) -> TrackSource:
        """Where its words come from: the machine's hearing, a person's correction (aligned to
        the audio), a person's translation file, or a translation (machine)."""
        if self.task == "transcribe":
            return "corrected" if self.engine == ALIGNED else "machine"
        return "imported" if self.engine == IMPORTED else "translated"


class SubtitleFiles(Record):
    srt: Path
    vtt: Path


class SubtitleTrackRecord(Record):
    id: int
    footage_id: int
    transcript_id: int
    rules_key: str
    language: str
    files: SubtitleFiles
    cues: int
    rule_violations: int


class RenderOutput(Record):
    """One rendered file of a clip, and the key of what it was made from."""

    path: Path
    key: str
    width: int
    height: int
    duration_ms: int


class Localization(Record):
    """A clip's title and description in another language (YouTube's localizations)."""

    title: str = ""
    description: str = ""


class ClipDraft(Record):
    """A clip as selection proposes it, before it is in the catalog."""

    start_ms: int
    end_ms: int
    text: str
    title: str = ""
    description: str = ""
    origin: ClipOrigin = "auto"
    score: float = 0.0


class ClipRecord(Record):
    id: int
    footage_id: int
    start_ms: int
    end_ms: int
    text: str
    title: str
    description: str
    origin: ClipOrigin
    rank: int
    score: float
    decision: ClipDecision
    error: str
    renders: dict[str, RenderOutput]
    subtitles: dict[str, SubtitleFiles]
    thumbnail: Path | None
    preview: Path | None
    package: Path | None
    approved_at: datetime | None = None
    approved_by: str = ""
    signoff_by: str = ""
    signoff_at: datetime | None = None
    publish_at: datetime | None = None
    # Title and description per language, by a person or a machine translation they asked for.
    localizations: dict[str, Localization] = {}

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


class ClipOutputs(Record):
    """What rendering a clip made: its renders, pictures and subtitles."""

    renders: dict[str, RenderOutput]
    subtitles: dict[str, SubtitleFiles]
    thumbnail: Path | None
    preview: Path | None = None


class PublicationRecord(Record):
    id: int
    clip_id: int
    channel: str
    status: PublicationStatus
    marker: str
    remote_id: str | None
    url: str | None
    scheduled_at: datetime | None
    published_at: datetime | None
    error: str
    attempts: int
    session: UploadSession
    taken_down_at: datetime | None = None
    taken_down_by: str = ""
    takedown_answer: str = ""

    @property
    def done(self) -> bool:
        return self.status in DONE


class PartnerRecord(Record):
    id: int
    name: str
    languages: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


Role = Literal["editor", "approver", "safeguarding", "admin"]
ROLES: tuple[Role, ...] = ("editor", "approver", "safeguarding", "admin")


class StaffRecord(Record):
    """A studio account. `admin` may do everything the other roles may."""

    id: int
    name: str
    roles: tuple[Role, ...]
    language: str
    created_at: datetime
    disabled_at: datetime | None

    def may(self, role: Role) -> bool:
        return self.disabled_at is None and (role in self.roles or "admin" in self.roles)


class DownloadRecord(Record):
    partner: str
    clip_id: int
    file: str
    how: str
    bytes: int
    at: datetime


class AuditRecord(Record):
    id: int
    at: datetime
    actor: str
    action: AuditAction
    footage_id: int | None
    clip_id: int | None
    detail: str
