"""Staff accounts of the studio: who they are, what they may do, and how they prove it.

A password is a secret a person chose, so it is stored as an argon2id hash (argon2-cffi's
defaults: memory-hard, salted, tuned to tens of milliseconds) and checked in constant work
whether the account exists or not. Guessing is braked per account in the catalog itself, so
every studio process and every restart sees the same count: after `FREE_FAILURES` wrong
passwords in a row the account is locked for a minute, doubling with each further failure up
to `MAX_LOCK`; a right password after the lock ends clears it.

Sessions and API tokens are machine-made (32 random bytes), so, as for partners' tokens, only
their SHA-256 is stored: a plain digest finds the row with one indexed lookup, and a slow hash
would protect nothing a 256-bit secret needs. A session carries its own CSRF token and ends at
`expires_at`; disabling an account or changing its password ends all of its sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session as OrmSession

from catalog import audit
from catalog.models import ROLES, Role, StaffRecord
from catalog.tables import (
    STAFF_NAME_CHARS,
    StaffAccount,
    StaffSession,
    StaffToken,
    as_utc,
    utcnow,
)

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from catalog.store import Catalog

MIN_PASSWORD_CHARS = 10
FREE_FAILURES = 5
FIRST_LOCK = timedelta(minutes=1)
MAX_LOCK = timedelta(minutes=15)
NAME_CHARS = STAFF_NAME_CHARS


class StaffError(Exception):
    """A staff command cannot be done as asked; the message says why and what to do."""


class AccountLocked(Exception):
    """Too many wrong passwords in a row for this account; `retry_after` seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"locked for {retry_after} s after too many wrong passwords")
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignedIn:
    """A new session: the cookie value (the only copy) and its CSRF token."""

    account: StaffRecord
    cookie: str
    csrf: str
    expires_at: datetime


@dataclass(frozen=True)
class Session:
    account: StaffRecord
    csrf: str
    expires_at: datetime


_hasher: PasswordHasher | None = None
_dummy_hash = ""


def _argon() -> PasswordHasher:
    global _hasher, _dummy_hash
    if _hasher is None:
        from argon2 import PasswordHasher

        _hasher = PasswordHasher()
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
    return _hasher


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_roles(names: Iterable[str]) -> tuple[Role, ...]:
    wanted = {name.strip().lower() for name in names if name.strip()}
    unknown = sorted(wanted - set(ROLES))
    if unknown or not wanted:
        said = f"unknown role {', '.join(unknown)}" if unknown else "no role given"
        raise StaffError(
            f"{said}; roles are {', '.join(ROLES)} "
            "(several allowed, e.g. --role editor --role approver)"
        )
    return tuple(role for role in ROLES if role in wanted)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise StaffError(
            f"a password needs at least {MIN_PASSWORD_CHARS} characters; "
            "a few words joined together is easy to remember and hard to guess"
        )


def add_staff(
    catalog: Catalog, name: str, roles: Iterable[str], password: str, by: str | None = None
) -> StaffRecord:
    name = name.strip()
    if not name or len(name) > NAME_CHARS or any(c.isspace() for c in name):
        raise StaffError(
            f"an account name needs 1 to {NAME_CHARS} characters and no spaces, got {name!r}"
        )
    chosen = parse_roles(roles)
    check_password(password)
    hashed = _argon().hash(password)
    with catalog.session() as s:
        if s.scalar(select(StaffAccount.id).where(StaffAccount.name == name)) is not None:
            raise StaffError(
                f"an account named {name!r} exists; change it with `voices staff password` "
                "or `voices staff roles`"
            )
        row = StaffAccount(name=name, roles=list(chosen), password_hash=hashed)
        s.add(row)
        s.flush()
        audit.add(s, by or audit.who(), "staff_add", f"account {name!r} ({', '.join(chosen)})")
        return _record(row)


def list_staff(catalog: Catalog) -> list[StaffRecord]:
    with catalog.session() as s:
        return [_record(r) for r in s.scalars(select(StaffAccount).order_by(StaffAccount.name))]


def staff(catalog: Catalog, name: str) -> StaffRecord:
    with catalog.session() as s:
        return _record(_row(s, name))


def set_roles(
    catalog: Catalog, name: str, roles: Iterable[str], by: str | None = None
) -> StaffRecord:
    chosen = parse_roles(roles)
    with catalog.session() as s:
        row = _row(s, name)
        row.roles = list(chosen)
        audit.add(s, by or audit.who(), "staff_change", f"account {name!r} roles: {chosen}")
        return _record(row)


def set_language(catalog: Catalog, name: str, language: str) -> None:
    with catalog.session() as s:
        _row(s, name).language = language


def disable_staff(catalog: Catalog, name: str, by: str | None = None) -> StaffRecord:
    """Stop the account at once: its sessions end, its API token stops working."""
    with catalog.session() as s:
        row = _row(s, name)
        if row.disabled_at is None:
            row.disabled_at = utcnow()
            audit.add(s, by or audit.who(), "staff_change", f"account {name!r} disabled")
        _end_everything(s, row.id)
        return _record(row)


