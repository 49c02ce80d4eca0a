"""Consent that can change, and what a change does: the same day, everywhere.

A family may withdraw or lower consent at any time (`voices consent`, a corrected sidecar
dropped in the inbox, the staff studio). `apply_consent` then

- marks every publication the new consent no longer allows for takedown (`takedown_pending`;
  a run never posts such a clip again), and tries the takedowns at once;
- removes the partner packages of clips partners may no longer take (the portal decides per
  request, so it stops serving them at once).

A takedown that fails stays `takedown_pending` with its reason, is shown by `voices status`, and
is tried again by every publishing run; success is recorded only when the remote confirmed it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from catalog import audit
from catalog.consent import blocked_reason
from catalog.ledger import mark_takedown_failed, mark_taken_down, maybe_out, want_takedown
from catalog.models import Audience, Consent, FootageRecord, PublicationRecord, Sidecar
from channels.base import TakedownRequest, marker_line
from channels.errors import AuthError, ChannelError, QuotaExceededError, TakedownRefusedError
from config import Settings
from pipeline.context import Context
from pipeline.packages import remove_package
from pipeline.publishing import Target, build_targets, close_targets

log = logging.getLogger(__name__)


class ConsentError(Exception):
    """A consent change that cannot be made as asked; the message says what to do."""


@dataclass
class ConsentOutcome:
    """What a consent change did, for the person who made it."""

    footage_id: int
    said: list[str] = field(default_factory=list)
    taken_down: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def new_consent(
    sidecar: Sidecar,
    *,
    level: Consent | None = None,
    person: str | None = None,
    withdraw: bool = False,
) -> tuple[Sidecar, str]:
    """The sidecar with consent changed as asked, and a line for the audit log (which names
    a person by their place in the list and role, not by name)."""
    if withdraw:
        people = tuple(p.model_copy(update={"consent": "internal"}) for p in sidecar.people)
        changed = sidecar.model_copy(update={"consent": "internal", "people": people})
        return changed, f"consent withdrawn (was {sidecar.consent}): internal for everyone"
    if level is None:
        raise ConsentError("say the new consent: --set public|partners|internal, or --withdraw")
    if person is None:
        changed = sidecar.model_copy(update={"consent": level})
        return changed, f"footage consent {sidecar.consent} -> {level}"
    wanted = person.strip().casefold()
    found = [i for i, p in enumerate(sidecar.people) if p.name.strip().casefold() == wanted]
    if not found:
        count = len(sidecar.people)
        raise ConsentError(
            f"nobody of that name among the {count} people listed for this footage; check "
            "the spelling in its sidecar (voices status --json shows the footage)"
        )
    changed_people = list(sidecar.people)
    lines = []
    for index in found:
        before = changed_people[index]
        changed_people[index] = before.model_copy(update={"consent": level})
        role = f" ({before.role})" if before.role else ""
        lines.append(f"person {index + 1}{role} consent {before.consent} -> {level}")
    return sidecar.model_copy(update={"people": tuple(changed_people)}), "; ".join(lines)


def change_consent(
    ctx: Context,
    footage_id: int,
    by: str,
    *,
    level: Consent | None = None,
    person: str | None = None,
    withdraw: bool = False,
) -> ConsentOutcome:
    """Change the consent of a footage or of one person in it, then act on it at once."""
    footage = ctx.catalog.footage(footage_id)
    if footage.library_path is None:
        raise ConsentError(f"footage {footage_id} is {footage.status}, not in the library")
    changed, detail = new_consent(footage.sidecar, level=level, person=person, withdraw=withdraw)
    ctx.catalog.set_sidecar(footage_id, changed)
    audit.record(ctx.catalog, by, "consent", detail, footage_id=footage_id)
    outcome = apply_consent(ctx, footage_id, by)
    outcome.said.insert(0, detail)
    return outcome


def apply_consent(ctx: Context, footage_id: int, by: str) -> ConsentOutcome:
    """Bring publications and packages in line with the footage's consent as it is now."""
    footage = ctx.catalog.footage(footage_id)
    outcome = ConsentOutcome(footage_id=footage_id)
    outcome.said += remove_packages(ctx, footage)
    targets, unusable = build_targets(ctx.settings)
    try:
        by_name = {target.channel.name: target for target in targets}
        for publication in maybe_out(ctx.catalog, footage_id):
            if publication.status in ("takedown_pending", "takedown_manual"):
                continue
            if publication.status == "failed" and not _may_be_out(publication, by_name):
                continue
            audience = audience_of(ctx.settings, publication.channel)
            reason = blocked_reason(footage.sidecar, audience)
            if reason:
                want_takedown(ctx.catalog, publication.id, by, f"consent: {reason}")
        taken, problems = take_down_due(ctx, targets, footage_id)
    finally:
        close_targets(targets)
    outcome.taken_down += taken
    outcome.problems += problems + (unusable if problems else [])
    return outcome


