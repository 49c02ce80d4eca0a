"""Cue layout on synthetic word streams: the reading rules hold and every word is shown once."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

import pytest

from subtitles.errors import SubtitleError
from subtitles.layout import TAIL_MS, check_rules, layout_cues, line_limit, retime_cues
from subtitles.models import Cue, ReadingRules, Word

ADULTS = ReadingRules()
CHILDREN = ReadingRules(max_cps=13)

# Common English words; their mean length (4.6 letters) is that of everyday English.
ENGLISH_TEXT = (
    "the of and to in is was it for on that with as his they be at one have this from or had by "
    "word but what some we can out other were all there when up use your how said an each she "
    "which do their time if will way about many then them write would like so these her long make "
    "thing see him two has look more day could go come did number sound no most people my over "
    "know water than call first who may down side been now find any new work part take get place "
    "made live where after back little only round man year came show every good me give our under "
    "name very through just form sentence great think say help low line differ turn cause much "
    "mean before move right boy old too same tell does set three want air well also play small end "
    "government community children important together because different country question between "
    "without something thought another education morning evening families village hospital "
    "teacher building electricity families harvest mountain yesterday tomorrow medicine market "
    "information development environment neighbours transportation celebration"
)
ENGLISH = ENGLISH_TEXT.split()

RUSSIAN = (
    "Сегодня мы поговорим о чистой воде в нашем городе.",
    "Дети каждый день ходят в новую школу, которую построили прошлой осенью.",
    "Врачи приезжают в деревню два раза в месяц.",
    "Если у вас есть вопросы, позвоните нам или напишите письмо.",
    "Мост через реку открыли весной, и теперь дорога до рынка занимает десять минут.",
    "Спасибо всем, кто помогал!",
    "Что будет дальше?",
    "Мы продолжим работу вместе с жителями и местной администрацией.",
)


def sentences(seed: int, count: int) -> list[str]:
    """Sentences of 3 to 16 common words, with some commas and mixed end marks."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        words = [rng.choice(ENGLISH) for _ in range(rng.randint(3, 16))]
        for k in range(1, len(words) - 1):
            if rng.random() < 0.1:
                words[k] += ","
        out.append(" ".join(words).capitalize() + rng.choice(".?!."))
    return out


def timed(
    texts: Sequence[str], words_per_s: float = 2.5, pause_ms: int = 700, start_ms: int = 400
) -> list[Word]:
    """Word timings for `texts` spoken at a steady rate, with a pause after each text."""
    slot = 1000 / words_per_s
    words = []
    t = float(start_ms)
    for text in texts:
        for token in text.split():
            words.append(Word(start_ms=round(t), end_ms=round(t + slot * 0.8), text=token))
            t += slot
        t += pause_ms
    return words


def shown_words(cues: Sequence[Cue]) -> list[str]:
    return [token for cue in cues for line in cue.lines for token in line.split()]


def cue_words(cues: Sequence[Cue], words: Sequence[Word]) -> list[list[Word]]:
    """The words each cue shows (words hold no spaces and every word is shown once, in order)."""
    out, k = [], 0
    for cue in cues:
        size = len(cue.text.split())
        out.append(list(words[k : k + size]))
        k += size
    assert k == len(words)
    return out


def assert_well_formed(cues: Sequence[Cue], rules: ReadingRules) -> None:
    """What must hold whatever the input: order, gaps, line counts and widths."""
    for before, after in itertools.pairwise(cues):
        assert after.start_ms >= before.end_ms + rules.min_gap_ms
    for cue in cues:
        assert cue.end_ms > cue.start_ms
        assert 1 <= len(cue.lines) <= rules.max_lines
        limit = line_limit(cue.text, rules)
        for line in cue.lines:
            assert line.strip() == line and line
            assert len(line) <= limit or " " not in line


def assert_timed_from_words(
    cues: Sequence[Cue], words: Sequence[Word], rules: ReadingRules
) -> None:
    """Cues start on their first word (or up to max_lag later) and leave soon after the last."""
    for cue, shown in zip(cues, cue_words(cues, words), strict=True):
        assert shown[0].start_ms <= cue.start_ms <= shown[0].start_ms + rules.max_lag_ms
        latest = max(shown[-1].end_ms + TAIL_MS, cue.start_ms + rules.min_duration_ms)
        assert cue.end_ms <= latest


