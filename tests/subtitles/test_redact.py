"""Redaction of names and phrases a person asked to remove, in words as Whisper splits them."""

from __future__ import annotations

from subtitles.layout import layout_cues
from subtitles.models import ReadingRules, Word
from subtitles.redact import (
    MARK,
    PAD_MS,
    redact_text,
    redact_words,
    redaction_spans,
    spans_within,
)


def words(*texts: str, step: int = 400) -> tuple[Word, ...]:
    """Words 400 ms apart, each 300 ms long, from 1 s."""
    return tuple(
        Word(start_ms=1000 + n * step, end_ms=1000 + n * step + 300, text=text)
        for n, text in enumerate(texts)
    )


# Kyrgyz: "Бакыт, my son, goes to School 5. Бакыта was there too."
KYRGYZ = words("Бакыт,", "менин", "уулум,", "School", "5.", "мектебине", "барат.", "«Бакыта»", "да")
TERMS = ("Бакыт", "School 5")


def test_spans_cover_each_match_with_padding_in_order() -> None:
    spans = redaction_spans(KYRGYZ, TERMS, pad_ms=0)
    # "Бакыт," (word 0) and the phrase "School" "5." (words 3-4); not "Бакыта", not listed.
    assert spans == [(1000, 1300), (2200, 2900)]
    padded = redaction_spans(KYRGYZ, TERMS)
    assert padded == [(1000 - PAD_MS, 1300 + PAD_MS), (2200 - PAD_MS, 2900 + PAD_MS)]


def test_each_listed_form_is_matched_and_any_case() -> None:
    spans = redaction_spans(KYRGYZ, ["бакыт", "БАКЫТА"], pad_ms=0)
    assert spans == [(1000, 1300), (3800, 4100)]


def test_a_term_does_not_match_inside_another_word() -> None:
    english = words("Alice", "met", "Ali,", "and", "Ali's", "sister", "Salim.")
    assert redaction_spans(english, ["Ali"], pad_ms=0) == [(1800, 2100), (2600, 2900)]
    assert [w.text for w in redact_words(english, ["Ali"])] == [
        "Alice", "met", f"{MARK},", "and", MARK, "sister", "Salim.",
    ]  # fmt: skip


def test_a_phrase_across_words_with_punctuation_and_case_between() -> None:
    said = words("He", "studied", "at", "SCHOOL,", "5", "(near", "School", "15).")
    assert redaction_spans(said, ["School 5"], pad_ms=0) == [(2200, 2900)]
    # A phrase split differently by the recogniser ("School-5" as one word) matches too.
    hyphenated = words("at", "School-5,", "then")
    assert redaction_spans(hyphenated, ["school 5"], pad_ms=0) == [(1400, 1700)]


def test_redacted_words_keep_their_punctuation_and_a_phrase_is_one_mark() -> None:
    redacted = redact_words(KYRGYZ, TERMS)
    assert [w.text for w in redacted] == [
        f"{MARK},", "менин", "уулум,", f"{MARK}.", "мектебине", "барат.", "«Бакыта»", "да",
    ]  # fmt: skip
    phrase = redacted[3]
    assert (phrase.start_ms, phrase.end_ms) == (2200, 2900)  # "School" to "5."
    assert "Бакыт," not in " ".join(w.text for w in redacted)


def test_yo_and_ye_are_one_letter() -> None:
    said = words("Алёна", "и", "Семён")
    assert [w.text for w in redact_words(said, ["Алена", "СЕМЁН"])] == [MARK, "и", MARK]
    assert redact_text("Алена и Семен", ["Алёна", "Семён"]) == f"{MARK} и {MARK}"


def test_overlapping_terms_are_one_span() -> None:
    said = words("Бакыт", "Асанов", "келди")
    spans = redaction_spans(said, ["Бакыт Асанов", "Асанов"], pad_ms=0)
    assert spans == [(1000, 1700)]
    assert [w.text for w in redact_words(said, ["Бакыт", "Бакыт Асанов"])] == [MARK, "келди"]


def test_padding_joins_close_spans_and_never_goes_below_zero() -> None:
    said = (
        Word(start_ms=50, end_ms=300, text="Бакыт"),
        Word(start_ms=350, end_ms=600, text="Бакыт"),
        Word(start_ms=2000, end_ms=2300, text="келди"),
    )
    assert redaction_spans(said, ["Бакыт"], pad_ms=150) == [(0, 750)]


def test_empty_or_punctuation_terms_match_nothing() -> None:
    assert redaction_spans(KYRGYZ, ["", " ", "—", ","]) == []
    assert redact_words(KYRGYZ, []) == KYRGYZ
    assert redact_text("Бакыт, hello", ["..."]) == "Бакыт, hello"


def test_spans_within_a_clip_are_timed_from_its_start() -> None:
    spans = [(500, 1500), (4000, 4500), (9000, 12000)]
    assert spans_within(spans, 1000, 10_000) == ((0, 500), (3000, 3500), (8000, 9000))
    assert spans_within(spans, 1500, 4000) == ()


def test_redact_text_in_titles_and_descriptions() -> None:
    text = "«Бакыт» из School 15 и School 5. Бакыта? Alice, Ali; БАКЫТ!"
    assert redact_text(text, ["Бакыт", "School 5", "Ali"]) == (
        f"«{MARK}» из School 15 и {MARK}. Бакыта? Alice, {MARK}; {MARK}!"
    )
    # "№" is no letter or digit, so it separates the words of a phrase like punctuation.
    assert redact_text("School №5", ["School 5"]) == MARK


def test_layout_keeps_the_mark_inside_its_sentence() -> None:
    """The mark reads as a word to the layout: no cue is cut at it for being punctuation."""
    said = words("Мен", "Бакыт", "менен", "мектепке", "бардым.")
    cues = layout_cues(redact_words(said, ["Бакыт"]), ReadingRules())
    assert [cue.text for cue in cues] == [f"Мен {MARK} менен мектепке бардым."]
