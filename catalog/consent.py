"""Consent as data: who may see a clip, decided from the footage and every person in it.

    internal  < partners  < public

A clip's consent is the most restrictive of its footage's and of every listed person's. Public
channels need `public`; partner downloads need `partners` or `public`; `internal` allows nothing
outside the organisation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

Consent = Literal["internal", "partners", "public"]
Audience = Literal["partners", "public"]
ORDER: dict[str, int] = {"internal": 0, "partners": 1, "public": 2}


def effective_consent(footage_consent: str, people: Iterable[Mapping[str, Any]]) -> Consent:
    levels = [footage_consent, *(str(p.get("consent", "internal")) for p in people)]
    lowest = min(levels, key=lambda level: ORDER.get(level, 0))
    return lowest if lowest in ORDER else "internal"  # type: ignore[return-value]


def allows(consent: str, audience: Audience) -> bool:
    return ORDER.get(consent, 0) >= ORDER[audience]


def blocked_reason(
    footage_consent: str, people: Iterable[Mapping[str, Any]], audience: Audience
) -> str | None:
    """Why a clip may not reach `audience`, naming who did not agree; None when it may."""
    if not allows(footage_consent, audience):
        needed = "'public'" if audience == "public" else "'partners' or 'public'"
        who = "public channels need" if audience == "public" else "partner downloads need"
        return f"the footage's consent is '{footage_consent}'; {who} {needed}"
    for person in people:
        level = str(person.get("consent", "internal"))
        if not allows(level, audience):
            who = person.get("name") or "a person in it"
            role = f" ({person['role']})" if person.get("role") else ""
            return f"{who}{role} gave consent '{level}' only"
    return None
