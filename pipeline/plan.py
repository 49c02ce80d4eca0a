"""One plan of work: every "is this current?" key, and what a run has to do.

Each output is recorded with the key of what it was made from, and the keys are derived from
inputs only, never by rebuilding an output and hashing it:

    transcript   the transcription options (engine, model name, precision, beam, VAD, task,
                 language): `transcript_key`
    subtitles    the transcript's key and the reading rules of its language: `subtitles_key`
    selection    the transcript's key, the clip rules and the staff's clips file: `selection_key`
    render       the footage's bytes, the clip's span, the profile, branding, encoder settings,
                 what its captions and subtitles are made from: `render_key`

and `PLAN_VERSION`, which a code change that alters any output bumps, so that everything is
made again once. So deciding what is stale reads the catalog and the settings, a file's
existence and the staff's clips file, and never a transcript: `voices run` with nothing new
reads no transcript and lays out no cue.

A run computes its `Plan` once, before any flow starts.
"""

from __future__ import annotations

import glob
import hashlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from catalog.consent import blocked_reason
from catalog.models import ClipRecord, FootageRecord
from config import Settings
from config.settings import ConfigError
from media.clipfile import CLIPS_SUFFIX
from media.ingest import (
    LIBRARY_CLIPS_FILE,
    SUBTITLE_SUFFIXES,
    fingerprint,
    late_clip_files,
    pending_files,
)
from media.library import not_a_file_reason
from media.render import Branding, RenderProfile, fits
from media.selection import ClipRules
from media.sidecar import SIDECAR_SUFFIXES
from pipeline.context import Context
from subtitles.engines import TranscribeOptions
from subtitles.languages import decode_language
from subtitles.models import ReadingRules, Task

if TYPE_CHECKING:
    from subtitles.align import AlignOptions

CLIP_FILE_SUFFIXES = (CLIPS_SUFFIX, ".clips.yml")

# A footage on which this many runs started and none finished (a crash, the OOM killer) waits
# for a person (`voices retry`) instead of stopping every run at the head of the queue.
MAX_ATTEMPTS = 3

# Bump when a change of code changes what an output is made of (a transcript's layout, a
# render's filters): every output made under another version is made again.
PLAN_VERSION = 2


