"""Leases: a unit of work one process holds for a while, so that several workers (on one
machine or many, sharing one catalog) never do the same work at once.

A lease is a row named for the work (`footage:12`, `inbox`) with its holder and the time it
lapses. Taking one is a compare-and-set in the database: the row is created, or an existing
row is taken over only when it has lapsed or is already the caller's. Nothing else is needed
(no file lock, no shared filesystem): SQLite and PostgreSQL both serialise the one statement.
A holder renews its leases while it works; one that dies (SIGKILL, a lost machine) stops
renewing, and its work is free again when the lease lapses.

Times are naive UTC, written and compared by this module alone, so the database's and the
machines' time zones play no part (the holders' clocks should agree to within a few seconds:
keep NTP on).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from catalog.store import Catalog
from catalog.tables import Lease


@dataclass(frozen=True)
class Held:
    name: str
    holder: str
    until: datetime  # UTC


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def take(catalog: Catalog, name: str, holder: str, seconds: float) -> bool:
    """Take the lease `name` for `seconds` if it is free, lapsed or already `holder`'s."""
    now = _now()
    until = now + timedelta(seconds=seconds)
    with catalog.engine.begin() as connection:
        taken = connection.execute(
            update(Lease)
            .where(
                Lease.name == name,
                or_(Lease.holder == holder, Lease.until < now),
            )
            .values(holder=holder, until=until, taken_at=now)
        ).rowcount
    if taken:
        return True
    try:
        with catalog.engine.begin() as connection:
            connection.execute(
                insert(Lease).values(name=name, holder=holder, until=until, taken_at=now)
            )
    except IntegrityError:  # someone holds it (or took it a moment ago)
        return False
    return True


def renew(catalog: Catalog, name: str, holder: str, seconds: float) -> bool:
    """Push the lease's end `seconds` from now; False when it is no longer `holder`'s (it
    lapsed and another took it: stop working on it)."""
    until = _now() + timedelta(seconds=seconds)
    with catalog.engine.begin() as connection:
        result = connection.execute(
            update(Lease).where(Lease.name == name, Lease.holder == holder).values(until=until)
        )
    return bool(result.rowcount)


def release(catalog: Catalog, name: str, holder: str) -> None:
    """Give the lease up (only if still `holder`'s)."""
    with catalog.engine.begin() as connection:
        connection.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


def live(catalog: Catalog, prefix: str = "") -> dict[str, Held]:
    """The leases not lapsed, by name (those starting with `prefix`)."""
    now = _now()
    with catalog.engine.connect() as connection:
        rows = connection.execute(
            select(Lease.name, Lease.holder, Lease.until).where(
                Lease.until >= now, Lease.name.startswith(prefix)
            )
        ).all()
    return {
        name: Held(name=name, holder=holder, until=until.replace(tzinfo=UTC))
        for name, holder, until in rows
    }


def footage_lease(footage_id: int) -> str:
    return f"footage:{footage_id}"


INBOX = "inbox"
