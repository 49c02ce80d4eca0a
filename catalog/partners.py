"""Partners who may take clips from the portal, and what each of them took.

A partner holds one access token. Only its SHA-256 is stored: the token is 32 random bytes
(`secrets.token_urlsafe(32)`, 256 bits), so no one can guess it or search for it, and a slow
password hash (scrypt, argon2) would add cost without adding safety. Slow hashes protect
low-entropy secrets people choose; this one is machine-made. A plain digest also lets the
portal find the partner with one indexed lookup instead of trying every row.

Downloads are coalesced: the bytes of the range requests a player or a resumed download makes
are added to one row per (partner, clip, file, how) while they keep coming within
`COALESCE_WINDOW`, so the log says who took what and when, not every chunk.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from catalog import audit
from catalog.models import DownloadRecord, PartnerRecord
from catalog.tables import PARTNER_NAME_CHARS, Download, Partner, as_utc, utcnow

if TYPE_CHECKING:
    from catalog.store import Catalog

COALESCE_WINDOW = timedelta(minutes=30)
NAME_CHARS = PARTNER_NAME_CHARS


class PartnerError(Exception):
    """A partner command cannot be done as asked; the message says why and what to do."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def add_partner(
    catalog: Catalog, name: str, languages: Iterable[str] = (), by: str | None = None
) -> str:
    """Create the partner (or re-admit a revoked one) and return its new token, the only copy.
    `by`: who did it, for the audit log (default: the OS user)."""
    name = name.strip()
    if not name or len(name) > NAME_CHARS:
        raise PartnerError(f"a partner name needs 1 to {NAME_CHARS} characters, got {name!r}")
    token = new_token()
    wanted = sorted({code.strip().lower() for code in languages if code.strip()})
    with catalog.session() as s:
        row = s.scalar(select(Partner).where(Partner.name == name))
        if row is not None and row.revoked_at is None:
            raise PartnerError(
                f"partner {name!r} already exists; revoke it first to issue a new link"
            )
        if row is None:
            row = Partner(name=name)
            s.add(row)
        row.token_hash, row.languages = hash_token(token), wanted
        row.created_at, row.revoked_at = utcnow(), None
        scope = ", ".join(wanted) or "every language"
        audit.add(s, by or audit.who(), "partner_add", f"partner {name!r} added ({scope})")
    return token


def list_partners(catalog: Catalog) -> list[PartnerRecord]:
    with catalog.session() as s:
        return [_record(row) for row in s.scalars(select(Partner).order_by(Partner.name))]


def revoke_partner(catalog: Catalog, name: str, by: str | None = None) -> PartnerRecord:
    """Revoke the partner's token at once; its downloads stay in the log."""
    with catalog.session() as s:
        row = s.scalar(select(Partner).where(Partner.name == name))
        if row is None:
            raise PartnerError(f"no partner named {name!r}; see `voices partners list`")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            audit.add(s, by or audit.who(), "partner_revoke", f"partner {name!r} revoked")
        return _record(row)


def partner_for_token(catalog: Catalog, token: str) -> PartnerRecord | None:
    """The active partner holding this token, or None."""
    if not token:
        return None
    with catalog.session() as s:
        row = s.scalar(select(Partner).where(Partner.token_hash == hash_token(token)))
        if row is None or row.revoked_at is not None:
            return None
        return _record(row)


def record_download(
    catalog: Catalog, partner_id: int, clip_id: int, file: str, size: int, how: str = "download"
) -> None:
    """Log `size` bytes of `file` taken by the partner, joined to its recent row for that file."""
    if size <= 0:
        return
    now = utcnow()
    with catalog.session() as s:
        row = s.scalar(
            select(Download)
            .where(
                Download.partner_id == partner_id,
                Download.clip_id == clip_id,
                Download.file == file,
                Download.how == how,
            )
            .order_by(Download.at.desc(), Download.id.desc())
            .limit(1)
        )
        if row is not None and now - as_utc(row.at) <= COALESCE_WINDOW:
            row.bytes += size
            row.at = now
            return
        s.add(
            Download(partner_id=partner_id, clip_id=clip_id, file=file, how=how, bytes=size, at=now)
        )


def downloads_by_clip(catalog: Catalog) -> dict[int, list[DownloadRecord]]:
    """Per clip id, who took which file and when, oldest first (`voices status`)."""
    result: dict[int, list[DownloadRecord]] = {}
    with catalog.session() as s:
        rows = s.execute(
            select(Download, Partner.name)
            .join(Partner, Partner.id == Download.partner_id)
            .order_by(Download.at, Download.id)
        )
        for download, partner in rows:
            result.setdefault(download.clip_id, []).append(
                DownloadRecord(
                    partner=partner,
                    clip_id=download.clip_id,
                    file=download.file,
                    how=download.how,
                    bytes=download.bytes,
                    at=as_utc(download.at),
                )
            )
    return result


def _record(row: Partner) -> PartnerRecord:
    return PartnerRecord(
        id=row.id,
        name=row.name,
        languages=tuple(row.languages or ()),
        created_at=as_utc(row.created_at),
        revoked_at=as_utc(row.revoked_at) if row.revoked_at else None,
    )
