"""Translation: the real google-api-python-client against a local Cloud Translation v2 stand-in,
cue-timed translation under the target's reading rules, and translations people made."""

from __future__ import annotations

import itertools
import logging
import traceback
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
import srt
import webvtt
from googleapiclient.discovery import build  # type: ignore[import-untyped]
from googleapiclient.errors import HttpError  # type: ignore[import-untyped]

from subtitles.formats import srt_text, vtt_text, write_srt
from subtitles.layout import TAIL_MS, check_rules, layout_cues
from subtitles.models import Cue, ReadingRules, Word
from subtitles.translate import (
    TransientTranslationError,
    TranslationError,
    TranslationFileError,
    align_to_source,
    import_translation,
    read_translation_file,
    sentence_groups,
    translate_cues,
    translation_language,
)
from subtitles.translate_google import GoogleTranslator, build_service, google_translator
from tests.subtitles.fake_translate import (
    API_KEY,
    DAILY_LIMIT,
    DROP,
    RATE_LIMITED,
    SERVER_ERROR,
    SERVICE_DISABLED,
    SHORT,
    UNAVAILABLE,
    USER_RATE,
    FakeTranslate,
    Fault,
    fake_translation,
)

RULES = ReadingRules()
KYRGYZ = (
    "Апам ар дайым эрте турчу.",
    "Биз тоодо, Нарында жашачубуз.",
    "Атам Россияга иштегени кеткенде мен он жашта элем, бирок аны ар дайым жакшы эстейм "
    "жана абдан сагынам.",
    "Ал жыл сайын бир жолу гана келчү.",
    "Бирок ар жума сайын телефон чалчу жана биз менен узак сүйлөшчү.",
    "Азыр мен мугалиммин.",
)


def timed(texts: Sequence[str], words_per_s: float = 2.0, pause_ms: int = 800) -> list[Word]:
    """Word timings for `texts` spoken at a steady rate, with a pause after each text."""
    slot, t, words = 1000 / words_per_s, 400.0, []
    for text in texts:
        for token in text.split():
            words.append(Word(start_ms=round(t), end_ms=round(t + slot * 0.8), text=token))
            t += slot
        t += pause_ms
    return words


def shown_words(cues: Sequence[Cue]) -> list[str]:
    return [token for cue in cues for token in cue.text.split()]


def one_sentence_cues(texts: Sequence[str]) -> list[Cue]:
    """A cue of 1.5 s every 2 s for each text."""
    return [Cue(start_ms=2000 * n, end_ms=2000 * n + 1500, lines=(t,)) for n, t in enumerate(texts)]


def ms(delta: timedelta) -> int:
    return round(delta.total_seconds() * 1000)


@pytest.fixture
def fake() -> Iterator[FakeTranslate]:
    stand_in = FakeTranslate().start()
    try:
        yield stand_in
    finally:
        stand_in.stop()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def translator(fake: FakeTranslate, sleeps: list[float]) -> Iterator[GoogleTranslator]:
    """The real client, built from its bundled discovery document, aimed at the stand-in."""
    service = build_service(fake.url, timeout_s=10)
    google = GoogleTranslator(service, api_key=API_KEY, sleep=sleeps.append)
    try:
        yield google
    finally:
        google.close()