def _digest(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


# transcripts


def transcribe_options(settings: Settings, footage: FootageRecord, task: Task) -> TranscribeOptions:
    """Options for `task` on `footage`, with the model as configured (not yet resolved)."""
    t = settings.transcription
    mixed = footage.sidecar.languages if len(footage.sidecar.languages) >= 2 else ()
    if mixed and not footage.sidecar.language:  # each stretch in its own language
        spoken = None
    elif task == "translate":
        spoken = footage.language
    else:
        spoken = footage.sidecar.language or t.default_language or None
    label = t.model_for(spoken)
    return TranscribeOptions(
        engine=t.engine,
        model=label,
        model_label=label,
        device=t.device,
        compute_type=t.compute_type,
        beam_size=t.beam_size,
        vad=t.vad,
        task=task,
        language=decode_language(spoken, t.language_fallbacks),
        spoken_language=spoken,
        languages=mixed if spoken is None else (),
        language_fallbacks=t.language_fallbacks,
        campaign_languages=tuple(t.campaign_languages),
        min_language_probability=t.min_language_probability,
    )


def transcript_key(options: TranscribeOptions) -> str:
    """The key of a transcript: its options, with the model by the name it was asked by (where
    its files lie on this machine does not change the words)."""
    # The language checks decide whether a transcript is made, not what it says.
    unchanged = {"model", "campaign_languages", "min_language_probability"}
    return hashlib.sha256(options.model_dump_json(exclude=unchanged).encode()).hexdigest()


def key_for(settings: Settings, footage: FootageRecord, task: Task) -> str:
    return transcript_key(transcribe_options(settings, footage, task))


CORRECTION_SUFFIXES = (".srt", ".vtt", ".txt")


def correction_file(footage: FootageRecord) -> Path | None:
    """A person's corrected transcript (`NAME.ky.srt` in the footage's own language), kept in
    the library, if there is one."""
    if footage.library_path is None or footage.language is None:
        return None
    for suffix in CORRECTION_SUFFIXES:
        path = footage.library_path.parent / f"correction.{footage.language}{suffix}"
        if path.is_file():
            return path
    return None


def align_options(settings: Settings, footage: FootageRecord) -> AlignOptions:
    """How a correction is put back on the audio: the footage's model (its files resolved
    later), with Whisper's token for the spoken language (kk for Kyrgyz)."""
    from subtitles.align import AlignOptions  # the model stack, only when there is a correction

    t = settings.transcription
    label = t.model_for(footage.language)
    return AlignOptions(
        model=label,
        model_label=label,
        device=t.device,
        compute_type=t.compute_type,
        language=decode_language(footage.language, t.language_fallbacks),
        spoken_language=footage.language,
    )


def spoken_key(settings: Settings, footage: FootageRecord) -> str:
    """The key of the transcript in use for the footage's own words: the correction aligned to
    the audio once a person made one, else the machine's."""
    path = correction_file(footage)
    if path is None:
        return key_for(settings, footage, "transcribe")
    return _digest(
        f"v{PLAN_VERSION}",
        "corrected",
        hashlib.sha256(path.read_bytes()).hexdigest(),
        align_options(settings, footage).model_dump_json(exclude={"model"}),
    )


def wants_translation(settings: Settings, footage: FootageRecord) -> bool:
    """Whether Whisper's English gist is made: not for English, nor for a language the model
    hears badly (there it invents)."""
    t = settings.transcription
    return t.translate_to_english and footage.language not in (None, "en", *t.draft_languages)


def is_draft(settings: Settings, footage: FootageRecord, track: Track) -> bool:
    """A machine transcript (or what comes from it) in a language the model hears badly, not
    yet corrected by a person."""
    drafty = footage.language in settings.transcription.draft_languages
    by_people = track.kind == "translation" and translation_file(footage, track.language)
    return drafty and correction_file(footage) is None and not by_people


def tasks_for(settings: Settings, footage: FootageRecord) -> list[Task]:
    """The transcripts a footage should have: its words, and English when it is not English."""
    return ["transcribe", "translate"] if wants_translation(settings, footage) else ["transcribe"]


# subtitle tracks: the spoken words, Whisper's English gist, translations


TrackKind = Literal["spoken", "gist", "translation"]


class Track(BaseModel):
    """A subtitle track a footage should have, and the key of the transcript it comes from."""

    model_config = ConfigDict(frozen=True)

    kind: TrackKind
    language: str  # of the text ("" while the spoken language is not known yet)
    key: str


def tracks(settings: Settings, footage: FootageRecord) -> list[Track]:
    """Every track the footage should have: its words; Whisper's English gist where no
    translation into English is configured; and a translation into each configured language
    (or a person's translation file) other than its own."""
    spoken = footage.language or ""
    found = [Track(kind="spoken", language=spoken, key=spoken_key(settings, footage))]
    targets = translation_targets(settings, footage)
    if wants_translation(settings, footage) and "en" not in targets:
        found.append(Track(kind="gist", language="en", key=key_for(settings, footage, "translate")))
    found += [
        Track(kind="translation", language=t, key=translated_key(settings, footage, t))
        for t in targets
    ]
    return found


def translation_file(footage: FootageRecord, language: str) -> Path | None:
    """A translation a person made (`NAME.ru.srt` dropped in the inbox), kept in the library."""
    if footage.library_path is None:
        return None
    for suffix in SUBTITLE_SUFFIXES:
        path = footage.library_path.parent / f"translation.{language}{suffix}"
        if path.is_file():
            return path
    return None


def translated_by_people(footage: FootageRecord) -> list[str]:
    """The languages a person's translation of the footage is kept in the library for."""
    if footage.library_path is None:
        return []
    found = footage.library_path.parent.glob("translation.*")
    return sorted({p.name.split(".")[1] for p in found if p.suffix in SUBTITLE_SUFFIXES})


def translation_targets(settings: Settings, footage: FootageRecord) -> list[str]:
    """The languages a footage gets a translated track in: every configured one (a machine
    translation needs a provider, and consent to send the words out) and every one a person
    translated; never its own."""
    spoken = footage.language
    if spoken is None:
        return []
    t = settings.translation
    may_send = t.send_internal or blocked_reason(footage.sidecar, "partners") is None
    machine = t.translate_to if t.provider != "none" and may_send else []
    return [
        lang for lang in dict.fromkeys([*machine, *translated_by_people(footage)]) if lang != spoken
    ]


def translated_key(settings: Settings, footage: FootageRecord, target: str) -> str:
    """What a translated track is made from: the spoken track (its transcript, reading rules
    and redactions), and a person's file or the provider."""
    made_by = translation_file(footage, target)
    by: str
    if made_by is None:
        by = settings.translation.provider
    else:
        by = hashlib.sha256(made_by.read_bytes()).hexdigest()
        if target in settings.subtitles.languages:  # timed under the target's own rules
            by = _digest(by, rules_key(reading_rules(settings, footage, target)))
    return _digest(
        f"v{PLAN_VERSION}",
        "translation",
        target,
        by,
        spoken_key(settings, footage),
        subtitles_key(settings, footage, footage.language),
    )


def caption_track(settings: Settings, footage: FootageRecord, profile: str) -> Track | None:
    """The track whose words are burned into a render of this profile (None: no captions):
    `clips.captions_by_profile`, else `clips.caption_language`; a language the footage has no
    track in falls back to its own words."""
    choice = settings.clips.captions_by_profile.get(profile, settings.clips.caption_language)
    if choice == "none":
        return None
    every = tracks(settings, footage)
    if choice != "original":
        for track in every:
            if track.kind != "spoken" and track.language == choice:
                return track
    return every[0]


# subtitles


def reading_rules(settings: Settings, footage: FootageRecord, language: str | None) -> ReadingRules:
    """How text in `language` must read for this footage: its sidecar's profile (or the
    default one), with what `subtitles.languages` changes for that language."""
    return settings.subtitles.rules(footage.sidecar.subtitle_profile, language)


def rules_key(rules: ReadingRules) -> str:
    return hashlib.sha256(rules.model_dump_json().encode()).hexdigest()


def subtitles_key(settings: Settings, footage: FootageRecord, language: str | None) -> str:
    """What a footage's subtitle files in `language` are made from besides the transcript: the
    reading rules of that language, and the words to redact (a later `redact:` must replace
    files that still show them). Changing one language's rules changes only its key."""
    key = rules_key(reading_rules(settings, footage, language))
    terms = footage.sidecar.redact
    return _digest(key, *sorted(terms)) if terms else key


# selection


def clip_rules(settings: Settings) -> ClipRules:
    c = settings.clips
    return ClipRules(
        min_ms=round(c.min_seconds * 1000),
        max_ms=round(c.max_seconds * 1000),
        padding_ms=c.padding_ms,
        max_candidates=c.max_candidates,
        keywords=tuple(c.keywords),
    )


def clips_file(footage: FootageRecord) -> Path | None:
    """The staff's clips file kept beside the original, if the footage is in the library."""
    return footage.library_path.parent / LIBRARY_CLIPS_FILE if footage.library_path else None


def selection_key(settings: Settings, footage: FootageRecord) -> str:
    """What the clip selection is made from: the transcript, the clip rules, the clips file."""
    path = clips_file(footage)
    staff = hashlib.sha256(path.read_bytes()).hexdigest() if path and path.is_file() else ""
    return _digest(
        f"v{PLAN_VERSION}",
        spoken_key(settings, footage),
        clip_rules(settings).model_dump_json(),
        staff,
    )


# rendering


def wanted_profiles(settings: Settings, clip: ClipRecord) -> list[RenderProfile]:
    """The configured profiles this clip fits (a profile may cap the length)."""
    profiles = [settings.render.profile(name) for name in settings.clips.render]
    branding = settings.render.branding
    return [p for p in profiles if fits(p, branding, clip.duration_ms)]


def render_key(
    settings: Settings, footage: FootageRecord, clip: ClipRecord, profile: RenderProfile
) -> str:
    """Everything one render of a clip (and the clip's subtitle files) is made from."""
    captions = caption_track(settings, footage, profile.name)
    return _digest(
        f"v{PLAN_VERSION}",
        footage.sha256,
        f"{clip.start_ms}-{clip.end_ms}",
        profile.model_dump_json(),
        _branding_inputs(settings.render.branding),
        settings.render.encode.model_dump_json(),
        captions.key if captions else "no captions",
        *(track.key for track in tracks(settings, footage)),
        subtitles_key(settings, footage, None),
        *_language_rules(settings, footage),
        picture_title(footage),
        *(("faces: blur", _faces_key()) if blurs_faces(footage) else ()),
    )


def _language_rules(settings: Settings, footage: FootageRecord) -> tuple[str, ...]:
    """The subtitles keys of the footage's languages whose reading rules differ from the
    profile's (none without `subtitles.languages`, so keys made before it stay as they were)."""
    changed = settings.subtitles.languages
    return tuple(
        f"{t.language} {subtitles_key(settings, footage, t.language)}"
        for t in tracks(settings, footage)
        if t.language in changed
    )


def _faces_key() -> str:
    from media.faces import faces_key  # numpy and the detector's options: only when blurring

    return faces_key()


def blurs_faces(footage: FootageRecord) -> bool:
    """Consent covers the voice only: every face in the footage's renders is blurred."""
    return footage.sidecar.faces == "blur" and footage.has_video


def picture_title(footage: FootageRecord) -> str:
    """The title drawn on the picture of audio-only footage (video shows its own picture)."""
    return "" if footage.has_video else footage.sidecar.title


def _branding_inputs(branding: Branding) -> str:
    """The branding settings, and the logo's bytes (a new logo under the same name counts)."""
    logo = branding.logo
    logo_hash = hashlib.sha256(logo.read_bytes()).hexdigest() if logo and logo.is_file() else ""
    return branding.model_dump_json() + logo_hash


def renders_current(settings: Settings, footage: FootageRecord, clip: ClipRecord) -> bool:
    if clip.error:
        return False
    for_partners = blocked_reason(footage.sidecar, "partners") is None
    has_package = clip.package is not None and clip.package.is_dir()
    if has_package != for_partners:  # a package to make, or one consent no longer allows
        return False
    for profile in wanted_profiles(settings, clip):
        done = clip.renders.get(profile.name)
        if done is None or done.key != render_key(settings, footage, clip, profile):
            return False
        if not done.path.is_file():
            return False
    return True


def clips_to_render(ctx: Context, footage: FootageRecord) -> list[ClipRecord]:
    """Clips (not rejected) whose renders are missing or made from other inputs."""
    return [
        c
        for c in ctx.catalog.clips_of(footage.id)
        if c.decision != "rejected" and not renders_current(ctx.settings, footage, c)
    ]


# the plan


class FootageWork(BaseModel):
    """What one footage still needs under the current settings."""

    model_config = ConfigDict(frozen=True)

    footage: FootageRecord
    transcripts: tuple[Task, ...] = ()  # to make
    subtitles: tuple[Task, ...] = ()  # to lay out (their transcript exists or is to be made)
    translations: tuple[str, ...] = ()  # languages of translated tracks to make
    select: bool = False
    renders: tuple[int, ...] = ()  # clip ids, as the clips stand before selection
    # Why its work cannot even be planned (a setting its sidecar names that does not exist):
    # the footage fails with this, the others go on.
    problem: str = ""

    @property
    def idle(self) -> bool:
        return not (
            self.transcripts
            or self.subtitles
            or self.translations
            or self.select
            or self.renders
            or self.problem
        )


class Plan(BaseModel):
    """A run's work, computed once: inbox files to file, and footage to bring up to date."""

    model_config = ConfigDict(frozen=True)

    new_files: tuple[Path, ...] = ()
    clip_files: tuple[tuple[int, Path], ...] = ()  # (footage id, clips file in the inbox)
    sidecars: tuple[tuple[int, Path], ...] = ()  # (footage id, a sidecar dropped later)
    orphans: tuple[Path, ...] = ()  # originals in the library the catalog does not know
    subtitle_files: tuple[tuple[int, Path], ...] = ()  # translations a person made, corrections
    footage: tuple[FootageWork, ...] = ()

    @property
    def has_work(self) -> bool:
        inbox = self.new_files or self.clip_files or self.sidecars or self.orphans
        inbox = inbox or self.subtitle_files
        return bool(inbox or self.footage)


def footage_work(ctx: Context, footage: FootageRecord) -> FootageWork:
    settings, catalog = ctx.settings, ctx.catalog
    if footage.status == "failed" or footage.language is None:  # from the start
        tasks = tuple(tasks_for(settings, footage))
        return FootageWork(
            footage=footage,
            transcripts=tasks,
            subtitles=tasks,
            select=True,
            renders=tuple(c.id for c in clips_to_render(ctx, footage)),
        )
    transcripts: list[Task] = []
    subtitles: list[Task] = []
    translations: list[str] = []
    for track in tracks(settings, footage):
        rules = subtitles_key(settings, footage, track.language)
        found = catalog.transcript(footage.id, track.key)
        missing = found is None or not found.path.is_file()
        if track.kind == "translation":
            if missing or (found is not None and not catalog.has_subtitles(found.id, rules)):
                translations.append(track.language)
            continue
        task: Task = "transcribe" if track.kind == "spoken" else "translate"
        if missing:
            transcripts.append(task)
            subtitles.append(task)
        elif found is not None and not catalog.has_subtitles(found.id, rules):
            subtitles.append(task)
    return FootageWork(
        footage=footage,
        transcripts=tuple(transcripts),
        subtitles=tuple(subtitles),
        translations=tuple(translations),
        select=footage.clips_key != selection_key(settings, footage),
        renders=tuple(c.id for c in clips_to_render(ctx, footage)),
    )


def _planned(ctx: Context, footage: FootageRecord) -> FootageWork:
    try:
        return footage_work(ctx, footage)
    except (ConfigError, OSError) as exc:
        fix = f"put a corrected {Path(footage.source_name).stem}.yaml in the inbox"
        return FootageWork(footage=footage, problem=f"{exc}; {fix}")


def new_files(ctx: Context, settle_seconds: float = 0.0) -> list[Path]:
    """Inbox files to ingest: all but those held for a sidecar fix that nobody has touched."""
    held = ctx.catalog.held_fingerprints()
    files = pending_files(ctx.dirs.inbox, settle_seconds)
    return [path for path in files if fingerprint(path) not in held]


def clip_files_for_known_footage(ctx: Context) -> list[tuple[FootageRecord, Path]]:
    """Clips files in the inbox whose footage is already in the library."""
    found = []
    for path in late_clip_files(ctx.dirs.inbox):
        footage = ctx.catalog.footage_by_stem(path.name.removesuffix(CLIPS_SUFFIX))
        if footage is not None:
            found.append((footage, path))
    return found


def late_sidecars(ctx: Context) -> list[tuple[FootageRecord, Path]]:
    """Sidecars dropped in the inbox on their own for footage already in the library: named
    by its SHA-256 (12 digits or more), or like the footage's file (`interview.yaml`) when no
    other footage has that name and no file of that name is on its way (the sidecar has been
    there for the settle time with nothing beside it)."""
    found = []
    settle = ctx.settings.ingest.settle_seconds
    inbox = ctx.dirs.inbox
    if not inbox.is_dir():
        return []
    for path in sorted(inbox.rglob("*")):
        name = path.name.lower()
        if path.suffix.lower() not in SIDECAR_SUFFIXES or name.endswith(CLIP_FILE_SUFFIXES):
            continue
        st = os.lstat(path)
        if not_a_file_reason(st) is not None or _has_media_beside(path):
            continue
        if time.time() - max(st.st_mtime, st.st_ctime) < settle:  # its footage may be coming
            continue
        footage = ctx.catalog.footage_by_sha256(path.stem) or ctx.catalog.footage_by_stem(
            path.stem, unique=True
        )
        if footage is not None:
            found.append((footage, path))
    return found


def _has_media_beside(sidecar: Path) -> bool:
    """Whether the sidecar came with its footage (then ingest takes them together)."""
    for other in sidecar.parent.glob(glob.escape(sidecar.stem) + ".*"):
        if other.stem == sidecar.stem and other.suffix.lower() not in SIDECAR_SUFFIXES:
            return True
    return False


def orphans(ctx: Context) -> list[tuple[str, Path]]:
    """Originals in the library with no catalog entry: (sha256, path)."""
    library = ctx.dirs.library
    if not library.is_dir():
        return []
    known = ctx.catalog.library_hashes()
    found = []
    for folder in sorted(library.glob("??/*")):
        if folder.name in known or len(folder.name) != 64 or not folder.is_dir():
            continue
        originals = sorted(folder.glob("original*"))
        if originals:
            found.append((folder.name, originals[0]))
    return found


def late_subtitle_files(ctx: Context) -> list[tuple[FootageRecord, str, Path]]:
    """`NAME.LANG.srt` (or .vtt) in the inbox for footage already in the library (named like
    its file, when no other footage is, or by its SHA-256): (footage, language, file)."""
    found = []
    inbox = ctx.dirs.inbox
    if not inbox.is_dir():
        return []
    for path in sorted(inbox.rglob("*")):
        parts = path.name.rsplit(".", 2)
        if path.suffix.lower() not in SUBTITLE_SUFFIXES or len(parts) != 3:
            continue
        stem, language = parts[0], parts[1].lower()
        if len(language) != 2 or not language.isalpha() or not path.is_file():
            continue
        footage = ctx.catalog.footage_by_sha256(stem) or ctx.catalog.footage_by_stem(
            stem, unique=True
        )
        if footage is not None:
            found.append((footage, language, path))
    return found


def make_plan(ctx: Context) -> Plan:
    """Everything left to do under the current settings, from the catalog and the inbox.
    Footage that stopped earlier runs comes last, and after `MAX_ATTEMPTS` not at all."""
    workable = [f for f in ctx.catalog.workable_footage() if f.attempts < MAX_ATTEMPTS]
    work = (_planned(ctx, f) for f in sorted(workable, key=lambda f: f.attempts))
    return Plan(
        new_files=tuple(new_files(ctx)),
        clip_files=tuple((f.id, path) for f, path in clip_files_for_known_footage(ctx)),
        sidecars=tuple((f.id, path) for f, path in late_sidecars(ctx)),
        subtitle_files=tuple((f.id, path) for f, _, path in late_subtitle_files(ctx)),
        orphans=tuple(path for _, path in orphans(ctx)),
        footage=tuple(w for w in work if not w.idle),
    )
