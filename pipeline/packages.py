"""Partner packages: a folder per clip that a partner can take as it is."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from catalog.consent import effective_consent
from catalog.models import ClipRecord, FootageRecord
from media.library import atomic_output, write_text_atomically
from pipeline.context import Context


def package_folder(ctx: Context, clip: ClipRecord) -> Path:
    return ctx.settings.workspace / "packages" / f"clip-{clip.id}"


def write_package(ctx: Context, footage: FootageRecord, clip: ClipRecord) -> Path:
    """Videos, subtitles, thumbnail and metadata.json, placed without copying bytes where the
    disk allows."""
    package = package_folder(ctx, clip)
    package.mkdir(parents=True, exist_ok=True)
    renders = {
        name: _place(render.path, package / f"{name}.mp4") for name, render in clip.renders.items()
    }
    subtitles = {
        language: {
            "srt": _place(files.srt, package / f"{language}.srt"),
            "vtt": _place(files.vtt, package / f"{language}.vtt"),
        }
        for language, files in clip.subtitles.items()
    }
    files: dict[str, object] = {"renders": renders, "subtitles": subtitles}
    if clip.thumbnail:
        files["thumbnail"] = _place(clip.thumbnail, package / "thumbnail.jpg")
    metadata = package_metadata(footage, clip) | files
    write_text_atomically(
        package / "metadata.json", json.dumps(metadata, ensure_ascii=False, indent=2)
    )
    return package


def package_metadata(footage: FootageRecord, clip: ClipRecord) -> dict[str, object]:
    """What a partner needs to use the clip honestly. No names of people: minors may be among
    them, and the partner needs to know consent, not identities."""
    sidecar = footage.sidecar
    return {
        "clip": clip.id,
        "title": clip.title,
        "description": clip.description,
        "quote": clip.text,
        "language": footage.language,
        "languages": sorted(clip.subtitles),
        "duration": clip.duration_ms / 1000,
        "source": {
            "footage": footage.id,
            "name": footage.source_name,
            "sha256": footage.sha256,
            "start": clip.start_ms / 1000,
            "end": clip.end_ms / 1000,
            "recorded": sidecar.recorded.isoformat() if sidecar.recorded else None,
            "location": sidecar.location or None,
        },
        "consent": effective_consent(sidecar),
        "footage_consent": sidecar.consent,
        "people_consent": [person.consent for person in sidecar.people],
        "includes_minors": sidecar.has_minors,
    }


def _place(source: Path, target: Path) -> str:
    """Put `source` at `target` without copying bytes where the disk allows (a hard link)."""
    if target.exists():
        if os.path.samefile(source, target):
            return target.name
        target.unlink()
    try:
        os.link(source, target)
    except OSError:  # another disk: a copy, complete or not there at all
        with atomic_output(target) as partial:
            shutil.copyfile(source, partial)
    return target.name
