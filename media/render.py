"""Social clips: one ffmpeg run per output, everything in one filtergraph.

A `RenderRequest` names a cut of a source, a `RenderProfile` (size, frame rate, loudness target,
reframing, caption size), branding and encoder settings. `render_clip` measures the cut's
loudness (first loudnorm pass), writes the captions as an ASS file next to the output, renders
intro/outro cards if asked (cached), then runs one ffmpeg command (`render_command`) that cuts
accurately, blurs faces where asked (`blur_faces`: rectangles found by `media.faces` on the
source cut, blurred before reframing and so before the captions, which stay sharp), reframes,
burns the captions in with the shipped fonts, lays the logo on, normalises the audio (second
pass), silences the `mute` spans (after normalisation, so neither loudness pass hears a hole),
joins the cards and encodes H.264 High + AAC for the web. The output is
written under a temporary name and renamed into place, so a retry overwrites and a failure never
leaves half a file. Metadata of the source (a phone's GPS position) never reaches the output.

For the publishing side, the render step also takes stills of a rendered clip (`make_thumbnail`;
`make_preview`, within Telegram's thumbnail limits), and a render is always the profile's size
with the length `RenderResult` gives, so that channels never do media work themselves.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import av
from pydantic import Field, ValidationError, model_validator

from media.cards import Card, CardInputs, CardLook, card_still, clip_cards
from media.errors import FFmpegError, MediaError, RenderError
from media.faces import FaceOptions, FaceScan, faces_key, scan_faces
from media.ffmpeg import ffmpeg_exe, file_arg, run_ffmpeg
from media.filtergraph import (
    captions_filter,
    card_background,
    face_blur_graph,
    logo_graph,
    mute_filter,
    reframe_graph,
)
from media.library import atomic_output, partial_path, write_text_atomically
from media.loudness import (
    OUTPUT_SAMPLE_RATE,
    LoudnessMeasurement,
    cut_input,
    loudnorm_filter,
    measure_loudness,
    seconds_arg,
)

# The profile models are defined in media.profiles (no media stack, so settings load light) and
# re-exported here for code that imports them with the renderer ("X as X": explicit re-export).
from media.profiles import Branding as Branding
from media.profiles import EncodeSettings as EncodeSettings
from media.profiles import Frozen
from media.profiles import RenderProfile as RenderProfile
from subtitles.ass import CaptionStyle, ass_text
from subtitles.models import Cue

log = logging.getLogger(__name__)

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
DEFAULT_FPS = 30.0  # for audio-only footage whose profile keeps "the source's" rate
KEYFRAME_SECONDS = 2  # closed GOPs of this length: platforms cut and seek on them
CAPTION_MARGIN_H = 0.06  # of the width, left and right of the captions
CARD_FONT_SCALE = 1.3  # card text is this much larger than captions
# A render this much shorter than asked means the source ended before the clip did.
DURATION_SLACK_MS = 500
THUMBNAIL_QUALITY = 3  # ffmpeg's JPEG -q:v (2 best ... 31 worst)
# Telegram's thumbnail: a JPEG at most 320 px a side and "less than 200 kB". 320 x 320 is 150 kB
# before compression (4:2:0), so the first quality nearly always fits; grain may need the next.
PREVIEW_MAX_SIDE = 320
PREVIEW_MAX_BYTES = 200 * 1000
PREVIEW_QUALITIES = (3, 8, 16, 31)


class RenderRequest(Frozen):
    """One clip to render. `cues` are laid out and timed from the clip's start (0 ms)."""

    source: Path
    start_ms: int = Field(ge=0)
    end_ms: int = Field(gt=0)
    has_video: bool
    profile: RenderProfile
    cues: tuple[Cue, ...] = ()
    # Shown on the picture of audio-only footage (its sidecar's title); ignored for video.
    title: str = ""
    branding: Branding = Branding()
    encode: EncodeSettings = EncodeSettings()
    output: Path
    # Every face in the picture blurred (people who agreed to their voice only); no-op for
    # audio-only footage.
    blur_faces: bool = False
    # Spans of the clip (ms from its start, as the cues) whose audio is silenced: redacted words.
    mute: tuple[tuple[int, int], ...] = ()

    @model_validator(mode="after")
    def _clip_has_length(self) -> RenderRequest:
        if self.end_ms <= self.start_ms:
            raise ValueError(f"the clip ends ({self.end_ms} ms) before it starts")
        for start, end in self.mute:
            if not 0 <= start < end:
                raise ValueError(f"a muted span must be 0 <= start < end, got ({start}, {end})")
        return self

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


class RenderResult(Frozen):
    path: Path
    duration_ms: int
    command: tuple[str, ...]


