"""The audit log: who (an OS user or a staff account) did what, when, to what.

Written by every decision a person makes (approvals, rejections, sign-offs, consent changes,
takedowns, partners, edits) in the same transaction as the change where it can be, so the log
never says something happened that did not, nor misses something that did.
"""

from __future__ import annotations

import getpass
import os
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import AuditAction, AuditRecord
from catalog.tables import AuditEntry, as_utc

if TYPE_CHECKING:  # the store writes to the log too
    from catalog.store import Catalog


def who() -> str:
    """The person at this terminal: the OS user (a staff account, in the studio)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container): its number
        return f"uid {os.getuid()}"


def add(
    session: Session,
    actor: str,
    action: AuditAction,
    detail: str,
    *,
    footage_id: int | None = None,
    clip_id: int | None = None,
) -> None:
    """Log an action inside the caller's transaction."""
    session.add(
        AuditEntry(
            actor=actor, action=action, footage_id=footage_id, clip_id=clip_id, detail=detail
        )
    )


def record(
    catalog: Catalog,
    actor: str,
    action: AuditAction,
    detail: str,
    *,
    footage_id: int | None = None,
    clip_id: int | None = None,
) -> None:
    """Log an action in a transaction of its own."""
    with catalog.session() as s:
        add(s, actor, action, detail, footage_id=footage_id, clip_id=clip_id)


def entries(catalog: Catalog, footage_id: int | None = None) -> list[AuditRecord]:
    """The log, oldest first; of one footage (and its clips) when given."""
    with catalog.session() as s:
        query = select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)
        if footage_id is not None:
            query = query.where(AuditEntry.footage_id == footage_id)
        return [
            AuditRecord(
                id=row.id,
                at=as_utc(row.at),
                actor=row.actor,
                action=row.action,  # type: ignore[arg-type]  # the column holds AuditAction
                footage_id=row.footage_id,
                clip_id=row.clip_id,
                detail=row.detail,
            )
            for row in s.scalars(query)
        ]