@pytest.mark.parametrize("seed", range(6))
def test_normal_speech_meets_every_rule(seed: int) -> None:
    words = timed(sentences(seed, 40))
    cues = layout_cues(words, ADULTS)
    assert check_rules(cues, ADULTS) == []
    assert shown_words(cues) == [word.text for word in words]
    assert_well_formed(cues, ADULTS)
    assert_timed_from_words(cues, words, ADULTS)


def test_latin_lines_use_42_characters() -> None:
    cues = layout_cues(timed(sentences(7, 80)), ADULTS)
    widths = [len(line) for cue in cues for line in cue.lines]
    assert max(widths) <= 42
    assert max(widths) > 39  # the Latin limit, not the Cyrillic one, was applied


def test_cyrillic_lines_use_39_characters() -> None:
    words = timed(RUSSIAN * 3, words_per_s=2.2)
    cues = layout_cues(words, ADULTS)
    assert all(line_limit(cue.text, ADULTS) == 39 for cue in cues)
    assert max(len(line) for cue in cues for line in cue.lines) <= 39
    assert shown_words(cues) == [word.text for word in words]
    assert check_rules(cues, ADULTS) == []


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("Привет, как дела?", 39),
        ("Salom, qalaysiz?", 42),  # Uzbek in Latin script
        ("Салом, чӣ хел шумо?", 39),  # Tajik
        ("Қалайсың, досым?", 39),  # Kazakh
        ("Moscow Москва", 42),  # a tie is not "mostly Cyrillic"
        ("2024 — 2025", 42),
    ],
)
def test_line_limit_follows_the_script_of_the_letters(text: str, limit: int) -> None:
    assert line_limit(text, ADULTS) == limit


def test_cues_end_at_sentence_ends_when_sentences_fit() -> None:
    texts = [
        "We fixed the old bridge last spring.",
        "Now the market is close.",
        "Did you see the new school?",
        "It has a garden and a small library!",
        "Thank you all.",
    ]
    cues = layout_cues(timed(texts, pause_ms=300), ADULTS)
    assert [cue.text for cue in cues] == texts


def test_long_sentence_breaks_after_a_comma() -> None:
    text = (
        "The people of the valley worked on the water line for three long years, "
        "and now every house in the village has clean water all day"
    )
    cues = layout_cues(timed([text]), ADULTS)
    assert len(cues) == 2
    assert cues[0].text.endswith("years,")


def test_two_line_cue_breaks_its_lines_after_punctuation() -> None:
    cues = layout_cues(timed(["First we met the mayor, then we saw the new clinic."]), ADULTS)
    assert cues[0].lines == ("First we met the mayor,", "then we saw the new clinic.")


def test_two_line_cue_balances_its_lines() -> None:
    cues = layout_cues(
        timed(["people in the town told us the new road made their life easy"]), ADULTS
    )
    assert len(cues) == 1 and len(cues[0].lines) == 2
    first, second = (len(line) for line in cues[0].lines)
    assert abs(first - second) <= 10


def test_long_pause_without_punctuation_splits_cues() -> None:
    words = timed(["we went to the river", "and the water was clean"], pause_ms=4000)
    cues = layout_cues(words, ADULTS)
    assert [cue.text for cue in cues] == ["we went to the river", "and the water was clean"]
    assert cues[0].end_ms <= words[4].end_ms + TAIL_MS
    assert_timed_from_words(cues, words, ADULTS)


def test_word_longer_than_a_line_stands_alone() -> None:
    long_word = "Donaudampfschifffahrtsgesellschaftskapitänswitwenrente"
    assert len(long_word) > 42
    words = timed([f"she said {long_word} is the word"])
    cues = layout_cues(words, ADULTS)
    assert shown_words(cues) == [word.text for word in words]
    assert any(long_word in cue.lines for cue in cues)  # a line of its own, never split
    assert_well_formed(cues, ADULTS)
    assert not any("characters," in problem for problem in check_rules(cues, ADULTS))


def test_fast_talker_keeps_layout_rules_and_reports_reading_speed() -> None:
    words = timed(sentences(3, 30), words_per_s=5.0, pause_ms=250)
    cues = layout_cues(words, ADULTS)
    assert shown_words(cues) == [word.text for word in words]
    assert_well_formed(cues, ADULTS)
    assert_timed_from_words(cues, words, ADULTS)
    problems = check_rules(cues, ADULTS)
    assert any("characters per second" in problem for problem in problems)
    # Only time can run short: no line, overlap or gap breaches.
    assert all(" ms, minimum " in p or "characters per second" in p for p in problems)


