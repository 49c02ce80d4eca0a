"""Social clips rendered by real ffmpeg from real speech, at real profile sizes, checked by probing.

Renders are short (2-5 s) and shared between tests through module-scoped fixtures, so the whole
file runs in well under two minutes on two cores.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageFont

from media.errors import RenderError
from media.ffmpeg import file_arg, run_ffmpeg
from media.library import partial_path
from media.loudness import LoudnessMeasurement
from media.probe import probe
from media.render import (
    FONTS_DIR,
    Branding,
    RenderProfile,
    RenderRequest,
    RenderResult,
    make_preview,
    make_thumbnail,
    render_clip,
    render_command,
)
from subtitles.ass import CaptionStyle, ass_text
from subtitles.models import Cue
from tests.helpers import data, mux_video

pytestmark = pytest.mark.slow

Frame = NDArray[np.uint8]

VERTICAL = RenderProfile(
    name="vertical", width=1080, height=1920, font_size=64, caption_line_chars=32, margin_v=320
)
SQUARE = RenderProfile(
    name="square", width=1080, height=1080, font_size=56, caption_line_chars=36, margin_v=120
)
TV = RenderProfile(
    name="tv",
    width=1920,
    height=1080,
    fps=25.0,
    loudness_lufs=-23.0,
    font_size=48,
    caption_line_chars=42,
    margin_v=60,
)
KYRGYZ = "Үйгө кайтып келдим, апам күтүп жатат"
SQUARE_CUES = (
    Cue(start_ms=200, end_ms=1400, lines=("And so, my fellow", "Americans")),
    Cue(start_ms=2400, end_ms=3800, lines=("Үйгө кайтып келдим,", "апам күтүп жатат")),
)
BACKGROUND = (51, 102, 153)  # 0x336699
LOCATION = "+42.8746+074.5698/"


# ---- probing helpers -------------------------------------------------------------------------


def loudness(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) by ffmpeg's ebur128 scanner."""
    stderr = run_ffmpeg(
        ["-i", file_arg(path), "-map", "0:a", "-af", "ebur128=peak=true", "-f", "null", "-"]
    )
    summary = stderr[stderr.rindex("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert integrated and peak, summary
    return float(integrated.group(1)), float(peak.group(1))


def top_level_boxes(path: Path) -> list[str]:
    boxes = []
    with path.open("rb") as file:
        while header := file.read(8):
            size, kind = struct.unpack(">I4s", header)
            boxes.append(kind.decode("latin-1"))
            if size == 0:
                break
            if size == 1:
                size = struct.unpack(">Q", file.read(8))[0] - 8
            file.seek(size - 8, 1)
    return boxes


def frame_at(path: Path, ms: int) -> Frame:
    """The first decoded picture at or after `ms`, as RGB."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time * 1000 >= ms:
                return np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
    raise AssertionError(f"{path.name} has no picture at {ms} ms")


def white_pixels(picture: Frame) -> int:
    return int(np.count_nonzero(np.all(picture > 215, axis=2)))


def caption_band(picture: Frame, profile: RenderProfile) -> Frame:
    bottom = profile.height - profile.margin_v
    return picture[bottom - 3 * profile.font_size : bottom + profile.font_size // 2]


def near(pixel: Frame, colour: tuple[int, int, int], tolerance: int = 16) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - np.array(colour)) <= tolerance))


def has_glyph(font: ImageFont.FreeTypeFont, char: str) -> bool:
    """A character drawn differently from the font's "missing glyph" box (tofu)."""
    missing = font.getmask("\U0010fffd")
    mask = font.getmask(char)
    return mask.size != missing.size or bytes(mask) != bytes(missing)


# ---- sources and renders ---------------------------------------------------------------------


def solid_video(out: Path, audio: Path, seconds: float, extra: tuple[str, ...] = ()) -> Path:
    """Real speech over a plain 0x336699 picture: captions and logos stand out against it."""
    run_ffmpeg(
        [
            *("-y", "-f", "lavfi", "-i", "color=c=0x336699:s=1280x720:r=25"),
            *("-i", file_arg(audio), "-map", "0:v", "-map", "1:a", "-t", f"{seconds}"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"),
            *extra,
            file_arg(out),
        ]
    )
    return out


def phone_video(folder: Path) -> Path:
    """Stored landscape (top red, bottom blue), tagged to be shown turned 90 degrees."""
    stored = folder / "stored.mp4"
    run_ffmpeg(
        [
            *("-y", "-f", "lavfi", "-i", "color=c=red:s=640x180:r=25"),
            *("-f", "lavfi", "-i", "color=c=blue:s=640x180:r=25", "-i", file_arg(data("jfk.wav"))),
            *("-filter_complex", "[0:v][1:v]vstack[v]", "-map", "[v]", "-map", "2:a", "-t", "3"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"),
            file_arg(stored),
        ]
    )
    phone = folder / "phone.mp4"
    run_ffmpeg(
        ["-y", "-display_rotation", "90", "-i", file_arg(stored), "-c", "copy", file_arg(phone)]
    )
    return phone


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("render")


@pytest.fixture(scope="module")
def vertical(folder: Path) -> RenderResult:
    cues = (Cue(start_ms=300, end_ms=2500, lines=("A clip cut from", "real footage")),)
    return render_clip(
        RenderRequest(
            source=data("auto_editor_example.mp4"),
            start_ms=3000,
            end_ms=8000,
            has_video=True,
            profile=VERTICAL,
            cues=cues,
            output=folder / "vertical" / "clip.mp4",
        )
    )


@pytest.fixture(scope="module")
def square_source(folder: Path) -> Path:
    extra = ("-metadata", f"location={LOCATION}")
    return solid_video(folder / "square-source.mp4", data("jfk.wav"), 6, extra)


@pytest.fixture(scope="module")
def logo(folder: Path) -> Path:
    path = folder / "logo.png"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "color=c=red:s=300x150", "-frames:v", "1", str(path)])
    return path


@pytest.fixture(scope="module")
def square(folder: Path, square_source: Path, logo: Path) -> RenderResult:
    # Characters the filtergraph and libass treat specially, in the output's folder name.
    out = folder / "it's [one], a; b:c\\d" / "square.mp4"
    return render_clip(
        RenderRequest(
            source=square_source,
            start_ms=0,
            end_ms=4000,
            has_video=True,
            profile=SQUARE,
            cues=SQUARE_CUES,
            branding=Branding(logo=logo, logo_position="top-left"),
            output=out,
        )
    )


# ---- the tests -------------------------------------------------------------------------------


def test_vertical_clip_is_h264_high_and_aac_48k_at_full_size(vertical: RenderResult) -> None:
    with av.open(str(vertical.path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, video.codec_context.profile) == ("h264", "High")
        assert (video.codec_context.width, video.codec_context.height) == (1080, 1920)
        assert video.codec_context.pix_fmt == "yuv420p"
        assert video.average_rate == 30  # the source's rate, kept
        assert (audio.codec_context.name, audio.codec_context.sample_rate) == ("aac", 48000)
        assert audio.codec_context.channels == 2
        assert container.duration is not None
        assert container.duration / 1e6 == pytest.approx(5.0, abs=0.1)
        keyframes = [
            float(packet.pts * packet.time_base)
            for packet in container.demux(video)
            if packet.is_keyframe and packet.pts is not None
        ]
    assert keyframes == pytest.approx([0.0, 2.0, 4.0], abs=0.05)  # closed GOPs of 2 s
    assert vertical.duration_ms == pytest.approx(5000, abs=100)
    assert not partial_path(vertical.path).exists()
    assert vertical.path.with_suffix(".ass").exists()


def test_vertical_clip_meets_the_loudness_target(vertical: RenderResult) -> None:
    integrated, peak = loudness(vertical.path)
    assert integrated == pytest.approx(-14.0, abs=1.0)
    assert peak <= -1.5 + 0.1  # the profiles ask for -1.5 dBTP


def test_moov_comes_before_mdat_for_streaming(vertical: RenderResult) -> None:
    boxes = top_level_boxes(vertical.path)
    assert boxes.index("moov") < boxes.index("mdat")


def test_tv_profile_converts_to_25_fps_at_broadcast_loudness(folder: Path) -> None:
    result = render_clip(
        RenderRequest(
            source=data("auto_editor_example.mp4"),
            start_ms=10_000,
            end_ms=13_000,
            has_video=True,
            profile=TV,
            output=folder / "tv.mp4",
        )
    )
    with av.open(str(result.path)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (1920, 1080)
        assert video.average_rate == Fraction(25)
        assert sum(1 for _ in container.decode(video)) == pytest.approx(75, abs=1)
    integrated, peak = loudness(result.path)
    assert integrated == pytest.approx(-23.0, abs=1.0)
    assert peak <= -1.5 + 0.1  # the profiles ask for -1.5 dBTP


def test_captions_show_during_a_cue_and_not_in_a_gap(square: RenderResult) -> None:
    shown = white_pixels(caption_band(frame_at(square.path, 800), SQUARE))
    gap = white_pixels(caption_band(frame_at(square.path, 1900), SQUARE))
    assert shown > 1000
    assert gap < 50


def test_kyrgyz_captions_render_with_the_shipped_font(square: RenderResult) -> None:
    assert white_pixels(caption_band(frame_at(square.path, 3000), SQUARE)) > 1000
    font = ImageFont.truetype(str(FONTS_DIR / "DejaVuSans-Bold.ttf"), 56)
    letters = {char for char in KYRGYZ + "әғқңөұүһі ҳҷӣӯ" if char.isalpha()}
    assert {char for char in letters if not has_glyph(font, char)} == set()


def test_logo_sits_in_the_requested_corner(square: RenderResult) -> None:
    picture = frame_at(square.path, 1900)
    margin, logo_w = round(1080 * 0.04), round(1080 * 0.15)
    centre = margin + logo_w // 4
    assert near(picture[centre, margin + logo_w // 2], (255, 0, 0), tolerance=40)
    assert near(picture[centre, 1080 - margin - logo_w // 2], BACKGROUND)
    assert near(picture[1080 - centre, margin + logo_w // 2], BACKGROUND)


def test_no_metadata_of_the_source_leaks(square_source: Path, square: RenderResult) -> None:
    with av.open(str(square_source)) as container:
        assert container.metadata.get("location") == LOCATION  # the phone's position is there
    with av.open(str(square.path)) as container:
        tags = [dict(container.metadata), *(dict(s.metadata) for s in container.streams)]
    assert not any("location" in key.lower() for tag in tags for key in tag)
    assert LOCATION.encode() not in square.path.read_bytes()


def test_portrait_phone_footage_comes_out_upright(folder: Path) -> None:
    phone = phone_video(folder)
    with av.open(str(phone)) as container:
        assert next(container.decode(video=0)).rotation == 90
    result = render_clip(
        RenderRequest(
            source=phone,
            start_ms=0,
            end_ms=2000,
            has_video=True,
            profile=VERTICAL,
            output=folder / "phone-vertical.mp4",
        )
    )
    picture = frame_at(result.path, 1000)
    assert picture.shape == (1920, 1080, 3)
    # Turned upright, the stored top (red) is on the left and the bottom (blue) on the right,
    # all the way from top to bottom; unturned, the crop would show red above blue.
    for y in (200, 960, 1700):
        assert near(picture[y, 270], (255, 0, 0), tolerance=40)
        assert near(picture[y, 810], (0, 0, 255), tolerance=40)


def test_blur_reframe_fills_the_height_with_blurred_bars(folder: Path) -> None:
    source = mux_video(data("jfk.wav"), folder / "wide.mp4", size="1280x720", seconds=3)
    blur = VERTICAL.model_copy(update={"reframe": "blur", "name": "vertical-blur"})
    result = render_clip(
        RenderRequest(
            source=source,
            start_ms=0,
            end_ms=2000,
            has_video=True,
            profile=blur,
            output=folder / "blur.mp4",
        )
    )
    picture = frame_at(result.path, 1000).astype(int)
    assert picture.shape == (1920, 1080, 3)

    def detail(rows: Frame) -> float:
        return float(np.abs(np.diff(rows.astype(int), axis=1)).mean())

    top, middle, bottom = picture[:600], picture[700:1220], picture[1320:]
    assert top.mean() > 30 and bottom.mean() > 30  # bars are picture, not black
    assert detail(top) < detail(middle) / 3 and detail(bottom) < detail(middle) / 3


def test_audio_only_footage_gets_a_card_with_captions(folder: Path) -> None:
    result = render_clip(
        RenderRequest(
            source=data("tone_audio_short.flac"),
            start_ms=0,
            end_ms=3000,
            has_video=False,
            profile=VERTICAL,
            cues=(Cue(start_ms=200, end_ms=2800, lines=("Алло, здравствуйте",)),),
            output=folder / "audio-only.mp4",
        )
    )
    picture = frame_at(result.path, 1500)
    assert picture.shape == (1920, 1080, 3)
    assert near(picture[400, 540], (0x1D, 0x35, 0x57))
    assert white_pixels(caption_band(picture, VERTICAL)) > 500
    assert result.duration_ms == pytest.approx(3000, abs=100)


def test_intro_and_outro_cards_are_joined(folder: Path, square_source: Path) -> None:
    branding = Branding(intro_text="Голоса", outro_text="voices", card_seconds=1.0)
    result = render_clip(
        RenderRequest(
            source=square_source,
            start_ms=0,
            end_ms=2000,
            has_video=True,
            profile=SQUARE,
            branding=branding,
            output=folder / "cards" / "clip.mp4",
        )
    )
    card = (0x1D, 0x35, 0x57)
    assert result.duration_ms == pytest.approx(4000, abs=100)
    assert near(frame_at(result.path, 500)[50, 50], card)
    assert near(frame_at(result.path, 2000)[50, 50], BACKGROUND)
    assert near(frame_at(result.path, 3500)[50, 50], card)
    integrated, peak = loudness(result.path)
    assert integrated == pytest.approx(-14.0, abs=1.0)  # silent cards are gated out
    assert peak <= -1.5 + 0.1  # the profiles ask for -1.5 dBTP


@pytest.mark.parametrize(
    ("kept", "start_ms"),
    [(lambda size: size * 4 // 10, 16_000), (lambda size: 30_000, 0)],
    ids=["cut-off-half-way", "only-the-header"],
)
def test_a_corrupt_source_raises_render_error_naming_the_profile(
    folder: Path, kept: Callable[[int], int], start_ms: int
) -> None:
    whole = data("auto_editor_example.mp4").read_bytes()
    broken = folder / f"broken-{start_ms}.mp4"
    broken.write_bytes(whole[: kept(len(whole))])
    output = folder / "broken" / f"clip-{start_ms}.mp4"
    request = RenderRequest(
        source=broken,
        start_ms=start_ms,
        end_ms=start_ms + 3000,
        has_video=True,
        profile=VERTICAL,
        output=output,
    )
    with pytest.raises(RenderError, match="'vertical'") as caught:
        render_clip(request)
    assert caught.value.profile == "vertical"
    assert broken.name in str(caught.value)
    assert not output.exists() and not partial_path(output).exists()


def test_a_clip_longer_than_the_profile_allows_is_refused(folder: Path) -> None:
    short = VERTICAL.model_copy(update={"max_seconds": 2.0})
    request = RenderRequest(
        source=data("jfk.wav"),
        start_ms=0,
        end_ms=3000,
        has_video=False,
        profile=short,
        output=folder / "too-long.mp4",
    )
    with pytest.raises(RenderError, match="allows 2 s"):
        render_clip(request)


def test_thumbnails_keep_the_size_up_to_1280_on_the_long_side(
    vertical: RenderResult, square: RenderResult, folder: Path
) -> None:
    tall = make_thumbnail(vertical.path, 1000, folder / "tall.jpg")
    flat = make_thumbnail(square.path, 1000, folder / "flat.jpg")
    with Image.open(tall) as image:
        assert (image.format, image.size) == ("JPEG", (720, 1280))
    with Image.open(flat) as image:
        assert (image.format, image.size) == ("JPEG", (1080, 1080))


def test_previews_fit_telegrams_thumbnail_limits(
    vertical: RenderResult, square: RenderResult, folder: Path
) -> None:
    tall = make_preview(vertical.path, 1000, folder / "tall-preview.jpg")
    flat = make_preview(square.path, 1000, folder / "flat-preview.jpg")
    with Image.open(tall) as image:
        assert (image.format, image.size) == ("JPEG", (180, 320))
    with Image.open(flat) as image:
        assert (image.format, image.size) == ("JPEG", (320, 320))
    assert tall.stat().st_size < 200_000 and flat.stat().st_size < 200_000


def test_a_preview_over_the_limit_is_made_at_a_lower_quality_or_refused(
    vertical: RenderResult, folder: Path
) -> None:
    best = make_thumbnail(vertical.path, 1000, folder / "best.jpg", max_side=320)
    limit = best.stat().st_size  # the best quality is just over this limit
    smaller = make_preview(vertical.path, 1000, folder / "smaller.jpg", max_bytes=limit)
    assert smaller.stat().st_size < limit
    with Image.open(smaller) as image:
        assert image.size == (180, 320)

    never = folder / "never.jpg"
    with pytest.raises(RenderError, match=r"over 0\.1 kB; choose another time") as caught:
        make_preview(vertical.path, 1000, never, max_bytes=100)
    assert caught.value.profile == "preview"
    assert not never.exists() and not partial_path(never).exists()


def test_a_render_is_the_profiles_size_and_the_length_it_reports(
    vertical: RenderResult,
) -> None:
    """The render step records these for channels (Telegram's sendVideo) without a probe."""
    info = probe(vertical.path)
    assert (info.width, info.height, info.rotation) == (VERTICAL.width, VERTICAL.height, 0)
    assert info.duration_ms == pytest.approx(vertical.duration_ms, abs=100)


def test_the_command_cuts_accurately_and_strips_metadata(folder: Path) -> None:
    request = RenderRequest(
        source=Path("-odd name.mp4"),
        start_ms=1500,
        end_ms=4250,
        has_video=True,
        profile=VERTICAL,
        output=folder / "cmd.mp4",
    )
    measured = LoudnessMeasurement(
        input_i=-20, input_tp=-6, input_lra=3, input_thresh=-30, target_offset=0.2
    )
    command = render_command(request, measured, folder / "c.ass", FONTS_DIR)
    first_input = command.index("-i")
    assert command[first_input - 4 : first_input + 2] == [
        *("-ss", "1.500", "-t", "2.750"),
        *("-i", "file:-odd name.mp4"),
    ]
    assert command[command.index("-map_metadata") + 1] == "-1"
    assert "+faststart" in command
    assert command[-1] == f"file:{partial_path(folder / 'cmd.mp4')}"


def test_ass_text_escapes_override_blocks_and_sets_pixel_sizes() -> None:
    style = CaptionStyle(width=1080, height=1920, font_size=60, margin_v=300, margin_h=60)
    text = ass_text([Cue(start_ms=1234, end_ms=61_000, lines=("{\\b1}bold", "two"))], style)
    assert "PlayResX: 1080\nPlayResY: 1920\nWrapStyle: 2\n" in text
    assert "Dialogue: 0,0:00:01.23,0:01:01.00,Default,,0,0,0,,\\{\\\u200bb1\\}bold\\Ntwo" in text


# ---- faces blurred and words muted (consent for the voice only; redaction) --------------------
# Imports are local to these tests so that this section is only added to the file.

SMALL = RenderProfile(
    name="small", width=480, height=480, font_size=32, caption_line_chars=24, margin_v=40
)
# Square at half size: the face tests look at every frame, and that is what they cost.
HALF_SQUARE = RenderProfile(
    name="square", width=540, height=540, font_size=28, caption_line_chars=36, margin_v=60
)
# GRID's face, labelled by hand (tests/media/test_faces.py), in its 360x288 source pixels.
GRID_FACE = (112, 110, 218, 242)  # grid_lwbsza.mpg
FACE_CUES = (Cue(start_ms=200, end_ms=1400, lines=("lay white by", "s zero again")),)


def faces_in(path: Path) -> tuple[list[int], list[int]]:
    """Per frame of `path`, scaled to 540 pixels on its long side: faces CenterFace finds; and
    per 5th frame, face-sized boxes (a sixth of the height or more: a speaker's face fills over
    a fifth here) OpenCV's Haar cascade finds. Smaller Haar boxes are its false alarms in hair
    and fabric."""
    import cv2

    from media.faces import detect_faces

    cascade = cv2.CascadeClassifier(
        str(Path(cv2.__file__).parent / "data" / "haarcascade_frontalface_default.xml")
    )
    assert not cascade.empty()
    centerface, haar = [], []
    with av.open(str(path)) as container:
        for n, frame in enumerate(container.decode(video=0)):
            factor = 540 / max(frame.width, frame.height)
            small = frame.reformat(
                width=round(frame.width * factor), height=round(frame.height * factor)
            )
            rgb = np.asarray(small.to_ndarray(format="rgb24"), dtype=np.uint8)
            centerface.append(len(detect_faces(rgb)))
            if n % 5 == 0:
                side = small.height // 6
                gray = small.to_ndarray(format="gray")
                found = cascade.detectMultiScale(gray, 1.1, 5, minSize=(side, side))
                haar.append(len(found))
    return centerface, haar


@pytest.fixture(scope="module")
def face_renders(folder: Path) -> dict[bool, RenderResult]:
    """A real face, rendered square with captions, without and with `blur_faces`."""
    return {
        blur: render_clip(
            RenderRequest(
                source=data("grid_lwbsza.mpg"),
                start_ms=0,
                end_ms=3000,
                has_video=True,
                profile=HALF_SQUARE,
                cues=FACE_CUES,
                blur_faces=blur,
                output=folder / f"faces-{blur}" / "square.mp4",
            )
        )
        for blur in (False, True)
    }


def test_no_face_can_be_found_in_a_render_with_faces_blurred(
    face_renders: dict[bool, RenderResult],
) -> None:
    centerface, haar = faces_in(face_renders[False].path)
    assert len(centerface) == 75 and all(count >= 1 for count in centerface)
    assert sum(count >= 1 for count in haar) >= len(haar) - 1  # the second opinion agrees
    centerface, haar = faces_in(face_renders[True].path)
    assert len(centerface) == 75
    assert centerface == [0] * 75  # every frame
    assert haar == [0] * len(haar)


def test_the_blur_changes_the_face_and_nothing_else(
    face_renders: dict[bool, RenderResult],
) -> None:
    sharp = frame_at(face_renders[False].path, 2000).astype(int)  # no caption at 2 s
    blurred = frame_at(face_renders[True].path, 2000).astype(int)
    # The square crop keeps the middle 288x288 of the 360x288 source, scaled by 540/288.
    scale, left = 540 / 288, (360 - 288) // 2
    x1, y1, x2, y2 = GRID_FACE
    face = (
        slice(round(y1 * scale), round(y2 * scale)),
        slice(round((x1 - left) * scale), round((x2 - left) * scale)),
    )
    changed = np.abs(blurred[face] - sharp[face]).mean()
    assert changed > 15
    # Outside the blurred rectangle (the face and its margin): the same picture, but for the
    # encoder's noise. The rectangle reaches at most 40% of the face's size past it.
    margin_x, margin_y = (x2 - x1) * 0.4 * scale, (y2 - y1) * 0.4 * scale
    outside = np.ones(sharp.shape[:2], dtype=bool)
    outside[
        max(0, round(y1 * scale - margin_y)) : round(y2 * scale + margin_y),
        max(0, round((x1 - left) * scale - margin_x)) : round((x2 - left) * scale + margin_x),
    ] = False
    assert outside.mean() > 0.4
    assert np.abs(blurred[outside] - sharp[outside]).mean() < 2


def test_captions_stay_sharp_over_a_blurred_face(face_renders: dict[bool, RenderResult]) -> None:
    sharp = white_pixels(caption_band(frame_at(face_renders[False].path, 800), HALF_SQUARE))
    blurred = white_pixels(caption_band(frame_at(face_renders[True].path, 800), HALF_SQUARE))
    assert sharp > 500
    assert blurred == pytest.approx(sharp, rel=0.1)


def test_faces_of_phone_video_are_blurred_where_ffmpeg_shows_them(folder: Path) -> None:
    """Stored sideways and tagged to be turned: faces are found in the upright picture."""
    stored, phone = folder / "face-stored.mp4", folder / "face-phone.mp4"
    run_ffmpeg(
        [
            *("-y", "-i", file_arg(data("grid_lwbsza.mpg")), "-vf", "transpose=cclock"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", file_arg(stored)),
        ]
    )
    run_ffmpeg(
        ["-y", "-display_rotation", "-90", "-i", file_arg(stored), "-c", "copy", file_arg(phone)]
    )
    result = render_clip(
        RenderRequest(
            source=phone,
            start_ms=500,
            end_ms=2500,
            has_video=True,
            profile=SMALL,
            blur_faces=True,
            output=folder / "face-phone" / "small.mp4",
        )
    )
    centerface, haar = faces_in(result.path)
    assert len(centerface) == pytest.approx(50, abs=1)
    assert centerface == [0] * len(centerface) and haar == [0] * len(haar)


def test_blurring_faces_of_audio_only_footage_changes_nothing(folder: Path) -> None:
    request = RenderRequest(
        source=data("jfk.wav"),
        start_ms=0,
        end_ms=3000,
        has_video=False,
        profile=SMALL,
        blur_faces=True,
        output=folder / "voice-only.mp4",
    )
    measured = LoudnessMeasurement(
        input_i=-20, input_tp=-6, input_lra=3, input_thresh=-30, target_offset=0.2
    )
    plain = request.model_copy(update={"blur_faces": False})
    assert render_command(request, measured, None) == render_command(plain, measured, None)


def test_a_video_with_faces_to_blur_needs_the_faces_found(folder: Path) -> None:
    request = RenderRequest(
        source=data("grid_lwbsza.mpg"),
        start_ms=0,
        end_ms=3000,
        has_video=True,
        profile=SMALL,
        blur_faces=True,
        output=folder / "unscanned.mp4",
    )
    measured = LoudnessMeasurement(
        input_i=-20, input_tp=-6, input_lra=3, input_thresh=-30, target_offset=0.2
    )
    with pytest.raises(ValueError, match="scan_faces"):
        render_command(request, measured, None)


def audio_of(path: Path) -> tuple[NDArray[np.float32], int]:
    """The first audio track of `path`, mono float32, and its sample rate."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks = [
            plane.to_ndarray().reshape(-1)
            for frame in container.decode(stream)
            for plane in resampler.resample(frame)
        ]
    return np.concatenate(chunks).astype(np.float32), rate


def level_db(samples: NDArray[np.float32], rate: int, start_ms: int, end_ms: int) -> float:
    piece = samples[rate * start_ms // 1000 : rate * end_ms // 1000].astype(np.float64)
    return float(20 * np.log10(np.sqrt(np.mean(piece**2)) + 1e-10))


@pytest.fixture(scope="module")
def muted_renders(folder: Path) -> dict[bool, RenderResult]:
    """JFK's "And so, my fellow Americans, ask not", with and without 1.0-1.9 s silenced
    ("fellow Americans")."""
    return {
        muted: render_clip(
            RenderRequest(
                source=data("jfk.wav"),
                start_ms=0,
                end_ms=6000,
                has_video=False,
                profile=SMALL,
                mute=((1000, 1900),) if muted else (),
                output=folder / f"muted-{muted}" / "small.mp4",
            )
        )
        for muted in (False, True)
    }


def test_a_muted_span_is_silent_and_the_speech_around_it_is_untouched(
    muted_renders: dict[bool, RenderResult],
) -> None:
    plain, rate = audio_of(muted_renders[False].path)
    muted, _ = audio_of(muted_renders[True].path)
    assert level_db(plain, rate, 1000, 1900) > -30  # speech there
    assert level_db(muted, rate, 1000, 1900) < -70  # silence
    for start, end in ((300, 950), (3300, 3600), (4000, 4200)):  # words either side
        assert level_db(muted, rate, start, end) > -35
        assert level_db(muted, rate, start, end) == pytest.approx(
            level_db(plain, rate, start, end), abs=0.5
        )


def test_muting_does_not_skew_the_loudness(muted_renders: dict[bool, RenderResult]) -> None:
    """Silence is laid on after normalisation: the gain comes from all of the speech (the words
    either side keep their level, test above), and the render stays on target. Its integrated
    loudness is lower than the unmuted render's only by the speech taken out (0.9 s of 3 here)."""
    integrated, peak = loudness(muted_renders[True].path)
    assert integrated == pytest.approx(-14.0, abs=1.0)
    assert peak <= -1.5 + 0.1
    unmuted = loudness(muted_renders[False].path)[0]
    assert unmuted - 1.5 < integrated <= unmuted


def test_a_muted_span_must_be_forward_in_time(folder: Path) -> None:
    with pytest.raises(ValueError, match="muted span"):
        RenderRequest(
            source=data("jfk.wav"),
            start_ms=0,
            end_ms=3000,
            has_video=False,
            profile=SMALL,
            mute=((2000, 1000),),
            output=folder / "backwards.mp4",
        )


def test_a_redacted_word_is_not_heard_in_the_render(folder: Path, ct2_base_dir: Path) -> None:
    """Redaction end to end: JFK's words timed by the bundled model, "Americans" muted by its
    timing, and the render transcribed again."""
    from media.audio import decode_audio
    from subtitles.engines import TranscribeOptions, transcribe
    from subtitles.redact import redaction_spans, spans_within

    options = TranscribeOptions(model=str(ct2_base_dir), model_label="base", language="en")
    heard = transcribe(decode_audio(data("jfk.wav")), options)
    spans = redaction_spans(heard.words, ["Americans"])
    assert len(spans) == 1
    result = render_clip(
        RenderRequest(
            source=data("jfk.wav"),
            start_ms=0,
            end_ms=11_000,
            has_video=False,
            profile=SMALL,
            mute=spans_within(spans, 0, 11_000),
            output=folder / "redacted" / "small.mp4",
        )
    )
    again = transcribe(decode_audio(result.path), options).text.casefold()
    assert "american" not in again
    # The span reaches `PAD_MS` past the word's recognised times: "fellow" loses its end.
    # The words around it are still heard (how the model joins them varies with load).
    assert "so my" in again and "what your country can do for you" in again


def test_a_moving_face_is_blurred_in_every_frame(folder: Path) -> None:
    """A real face sliding across the picture at 300 px/s: its rectangles move from one place
    to the next in one crop and overlay, and no frame shows the face."""
    from media.faces import scan_faces

    source = folder / "moving-face.mp4"
    run_ffmpeg(
        [
            *("-y", "-f", "lavfi", "-i", "color=c=0x2aa7d8:s=1280x360:r=25:d=3"),
            *("-i", file_arg(data("grid_lwbsza.mpg"))),
            *("-filter_complex", "[0:v][1:v]overlay=x='t*300':y=36:shortest=1[v]"),
            *("-map", "[v]", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast"),
            *("-pix_fmt", "yuv420p", "-c:a", "aac", file_arg(source)),
        ]
    )
    assert len(scan_faces(source, 0, 3000).spans) >= 3
    wide = RenderProfile(
        name="wide", width=1280, height=360, font_size=32, caption_line_chars=40, margin_v=20
    )
    request = RenderRequest(
        source=source,
        start_ms=0,
        end_ms=3000,
        has_video=True,
        profile=wide,
        blur_faces=True,
        output=folder / "moving" / "wide.mp4",
    )
    centerface, _haar = faces_in(render_clip(request).path)
    assert len(centerface) == 75
    assert centerface == [0] * 75
    plain = render_clip(request.model_copy(update={"blur_faces": False}))
    centerface, _haar = faces_in(plain.path)
    assert sum(count >= 1 for count in centerface) >= 70
