"""Consent as data: the most restrictive answer wins, and a refusal names who refused."""

from __future__ import annotations

from catalog.consent import allows, blocked_reason, effective_consent

ADULT_PUBLIC = {"name": "Айгүл", "role": "mother", "consent": "public"}
CHILD_PARTNERS = {"name": "Бакыт", "role": "son", "minor": True, "consent": "partners"}


def test_the_most_restrictive_consent_wins() -> None:
    assert effective_consent("public", [ADULT_PUBLIC]) == "public"
    assert effective_consent("public", [ADULT_PUBLIC, CHILD_PARTNERS]) == "partners"
    assert effective_consent("partners", [ADULT_PUBLIC]) == "partners"
    assert effective_consent("public", [{"name": "no answer"}]) == "internal"
    assert effective_consent("nonsense", []) == "internal"


def test_audiences() -> None:
    assert allows("public", "public") and allows("public", "partners")
    assert allows("partners", "partners") and not allows("partners", "public")
    assert not allows("internal", "partners")


def test_blocked_reason_names_who_did_not_agree() -> None:
    assert blocked_reason("public", [ADULT_PUBLIC], "public") is None
    reason = blocked_reason("public", [ADULT_PUBLIC, CHILD_PARTNERS], "public")
    assert reason is not None and "Бакыт (son)" in reason and "partners" in reason
    assert blocked_reason("public", [ADULT_PUBLIC, CHILD_PARTNERS], "partners") is None
    internal = blocked_reason("internal", [], "partners")
    assert internal is not None and "internal" in internal
