"""Who is working in the studio, and whether they may do what they ask.

Pages know a person by the session cookie `voices_studio` (HttpOnly, SameSite=Strict, Secure
when the studio is reached over https), set at sign-in and checked against the catalog on every
request, so signing out, disabling the account or a new password ends it everywhere at once.
Every form carries the session's CSRF token; a POST without it, or with another, is refused
before anything is read from it. The API (`/api/v1`) takes a staff account's personal token as
`Authorization: Bearer`, or the page's session with the CSRF token in `X-CSRF-Token` for the
few calls the pages' own script makes. A partner's token is not a staff token: it opens nothing
here, and no studio cookie opens the partner portal.

Roles: an `editor` describes footage, corrects transcripts and makes clips; an `approver`
approves, rejects and schedules clips; `safeguarding` signs off clips showing a minor and
changes consent; an `admin` may do all of that and manages partners. Anyone signed in may look.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import Request

from catalog.models import Role, StaffRecord
from catalog.staff import account_for_token, session_for
from catalog.store import Catalog

SESSION_COOKIE = "voices_studio"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class NotSignedIn(Exception):
    """No live session (pages: to the sign-in page) or no valid token (API: 401)."""


class Forbidden(Exception):
    """Signed in, but this account's roles do not allow it (403); the message says which."""


class CsrfRefused(Exception):
    """A form or API call from a session without its CSRF token (403)."""


@dataclass(frozen=True)
class Staff:
    """The person asking: the account, and the session's CSRF token (None: an API token)."""

    account: StaffRecord
    csrf: str | None

    @property
    def name(self) -> str:
        return self.account.name

    def need(self, role: Role) -> None:
        if not self.account.may(role):
            raise Forbidden(f"this needs the {role} role; {self.name} has {_roles(self)}")

    def may(self, role: Role) -> bool:
        return self.account.may(role)


def _roles(staff: Staff) -> str:
    return ", ".join(staff.account.roles) or "none"


def from_session(catalog: Catalog, request: Request) -> Staff:
    session = session_for(catalog, request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        raise NotSignedIn()
    return Staff(session.account, session.csrf)


def from_api(catalog: Catalog, request: Request) -> Staff:
    """A bearer token; else the page's session, with its CSRF token on anything that writes."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        account = account_for_token(catalog, token.strip())
        if account is None:
            raise NotSignedIn()
        return Staff(account, None)
    staff = from_session(catalog, request)
    if request.method in UNSAFE:
        check_csrf(staff, request.headers.get(CSRF_HEADER, ""))
    return staff


def check_csrf(staff: Staff, sent: str) -> None:
    if staff.csrf is None:
        return
    if not sent or not hmac.compare_digest(sent.encode(), staff.csrf.encode()):
        raise CsrfRefused()
