"""Consent as data: who may see a clip, decided from the footage and every person in it.

    internal  < partners  < public

A clip's consent is the most restrictive of its footage's and of every listed person's. Public
channels need `public`; partner downloads need `partners` or `public`; `internal` allows nothing
outside the organisation. This module is the one place that decides it, from the typed sidecar.
"""

from __future__ import annotations

from catalog.models import Audience, Consent, Sidecar

ORDER: dict[Consent, int] = {"internal": 0, "partners": 1, "public": 2}


def effective_consent(sidecar: Sidecar) -> Consent:
    levels = [sidecar.consent, *(person.consent for person in sidecar.people)]
    return min(levels, key=lambda level: ORDER[level])


def allows(consent: Consent, audience: Audience) -> bool:
    return ORDER[consent] >= ORDER[audience]


def blocked_reason(sidecar: Sidecar, audience: Audience) -> str | None:
    """Why a clip may not reach `audience`, naming who did not agree; None when it may."""
    if not allows(sidecar.consent, audience):
        needed = "'public'" if audience == "public" else "'partners' or 'public'"
        who = "public channels need" if audience == "public" else "partner downloads need"
        return f"the footage's consent is '{sidecar.consent}'; {who} {needed}"
    for person in sidecar.people:
        if not allows(person.consent, audience):
            role = f" ({person.role})" if person.role else ""
            return f"{person.name}{role} gave consent '{person.consent}' only"
    return None
