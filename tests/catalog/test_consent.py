"""Consent as data: the most restrictive answer wins, and a refusal names who refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from catalog.consent import allows, blocked_reason, effective_consent
from catalog.models import Person, Sidecar

ADULT_PUBLIC = Person(name="Айгүл", role="mother", consent="public")
CHILD_PARTNERS = Person(name="Бакыт", role="son", minor=True, consent="partners")


def sidecar(consent: str, *people: Person) -> Sidecar:
    return Sidecar.model_validate({"consent": consent, "people": people})


def test_the_most_restrictive_consent_wins() -> None:
    assert effective_consent(sidecar("public", ADULT_PUBLIC)) == "public"
    assert effective_consent(sidecar("public", ADULT_PUBLIC, CHILD_PARTNERS)) == "partners"
    assert effective_consent(sidecar("partners", ADULT_PUBLIC)) == "partners"
    assert effective_consent(sidecar("public", Person(name="no answer"))) == "internal"
    assert effective_consent(Sidecar()) == "internal"  # nothing said: nothing leaves


def test_consent_is_one_of_three_words() -> None:
    with pytest.raises(ValidationError):
        sidecar("nonsense")
    with pytest.raises(ValidationError):
        Person.model_validate({"name": "x", "consent": "yes"})


def test_has_minors_comes_from_the_people() -> None:
    assert sidecar("public", ADULT_PUBLIC, CHILD_PARTNERS).has_minors
    assert not sidecar("public", ADULT_PUBLIC).has_minors


def test_audiences() -> None:
    assert allows("public", "public") and allows("public", "partners")
    assert allows("partners", "partners") and not allows("partners", "public")
    assert not allows("internal", "partners")


def test_blocked_reason_names_who_did_not_agree() -> None:
    assert blocked_reason(sidecar("public", ADULT_PUBLIC), "public") is None
    reason = blocked_reason(sidecar("public", ADULT_PUBLIC, CHILD_PARTNERS), "public")
    assert reason is not None and "Бакыт (son)" in reason and "partners" in reason
    assert blocked_reason(sidecar("public", ADULT_PUBLIC, CHILD_PARTNERS), "partners") is None
    internal = blocked_reason(sidecar("internal"), "partners")
    assert internal is not None and "internal" in internal