def test_fast_phrase_before_silence_is_extended_into_the_silence() -> None:
    words = timed(["Thank you for coming to the opening of our new school today."], words_per_s=5.0)
    words += timed(["Next."], start_ms=words[-1].end_ms + 5000)
    cues = layout_cues(words, ADULTS)
    first = cues[0]
    assert first.end_ms > words[11].end_ms
    assert first.end_ms <= words[11].end_ms + TAIL_MS
    assert check_rules(cues, ADULTS) == []


def test_cue_is_delayed_at_most_max_lag_to_make_room() -> None:
    words = timed(["Thank you for coming to the opening of our new school today."], words_per_s=4.0)
    words += timed(
        ["This is for the children of the whole valley."], start_ms=words[-1].end_ms + 100
    )
    cues = layout_cues(words, ADULTS)
    assert len(cues) == 2
    assert cues[1].start_ms > words[12].start_ms  # the first cue needed the room
    assert_timed_from_words(cues, words, ADULTS)
    assert cues[1].start_ms - cues[0].end_ms >= ADULTS.min_gap_ms


def test_slow_speech_respects_max_duration() -> None:
    text = " ".join(ENGLISH[:30])
    words = timed([text], words_per_s=1.0)  # 30 s of speech, with no sentence end to break at
    cues = layout_cues(words, ADULTS)
    assert shown_words(cues) == [word.text for word in words]
    assert_well_formed(cues, ADULTS)
    assert_timed_from_words(cues, words, ADULTS)
    assert all(cue.end_ms - cue.start_ms <= ADULTS.max_duration_ms for cue in cues)
    # Two lines hold about 14 of these words, 14 s of this speech: cues are cut by time instead.
    spoken_ms = words[-1].end_ms - words[0].start_ms
    assert len(cues) >= spoken_ms / ADULTS.max_duration_ms
    assert check_rules(cues, ADULTS) == []


def test_single_short_word_is_shown_for_the_minimum_duration() -> None:
    cues = layout_cues([Word(start_ms=1000, end_ms=1200, text="Yes.")], ADULTS)
    assert cues == (Cue(start_ms=1000, end_ms=2000, lines=("Yes.",)),)


def test_children_get_longer_cues_and_meet_their_reading_speed() -> None:
    words = timed(sentences(11, 40), words_per_s=1.8, pause_ms=900)
    adult, child = layout_cues(words, ADULTS), layout_cues(words, CHILDREN)
    assert check_rules(child, CHILDREN) == []
    assert check_rules(child, ADULTS) == []
    assert sum(c.end_ms - c.start_ms for c in child) > sum(c.end_ms - c.start_ms for c in adult)
    assert len(child) >= len(adult)
    assert shown_words(child) == [word.text for word in words]


def test_children_profile_reports_normal_adult_speech_as_too_fast() -> None:
    words = timed(sentences(6, 30), words_per_s=2.6, pause_ms=400)
    assert check_rules(layout_cues(words, ADULTS), ADULTS) == []
    assert any("per second" in p for p in check_rules(layout_cues(words, CHILDREN), CHILDREN))


