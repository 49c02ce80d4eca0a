"""A clip's title and description in other languages (YouTube's localizations).

A person writes them (`voices edit CLIP --language ru --title ...`), or asks for a machine
translation of the clip's current title and description through the configured provider
(`voices edit CLIP --translate ru`), which is printed for them to read and stored like theirs.
Words the footage's sidecar redacts are removed before anything is sent, and again when a
channel gets them.
"""

from __future__ import annotations

from catalog.consent import blocked_reason
from catalog.languages import set_localization
from catalog.models import ClipRecord, Localization
from pipeline.context import Context
from pipeline.footage import translator_for
from subtitles.redact import redact_text
from subtitles.translate import TranslationError


def localize(
    ctx: Context,
    clip_id: int,
    language: str,
    by: str,
    *,
    title: str | None = None,
    description: str | None = None,
) -> ClipRecord:
    """Set the clip's title and/or description in `language` (what is not given is kept)."""
    clip = ctx.catalog.clip(clip_id)
    footage = ctx.catalog.footage(clip.footage_id)
    if language == footage.language:
        raise ValueError(
            f"clip {clip_id} is in {language} already: edit its own title and description "
            "(voices edit without --language)"
        )
    before = clip.localizations.get(language, Localization())
    text = Localization(
        title=before.title if title is None else title.strip(),
        description=before.description if description is None else description.strip(),
    )
    if not text.title:
        raise ValueError(f"clip {clip_id} has no title in {language} yet: give --title too")
    return set_localization(ctx.catalog, clip_id, language, text, by)


def translate_localization(ctx: Context, clip_id: int, language: str, by: str) -> ClipRecord:
    """The clip's current title and description, machine translated into `language`."""
    clip = ctx.catalog.clip(clip_id)
    footage = ctx.catalog.footage(clip.footage_id)
    t = ctx.settings.translation
    if not t.send_internal and blocked_reason(footage.sidecar, "partners") is not None:
        raise TranslationError(
            f"clip {clip_id}: its footage's consent is internal, so its words are not sent to a "
            "translation service (translation.send_internal); write the translation with "
            "--language and --title/--description instead"
        )
    terms = footage.sidecar.redact
    texts = [redact_text(clip.title, terms), redact_text(clip.description, terms)]
    translator = translator_for(ctx.settings)
    try:
        title, description = translator.translate(texts, footage.language, language)
    finally:
        translator.close()
    return localize(ctx, clip_id, language, by, title=title, description=description)
