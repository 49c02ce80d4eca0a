"""Staff accounts in the catalog: what is stored, how long a sign-in lasts, what ends it, and
the commands that manage them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from catalog.staff import (
    AccountLocked,
    StaffError,
    account_for_token,
    add_staff,
    new_api_token,
    session_for,
    set_password,
    sign_in,
)
from catalog.store import Catalog
from catalog.tables import StaffAccount, StaffSession, StaffToken, utcnow
from config import load_settings
from tests.helpers import voices
from tests.studio import PASSWORD

HOUR = timedelta(hours=1)


@pytest.fixture
def catalog(isolated_env: Path) -> Catalog:
    settings = load_settings(isolated_env)
    isolated_env.mkdir(parents=True, exist_ok=True)
    return Catalog(settings.catalog_url, isolated_env)


def test_only_hashes_are_stored(catalog: Catalog) -> None:
    add_staff(catalog, "aigul", ["editor", "approver"], PASSWORD, by="test")
    token = new_api_token(catalog, "aigul", by="test")
    signed = sign_in(catalog, "aigul", PASSWORD, HOUR)
    assert signed is not None
    with catalog.session() as s:
        account = s.scalar(select(StaffAccount))
        assert account is not None and account.password_hash.startswith("$argon2id$")
        assert PASSWORD not in account.password_hash
        stored = [row.token_hash for row in s.scalars(select(StaffToken))]
        sessions = [(row.session_hash, row.csrf) for row in s.scalars(select(StaffSession))]
    assert token not in stored and len(stored[0]) == 64
    assert signed.cookie not in sessions[0][0]
    assert account_for_token(catalog, token) is not None


def test_a_sign_in_ends_when_it_expires_or_the_password_changes(catalog: Catalog) -> None:
    add_staff(catalog, "aigul", ["editor"], PASSWORD, by="test")
    signed = sign_in(catalog, "aigul", PASSWORD, HOUR)
    assert signed is not None
    assert session_for(catalog, signed.cookie) is not None
    assert session_for(catalog, signed.cookie, now=utcnow() + 2 * HOUR) is None
    set_password(catalog, "aigul", "another long password", by="test")
    assert session_for(catalog, signed.cookie) is None
    assert sign_in(catalog, "aigul", PASSWORD, HOUR) is None
    assert sign_in(catalog, "aigul", "another long password", HOUR) is not None


def test_a_new_token_replaces_the_old_one(catalog: Catalog) -> None:
    add_staff(catalog, "aigul", ["editor"], PASSWORD, by="test")
    first = new_api_token(catalog, "aigul", by="test")
    second = new_api_token(catalog, "aigul", by="test")
    assert account_for_token(catalog, first) is None
    account = account_for_token(catalog, second)
    assert account is not None and account.name == "aigul"


def test_the_lock_passes_and_a_right_password_clears_it(catalog: Catalog) -> None:
    add_staff(catalog, "aigul", ["editor"], PASSWORD, by="test")
    for _ in range(5):
        assert sign_in(catalog, "aigul", "not the password", HOUR) is None
    with pytest.raises(AccountLocked) as locked:
        sign_in(catalog, "aigul", PASSWORD, HOUR)
    assert 1 <= locked.value.retry_after <= 60
    later = utcnow() + timedelta(minutes=2)
    assert sign_in(catalog, "aigul", PASSWORD, HOUR, now=later) is not None
    assert sign_in(catalog, "aigul", "not the password", HOUR) is None  # counting from zero


def test_mistakes_are_named(catalog: Catalog) -> None:
    with pytest.raises(StaffError, match="at least 10 characters"):
        add_staff(catalog, "aigul", ["editor"], "short", by="test")
    with pytest.raises(StaffError, match="unknown role boss; roles are editor, approver"):
        add_staff(catalog, "aigul", ["boss"], PASSWORD, by="test")
    add_staff(catalog, "aigul", ["editor"], PASSWORD, by="test")
    with pytest.raises(StaffError, match="exists"):
        add_staff(catalog, "aigul", ["editor"], PASSWORD, by="test")


def test_the_staff_commands(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from cli.app import app

    runner = CliRunner()
    added = runner.invoke(
        app, ["staff", "add", "aigul", "--role", "editor", "--password-stdin"], input=PASSWORD
    )
    assert added.exit_code == 0, added.output
    assert "editor" in added.output
    short = runner.invoke(
        app, ["staff", "add", "nurlan", "--role", "editor", "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    listed = voices("staff", "list")[1]
    assert "aigul" in listed and "active" in listed and "nurlan" not in listed
    token = voices("staff", "token", "aigul")[1].strip().splitlines()[-1]
    assert voices("staff", "roles", "aigul", "--role", "approver")[0] == 0
    assert voices("staff", "disable", "aigul")[0] == 0
    assert "disabled" in voices("staff", "list")[1]
    settings = load_settings(isolated_env)
    catalog = Catalog(settings.catalog_url, isolated_env)
    try:
        assert account_for_token(catalog, token) is None
    finally:
        catalog.close()
    audit = voices("audit")[1]
    assert "aigul" in audit and "disabled" in audit
