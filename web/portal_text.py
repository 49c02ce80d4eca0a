"""Every string the partner portal shows, in English and Russian, and how a page picks one.

The language comes from `?lang=` (remembered in a cookie), then that cookie, then the
browser's Accept-Language, then English.
"""

from __future__ import annotations

from collections.abc import Mapping

UI_LANGUAGES = ("en", "ru")
DEFAULT = "en"
LANG_COOKIE = "voices_lang"

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "title": "Clips for partners",
        "signed_in_as": "Signed in as",
        "switch_language": "Русский",
        "filter_language": "Language",
        "filter_footage": "Interview",
        "all_languages": "All languages",
        "all_footage": "All interviews",
        "show": "Show",
        "count": "Clips",
        "none": "No clips match. Try other filters, or come back later.",
        "duration": "Duration",
        "languages": "Languages",
        "spoken": "spoken",
        "quote": "Quote",
        "videos": "Video",
        "subtitles": "Subtitles",
        "machine": "machine translation",
        "package": "Everything (zip)",
        "thumbnail": "Picture",
        "no_video": "Your browser cannot play this video; download it below.",
        "denied_title": "A partner link is needed",
        "denied_text": (
            "This page is only for partners. Open the link you were sent; if it no longer "
            "works, ask your contact for a new one."
        ),
        "slow_title": "Too many attempts",
        "slow_text": "Too many wrong links from your address. Try again in {seconds} seconds.",
        "profile_vertical": "Vertical 9:16",
        "profile_square": "Square 1:1",
        "profile_landscape": "Landscape 16:9",
        "profile_tv": "TV 16:9",
        "interview_n": "Interview {n}",
        "play": "Play",
        "usage_public": "May be shown publicly: social media, TV, websites.",
        "usage_partners": (
            "For partners only: show it in your own work (trainings, meetings, closed groups); "
            "do not post it publicly."
        ),
        "usage_minors": (
            "Includes a child: do not crop, re-caption or repost it out of context, and do not "
            "name the child."
        ),
        "credit": "Credit: {credit}",
        "page_of": "Page {page} of {pages}",
        "previous": "← Previous",
        "next": "Next →",
        "pages": "Pages",
        "megabytes": "{size} MB",
        "kilobytes": "{size} kB",
    },
    "ru": {
        "title": "Ролики для партнёров",
        "signed_in_as": "Вы вошли как",
        "switch_language": "English",
        "filter_language": "Язык",
        "filter_footage": "Интервью",
        "all_languages": "Все языки",
        "all_footage": "Все интервью",
        "show": "Показать",
        "count": "Ролики",
        "none": "Подходящих роликов нет. Измените фильтры или загляните позже.",
        "duration": "Длительность",
        "languages": "Языки",
        "spoken": "речь",
        "quote": "Цитата",
        "videos": "Видео",
        "subtitles": "Субтитры",
        "machine": "машинный перевод",
        "package": "Всё вместе (zip)",
        "thumbnail": "Картинка",
        "no_video": "Ваш браузер не может показать это видео; скачайте его ниже.",
        "denied_title": "Нужна ссылка партнёра",
        "denied_text": (
            "Эта страница только для партнёров. Откройте присланную вам ссылку; если она "
            "больше не работает, попросите у вашего контакта новую."
        ),
        "slow_title": "Слишком много попыток",
        "slow_text": (
            "С вашего адреса пришло слишком много неверных ссылок. "
            "Попробуйте снова через {seconds} с."
        ),
        "profile_vertical": "Вертикальное 9:16",
        "profile_square": "Квадрат 1:1",
        "profile_landscape": "Горизонтальное 16:9",
        "profile_tv": "ТВ 16:9",
        "interview_n": "Интервью {n}",
        "play": "Смотреть",
        "usage_public": "Можно показывать публично: соцсети, ТВ, сайты.",
        "usage_partners": (
            "Только для партнёров: показывайте в своей работе (тренинги, встречи, закрытые "
            "группы); не публикуйте открыто."
        ),
        "usage_minors": (
            "В ролике есть ребёнок: не обрезайте, не меняйте подписи, не публикуйте вне "
            "контекста и не называйте имя ребёнка."
        ),
        "credit": "Указывайте автора: {credit}",
        "page_of": "Страница {page} из {pages}",
        "previous": "← Назад",
        "next": "Дальше →",
        "pages": "Страницы",
        "megabytes": "{size} МБ",
        "kilobytes": "{size} кБ",
    },
}

LANGUAGE_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "en": "English",
        "ru": "Russian",
        "ky": "Kyrgyz",
        "kk": "Kazakh",
        "uz": "Uzbek",
        "tg": "Tajik",
    },
    "ru": {
        "en": "английский",
        "ru": "русский",
        "ky": "кыргызский",
        "kk": "казахский",
        "uz": "узбекский",
        "tg": "таджикский",
    },
}


def language_name(code: str, ui: str) -> str:
    return LANGUAGE_NAMES.get(ui, {}).get(code, code.upper())


def choose_language(
    query: str | None, cookie: str | None, accept_language: str | None
) -> tuple[str, bool]:
    """The UI language, and whether to remember it in the cookie (it came from `?lang=`)."""
    if query in UI_LANGUAGES:
        return query, True
    if cookie in UI_LANGUAGES:
        return cookie, False
    return from_accept_language(accept_language or ""), False


def from_accept_language(header: str) -> str:
    """The supported language the browser prefers most (`ru-RU,ru;q=0.9,en;q=0.8`)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        base = tag.strip().lower().split("-")[0]
        quality = _quality(params)
        if base in UI_LANGUAGES and quality > 0:
            ranked.append((-quality, position, base))
    return min(ranked)[2] if ranked else DEFAULT


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def messages(ui: str) -> Mapping[str, str]:
    return MESSAGES.get(ui, MESSAGES[DEFAULT])
