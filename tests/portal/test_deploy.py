"""The portal on the internet: its public address in partners' links, https (Secure cookies,
HSTS), forwarded headers believed only from the proxies named in the settings, and no answer,
error or redirect, that drops the security headers or builds an address from the Host header.
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import typer
from fastapi import FastAPI
from typer.testing import CliRunner

from cli.portal import partners_app, portal
from config import load_settings
from config.settings import ConfigError
from tests.portal import World, build_world, serve
from web.portal import create_app
from web.portal_access import FailureLimiter

SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options")


@pytest.fixture
def world(isolated_env: Path) -> World:
    return build_world(isolated_env)


def portal_app(world: World, monkeypatch: pytest.MonkeyPatch, **portal: Any) -> FastAPI:
    """The app with these `portal` settings, given as a deployment would: in the environment."""
    for key, value in portal.items():
        text = value if isinstance(value, str) else json.dumps(value)
        monkeypatch.setenv(f"VOICES_PORTAL__{key.upper()}", text)
    return create_app(load_settings(world.workspace), limiter=FailureLimiter(5, delay_s=0))


@pytest.fixture
def url(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with serve(portal_app(world, monkeypatch)) as base:
        yield base


def raw(base: str, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    """GET exactly as written, with the headers exactly as given (Host included)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def guesses(base: str, forwarded_for: list[str]) -> list[int]:
    with httpx.Client(base_url=base, timeout=10) as http:
        return [
            http.get(
                "/", headers={"Authorization": "Bearer guess", "X-Forwarded-For": chain}
            ).status_code
            for chain in forwarded_for
        ]


