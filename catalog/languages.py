"""A person's word on a footage's and a clip's other languages: the approval of a machine
translation for public channels, and a clip's title and description per language.

Both are recorded with who did it in the audit log, in the same transaction. An approval is
held by the transcript it was given to: a translation made again (its source changed, or its
file was lost) starts unapproved, whatever the language.
"""

from __future__ import annotations

from sqlalchemy import select

from catalog import audit
from catalog.models import ClipRecord, Localization, TranscriptRecord
from catalog.store import Catalog, NotInCatalog
from catalog.tables import Clip, Transcript, utcnow


def approve_translation(catalog: Catalog, transcript_id: int, by: str) -> TranscriptRecord:
    """Record that `by` read this machine translation and approves it for public channels."""
    with catalog.session() as s:
        row = s.get(Transcript, transcript_id)
        if row is None:
            raise NotInCatalog(f"no transcript {transcript_id}; see voices translation list")
        row.reviewed_by, row.reviewed_at = by, utcnow()
        detail = f"machine translation into {row.language} approved for public channels"
        audit.add(s, by, "approve_translation", detail, footage_id=row.footage_id)
        footage_id, key = row.footage_id, row.settings_key
    found = catalog.transcript(footage_id, key)
    assert found is not None
    return found


def set_localization(
    catalog: Catalog, clip_id: int, language: str, text: Localization, by: str
) -> ClipRecord:
    """The clip's title and description in `language` (replacing any there were)."""
    with catalog.session() as s:
        clip = s.scalar(select(Clip).where(Clip.id == clip_id))
        if clip is None:
            raise NotInCatalog(f"no clip {clip_id}; see voices status")
        # A new dict, so the JSON column sees the change.
        clip.localizations = {**(clip.localizations or {}), language: text.model_dump()}
        detail = f"clip {clip_id}: title and description in {language} set"
        audit.add(s, by, "edit", detail, footage_id=clip.footage_id, clip_id=clip_id)
    return catalog.clip(clip_id)
