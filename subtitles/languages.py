"""Which Whisper language token decodes which spoken language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from subtitles.errors import TranscriptionError, UncertainLanguageError

# Whisper's language tokens (the 99 of openai-whisper plus yue), by ISO 639-1 code where one exists.
WHISPER_LANGUAGES = frozenset(
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th "
    "ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr "
    "pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt "
    "haw ln ha ba jw su yue".split()
)

DEFAULT_FALLBACKS = {"ky": "kk"}
"""Spoken languages Whisper has no token for, with the token that decodes them best."""


def decode_language(spoken: str | None, fallbacks: Mapping[str, str]) -> str | None:
    """The token to decode `spoken` with: itself, its configured fallback, or None (detect).

    Whisper has no Kyrgyz token; by default Kyrgyz is decoded as Kazakh, its closest relative
    that Whisper knows, which keeps the Cyrillic spelling instead of drifting into Russian.
    """
    if not spoken:
        return None
    if spoken in fallbacks:
        return fallbacks[spoken]
    return spoken if spoken in WHISPER_LANGUAGES else None


def decode_tokens(languages: Sequence[str], fallbacks: Mapping[str, str]) -> dict[str, str]:
    """Each spoken language of `languages` (duplicates dropped, order kept) with the token that
    decodes it; a language without one is a mistake the sidecar's author must fix."""
    tokens: dict[str, str] = {}
    for spoken in languages:
        token = decode_language(spoken, fallbacks)
        if token is None:
            raise TranscriptionError(
                f"Whisper has no language token for {spoken!r} (in `languages:`): use a code "
                "Whisper knows (ru, kk, uz, tg, en ...) or map it to its closest language in "
                "transcription.language_fallbacks"
            )
        tokens.setdefault(spoken, token)
    return tokens


def choose_allowed(
    probabilities: Mapping[str, float], tokens: Mapping[str, str]
) -> tuple[str, float]:
    """The allowed spoken language whose token Whisper finds likeliest, with that probability.

    `tokens` maps each allowed spoken language to its token (`decode_tokens`). Where two share a
    token (``ky`` and ``kk`` both decode as ``kk``) Whisper cannot tell them apart: the one
    listed first wins.
    """
    return max(
        ((spoken, probabilities.get(token, 0.0)) for spoken, token in tokens.items()),
        key=lambda pair: pair[1],
    )


def accept_detected(
    candidates: Sequence[tuple[str, float]],
    campaign: Sequence[str],
    min_probability: float,
    fallbacks: Mapping[str, str],
) -> str:
    """The spoken language to record for Whisper's guess, or `UncertainLanguageError`.

    `candidates` are Whisper's language tokens with their probabilities, likeliest first. The
    guess is refused when its probability is under `min_probability`, or when `campaign` is
    given and the guess is neither one of its languages nor the token one of them decodes with
    (``kk`` for ``ky``: then the footage is recorded as ``ky``).
    """
    detected, probability = candidates[0]
    spoken = _in_campaign(detected, campaign, fallbacks)
    reasons = []
    if probability < min_probability:
        reasons.append(f"that is under the {min_probability:.2f} required")
    if spoken is None:
        reasons.append(f"this campaign's languages are {', '.join(campaign)}")
    if spoken is None or reasons:
        raise UncertainLanguageError(detected, probability, candidates[:3], reasons)
    return spoken


def _in_campaign(
    detected: str, campaign: Sequence[str], fallbacks: Mapping[str, str]
) -> str | None:
    """`detected` as the campaign's language it stands for (itself, or ``ky`` for ``kk`` where
    the campaign has Kyrgyz but not Kazakh); None if it stands for none (any, with no campaign)."""
    if not campaign or detected in campaign:
        return detected
    decoded_as = (spoken for spoken in campaign if decode_language(spoken, fallbacks) == detected)
    return next(decoded_as, None)
