"""The studio's languages: Russian covers every word the pages show, a language is added by
dropping a catalog file (no code), and the choice goes account, link, cookie, browser."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import web.studio_text as text
from config import load_settings
from web.studio import create_studio

TEMPLATES = Path(text.__file__).parent / "templates"
PAGES = Path(text.__file__).parent / "studio_pages.py"
KEYED = {  # labels the templates build from a prefix and a value
    "state:": ("ingested", "processed", "failed", "rejected", "duplicate", "held"),
    "consent:": ("internal", "partners", "public"),
    "decision:": ("candidate", "approved", "rejected"),
    "faces:": ("show", "blur"),
    "publication:": (
        "pending",
        "uploading",
        "published",
        "scheduled",
        "failed",
        "blocked",
        "unconfirmed",
        "takedown_pending",
        "takedown_manual",
        "taken_down",
    ),
    "transcript: ": ("machine", "corrected"),
    "role:": ("editor", "approver", "safeguarding", "admin"),
}


@pytest.fixture(autouse=True)
def fresh_catalogs() -> Iterator[None]:
    text.catalogs.cache_clear()
    yield
    text.catalogs.cache_clear()


def shown_messages() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES.glob("studio_*.html"):
        found |= set(re.findall(r"""_\(["']([^"']+)["']\)""", path.read_text("utf-8")))
    found |= set(re.findall(r'said="([^"]+)"', PAGES.read_text("utf-8")))
    found |= {prefix + value for prefix, values in KEYED.items() for value in values}
    return found


def test_russian_has_every_message() -> None:
    russian = text.catalogs()["ru"]
    missing = sorted(shown_messages() - set(russian))
    assert missing == []
    keyed = {prefix + value for prefix, values in KEYED.items() for value in values}
    assert sorted(keyed - set(text.catalogs()["en"])) == []  # keys get English words too


def test_a_language_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locale = tmp_path / "locale"
    shutil.copytree(text.LOCALE, locale)
    kyrgyz = locale / "ky" / "LC_MESSAGES" / "studio.po"
    kyrgyz.parent.mkdir(parents=True)
    kyrgyz.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Sign in"\nmsgstr "Кирүү"\n\n'
        'msgid "Password"\nmsgstr ""\n',  # not yet translated: English shows
        "utf-8",
    )
    monkeypatch.setattr(text, "LOCALE", locale)
    assert text.languages() == ("en", "ky", "ru")
    with TestClient(create_studio(load_settings())) as client:
        page = client.get("/login", headers={"Accept-Language": "ky-KG,ky;q=0.9,ru;q=0.8"})
    assert page.status_code == 200
    assert '<html lang="ky">' in page.text
    assert "Кирүү" in page.text and "Password" in page.text


def test_the_language_is_chosen_account_link_cookie_browser() -> None:
    assert text.choose("ru", "en", "en", "en") == ("ru", False)
    assert text.choose(None, "ru", "en", "en") == ("ru", True)  # remembered
    assert text.choose(None, None, "ru", "en") == ("ru", False)
    assert text.choose(None, None, None, "de-DE,ru;q=0.5,en;q=0.4") == ("ru", False)
    assert text.choose(None, None, None, "en;q=0.3,ru;q=0.9") == ("ru", False)
    assert text.choose(None, "xx", "yy", "zz") == ("en", False)
