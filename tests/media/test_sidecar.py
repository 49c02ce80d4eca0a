"""Sidecar errors name the file, the line and the field, and say what is expected."""

from __future__ import annotations

from pathlib import Path

import pytest

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