def garbage_words() -> list[Word]:
    texts = ["one", "two", "", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    texts += ["eleven", "twelve"]
    starts = [5000, 4000, 4000, 4500, 4500, 4500, 9000, 8000, 8000, 8000, 8000, 12000, 11000]
    ends = [5000, 6000, 3000, 4500, 9000, 4500, 9000, 7000, 8000, 8000, 8000, 12000, 30000]
    times = zip(texts, starts, ends, strict=True)
    words = [Word(start_ms=start, end_ms=end, text=text) for text, start, end in times]
    same_time = [Word(start_ms=20000, end_ms=20000, text=f"w{k}") for k in range(60)]
    return [*words, Word(start_ms=0, end_ms=0, text="   "), *same_time]


def test_garbage_times_and_empty_words_are_handled() -> None:
    words = garbage_words()
    cues = layout_cues(words, ADULTS)
    expected = [word.text for word in words if word.text.strip()]
    assert shown_words(cues) == expected
    assert_well_formed(cues, ADULTS)
    assert cues[0].start_ms == 5000  # never before the first word


def test_layout_is_deterministic_and_handles_no_words() -> None:
    words = timed(sentences(2, 20))
    assert layout_cues(words, ADULTS) == layout_cues(list(words), ADULTS)
    assert layout_cues([], ADULTS) == ()
    assert layout_cues([Word(start_ms=0, end_ms=10, text=" ")], ADULTS) == ()


@pytest.mark.parametrize("max_lines", [1, 3])
def test_other_line_counts(max_lines: int) -> None:
    rules = ReadingRules(max_lines=max_lines, max_cps=25)
    words = timed(sentences(4, 30), words_per_s=3.0)
    cues = layout_cues(words, rules)
    assert_well_formed(cues, rules)
    assert shown_words(cues) == [word.text for word in words]
    assert check_rules(cues, rules) == []


RUSSIAN_42 = "Привет " * 5 + "дорогой"  # 42 characters: fine in Latin script, not in Cyrillic


@pytest.mark.parametrize(
    ("cue", "fragment"),
    [
        (Cue(start_ms=0, end_ms=3000, lines=("x" * 20 + " " + "y" * 22,)), "43 characters"),
        (Cue(start_ms=0, end_ms=3000, lines=("a", "b", "c")), "3 lines"),
        (Cue(start_ms=0, end_ms=500, lines=("Hi.",)), "shown 500 ms, minimum"),
        (Cue(start_ms=0, end_ms=8000, lines=("Hello there.",)), "shown 8000 ms, maximum"),
        (Cue(start_ms=0, end_ms=1000, lines=("twenty characters..",)), "characters per second"),
        (Cue(start_ms=0, end_ms=2000, lines=("fine", " ")), "line 2 is empty"),
        (Cue(start_ms=0, end_ms=4000, lines=(RUSSIAN_42,)), "42 characters, limit 39"),
    ],
)
def test_check_rules_names_each_breach(cue: Cue, fragment: str) -> None:
    problems = check_rules([cue], ADULTS)
    assert len(problems) == 1
    assert fragment in problems[0] and problems[0].startswith("cue 1 at 0.000s")


def test_check_rules_reports_overlaps_and_small_gaps() -> None:
    first = Cue(start_ms=0, end_ms=2000, lines=("one",))
    overlapping = Cue(start_ms=1900, end_ms=4000, lines=("two",))
    close = Cue(start_ms=4050, end_ms=6000, lines=("three",))
    problems = check_rules([first, overlapping, close], ADULTS)
    assert problems == [
        "cue 2 at 1.900s: overlaps the previous cue by 100 ms",
        "cue 3 at 4.050s: 50 ms after the previous cue, need 80",
    ]


def test_check_rules_accepts_a_long_word_alone_on_its_line() -> None:
    cue = Cue(start_ms=0, end_ms=4000, lines=("x" * 50,))
    assert check_rules([cue], ADULTS) == []


def test_retime_keeps_clips_and_shifts_overlapping_cues() -> None:
    cues = (
        Cue(start_ms=0, end_ms=1000, lines=("before",)),
        Cue(start_ms=1500, end_ms=3000, lines=("cut at the start",)),
        Cue(start_ms=3500, end_ms=5000, lines=("inside",)),
        Cue(start_ms=5500, end_ms=8000, lines=("cut at the end",)),
        Cue(start_ms=9000, end_ms=9500, lines=("after",)),
    )
    assert retime_cues(cues, 2000, 7000) == (
        Cue(start_ms=0, end_ms=1000, lines=("cut at the start",)),
        Cue(start_ms=1500, end_ms=3000, lines=("inside",)),
        Cue(start_ms=3500, end_ms=5000, lines=("cut at the end",)),
    )


def test_retime_drops_fragments_shorter_than_200_ms() -> None:
    cues = (
        Cue(start_ms=0, end_ms=2150, lines=("tail of 150 ms",)),
        Cue(start_ms=2300, end_ms=3000, lines=("kept",)),
        Cue(start_ms=3900, end_ms=5000, lines=("head of 100 ms",)),
    )
    assert retime_cues(cues, 2000, 4000) == (Cue(start_ms=300, end_ms=1000, lines=("kept",)),)


def test_retime_rejects_an_empty_range() -> None:
    with pytest.raises(SubtitleError, match="start_ms < end_ms"):
        retime_cues((), 5000, 5000)
