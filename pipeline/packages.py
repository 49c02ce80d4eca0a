"""Partner packages: a folder per clip that a partner can take as it is.

A package is named by what it holds (the footage's hash and the clip's span), never by a clip
id a database may reuse; it is rebuilt whole, so nothing of an earlier clip can stay in it; and
it exists only while the clip's consent allows partners. Nothing in it names a person or the
source file; the place and date of recording only when the sidecar says they may go out.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from catalog.consent import blocked_reason, effective_consent
from catalog.models import ClipRecord, FootageRecord, Sidecar
from media.library import atomic_output, write_text_atomically
from pipeline.context import Context
from subtitles.redact import redact_text

WEB_RENDITION = "web"


def package_folder(ctx: Context, footage: FootageRecord, clip: ClipRecord) -> Path:
    return (
        ctx.settings.workspace / "packages" / footage.sha256[:12] / f"{clip.start_ms}-{clip.end_ms}"
    )


def update_package(ctx: Context, footage: FootageRecord, clip: ClipRecord) -> ClipRecord:
    """Write the clip's package if partners may take it, remove it if they may not."""
    if blocked_reason(footage.sidecar, "partners") is not None:
        remove_package(ctx, clip)
        return ctx.catalog.clip(clip.id)
    return ctx.catalog.set_package(clip.id, write_package(ctx, footage, clip))


def remove_package(ctx: Context, clip: ClipRecord) -> bool:
    """Delete the clip's package and the zips the portal made of it; whether there was one."""
    if clip.package is None:
        return False
    shutil.rmtree(clip.package, ignore_errors=True)
    for made in clip.package.parent.glob(f"{clip.package.name}.*.zip"):
        made.unlink(missing_ok=True)
    ctx.catalog.clear_package(clip.id)
    return True


def write_package(ctx: Context, footage: FootageRecord, clip: ClipRecord) -> Path:
    """Videos, subtitles, thumbnail and metadata.json, placed without copying bytes where the
    disk allows; any other file in the folder is removed."""
    package = package_folder(ctx, footage, clip)
    package.mkdir(parents=True, exist_ok=True)
    renders = {  # the portal's light "web" rendition is for its player, not to take away
        name: _place(render.path, package / f"{name}.mp4")
        for name, render in clip.renders.items()
        if name != WEB_RENDITION
    }
    subtitles = {
        language: {
            "srt": _place(files.srt, package / f"{language}.srt"),
            "vtt": _place(files.vtt, package / f"{language}.vtt"),
        }
        for language, files in clip.subtitles.items()
    }
    placed = [*renders.values(), *(n for kinds in subtitles.values() for n in kinds.values())]
    files: dict[str, object] = {"renders": renders, "subtitles": subtitles}
    if clip.thumbnail:
        files["thumbnail"] = _place(clip.thumbnail, package / "thumbnail.jpg")
        placed.append("thumbnail.jpg")
    metadata = package_metadata(footage, clip) | files
    write_text_atomically(
        package / "metadata.json", json.dumps(metadata, ensure_ascii=False, indent=2)
    )
    keep = {*placed, "metadata.json"}
    for entry in package.iterdir():
        if entry.name not in keep:  # left by an earlier build
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    return package


def package_metadata(footage: FootageRecord, clip: ClipRecord) -> dict[str, object]:
    """What a partner needs to use the clip honestly. No names of people: minors may be among
    them, and the partner needs to know consent, not identities."""
    sidecar = footage.sidecar
    terms = sidecar.redact
    return {
        "clip": clip.id,
        "title": redact_text(clip.title, terms),
        "description": redact_text(clip.description, terms),
        "quote": redact_text(clip.text, terms),
        "language": footage.language,
        "languages": sorted(clip.subtitles),
        "duration": clip.duration_ms / 1000,
        "source": {
            "footage": footage.id,
            "sha256": footage.sha256,
            "start": clip.start_ms / 1000,
            "end": clip.end_ms / 1000,
            "recorded": recorded_if_public(sidecar),
            "location": location_if_public(sidecar),
        },
        "consent": effective_consent(sidecar),
        "footage_consent": sidecar.consent,
        "people_consent": [person.consent for person in sidecar.people],
        "includes_minors": sidecar.has_minors,
    }


def recorded_if_public(sidecar: Sidecar) -> str | None:
    """The date of recording, only when the sidecar says it may go out (`public_recorded`)."""
    return sidecar.recorded.isoformat() if sidecar.public_recorded and sidecar.recorded else None


def location_if_public(sidecar: Sidecar) -> str | None:
    """The place of recording, only when the sidecar says it may go out (`public_location`)."""
    return sidecar.location if sidecar.public_location and sidecar.location else None


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