def set_password(catalog: Catalog, name: str, password: str, by: str | None = None) -> None:
    """A new password (and the account enabled again); every session of it ends."""
    check_password(password)
    hashed = _argon().hash(password)
    with catalog.session() as s:
        row = _row(s, name)
        row.password_hash, row.failed_logins, row.locked_until = hashed, 0, None
        row.disabled_at = None
        s.execute(delete(StaffSession).where(StaffSession.staff_id == row.id))
        audit.add(s, by or audit.who(), "staff_change", f"account {name!r}: new password")


def new_api_token(catalog: Catalog, name: str, by: str | None = None) -> str:
    """A new API token for the account (the only copy); its earlier token stops working."""
    token = secrets.token_urlsafe(32)
    with catalog.session() as s:
        row = _row(s, name)
        if row.disabled_at is not None:
            raise StaffError(f"account {name!r} is disabled; give it a password to enable it")
        s.execute(
            update(StaffToken)
            .where(StaffToken.staff_id == row.id, StaffToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        s.add(StaffToken(staff_id=row.id, token_hash=digest(token)))
        audit.add(s, by or audit.who(), "staff_change", f"account {name!r}: new API token")
    return token


# signing in


def sign_in(
    catalog: Catalog, name: str, password: str, lifetime: timedelta, now: datetime | None = None
) -> SignedIn | None:
    """A new session when the password is right; None when the name or password is wrong
    (the same work either way). Raises `AccountLocked` while the account is braked."""
    now = now or utcnow()
    with catalog.session() as s:
        row = s.scalar(select(StaffAccount).where(StaffAccount.name == name.strip()))
        if row is not None and row.locked_until and as_utc(row.locked_until) > now:
            wait = as_utc(row.locked_until) - now
            raise AccountLocked(max(1, int(wait.total_seconds() + 0.999)))
        if not _verify(row.password_hash if row else None, password) or row is None:
            if row is not None:
                row.failed_logins += 1
                over = row.failed_logins - FREE_FAILURES
                if over >= 0:
                    row.locked_until = now + min(FIRST_LOCK * (2**over), MAX_LOCK)
            return None
        if row.disabled_at is not None:
            return None
        row.failed_logins, row.locked_until = 0, None
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = now + lifetime
        s.add(
            StaffSession(
                staff_id=row.id, session_hash=digest(cookie), csrf=csrf, expires_at=expires
            )
        )
        s.execute(delete(StaffSession).where(StaffSession.expires_at < now))
        return SignedIn(account=_record(row), cookie=cookie, csrf=csrf, expires_at=expires)


def session_for(catalog: Catalog, cookie: str, now: datetime | None = None) -> Session | None:
    """The live session behind a cookie, of an enabled account; None otherwise."""
    if not cookie:
        return None
    now = now or utcnow()
    with catalog.session() as s:
        found = s.execute(
            select(StaffSession, StaffAccount)
            .join(StaffAccount, StaffAccount.id == StaffSession.staff_id)
            .where(StaffSession.session_hash == digest(cookie))
        ).first()
        if found is None:
            return None
        session, account = found
        if as_utc(session.expires_at) <= now or account.disabled_at is not None:
            return None
        return Session(_record(account), session.csrf, as_utc(session.expires_at))


def sign_out(catalog: Catalog, cookie: str) -> None:
    with catalog.session() as s:
        s.execute(delete(StaffSession).where(StaffSession.session_hash == digest(cookie)))


def account_for_token(catalog: Catalog, token: str) -> StaffRecord | None:
    """The enabled account whose current API token this is; None otherwise."""
    if not token:
        return None
    with catalog.session() as s:
        account = s.scalar(
            select(StaffAccount)
            .join(StaffToken, StaffToken.staff_id == StaffAccount.id)
            .where(StaffToken.token_hash == digest(token), StaffToken.revoked_at.is_(None))
        )
        if account is None or account.disabled_at is not None:
            return None
        return _record(account)


def _verify(hashed: str | None, password: str) -> bool:
    from argon2.exceptions import VerificationError, VerifyMismatchError

    hasher = _argon()
    try:
        return bool(hasher.verify(hashed or _dummy_hash, password)) and hashed is not None
    except (VerifyMismatchError, VerificationError):
        return False


def _end_everything(s: OrmSession, staff_id: int) -> None:
    s.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
    s.execute(
        update(StaffToken)
        .where(StaffToken.staff_id == staff_id, StaffToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def _row(s: OrmSession, name: str) -> StaffAccount:
    row = s.scalar(select(StaffAccount).where(StaffAccount.name == name))
    if row is None:
        raise StaffError(f"no account named {name!r}; see `voices staff list`")
    return row


def _record(row: StaffAccount) -> StaffRecord:
    return StaffRecord(
        id=row.id,
        name=row.name,
        roles=tuple(cast(Role, role) for role in row.roles or ()),
        language=row.language,
        created_at=as_utc(row.created_at),
        disabled_at=as_utc(row.disabled_at) if row.disabled_at else None,
    )
