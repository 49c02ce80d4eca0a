"""The staff studio over real HTTP: uvicorn on a free port, httpx as the browser and the API
client, a real catalog with staff accounts."""

from __future__ import annotations

import re

import httpx

from catalog.staff import add_staff, new_api_token
from catalog.store import Catalog

PASSWORD = "correct horse battery"
ACCOUNTS = {
    "edna": ("editor",),
    "abdul": ("approver",),
    "saule": ("safeguarding",),
    "ada": ("admin",),
}


def add_accounts(catalog: Catalog) -> dict[str, str]:
    """The four accounts above; returns each one's API token."""
    tokens = {}
    for name, roles in ACCOUNTS.items():
        add_staff(catalog, name, roles, PASSWORD, by="test")
        tokens[name] = new_api_token(catalog, name, by="test")
    return tokens


OPEN: list[httpx.Client] = []  # closed after each test (tests/studio/conftest.py)


def http(base: str, **options: object) -> httpx.Client:
    """An HTTP client on the studio, closed when the test ends (no socket left to the GC)."""
    client = httpx.Client(base_url=base, timeout=30, **options)  # type: ignore[arg-type]
    OPEN.append(client)
    return client


def sign_in(base: str, name: str, password: str = PASSWORD) -> tuple[httpx.Client, str]:
    """A browser signed in as `name`: the client (with its cookies) and the page's CSRF token."""
    browser = http(base)
    form = browser.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token, form.text
    answer = browser.post(
        "/login", data={"name": name, "password": password, "login_token": token.group(1)}
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/", answer.headers["location"]
    return browser, csrf_of(browser.get("/").text)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)
