"""Which Whisper language token decodes which spoken language."""

from __future__ import annotations

# Whisper's language tokens (the 99 of openai-whisper plus yue), by ISO 639-1 code where one exists.
WHISPER_LANGUAGES = frozenset(
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th "
    "ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr "
    "pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt "
    "haw ln ha ba jw su yue".split()
)


def decode_language(spoken: str | None, fallbacks: dict[str, str]) -> str | None:
    """The token to decode `spoken` with: itself, its configured fallback, or None (detect).

    Whisper has no Kyrgyz token; by default Kyrgyz is decoded as Kazakh, its closest relative
    that Whisper knows, which keeps the Cyrillic spelling instead of drifting into Russian.
    """
    if not spoken:
        return None
    if spoken in fallbacks:
        return fallbacks[spoken]
    return spoken if spoken in WHISPER_LANGUAGES else None