class _Inputs:
    """ffmpeg input arguments, numbered as they are added."""

    def __init__(self) -> None:
        self.args: list[str] = []
        self.count = 0

    def add(self, args: list[str]) -> int:
        self.args += args
        self.count += 1
        return self.count - 1


def _double_rate(rate: str) -> str:
    """``8M`` -> ``16M``: the VBV buffer is two seconds of the maximum rate."""
    number, unit = (rate[:-1], rate[-1]) if rate[-1].isalpha() else (rate, "")
    return f"{float(number) * 2:g}{unit}"


def _picture(
    request: RenderRequest, inputs: _Inputs, graph: list[str], faces: FaceScan | None
) -> str:
    """The reframed picture, its faces blurred first when asked (or, for audio-only footage, a
    card with its title laid out for the profile, or a plain one without a title); returns its
    label."""
    profile, width, height = request.profile, request.profile.width, request.profile.height
    if not request.has_video:
        seconds = request.duration_ms / 1000
        fps = profile.fps or DEFAULT_FPS
        if request.title:
            card = Card(text=request.title, **_card_look(request).model_dump())
            still = file_arg(card_still(card, _cache(request)))
            loop = ["-loop", "1", "-framerate", f"{fps:g}", "-t", f"{seconds:.3f}"]
            background = inputs.add([*loop, "-i", still])
        else:
            color = card_background(request.branding.card_color, width, height, fps, seconds)
            background = inputs.add(["-f", "lavfi", "-i", color])
        graph.append(f"[{background}:v]setsar=1[framed]")
        return "framed"
    source = "0:v:0"
    if request.blur_faces:
        if faces is None:
            raise ValueError("blur_faces needs the faces found in the cut (`scan_faces`)")
        graph.append(face_blur_graph(source, faces.spans, faces.width, faces.height, "unfaced"))
        source = "unfaced"
    if profile.fps:
        graph.append(f"[{source}]fps={profile.fps:g}[rated]")
        source = "rated"
    graph.append(reframe_graph(source, width, height, profile.reframe, "framed"))
    return "framed"


def _card_segment(name: str, path: Path | None, inputs: _Inputs, graph: list[str]) -> str:
    """The concat inputs of one card ("" without a card)."""
    if path is None:
        return ""
    index = inputs.add(["-i", file_arg(path)])
    graph.append(f"[{index}:v:0]setsar=1,format=yuv420p[{name}v]")
    graph.append(f"[{index}:a:0]aformat=channel_layouts=stereo[{name}a]")
    return f"[{name}v][{name}a]"


def _join_cards(cards: CardInputs, inputs: _Inputs, graph: list[str]) -> tuple[str, str]:
    """Intro, clip and outro, one after the other."""
    intro = _card_segment("intro", cards.intro, inputs, graph)
    outro = _card_segment("outro", cards.outro, inputs, graph)
    segments = [segment for segment in (intro, "[vmain][amain]", outro) if segment]
    graph.append(f"{''.join(segments)}concat=n={len(segments)}:v=1:a=1[vout][aout]")
    return "vout", "aout"


def _encode_args(request: RenderRequest) -> list[str]:
    encode, rate = request.encode, request.profile.video_bitrate
    return [
        *("-c:v", "libx264", "-profile:v", "high", "-pix_fmt", "yuv420p"),
        *("-preset", encode.preset, "-crf", str(encode.crf)),
        *("-maxrate", rate, "-bufsize", _double_rate(rate)),
        *("-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_SECONDS})", "-flags", "+cgop"),
        *("-fps_mode", "cfr"),
        *("-c:a", "aac", "-b:a", encode.audio_bitrate, "-ar", str(OUTPUT_SAMPLE_RATE)),
        *("-map_metadata", "-1", "-map_chapters", "-1"),
        *("-movflags", "+faststart"),
    ]


