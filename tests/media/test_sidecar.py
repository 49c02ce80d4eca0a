"""Sidecar errors name the file, the line and the field, and say what is expected."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from media.clipfile import read_clip_file
from media.sidecar import SidecarError, read_sidecar


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "interview.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_sidecar_is_read(tmp_path: Path) -> None:
    sidecar = read_sidecar(
        _write(
            tmp_path,
            """
language: KY
title: "Апам келет"
tags: [family, migration]
recorded: 2026-03-14
consent: public
people:
  - name: Айгүл
    role: mother
    consent: public
  - name: Бакыт
    minor: true
    consent: public
""",
        )
    )
    assert sidecar.language == "ky"
    assert sidecar.recorded is not None and sidecar.recorded.isoformat() == "2026-03-14"
    assert sidecar.has_minors
    assert [p.name for p in sidecar.people] == ["Айгүл", "Бакыт"]


def test_consent_defaults_to_internal(tmp_path: Path) -> None:
    assert read_sidecar(_write(tmp_path, "title: x\n")).consent == "internal"
    assert read_sidecar(_write(tmp_path, "")).consent == "internal"
    person = read_sidecar(_write(tmp_path, "people:\n  - name: A\n")).people[0]
    assert person.consent == "internal" and person.minor is False


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ("language: russian\n", 1, "language", "two-letter"),
        ("title: a\nconsnet: public\n", 2, "consnet", "did you mean 'consent'"),
        ("title: a\nconsent: everyone\n", 2, "consent", "public, partners, internal"),
        ("people:\n  - name: A\n    minor: maybe\n", 3, "people.0.minor", "true or false"),
        ("recorded: last tuesday\n", 1, "recorded", "2026-03-14"),
        ("people:\n  - role: child\n", 2, "people.0.name", "required"),
        ("title: [unclosed\n", 2, None, "not valid YAML"),
        ("- just\n- a list\n", 1, None, "expected fields"),
    ],
)
def test_errors_name_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str | None, words: str
) -> None:
    with pytest.raises(SidecarError) as caught:
        read_sidecar(_write(tmp_path, text))
    error = caught.value
    assert error.line == line
    assert error.field == field
    assert words in str(error)
    assert str(error).startswith(f"interview.yaml, line {line}")


LAUGHS = "\n".join(
    ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in itertools.pairwise("abcdefghi")]
    + ["title: *i", ""]
)


@pytest.mark.parametrize("reader", [read_sidecar, read_clip_file])
def test_anchors_and_aliases_are_refused_before_they_expand(
    tmp_path: Path, reader: Callable[[Path], object]
) -> None:
    """A billion laughs: 10 lines that expand to 9**9 strings."""
    with pytest.raises(SidecarError) as caught:
        reader(_write(tmp_path, LAUGHS))
    assert caught.value.line == 1
    assert "anchors and aliases" in str(caught.value)
    assert str(caught.value).startswith("interview.yaml, line 1")


@pytest.mark.parametrize("reader", [read_sidecar, read_clip_file])
def test_a_file_larger_than_64_kb_is_refused(
    tmp_path: Path, reader: Callable[[Path], object]
) -> None:
    with pytest.raises(SidecarError, match="larger than 64 KB"):
        reader(_write(tmp_path, f'description: "{"word " * 14_000}"\n'))


def test_nesting_too_deep_is_a_mistake_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(SidecarError, match="nested too deeply"):
        read_sidecar(_write(tmp_path, "tags: " + "[" * 20_000 + "]" * 20_000 + "\n"))


def test_a_linked_sidecar_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("title: TOKEN=abc\n", encoding="utf-8")
    (tmp_path / "inbox").mkdir()
    symlink = tmp_path / "inbox" / "a.yaml"
    symlink.symlink_to(secret)
    hard = tmp_path / "inbox" / "b.yaml"
    os.link(secret, hard)

    for sidecar, words in ((symlink, "symbolic link"), (hard, "hard link")):
        with pytest.raises(SidecarError, match=words) as caught:
            read_sidecar(sidecar)
        assert "copy the file itself into the inbox, not a link" in str(caught.value)
        assert "TOKEN" not in str(caught.value)
