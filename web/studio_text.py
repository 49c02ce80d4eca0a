"""The studio's words: English in the code, every other language from a gettext catalog.

A language is a folder, `web/locale/<code>/LC_MESSAGES/studio.po`, read with Babel when the
studio starts: adding Kyrgyz is writing `web/locale/ky/LC_MESSAGES/studio.po` (copy the
Russian one and translate its `msgstr` lines), no code. A message a catalog lacks, or leaves
empty or fuzzy, is shown in English.

An account's own choice comes first, then `?lang=` (remembered in a cookie), then that cookie,
then the browser's Accept-Language.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

LOCALE = Path(__file__).parent / "locale"
DOMAIN = "studio"
DEFAULT = "en"
LANG_COOKIE = "voices_studio_lang"
NAMES = {"en": "English", "ru": "Русский", "ky": "Кыргызча", "kk": "Қазақша", "uz": "Oʻzbekcha"}

Gettext = Callable[[str], str]


@lru_cache(maxsize=1)
def catalogs() -> dict[str, dict[str, str]]:
    """Every language with a catalog: {code: {English: translation}}; English is empty."""
    from babel.messages.pofile import read_po

    found: dict[str, dict[str, str]] = {DEFAULT: {}}
    for path in sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        code = path.parent.parent.name
        with path.open("rb") as file:
            catalog = read_po(file, locale=None, domain=DOMAIN)
        found[code] = {
            str(message.id): str(message.string)
            for message in catalog
            if message.id and message.string and not message.fuzzy
        }
    return found


def languages() -> tuple[str, ...]:
    return tuple(catalogs())


def gettext_for(language: str) -> Gettext:
    table = catalogs().get(language, {})

    def gettext(message: str) -> str:
        return table.get(message, message)

    return gettext


def choose(
    account: str | None, asked: str | None, cookie: str | None, accept: str | None
) -> tuple[str, bool]:
    """The language to show and whether to remember it in the cookie (it was asked for)."""
    known = languages()
    if account in known:
        return account or DEFAULT, False
    if asked in known:
        return asked or DEFAULT, True
    if cookie in known:
        return cookie or DEFAULT, False
    for code in _accepted(accept or ""):
        if code in known:
            return code, False
    return DEFAULT, False


def _accepted(header: str) -> list[str]:
    """Accept-Language's languages, the most wanted first (`ru-RU,ru;q=0.9,en;q=0.8`)."""
    ranked = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag and weight > 0:
            ranked.append((-weight, position, tag.split("-")[0].lower()))
    return [code for _, _, code in sorted(ranked)]