def test_partner_links_go_to_the_public_url(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    app = typer.Typer()
    app.add_typer(partners_app, name="partners")
    app.command()(portal)
    runner, ws = CliRunner(), ["--workspace", str(world.workspace)]
    local = runner.invoke(app, ["partners", "add", "Local", "--port", "9000", *ws])
    assert re.search(r"^http://127\.0\.0\.1:9000/\?token=[\w-]{43}$", local.output, re.M)
    monkeypatch.setenv("VOICES_PORTAL__PUBLIC_URL", "https://clips.example.org/")
    added = runner.invoke(app, ["partners", "add", "Remote", *ws])
    assert added.exit_code == 0, added.output
    assert re.search(r"^https://clips\.example\.org/\?token=[\w-]{43}$", added.output, re.M)
    assert "127.0.0.1" not in added.output


def test_an_https_public_url_makes_cookies_secure_and_sends_hsts(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = portal_app(world, monkeypatch, public_url="https://clips.example.org")
    token, public = world.tokens["alpha"], world.clips["public"]
    with serve(app) as base, httpx.Client(base_url=base, timeout=10) as http:
        hop = http.get(f"/?token={token}")
        assert hop.status_code == 303
        assert "; secure" in hop.headers["set-cookie"].lower()
        bearer = {"Authorization": f"Bearer {token}"}
        chosen = http.get("/?lang=ru", headers=bearer)
        assert "; secure" in chosen.headers["set-cookie"].lower()  # the language cookie too
        answers = [
            hop,
            chosen,
            http.get("/"),
            http.get(f"/clips/{public}/subtitles/ru.vtt", headers=bearer),
            http.get("/clips/999/package.zip", headers=bearer),
        ]
    for answer in answers:
        assert answer.headers["strict-transport-security"] == "max-age=31536000"


def test_forwarded_headers_are_ignored_unless_a_proxy_is_trusted(world: World, url: str) -> None:
    """Finding 10: uvicorn believes X-Forwarded-* from 127.0.0.1 unless told not to; here
    nobody is trusted, so one address stays one address whatever its headers say."""
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.1"}
    hop = httpx.get(f"{url}/?token={world.tokens['alpha']}", headers=forged, timeout=10)
    assert hop.status_code == 303 and "secure" not in hop.headers["set-cookie"].lower()
    assert "strict-transport-security" not in hop.headers
    assert guesses(url, [f"198.51.100.{n}" for n in range(6)]) == [401] * 5 + [429]


def test_a_trusted_proxy_says_who_and_how(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    app = portal_app(world, monkeypatch, trusted_proxies=["127.0.0.1"])
    with serve(app) as base:
        https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.1"}
        hop = httpx.get(f"{base}/?token={world.tokens['alpha']}", headers=https, timeout=10)
        assert hop.status_code == 303 and "; secure" in hop.headers["set-cookie"].lower()
        assert hop.headers["strict-transport-security"] == "max-age=31536000"
        # Partners at six addresses, each one wrong link: nobody is braked.
        assert guesses(base, [f"203.0.113.{n}" for n in range(6)]) == [401] * 6
        # One guesser writing a new address in front of the proxy's each time: still one.
        forged = [f"10.9.9.{n}, 192.0.2.44" for n in range(6)]
        assert guesses(base, forged) == [401] * 5 + [429]


def test_forwarded_for_is_read_from_the_right() -> None:
    from web.portal_server import forwarded_client, networks

    proxies = networks(["127.0.0.1", "10.0.0.0/8"])
    assert forwarded_client("192.0.2.1", proxies) == "192.0.2.1"
    assert forwarded_client("6.6.6.6, 192.0.2.1, 10.1.1.1", proxies) == "192.0.2.1"
    assert forwarded_client("10.2.2.2, 10.1.1.1", proxies) == "10.2.2.2"  # proxies all the way
    assert forwarded_client("2001:db8::1", proxies) == "2001:db8::1"
    assert forwarded_client("not-an-address", proxies) is None
    assert forwarded_client("", proxies) is None


def test_portal_settings_are_checked(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_settings().portal
    assert (defaults.public_url, defaults.trusted_proxies, defaults.credit) == ("", [], "")
    assert defaults.page_size == 12
    for name, value in [
        ("PUBLIC_URL", "clips.example.org"),
        ("PUBLIC_URL", "https://example.org/clips"),
        ("TRUSTED_PROXIES", '["localhost"]'),
        ("TRUSTED_PROXIES", '["*"]'),
    ]:
        monkeypatch.setenv(f"VOICES_PORTAL__{name}", value)
        with pytest.raises(ConfigError, match=f"portal.{name.lower()}"):
            load_settings()
        monkeypatch.delenv(f"VOICES_PORTAL__{name}")


@pytest.mark.parametrize("value", ["²", "٣", "99999999999999999999", "-1", "1e3", "0x1", " 1"])
def test_odd_numbers_in_the_query_are_not_errors(world: World, url: str, value: str) -> None:
    """Finding 17: `int()` takes "٣" and raises on "²"; the page takes ASCII digits only."""
    with httpx.Client(base_url=url, timeout=10) as http:
        bearer = {"Authorization": f"Bearer {world.tokens['alpha']}"}
        for name in ("footage", "page"):
            page = http.get("/", params={name: value}, headers=bearer)
            assert page.status_code == 200, (name, value)
            assert all(header in page.headers for header in SECURITY_HEADERS)
            assert f'id="clip-{world.clips["public"]}"' in page.text  # no filter: all clips


def test_an_unexpected_error_keeps_the_security_headers(
    world: World, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any) -> None:
        raise RuntimeError("catalog on fire at /srv/voices/catalog.sqlite")

    monkeypatch.setattr("web.portal.visible_clips", broken)
    page = httpx.get(f"{url}/", headers={"Authorization": f"Bearer {world.tokens['alpha']}"})
    assert page.status_code == 500
    assert all(header in page.headers for header in SECURITY_HEADERS)
    assert page.headers["cache-control"] == "no-store"
    assert "fire" not in page.text and "Traceback" not in page.text


def test_no_redirect_goes_where_the_host_header_says(world: World, url: str) -> None:
    """Finding 17: a trailing slash made Starlette redirect to `http://<Host>/...?token=...`."""
    token, public = world.tokens["alpha"], world.clips["public"]
    evil = {"Host": "evil.example"}
    for path in (
        f"/clips/{public}/package.zip/?token={token}",
        f"/clips/{public}/video/vertical/?token={token}",
        f"/clips/?token={token}",
        f"//evil.example/?token={token}",
    ):
        answer = raw(url, path, evil)
        assert answer.status == 404 and answer.getheader("location") is None, path
        assert answer.getheader("content-security-policy"), path
    for path, where in (
        (f"/?token={token}&language=ru", "/?language=ru"),
        (f"/clips/{public}/thumbnail.jpg?token={token}", f"/clips/{public}/thumbnail.jpg"),
    ):
        answer = raw(url, path, evil)
        assert answer.status == 303 and answer.getheader("location") == where
