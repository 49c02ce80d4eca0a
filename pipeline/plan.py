"""What is left to do under the current settings, decided before any flow starts."""

from __future__ import annotations

from catalog.store import FootageRecord
from pipeline.clips import clips_to_render, selection_is_current
from pipeline.footage import Context, clip_files_for_known_footage, needs_work, new_files


def footage_to_process(ctx: Context) -> list[FootageRecord]:
    return [
        f
        for f in ctx.catalog.workable_footage()
        if needs_work(ctx, f) or not selection_is_current(ctx, f) or clips_to_render(ctx, f)
    ]


def has_work(ctx: Context) -> bool:
    """Cheap check before starting any flow: new files in the inbox or unfinished footage."""
    return (
        bool(new_files(ctx))
        or bool(clip_files_for_known_footage(ctx))
        or bool(footage_to_process(ctx))
    )
