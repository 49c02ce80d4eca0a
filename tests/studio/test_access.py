"""Who may open what in the studio: sessions, roles, CSRF, partner tokens, forged cookies,
the brake on guessing passwords, and sessions that end."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from catalog.staff import disable_staff
from catalog.store import Catalog
from config import load_settings
from tests.portal import World, build_world, serve
from tests.studio import PASSWORD, add_accounts, csrf_of, http, sign_in
from web.studio import create_studio
from web.studio_auth import SESSION_COOKIE


@dataclass
class Site:
    base: str
    world: World
    tokens: dict[str, str]

    def catalog(self) -> Catalog:
        return Catalog(self.world.catalog_url, self.world.workspace)


@pytest.fixture
def site(isolated_env: Path) -> Iterator[Site]:
    world = build_world(isolated_env)
    catalog = Catalog(world.catalog_url, world.workspace)
    try:
        tokens = add_accounts(catalog)
    finally:
        catalog.close()
    with serve(create_studio(load_settings(world.workspace))) as base:
        yield Site(base, world, tokens)


def api(site: Site, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return http(site.base, headers=headers)


def a_clip(site: Site) -> int:
    return site.world.clips["candidate"]


def test_no_session_gets_the_sign_in_page_and_the_api_401(site: Site) -> None:
    browser = http(site.base)
    for page in ("/", "/publications", "/partners", "/audit", f"/footage/{1}"):
        answer = browser.get(page)
        assert answer.status_code == 303, page
        assert answer.headers["location"].startswith("/login"), page
    assert "Sign in" in browser.get("/login").text
    for path in ("/api/v1/footage", "/api/v1/publications", "/api/v1/audit"):
        answer = api(site, None).get(path)
        assert answer.status_code == 401, path
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert api(site, None).post(f"/api/v1/clips/{a_clip(site)}/approve").status_code == 401


def test_a_partner_token_opens_nothing(site: Site) -> None:
    partner = site.world.tokens["alpha"]
    assert api(site, partner).get("/api/v1/footage").status_code == 401
    assert api(site, partner).post(f"/api/v1/clips/{a_clip(site)}/approve").status_code == 401
    # Nor as the portal's cookie, nor as a studio cookie.
    for cookie in ("voices_token", SESSION_COOKIE):
        browser = http(site.base, cookies={cookie: partner})
        assert browser.get("/").status_code == 303


def test_staff_tokens_work_and_roles_apply(site: Site) -> None:
    clip = a_clip(site)
    footage = api(site, site.tokens["edna"]).get("/api/v1/footage")
    assert footage.status_code == 200
    assert {f["id"] for f in footage.json()} == set(site.world.footage.values())
    refused = api(site, site.tokens["edna"]).post(f"/api/v1/clips/{clip}/approve")
    assert refused.status_code == 403
    assert "approver" in refused.json()["detail"]
    assert api(site, site.tokens["saule"]).post(f"/api/v1/clips/{clip}/reject").status_code == 403
    done = api(site, site.tokens["abdul"]).post(f"/api/v1/clips/{clip}/approve", json={})
    assert done.status_code == 200, done.text
    assert done.json()["approved_by"] == "abdul"
    # The admin may do what every role may.
    assert api(site, site.tokens["ada"]).post(f"/api/v1/clips/{clip}/reject").status_code == 200
    log = api(site, site.tokens["edna"]).get("/api/v1/audit", params={"action": "approve"})
    assert [e["actor"] for e in log.json()][:1] == ["abdul"]


def test_an_editor_approving_in_the_page_gets_403(site: Site) -> None:
    browser, csrf = sign_in(site.base, "edna")
    clip = a_clip(site)
    answer = browser.post(f"/clips/{clip}/approve", data={"csrf": csrf})
    assert answer.status_code == 403
    approver, csrf = sign_in(site.base, "abdul")
    answer = approver.post(f"/clips/{clip}/approve", data={"csrf": csrf})
    assert answer.status_code == 303
    catalog = site.catalog()
    try:
        assert catalog.clip(clip).approved_by == "abdul"
    finally:
        catalog.close()


def test_a_form_without_its_csrf_token_is_refused(site: Site) -> None:
    browser, csrf = sign_in(site.base, "abdul")
    clip = a_clip(site)
    for data in ({}, {"csrf": ""}, {"csrf": csrf[:-2] + "xx"}):
        answer = browser.post(f"/clips/{clip}/reject", data=data)
        assert answer.status_code in (403, 422), data
    # The API through the session needs it too, in its header.
    assert browser.post(f"/api/v1/clips/{clip}/reject").status_code == 403
    headers = {"X-CSRF-Token": csrf}
    assert browser.post(f"/api/v1/clips/{clip}/reject", headers=headers).status_code == 200
    # Another account's CSRF token does not do either.
    _, other = sign_in(site.base, "ada")
    assert browser.post(f"/clips/{clip}/approve", data={"csrf": other}).status_code == 403
    catalog = site.catalog()
    try:
        assert catalog.clip(clip).decision == "rejected"  # only the one with its token went
    finally:
        catalog.close()


def test_forged_and_ended_sessions_are_refused(site: Site) -> None:
    browser, _ = sign_in(site.base, "abdul")
    real = browser.cookies[SESSION_COOKIE]
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    for cookie in (forged, "", "x" * 43, site.tokens["abdul"]):
        stranger = http(site.base, cookies={SESSION_COOKIE: cookie})
        assert stranger.get("/").status_code == 303, cookie
    assert browser.get("/").status_code == 200
    # Signing out ends it on the server, not only in this browser.
    csrf = csrf_of(browser.get("/").text)
    assert browser.post("/logout", data={"csrf": csrf}).status_code == 303
    replay = http(site.base, cookies={SESSION_COOKIE: real})
    assert replay.get("/").status_code == 303
    # Disabling an account ends its sessions and its API token at once.
    browser, _ = sign_in(site.base, "edna")
    catalog = site.catalog()
    try:
        disable_staff(catalog, "edna", by="test")
    finally:
        catalog.close()
    assert browser.get("/").status_code == 303
    assert api(site, site.tokens["edna"]).get("/api/v1/footage").status_code == 401


def test_the_session_cookie_is_httponly_and_strict(site: Site) -> None:
    browser = http(site.base)
    form = browser.get("/login").text
    token = form.split('name="login_token" value="')[1].split('"')[0]
    answer = browser.post(
        "/login", data={"name": "ada", "password": PASSWORD, "login_token": token}
    )
    cookie = next(
        v
        for k, v in answer.headers.multi_items()
        if k == "set-cookie" and v.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert PASSWORD not in answer.text


def test_guessing_a_password_is_braked_per_account(site: Site) -> None:
    browser = http(site.base)

    def attempt(password: str) -> str:
        form = browser.get("/login").text
        token = form.split('name="login_token" value="')[1].split('"')[0]
        answer = browser.post(
            "/login", data={"name": "saule", "password": password, "login_token": token}
        )
        return answer.headers["location"]

    assert [attempt(f"wrong guess {n}") for n in range(5)] == ["/login?failed=wrong"] * 5
    # Locked now: even the right password waits, and the page says how long.
    locked = attempt(PASSWORD)
    assert locked.startswith("/login?failed=locked%3A")
    assert "Too many wrong passwords" in browser.get(locked).text
    # Another account is not locked by it.
    sign_in(site.base, "abdul")


def test_signing_in_goes_back_to_the_page_asked_for_and_only_here(site: Site) -> None:
    browser = http(site.base)
    asked = browser.get("/audit")
    assert asked.headers["location"] == "/login?next=/audit"
    for wanted, lands in (("/audit", "/audit"), ("//evil.example/", "/"), ("https://x.y/", "/")):
        form = browser.get("/login", params={"next": wanted}).text
        token = form.split('name="login_token" value="')[1].split('"')[0]
        sent = {"name": "ada", "password": PASSWORD, "login_token": token, "next": wanted}
        assert browser.post("/login", data=sent).headers["location"] == lands


def test_consent_and_sign_off_through_the_api(site: Site) -> None:
    footage = site.world.footage["open_interview"]
    body = {"consent": "partners", "people": [{"name": "Айгүл Асанова", "consent": "partners"}]}
    path = f"/api/v1/footage/{footage}/consent"
    assert api(site, site.tokens["edna"]).post(path, json=body).status_code == 403
    changed = api(site, site.tokens["saule"]).post(path, json=body)
    assert changed.status_code == 200, changed.text
    assert changed.json()["said"]  # what changed, in words
    listed = {f["id"]: f for f in api(site, site.tokens["edna"]).get("/api/v1/footage").json()}
    assert listed[footage]["consent"] == "partners"
    wrong = api(site, site.tokens["saule"]).post(path, json={"consent": "everyone"})
    assert wrong.status_code == 422
    log = api(site, site.tokens["ada"]).get("/api/v1/audit", params={"action": "consent"}).json()
    assert {e["actor"] for e in log} == {"saule"} and len(log) == 2

    clip = site.world.clips["candidate"]
    approved = api(site, site.tokens["ada"]).post(f"/api/v1/clips/{clip}/approve", json={})
    assert approved.status_code == 200
    own = api(site, site.tokens["ada"]).post(f"/api/v1/clips/{clip}/signoff")
    assert own.status_code == 400 and "someone else" in own.json()["detail"]
    assert api(site, site.tokens["abdul"]).post(f"/api/v1/clips/{clip}/signoff").status_code == 403
    signed = api(site, site.tokens["saule"]).post(f"/api/v1/clips/{clip}/signoff")
    assert signed.status_code == 200 and signed.json()["signoff_by"] == "saule"


def test_approving_for_a_time_reads_the_campaign_zone(site: Site) -> None:
    clip = site.world.clips["candidate"]
    approver = api(site, site.tokens["abdul"])
    bare = approver.post(f"/api/v1/clips/{clip}/approve", json={"at": "2030-01-02T10:00"})
    assert bare.json()["publish_at"] == "2030-01-02T04:00:00+00:00"  # 10:00 in Bishkek (+06)
    zoned = approver.post(f"/api/v1/clips/{clip}/approve", json={"at": "2030-01-02T10:00Z"})
    assert zoned.json()["publish_at"] == "2030-01-02T10:00:00+00:00"
    assert approver.get("/api/v1/publications").status_code == 200
