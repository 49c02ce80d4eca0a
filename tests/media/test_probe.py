"""Probing reads the recording itself and nothing else, in the formats voices takes, and refuses
footage longer than the limit before decoding all of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from media.errors import FFmpegError, UnusableMediaError
from media.ffmpeg import file_arg, run_ffmpeg
from media.probe import probe
from tests.helpers import data, mux_video


def _encode(out: Path, *codec: str) -> Path:
    run_ffmpeg(["-y", "-i", file_arg(data("jfk.wav")), "-t", "3", *codec, file_arg(out)])
    return out


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another footage's original, where a playlist must never reach it."""
    folder = tmp_path_factory.mktemp("library") / "ab" / "abcdef"
    folder.mkdir(parents=True)
    return _encode(folder / "original.ts", "-c:a", "aac", "-f", "mpegts")


def _playlists(folder: Path, target: Path) -> dict[str, str]:
    """Files that make ffmpeg open `target`: name -> text."""
    hls = f"#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\n{target}\n#EXT-X-ENDLIST\n"
    shutil.copy(target, folder / "segment.ts")
    return {
        "playlist.m3u8": hls,
        "disguised.mp4": hls,  # the name does not matter, the content does
        "relative.m3u8": hls.replace(str(target), "segment.ts"),
        "list.ffconcat": "ffconcat version 1.0\nfile segment.ts\n",
        "absolute.ffconcat": f"ffconcat version 1.0\nfile '{target}'\n",
    }


def test_playlists_and_lists_that_point_at_other_files_are_refused(
    tmp_path: Path, elsewhere: Path
) -> None:
    for name, text in _playlists(tmp_path, elsewhere).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(UnusableMediaError) as caught:
            probe(tmp_path / name)
        assert "points at other files" in caught.value.reason, name
        assert "drop the video or sound file" in caught.value.reason, name


@pytest.mark.parametrize(
    ("name", "codec", "format_name"),
    [
        ("talk.wav", (), "wav"),
        ("talk.flac", (), "flac"),
        ("talk.mp3", ("-c:a", "libmp3lame"), "mp3"),
        ("talk.m4a", ("-c:a", "aac"), "mov,mp4,m4a,3gp,3g2,mj2"),
        ("talk.aac", ("-c:a", "aac"), "aac"),
        ("talk.ogg", ("-c:a", "libvorbis"), "ogg"),
        ("talk.opus", ("-c:a", "libopus"), "ogg"),
        ("talk.mka", ("-c:a", "libopus"), "matroska,webm"),
        ("talk.ts", ("-c:a", "aac", "-f", "mpegts"), "mpegts"),
        ("talk.amr", ("-ar", "8000", "-c:a", "libopencore_amrnb"), "amr"),
    ],
)
def test_the_formats_voices_takes_are_read(
    tmp_path: Path, name: str, codec: tuple[str, ...], format_name: str
) -> None:
    try:
        path = _encode(tmp_path / name, *codec)
    except FFmpegError as exc:  # this ffmpeg build lacks the encoder: nothing to check
        pytest.skip(f"cannot make {name}: {exc}")
    info = probe(path)
    assert info.format_name == format_name
    assert abs(info.duration_ms - 3000) < 150


@pytest.mark.parametrize("name", ["clip.mp4", "clip.mov", "clip.mkv", "clip.avi"])
def test_video_containers_are_read(tmp_path: Path, name: str) -> None:
    extra = ("-c:v", "mpeg4") if name.endswith(".avi") else ()
    path = mux_video(data("tone_audio_short.flac"), tmp_path / name, "320x240", 2, extra)
    info = probe(path)
    assert info.has_video and info.width == 320


def test_footage_longer_than_the_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnusableMediaError) as caught:
        probe(data("jfk.wav"), max_duration_ms=5_000)
    assert "ingest.max_duration_hours" in caught.value.reason
    assert "cut it into shorter parts" in caught.value.reason
    assert probe(data("jfk.wav"), max_duration_ms=11_000).duration_ms == 11_000