def render_command(
    request: RenderRequest,
    loudness: LoudnessMeasurement,
    ass_path: Path | None,
    fonts_dir: Path = FONTS_DIR,
    *,
    cards: CardInputs | None = None,
    faces: FaceScan | None = None,
) -> list[str]:
    """The complete ffmpeg arguments (without the program) rendering `request`.

    `ass_path` None burns no captions. `faces` (required with `request.blur_faces` for video)
    are the rectangles to blur. The output goes to `partial_path(request.output)`.
    """
    profile = request.profile
    inputs = _Inputs()
    inputs.add(cut_input(request.source, request.start_ms, request.end_ms))
    graph: list[str] = []
    video = _picture(request, inputs, graph, faces)
    branding = request.branding
    if branding.logo is not None:
        logo = inputs.add(["-i", file_arg(branding.logo)])
        graph.append(
            logo_graph(
                video, f"{logo}:v:0", profile.width, branding.logo_width,
                branding.logo_position, "branded",
            )
        )  # fmt: skip
        video = "branded"
    finish = [captions_filter(ass_path, fonts_dir)] if ass_path is not None else []
    graph.append(f"[{video}]{','.join([*finish, 'format=yuv420p'])}[vmain]")
    audio_chain = [
        loudnorm_filter(loudness, profile.loudness_target),
        mute_filter(request.mute, OUTPUT_SAMPLE_RATE),
    ]
    graph.append(f"[0:a:0]{','.join(f for f in audio_chain if f)}[amain]")
    video, audio = "vmain", "amain"
    if cards is not None and (cards.intro is not None or cards.outro is not None):
        video, audio = _join_cards(cards, inputs, graph)
    return [
        *("-v", "error", "-y"),  # the last stderr line is then the error itself
        *inputs.args,
        *("-filter_complex", ";".join(graph)),
        *("-map", f"[{video}]", "-map", f"[{audio}]"),
        *_encode_args(request),
        *("-f", "mp4", file_arg(partial_path(request.output))),
    ]


def _error(request: RenderRequest, reason: str) -> RenderError:
    return RenderError(
        request.source, request.start_ms, request.end_ms, request.profile.name, reason
    )


def _caption_style(profile: RenderProfile) -> CaptionStyle:
    return CaptionStyle(
        width=profile.width,
        height=profile.height,
        font_size=profile.font_size,
        margin_v=profile.margin_v,
        margin_h=round(profile.width * CAPTION_MARGIN_H),
    )


def _write_captions(request: RenderRequest) -> Path | None:
    """The cues as an ASS file beside the output (None without cues)."""
    if not request.cues:
        return None
    text = ass_text(request.cues, _caption_style(request.profile))
    return write_text_atomically(request.output.with_suffix(".ass"), text)


def _source_fps(request: RenderRequest) -> float:
    """The frame rate the clip will have: the profile's, else the source's."""
    if request.profile.fps:
        return request.profile.fps
    if not request.has_video:
        return DEFAULT_FPS
    try:
        with av.open(str(request.source), metadata_errors="ignore") as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
    except (av.error.FFmpegError, IndexError) as exc:
        raise _error(request, f"cannot read the video's frame rate ({exc})") from exc
    return float(rate) if rate else DEFAULT_FPS


def _card_look(request: RenderRequest) -> CardLook:
    """Cards in the profile's own size, so their text is laid out for it, never cropped."""
    branding, profile = request.branding, request.profile
    return CardLook(
        width=profile.width,
        height=profile.height,
        fps=_source_fps(request),
        seconds=branding.card_seconds,
        color=branding.card_color,
        font_size=round(profile.font_size * CARD_FONT_SCALE),
    )


def _cache(request: RenderRequest) -> Path:
    return request.output.parent / ".cards"


def _cards(request: RenderRequest) -> CardInputs:
    branding = request.branding
    if not branding.intro_text and not branding.outro_text:
        return CardInputs()
    return clip_cards(
        (branding.intro_text, branding.outro_text), _card_look(request), cache_dir=_cache(request)
    )


def _faces(request: RenderRequest, options: FaceOptions | None = None) -> FaceScan | None:
    """The faces of the cut when they are to be blurred, found once for all the clip's profiles
    (kept beside the outputs, named by the source, the cut and the detector's options)."""
    if not (request.blur_faces and request.has_video):
        return None
    options = options or FaceOptions()
    source = request.source
    stat = source.stat()
    inputs = f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{request.start_ms}-"
    inputs += f"{request.end_ms}|{faces_key(options)}"
    key = hashlib.sha256(inputs.encode()).hexdigest()[:24]
    cached = request.output.parent / ".faces" / f"{key}.json"
    if cached.is_file():
        try:
            return FaceScan.model_validate_json(cached.read_text(encoding="utf-8"))
        except ValidationError:
            log.warning("%s is unreadable; finding the faces again", cached)
    scan = scan_faces(source, request.start_ms, request.end_ms, options)
    write_text_atomically(cached, scan.model_dump_json())
    return scan


def rendered_ms(duration_ms: int, branding: Branding) -> int:
    """How long a clip of `duration_ms` lasts once rendered, its cards included."""
    cards = sum(1 for text in (branding.intro_text, branding.outro_text) if text)
    return duration_ms + round(cards * branding.card_seconds * 1000)


def fits(profile: RenderProfile, branding: Branding, duration_ms: int) -> bool:
    """Whether a clip is short enough for the profile (which may cap the length)."""
    limit = profile.max_seconds
    return limit is None or rendered_ms(duration_ms, branding) <= limit * 1000


def _expected_ms(request: RenderRequest) -> int:
    return rendered_ms(request.duration_ms, request.branding)