def assert_secret_kept(key: str, exc: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    """The key is in no message, no chained error, no log line."""
    assert key not in "".join(traceback.format_exception(exc))
    assert key not in caplog.text
    assert all(key not in str(record.args) for record in caplog.records)


# -- the Google translator: requests, batches ---------------------------------------------


def test_translates_in_order_with_the_documented_request(
    fake: FakeTranslate, translator: GoogleTranslator
) -> None:
    texts = ["Апам ар дайым эрте турчу.", "", "Азыр мен мугалиммин."]
    assert translator.translate(texts, "ky", "ru") == [
        "ru: турчу эрте дайым ар Апам.",
        "",
        "ru: мугалиммин мен Азыр.",
    ]
    (request,) = fake.requests  # the blank text was not sent
    assert request.q == (texts[0], texts[2])
    assert (request.source, request.target, request.format) == ("ky", "ru", "text")


def test_two_hundred_texts_take_two_requests_in_order(
    fake: FakeTranslate, translator: GoogleTranslator
) -> None:
    texts = [f"Сүйлөм {n} жана дагы бир сөз." for n in range(200)]
    assert translator.translate(texts, "ky", "en") == [fake_translation(t, "en") for t in texts]
    assert [len(request.q) for request in fake.requests] == [128, 72]
    assert [text for request in fake.requests for text in request.q] == texts


def test_batches_keep_under_the_request_size(
    fake: FakeTranslate, translator: GoogleTranslator
) -> None:
    # The client escapes Cyrillic in JSON (6 bytes a letter): 1,500 letters are ~9 kB.
    texts = [f"{n} " + "ж" * 1500 + "." for n in range(40)]
    assert translator.translate(texts, "ky", "ru") == [fake_translation(t, "ru") for t in texts]
    assert len(fake.requests) > 1
    assert all(request.status == 200 for request in fake.requests)
    assert max(request.body_bytes for request in fake.requests) <= 100_000
    assert max(request.body_bytes for request in fake.requests) > 80_000  # batches are full


def test_a_text_too_long_for_any_request_is_refused_before_sending(
    fake: FakeTranslate, translator: GoogleTranslator
) -> None:
    with pytest.raises(TranslationError, match="text 201 is too long"):
        translator.translate(["Салам."] * 200 + ["ж" * 20_000], "ky", "ru")
    assert fake.requests == []


def test_the_key_travels_in_a_header_never_in_the_url(
    fake: FakeTranslate, translator: GoogleTranslator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    translator.translate(["Салам."], None, "ru")
    (request,) = fake.requests
    assert request.key_header == API_KEY and not request.key_in_url
    assert request.source is None  # detected by the service
    assert "URL being requested" in caplog.text  # the client logs URLs, without the key
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(translator)


def test_the_stock_client_wraps_the_body_and_is_refused(fake: FakeTranslate) -> None:
    """Why the service is built with JsonModel(False): the stock client sends {"data": ...}."""
    service = build(
        "translate",
        "v2",
        developerKey=API_KEY,
        static_discovery=True,
        client_options={"api_endpoint": fake.url},
    )
    try:
        with pytest.raises(HttpError, match="Required Text"):
            service.translations().translate(body={"q": ["Салам."], "target": "ru"}).execute()
    finally:
        service.close()


def test_the_same_language_is_not_sent(fake: FakeTranslate, translator: GoogleTranslator) -> None:
    assert translator.translate(["Привет."], "ru", "ru") == ["Привет."]
    assert fake.requests == []


def test_no_key_says_how_to_get_one() -> None:
    with pytest.raises(TranslationError, match="set VOICES_TRANSLATION__API_KEY"):
        google_translator(None)


# -- the Google translator: faults -----------------------------------------------------------


@pytest.mark.parametrize(
    ("faults", "waits"),
    [
        ((RATE_LIMITED,), [2.0]),  # Retry-After: 2
        ((SERVER_ERROR, UNAVAILABLE), [1.0, 2.0]),
        ((USER_RATE,), [1.0]),
        ((DROP, DROP), [1.0]),  # httplib2 resends once by itself after a dropped connection
        ((SHORT,), [1.0]),
    ],
    ids=["429", "5xx", "user-rate", "dropped", "short-answer"],
)
def test_passing_faults_are_retried_with_backoff(
    fake: FakeTranslate,
    translator: GoogleTranslator,
    sleeps: list[float],
    faults: tuple[Fault, ...],
    waits: list[float],
) -> None:
    texts = [f"Сүйлөм {n}." for n in range(5)]
    fake.fail(*faults)
    assert translator.translate(texts, "ky", "ru") == [fake_translation(t, "ru") for t in texts]
    assert sleeps == waits
    assert fake.statuses[-1] == 200


BACKOFF = [1.0, 2.0, 4.0, 8.0]


@pytest.mark.parametrize(
    ("fault", "waits"),
    [(UNAVAILABLE, BACKOFF), (RATE_LIMITED, [2.0] * 4), (DROP, BACKOFF), (SHORT, BACKOFF)],
    ids=["503", "429", "dropped", "short-answer"],
)
def test_faults_that_persist_raise_transient_with_no_partial_result(
    fake: FakeTranslate,
    translator: GoogleTranslator,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
    waits: list[float],
) -> None:
    caplog.set_level(logging.DEBUG)
    texts = [f"Сүйлөм {n}." for n in range(200)]
    source = [
        Cue(start_ms=2000 * n, end_ms=2000 * n + 1500, lines=(t,)) for n, t in enumerate(texts)
    ]
    fake.fail(None)  # the first batch is answered...
    fake.always = fault  # ...the second never is
    with pytest.raises(TransientTranslationError, match="failed 5 times") as caught:
        translate_cues(source, translator, "ky", "ru", RULES)
    assert "nothing was kept, the next run translates again" in str(caught.value)
    assert fake.statuses[0] == 200 and len(fake.requests[0].q) == 128
    assert sleeps == waits
    assert_secret_kept(API_KEY, caught.value, caplog)


def test_a_long_retry_after_is_not_waited_for(
    fake: FakeTranslate, translator: GoogleTranslator, sleeps: list[float]
) -> None:
    fake.fail(Fault("status", 429, "rateLimitExceeded", "Too many requests.", retry_after="3600"))
    with pytest.raises(TransientTranslationError, match="asks to wait 3600 s"):
        translator.translate(["Салам."], "ky", "ru")
    assert sleeps == [] and fake.statuses == [429]


def test_a_spent_daily_quota_waits_for_the_next_run(
    fake: FakeTranslate, translator: GoogleTranslator, sleeps: list[float]
) -> None:
    fake.fail(DAILY_LIMIT)
    with pytest.raises(TransientTranslationError, match="midnight Pacific"):
        translator.translate(["Салам."], "ky", "ru")
    assert sleeps == [] and fake.statuses == [403]


def test_a_disabled_api_says_how_to_enable_it(
    fake: FakeTranslate,
    translator: GoogleTranslator,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail(SERVICE_DISABLED)
    with pytest.raises(TranslationError, match="enable it") as caught:
        translator.translate(["Салам."], "ky", "ru")
    assert not isinstance(caught.value, TransientTranslationError)
    assert "Cloud Translation API" in str(caught.value) and "APIs & Services" in str(caught.value)
    assert sleeps == [] and fake.statuses == [403]
    assert_secret_kept(API_KEY, caught.value, caplog)


def test_a_wrong_key_says_what_to_check_and_is_never_repeated(
    fake: FakeTranslate, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "AIzaWRONG-key-that-must-stay-secret-000000"
    google = GoogleTranslator(build_service(fake.url), api_key=wrong, sleep=sleeps.append)
    with pytest.raises(TranslationError, match="API key was refused") as caught:
        google.translate(["Салам."], "ky", "ru")
    google.close()
    assert "VOICES_TRANSLATION__API_KEY" in str(caught.value)
    assert fake.statuses == [400] and sleeps == []
    assert_secret_kept(wrong, caught.value, caplog)


def test_an_unsupported_language_is_named(
    fake: FakeTranslate, translator: GoogleTranslator
) -> None:
    with pytest.raises(TranslationError, match="ky → xx") as caught:
        translator.translate(["Салам."], "ky", "xx")
    assert not isinstance(caught.value, TransientTranslationError)
    assert "Invalid Value" in str(caught.value) and "translate_to" in str(caught.value)


# -- cue-timed translation -------------------------------------------------------------------


def test_a_translated_track_is_valid_srt_and_vtt_under_the_rules(
    fake: FakeTranslate, translator: GoogleTranslator
) -> None:
    source = layout_cues(timed(KYRGYZ), RULES)
    groups = sentence_groups(source)
    assert len(groups) == len(KYRGYZ) and max(len(group) for group in groups) > 1
    cues = translate_cues(source, translator, "ky", "ru", RULES)
    # Whole sentences went to the service, one text each, joined across their cues.
    (request,) = fake.requests
    assert request.q == KYRGYZ
    expected = [fake_translation(sentence, "ru") for sentence in KYRGYZ]
    assert shown_words(cues) == " ".join(expected).split()
    assert check_rules(cues, RULES) == []
    # Each translated cue is shown within its sentence's time.
    spans = [(group[0].start_ms, group[-1].end_ms) for group in groups]
    for cue in cues:
        assert any(start <= cue.start_ms and cue.end_ms <= end + TAIL_MS for start, end in spans)
    parsed = list(srt.parse(srt_text(cues)))
    assert [(ms(item.start), ms(item.end)) for item in parsed] == [
        (cue.start_ms, cue.end_ms) for cue in cues
    ]
    assert [item.content.split("\n") for item in parsed] == [list(cue.lines) for cue in cues]
    captions = webvtt.from_string(vtt_text(cues)).captions
    assert [tuple(caption.lines) for caption in captions] == [cue.lines for cue in cues]


def test_a_long_translation_becomes_several_cues_in_its_span(
    fake: FakeTranslate, translator: GoogleTranslator
) -> None:
    source = (Cue(start_ms=1000, end_ms=8000, lines=("Апам ар дайым эрте турчу.",)),)
    fake.dictionary["Апам ар дайым эрте турчу."] = (
        "Моя мама всегда вставала очень рано, ещё до рассвета, "
        "чтобы подоить корову и приготовить нам завтрак."
    )
    cues = translate_cues(source, translator, "ky", "ru", RULES)
    assert len(cues) == 2
    assert " ".join(cue.text for cue in cues) == fake.dictionary["Апам ар дайым эрте турчу."]
    assert cues[0].start_ms == 1000 and cues[-1].end_ms <= 8000 + TAIL_MS
    assert check_rules(cues, RULES) == []
    assert all(max(len(line) for line in cue.lines) <= 39 for cue in cues)


def test_short_neighbours_merge(fake: FakeTranslate, translator: GoogleTranslator) -> None:
    said = ("Ооба.", "Жок.", "Макул.")
    source = tuple(
        Cue(start_ms=1000 + 1100 * n, end_ms=2000 + 1100 * n, lines=(text,))
        for n, text in enumerate(said)
    )
    fake.dictionary.update({"Ооба.": "Да.", "Жок.": "Нет.", "Макул.": "Ладно."})
    cues = translate_cues(source, translator, "ky", "ru", RULES)
    assert len(cues) < len(source)
    assert shown_words(cues) == ["Да.", "Нет.", "Ладно."]
    assert check_rules(cues, RULES) == []


def test_what_cannot_be_read_in_time_keeps_its_timing_and_is_reported(
    fake: FakeTranslate, translator: GoogleTranslator, caplog: pytest.LogCaptureFixture
) -> None:
    source = (
        Cue(start_ms=1000, end_ms=2000, lines=("Ооба.",)),
        Cue(start_ms=2100, end_ms=3500, lines=("Азыр мен мугалиммин.",)),
    )
    fake.dictionary["Ооба."] = "Да, конечно, именно так всё и было в те годы."
    cues = translate_cues(source, translator, "ky", "ru", RULES)
    assert cues[0].start_ms == 1000 and cues[-1].end_ms <= 3500 + TAIL_MS
    assert all(b.start_ms >= a.end_ms + RULES.min_gap_ms for a, b in itertools.pairwise(cues))
    problems = check_rules(cues, RULES)
    assert any("characters per second" in problem for problem in problems)
    assert "characters per second" in caplog.text


def test_two_hundred_cues_take_two_requests_and_keep_their_order(
    fake: FakeTranslate, translator: GoogleTranslator
) -> None:
    texts = [f"Сүйлөм {n}." for n in range(200)]
    source = [
        Cue(start_ms=2000 * n, end_ms=2000 * n + 1500, lines=(t,)) for n, t in enumerate(texts)
    ]
    cues = translate_cues(source, translator, "ky", "en", RULES)
    assert [len(request.q) for request in fake.requests] == [128, 72]
    assert [cue.text for cue in cues] == [fake_translation(text, "en") for text in texts]
    assert [cue.start_ms for cue in cues] == [cue.start_ms for cue in source]
    assert check_rules(cues, RULES) == []


# -- translations people made ----------------------------------------------------------------

SOURCE = (
    Cue(start_ms=1000, end_ms=3500, lines=("Апам ар дайым эрте турчу.",)),
    Cue(start_ms=3600, end_ms=6000, lines=("Биз тоодо жашачубуз,",)),
    Cue(start_ms=6100, end_ms=8000, lines=("Нарында.",)),
    Cue(start_ms=9000, end_ms=15000, lines=("Атам Россияга иштегени кетти.",)),
)
RUSSIAN_SRT = """1
00:00:01,150 --> 00:00:03,420
Мама всегда вставала рано.

2
00:00:03,500 --> 00:00:08,250
Мы жили в горах,
в Нарыне.

3
00:00:09,200 --> 00:00:11,900
Мой отец уехал

4
00:00:12,000 --> 00:00:14,800
на заработки в Россию.
"""


def test_an_imported_russian_srt_is_aligned_to_the_source_cues(tmp_path: Path) -> None:
    path = tmp_path / "interview.ru.srt"
    path.write_text(RUSSIAN_SRT, encoding="utf-8")
    assert translation_language(path) == "ru"
    cues = import_translation(path, SOURCE, RULES)
    assert [(cue.start_ms, cue.end_ms) for cue in cues] == [
        (1000, 3500),  # snapped to source cue 1
        (3600, 8000),  # joins source cues 2 and 3
        (9000, 11900),  # source cue 4, split in two: the inner boundary stays
        (12000, 15000),
    ]
    assert cues[1].lines == ("Мы жили в горах,", "в Нарыне.")
    assert check_rules(cues, RULES) == []
    assert align_to_source(read_translation_file(path), SOURCE).unmatched == ()
    parsed = list(srt.parse(srt_text(cues)))
    assert [item.content for item in parsed] == ["\n".join(cue.lines) for cue in cues]


def test_an_imported_cue_that_matches_no_source_cue_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "interview.ru.srt"
    extra = "\n5\n00:00:20,000 --> 00:00:22,000\nЭтого никто не говорил.\n"
    path.write_text(RUSSIAN_SRT + extra, encoding="utf-8")
    alignment = align_to_source(read_translation_file(path), SOURCE)
    (problem,) = alignment.unmatched
    assert problem.startswith("cue 5 at 00:00:20,000") and "matches no source cue" in problem
    assert (alignment.cues[-1].start_ms, alignment.cues[-1].end_ms) == (20_000, 22_000)
    cues = import_translation(path, SOURCE, RULES)
    assert len(cues) == 5
    assert f"{path}: cue 5 at 00:00:20,000" in caplog.text


def test_an_imported_vtt_is_read_with_its_tags_and_entities(tmp_path: Path) -> None:
    path = tmp_path / "interview.en.vtt"
    path.write_text(
        "\ufeffWEBVTT - made by a volunteer\nKind: captions\n\n"
        "NOTE checked by Aigul\n\n"
        "intro\n00:01.000 --> 00:03.500 align:start line:90%\n<i>Mother</i> always rose early.\n\n"
        "00:00:03.600 --> 00:00:08.000\n<v Bakyt>We lived in the mountains &amp; valleys,\n"
        "in Naryn.\n",
        encoding="utf-8",
    )
    assert translation_language(path) == "en"
    cues = import_translation(path, None, RULES)
    assert cues == (
        Cue(start_ms=1000, end_ms=3500, lines=("Mother always rose early.",)),
        Cue(
            start_ms=3600,
            end_ms=8000,
            lines=("We lived in the mountains & valleys,", "in Naryn."),
        ),
    )


def test_cues_without_a_blank_line_between_them_are_still_read(tmp_path: Path) -> None:
    path = tmp_path / "x.ru.srt"
    path.write_text(
        "1\n00:00:01,000 --> 00:00:02,000\nПервый\n2\n00:00:02,100 --> 00:00:03,000\nВторой\n",
        encoding="utf-8",
    )
    assert [cue.text for cue in read_translation_file(path)] == ["Первый", "Второй"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("1\n00:00:01,000 -> 00:00:02,000\nПривет\n", "line 2: expected a cue time"),
        ("1\n00:00:01,000 --> 00:00:02,000\nА\n\n2\n00:00:05,000 --> 00:00:04,000\nБ\n", "line 6"),
        ("1\n00:00:61,000 --> 00:01:02,000\nПривет\n", "line 2: '00:00:61,000' is not a time"),
        ("\n\n", "holds no cues"),
    ],
    ids=["arrow", "ends-before-start", "bad-time", "empty"],
)
def test_a_broken_file_is_named_with_its_line(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "interview.ru.srt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TranslationFileError, match=expected) as caught:
        read_translation_file(path)
    assert str(path) in str(caught.value)


def test_a_file_not_in_utf8_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "interview.ru.srt"
    path.write_bytes("1\n00:00:01,000 --> 00:00:02,000\nПривет\n".encode("cp1251"))
    with pytest.raises(TranslationFileError, match=r"line 3: not UTF-8.*save the file as UTF-8"):
        read_translation_file(path)


def test_a_vtt_without_its_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "interview.en.vtt"
    path.write_text("00:01.000 --> 00:02.000\nHello\n", encoding="utf-8")
    with pytest.raises(TranslationFileError, match="line 1: a WebVTT file starts with WEBVTT"):
        read_translation_file(path)


def test_the_language_comes_from_the_file_name() -> None:
    assert translation_language(Path("Апам келет.final.RU.srt")) == "ru"
    assert translation_language(Path("talk.pt-BR.vtt")) == "pt-BR"


@pytest.mark.parametrize("name", ["interview.srt", "interview.russian.srt", "interview.ru_.vtt"])
def test_a_file_name_without_a_language_says_how_to_name_it(name: str) -> None:
    with pytest.raises(TranslationFileError, match=r"NAME\.ru\.srt"):
        translation_language(Path(name))


def test_an_srt_written_by_voices_imports_unchanged(tmp_path: Path) -> None:
    path = write_srt(SOURCE, tmp_path / "interview.ky.srt")
    assert import_translation(path, SOURCE, RULES) == SOURCE


# -- a service account instead of an API key ------------------------------------------------


def service_account_file(folder: Path, token_uri: str) -> tuple[Path, bytes]:
    """A service account's JSON key file as Google issues it (its own RSA key, its token URI
    on the stand-in); returns the file and the account's public key (PEM)."""
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = folder / "translator-sa.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "voices-test",
                "private_key_id": "0123456789abcdef",
                "private_key": private,
                "client_email": "translator@voices-test.iam.gserviceaccount.com",
                "client_id": "1234567890",
                "token_uri": token_uri,
            }
        ),
        "utf-8",
    )
    return path, public


def test_a_service_account_signs_in_and_translates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config import load_settings
    from pipeline.footage import translator_for

    fake = FakeTranslate()
    path, public = service_account_file(tmp_path, fake.token_uri)
    fake.service_account_pem = public
    fake.start()
    try:
        monkeypatch.setenv("VOICES_TRANSLATION__PROVIDER", "google")
        monkeypatch.setenv("VOICES_TRANSLATION__API_ENDPOINT", fake.url)
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
        translator = translator_for(load_settings())
        try:
            assert translator.translate(["Hello there."], "en", "ru") == [
                fake.translation("Hello there.", "ru")
            ]
        finally:
            translator.close()
    finally:
        fake.stop()
    assert len(fake.tokens) == 1  # signed in once, with the account's own key
    [sent] = fake.requests
    assert sent.status == 200 and not sent.key_in_url and sent.key_header is None


def test_a_service_account_google_refuses_says_what_to_check(tmp_path: Path) -> None:
    from subtitles.translate_google import service_account_credentials

    fake = FakeTranslate()
    path, _ = service_account_file(tmp_path, fake.token_uri)
    _, someone_else = service_account_file(tmp_path / "..", fake.token_uri)
    fake.service_account_pem = someone_else  # the file's key is not the account's any more
    fake.start()
    try:
        translator = google_translator(
            None, api_endpoint=fake.url, credentials=service_account_credentials(path)
        )
        with pytest.raises(TranslationError, match="refused the service account's sign-in"):
            translator.translate(["Hello there."], "en", "ru")
        translator.close()
    finally:
        fake.stop()
    assert fake.requests == []  # nothing reached the API without an identity
    broken = tmp_path / "broken.json"
    broken.write_text("{}", "utf-8")
    with pytest.raises(TranslationError, match=r"broken\.json: not a service account key file"):
        service_account_credentials(broken)