def _may_be_out(publication: PublicationRecord, targets: dict[str, Target]) -> bool:
    """A failed publication may still be out where the failure can come after the upload (the
    answer lost, captions refused) and the remote can be asked; elsewhere (Telegram) a failure
    that may have posted is `unconfirmed` instead."""
    target = targets.get(publication.channel)
    tried = publication.attempts > 0 or bool(publication.session)
    return tried and (target is None or target.channel.finds_existing)


def remove_packages(ctx: Context, footage: FootageRecord) -> list[str]:
    """Partner packages of clips partners may no longer take are deleted (they are copies)."""
    if blocked_reason(footage.sidecar, "partners") is None:
        return []
    return [
        f"clip {clip.id}: partner package removed"
        for clip in ctx.catalog.clips_of(footage.id)
        if remove_package(ctx, clip)
    ]


def audience_of(settings: Settings, channel: str) -> Audience:
    """Who sees what a channel shows (a drop folder may be for partners only)."""
    return settings.folder.audience if channel == "folder" else "public"


def take_down_due(
    ctx: Context, targets: list[Target], footage_id: int | None = None
) -> tuple[list[str], list[str]]:
    """Try every takedown that is due (of one footage, or all) on the channels built here:
    (done, problems). A quota or authorisation error stops that channel for this run."""
    due = [p for p in maybe_out(ctx.catalog, footage_id) if p.status == "takedown_pending"]
    by_name = {target.channel.name: target for target in targets}
    done: list[str] = []
    problems: list[str] = []
    stopped: set[str] = set()
    for publication in due:
        where = f"clip {publication.clip_id} on {publication.channel}"
        if publication.channel in stopped:
            problems.append(f"{where}: not tried ({publication.channel} stopped for this run)")
            continue
        try:
            done.append(
                f"{where}: {_take_down(ctx, publication, by_name.get(publication.channel))}"
            )
        except (QuotaExceededError, AuthError) as exc:
            mark_takedown_failed(ctx.catalog, publication.id, str(exc))
            stopped.add(publication.channel)
            problems.append(f"{where}: {exc}")
        except TakedownRefusedError as exc:
            mark_takedown_failed(ctx.catalog, publication.id, str(exc), by_hand=True)
            problems.append(
                f"{where}: {exc} (then: voices resolve {publication.clip_id} "
                f"{publication.channel} --taken-down)"
            )
        except ChannelError as exc:
            mark_takedown_failed(ctx.catalog, publication.id, str(exc))
            problems.append(f"{where}: {exc} (tried again by the next voices publish)")
    return done, problems


def _take_down(ctx: Context, publication: PublicationRecord, target: Target | None) -> str:
    """Take one publication down; the remote's answer, or a `ChannelError`."""
    if target is None:
        where = publication.url or f"the channel (search for '{marker_line(publication.marker)}')"
        raise ChannelError(
            f"the {publication.channel} channel is not enabled here, so voices cannot take "
            f"the clip down; enable it, or remove it by hand at {where} and run "
            f"`voices resolve {publication.clip_id} {publication.channel} --taken-down`"
        )
    saved = publication.session.get("video_id")
    request = TakedownRequest(
        clip_id=publication.clip_id,
        channel=publication.channel,
        # Empty when the answer was lost: the channel then looks for the clip by its marker.
        remote_id=publication.remote_id or (saved if isinstance(saved, str) else ""),
        url=publication.url,
        marker=publication.marker,
    )
    result = target.channel.take_down(request)
    answer = f"{result.status}: {result.answer}"
    mark_taken_down(ctx.catalog, publication.id, answer)
    log.info("clip %d taken down from %s: %s", publication.clip_id, publication.channel, answer)
    return f"taken down ({answer})"