def _check_length(request: RenderRequest) -> None:
    if not fits(request.profile, request.branding, request.duration_ms):
        seconds = _expected_ms(request) / 1000
        raise _error(
            request,
            f"the clip would last {seconds:.1f} s but the profile allows "
            f"{request.profile.max_seconds:g} s; choose a shorter range",
        )


def _rendered_ms(request: RenderRequest, path: Path) -> int:
    """The output's duration; an output much shorter than asked means the source ran out."""
    try:
        with av.open(str(path)) as container:
            duration_ms = (container.duration or 0) // 1000
    except av.error.FFmpegError as exc:
        raise _error(request, f"the rendered file does not open ({exc})") from exc
    expected = _expected_ms(request)
    if duration_ms < expected - DURATION_SLACK_MS:
        raise _error(
            request,
            f"only {duration_ms / 1000:.1f} s of {expected / 1000:.1f} s came out: the source "
            "ends or breaks off before the clip's end; check the range or replace the file",
        )
    return int(duration_ms)


def render_clip(request: RenderRequest) -> RenderResult:
    """Render `request` to `request.output`; raises `RenderError` naming the clip and profile."""
    _check_length(request)
    started = time.perf_counter()
    request.output.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_output(request.output) as partial:
            target = request.profile.loudness_target
            loudness = measure_loudness(request.source, request.start_ms, request.end_ms, target)
            ass_path = _write_captions(request)
            cards = _cards(request)
            faces = _faces(request)
            command = render_command(
                request, loudness, ass_path, FONTS_DIR, cards=cards, faces=faces
            )
            run_ffmpeg(command)
            duration_ms = _rendered_ms(request, partial)
    except FFmpegError as exc:
        raise _error(request, f"ffmpeg failed: {exc.last_line or 'no message'}") from exc
    except RenderError:
        raise
    except MediaError as exc:
        raise _error(request, str(exc)) from exc
    log.info(
        "rendered %s (%s, %.1f s) in %.1f s",
        request.output.name, request.profile.name, duration_ms / 1000,
        time.perf_counter() - started,
    )  # fmt: skip
    return RenderResult(
        path=request.output, duration_ms=duration_ms, command=(ffmpeg_exe(), *command)
    )


def make_thumbnail(video: Path, at_ms: int, output: Path, max_side: int = 1280) -> Path:
    """One JPEG of `video` at `at_ms`, its size or at most `max_side` pixels on the long side."""
    try:
        with atomic_output(output) as partial:
            _grab_frame(video, at_ms, partial, max_side, THUMBNAIL_QUALITY, "thumbnail")
    except FFmpegError as exc:
        raise RenderError(video, at_ms, at_ms, "thumbnail", exc.last_line) from exc
    return output


def make_preview(video: Path, at_ms: int, output: Path, max_bytes: int = PREVIEW_MAX_BYTES) -> Path:
    """A JPEG of `video` at `at_ms` within Telegram's thumbnail limits: at most 320 px on the
    long side and under `max_bytes` (200 kB). Made by the render step so channels do no media
    work; a grainy picture too big at the best quality is tried at lower ones. Raises
    `RenderError` if none fits."""
    try:
        with atomic_output(output) as partial:
            for quality in PREVIEW_QUALITIES:
                _grab_frame(video, at_ms, partial, PREVIEW_MAX_SIDE, quality, "preview")
                size = partial.stat().st_size
                if size < max_bytes:
                    break
            else:
                reason = (
                    f"the preview is {size / 1000:.1f} kB even at JPEG quality {quality}, over "
                    f"{max_bytes / 1000:g} kB; choose another time for it"
                )
                raise RenderError(video, at_ms, at_ms, "preview", reason)
    except FFmpegError as exc:
        raise RenderError(video, at_ms, at_ms, "preview", exc.last_line) from exc
    return output


def _grab_frame(
    video: Path, at_ms: int, target: Path, max_side: int, quality: int, what: str
) -> None:
    """Write the frame of `video` at `at_ms` to `target` as a JPEG (ffmpeg's -q:v `quality`)."""
    fit = (
        f"scale=w='min({max_side},iw)':h='min({max_side},ih)':force_original_aspect_ratio=decrease"
        ":force_divisible_by=2,setsar=1"
    )
    run_ffmpeg(
        [
            *("-v", "error", "-y", "-ss", seconds_arg(at_ms), "-i", file_arg(video)),
            *("-frames:v", "1", "-vf", fit, "-q:v", str(quality), "-map_metadata", "-1"),
            *("-update", "1", "-f", "image2", file_arg(target)),
        ]
    )
    if not target.exists():
        raise RenderError(video, at_ms, at_ms, what, "no frame at that time")
