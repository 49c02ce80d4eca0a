"""A person's word on other languages, in the catalog: an approval belongs to the very
transcript it was given to, and is logged; a clip keeps a title and description per language."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog import Catalog, audit
from catalog.languages import approve_translation, set_localization
from catalog.models import ClipDraft, Localization, NewFootage, TranscriptRecord
from catalog.store import NotInCatalog


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    opened = Catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}", tmp_path)
    opened.record_footage(
        NewFootage(sha256="a" * 64, source_name="a.wav", status="processed", path=tmp_path / "a")
    )
    return opened


def translated(catalog: Catalog, key: str, path: Path) -> TranscriptRecord:
    return catalog.add_transcript(
        1, key, task="translate", language="ru", engine="google", model="g", path=path, seconds=0
    )


def test_an_approval_is_of_one_transcript_and_a_new_one_starts_unapproved(
    catalog: Catalog, tmp_path: Path
) -> None:
    first = translated(catalog, "k1", tmp_path / "t1.json")
    assert first.source == "translated" and first.needs_review

    approved = approve_translation(catalog, first.id, "Айгуль")

    assert approved.reviewed_by == "Айгуль" and approved.reviewed_at is not None
    assert not approved.needs_review
    [entry] = audit.entries(catalog, 1)
    assert (entry.actor, entry.action) == ("Айгуль", "approve_translation")
    assert "into ru" in entry.detail
    # Translated anew from another source: another key, not approved.
    second = translated(catalog, "k2", tmp_path / "t2.json")
    assert second.needs_review
    # Made again under the same key (its file was lost): the text may differ, so again.
    again = translated(catalog, "k1", tmp_path / "t1.json")
    assert again.id == first.id and again.needs_review
    with pytest.raises(NotInCatalog, match="no transcript 99"):
        approve_translation(catalog, 99, "Айгуль")
    catalog.close()


def test_a_clip_keeps_a_title_and_description_per_language(catalog: Catalog) -> None:
    catalog.sync_clips(1, [ClipDraft(start_ms=0, end_ms=5000, text="t", title="Home")], "k")
    [clip] = catalog.clips_of(1)
    assert clip.localizations == {}

    set_localization(catalog, clip.id, "ru", Localization(title="Дом", description="О доме"), "a")
    updated = set_localization(catalog, clip.id, "ky", Localization(title="Үй"), "b")

    assert updated.localizations == {
        "ru": Localization(title="Дом", description="О доме"),
        "ky": Localization(title="Үй", description=""),
    }
    assert catalog.clip(clip.id).localizations == updated.localizations
    assert [e.detail for e in audit.entries(catalog, 1)] == [
        f"clip {clip.id}: title and description in ru set",
        f"clip {clip.id}: title and description in ky set",
    ]
    catalog.close()
