"""Small frozen models for words and time. Every time inside voices is integer milliseconds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Word(Frozen):
    """One recognised word. `text` carries no surrounding whitespace."""

    start_ms: int = Field(ge=0)
    end_ms: int = Field(ge=0)
    text: str
    probability: float = 1.0
    language: str | None = None
    """The language of `text` where a recording mixes languages (see `Segment.language`)."""


class Segment(Frozen):
    start_ms: int = Field(ge=0)
    end_ms: int = Field(ge=0)
    text: str
    words: tuple[Word, ...] = ()
    language: str | None = None
    """The language of `text`, set where a recording may hold several (`languages` given): the
    spoken language of this stretch as recorded (``ky``, though decoded with the ``kk`` token),
    or ``en`` in a translation. None where one language holds for the whole transcript."""


Task = Literal["transcribe", "translate"]


class Transcript(Frozen):
    """What an engine heard in one recording, with word timings.

    `language` is the language of the text (``en`` for a translation); `spoken_language` is the
    language of the speech. `decode_language` is the Whisper language token actually used, which
    differs from the spoken language where Whisper has no token for it (Kyrgyz).

    Where a recording may hold several languages, each segment carries its own `language`;
    `spoken_language` is then the main one (the most speech), and `languages` lists every spoken
    language heard, the most speech first.
    """

    language: str
    spoken_language: str
    decode_language: str | None
    language_probability: float | None = None
    task: Task = "transcribe"
    engine: str
    model: str
    duration_ms: int = Field(ge=0)
    segments: tuple[Segment, ...] = ()
    languages: tuple[str, ...] = ()

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(word for segment in self.segments for word in segment.words)

    @property
    def text(self) -> str:
        return " ".join(segment.text for segment in self.segments if segment.text)


class Cue(Frozen):
    """One subtitle on screen: up to `max_lines` lines shown from start to end."""

    start_ms: int = Field(ge=0)
    end_ms: int = Field(ge=0)
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.lines)


class ReadingRules(Frozen):
    """How subtitles must read. Defaults follow broadcast style guides for adults."""

    max_line_chars: int = Field(default=42, ge=10)
    max_line_chars_cyrillic: int = Field(default=39, ge=10)
    max_lines: int = Field(default=2, ge=1, le=3)
    min_duration_ms: int = Field(default=1000, ge=0)
    max_duration_ms: int = Field(default=7000, ge=1000)
    max_cps: float = Field(default=17.0, gt=0)
    min_gap_ms: int = Field(default=80, ge=0)
    pause_ms: int = Field(default=600, ge=0)
    max_lag_ms: int = Field(default=500, ge=0)
