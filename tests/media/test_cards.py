"""Intro/outro cards are laid out for each profile's own size: every letter shows, inside the
frame's margins, in the vertical, square, landscape and tv profiles of the shipped defaults."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from numpy.typing import NDArray

from config.settings import RenderSettings, defaults
from media.cards import (
    TEXT_HEIGHT,
    TEXT_WIDTH,
    Card,
    card_font,
    card_video,
    lay_out,
    wrap_lines,
)
from media.errors import MediaError
from media.render import CARD_FONT_SCALE, RenderRequest, render_clip
from tests.helpers import data

# Letters whose ink is one plain bar each, so the letters shown can be counted: a 90-letter word
# wider than any profile's line at its card size, then enough short words to overflow the height
# of a 16:9 card at its card size.
LONG_WORD = "I" * 90
TITLE = LONG_WORD + " " + "II " * 150
LETTERS = TITLE.count("I")

PROFILES = RenderSettings(**defaults()["render"]).profiles  # as shipped in defaults.yaml


def first_frame(path: Path) -> NDArray[np.uint8]:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)


def letters_shown(ink: NDArray[np.bool_]) -> int:
    """Bars of ink, counted line by line (runs of inked columns within each band of rows)."""
    rows = [bool(inked) for inked in np.any(ink, axis=1).tolist()]
    count = 0
    start = None
    for y, inked in enumerate([*rows, False]):
        if inked and start is None:
            start = y
        elif not inked and start is not None:
            columns = ink[start:y].any(axis=0).astype(np.int8)
            count += int(np.count_nonzero(np.diff(columns, prepend=0) == 1))
            start = None
    return count


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PROFILES))
def test_a_long_title_shows_whole_inside_the_margins(name: str, tmp_path: Path) -> None:
    profile = PROFILES[name]
    card = Card(
        text=TITLE,
        width=profile.width,
        height=profile.height,
        fps=25,
        seconds=0.2,
        font_size=round(profile.font_size * CARD_FONT_SCALE),
    )
    picture = first_frame(card_video(card, tmp_path))
    assert picture.shape == (profile.height, profile.width, 3)

    ink = np.all(picture > 200, axis=2)  # white text on the dark blue card
    assert letters_shown(ink) == LETTERS  # none cut off at an edge, none dropped
    columns, rows = np.flatnonzero(ink.any(axis=0)), np.flatnonzero(ink.any(axis=1))
    margin_x = round(profile.width * (1 - TEXT_WIDTH) / 2) - 2  # antialiasing and the encoder
    margin_y = round(profile.height * (1 - TEXT_HEIGHT) / 2) - 2
    assert margin_x <= columns.min() and columns.max() <= profile.width - margin_x
    assert margin_y <= rows.min() and rows.max() <= profile.height - margin_y


def test_lay_out_keeps_every_word_in_order_and_shrinks_before_breaking_one() -> None:
    text = "Sample interview: a mother in Naryn talks about her son"
    laid = lay_out(text, 83, 864, 1152)
    assert laid.font_size == 83  # fits as asked: no shrinking
    assert " ".join(laid.lines).split() == text.split()
    assert len(laid.lines) > 1

    long_word = "Антиконституционализациялаштыруу"
    shrunk = lay_out(f"{long_word} Sample", 83, 864, 1152)
    assert shrunk.font_size < 83 and shrunk.lines[0] == long_word  # smaller, not broken
    assert max(card_font(shrunk.font_size).getlength(line) for line in shrunk.lines) <= 864


def test_a_word_too_long_even_when_small_is_broken_between_letters() -> None:
    laid = lay_out(LONG_WORD * 3, 40, 300, 1000)
    assert "".join(laid.lines) == LONG_WORD * 3
    font = card_font(laid.font_size)
    assert all(font.getlength(line) <= 300 for line in laid.lines)
    assert wrap_lines(LONG_WORD * 3, font, 300) is None  # without breaking it would not fit


def test_text_that_cannot_fit_names_the_setting_to_shorten() -> None:
    with pytest.raises(MediaError, match=r"shorten render\.branding's intro_text or outro_text"):
        lay_out("word " * 400, 60, 300, 200)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vertical", "landscape"])
def test_audio_only_footage_shows_its_title_laid_out_for_the_profile(
    name: str, tmp_path: Path
) -> None:
    """The demo's vertical clip once showed "ample intervie": a landscape card cropped to 9:16.
    Now the title of audio-only footage is drawn for each profile's own shape."""
    profile = PROFILES[name]
    title = "II " * 40  # wider than a vertical line: it must wrap, not be cut
    request = RenderRequest(
        source=data("jfk.wav"),
        start_ms=0,
        end_ms=2000,
        has_video=False,
        profile=profile,
        title=title,
        output=tmp_path / f"{name}.mp4",
    )
    picture = first_frame(render_clip(request).path)
    ink = np.all(picture > 200, axis=2)
    assert letters_shown(ink) == title.count("I")
    columns = np.flatnonzero(ink.any(axis=0))
    margin_x = round(profile.width * (1 - TEXT_WIDTH) / 2) - 2
    assert margin_x <= columns.min() and columns.max() <= profile.width - margin_x

    untitled = request.model_copy(update={"title": "", "output": tmp_path / "plain.mp4"})
    assert not np.all(first_frame(render_clip(untitled).path) > 200, axis=2).any()
