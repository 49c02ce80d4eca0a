"""The partner portal over real HTTP: uvicorn on a free port, httpx and http.client as clients."""

from __future__ import annotations

import hashlib
import http.client
import io
import re
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
import typer
from typer.testing import CliRunner

from catalog.partners import partner_for_token
from catalog.store import Catalog
from catalog.tables import Clip
from cli.portal import partners_app, portal
from config import load_settings
from flows.server import free_port
from tests.portal import VIDEO, World, build_world, serve, wait_for_downloads
from web import portal_files
from web.portal import create_app
from web.portal_access import FailureLimiter
from web.portal_text import MESSAGES, from_accept_language

KINDS = ("video/vertical", "subtitles/ru.vtt", "subtitles/ru.srt", "thumbnail.jpg", "package.zip")
SECRETS = (b"root:", b"SQLite format", b"Internal secret", b"Candidate draft", b"Rejected take")


@pytest.fixture
def world(isolated_env: Path) -> World:
    return build_world(isolated_env)


@pytest.fixture
def url(world: World) -> Iterator[str]:
    # A generous brake here: the attack tests send many wrong tokens on purpose.
    app = create_app(load_settings(world.workspace), limiter=FailureLimiter(limit=1000))
    with serve(app) as base:
        yield base


def client(base: str, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base, headers=headers, timeout=10)


def raw_get(base: str, path: str, token: str | None) -> tuple[int, bytes]:
    """GET a path exactly as written (httpx would normalise `..` and percent-escapes)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def downloads_total(world: World, clip: int, total_bytes: int) -> list[dict[str, Any]]:
    return wait_for_downloads(
        world, clip, lambda found: sum(d["bytes"] for d in found) >= total_bytes
    )


def test_page_lists_only_clips_partners_may_see_newest_first(world: World, url: str) -> None:
    with client(url, world.tokens["alpha"]) as http:
        page = http.get("/")
    assert page.status_code == 200
    html = page.text
    positions = [html.index(f'id="clip-{world.clips[name]}"') for name in world.visible]
    assert positions == sorted(positions)
    for name in world.hidden:
        assert world.titles[name] not in html and f"clip-{world.clips[name]}" not in html
    public = world.clips["public"]
    assert '<video controls playsinline preload="none"' in html
    assert f'<track kind="subtitles" src="/clips/{public}/subtitles/ru.vtt" srclang="ru"' in html
    assert f"/clips/{public}/package.zip" in html and "Quote of Дом — это люди" in html
    assert "0:20" in html and "<script" not in html
    nonce = re.search(r'<style nonce="([^"]+)">', html)
    assert (
        nonce and f"style-src 'nonce-{nonce.group(1)}'" in page.headers["content-security-policy"]
    )
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"


def test_link_token_becomes_an_httponly_cookie_and_leaves_the_address(
    world: World, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    token = world.tokens["alpha"]
    with client(url) as http:
        hop = http.get(f"/?lang=ru&token={token}&language=ru")
        assert hop.status_code == 303
        assert hop.headers["location"] == "/?lang=ru&language=ru"
        cookie = hop.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and token in cookie
        page = http.get(hop.headers["location"])
        assert page.status_code == 200 and "Ролики для партнёров" in page.text
        assert http.get(f"/clips/{world.clips['public']}/subtitles/ru.vtt").status_code == 200
    assert token not in caplog.text


def test_language_from_query_cookie_or_browser(world: World, url: str) -> None:
    assert set(MESSAGES["en"]) == set(MESSAGES["ru"])
    assert from_accept_language("de-DE,ru;q=0.8,en;q=0.5") == "ru"
    assert from_accept_language("ru;q=0,en") == "en"
    with client(url, world.tokens["alpha"]) as http:
        assert "Clips for partners" in http.get("/").text
        russian = http.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
        assert "Ролики для партнёров" in russian.text and '<html lang="ru">' in russian.text
        chosen = http.get("/?lang=en", headers={"Accept-Language": "ru"})
        assert "Clips for partners" in chosen.text  # the query beats the browser
        assert "Clips for partners" in http.get("/", headers={"Accept-Language": "ru"}).text


def test_filters_and_partner_languages(world: World, url: str) -> None:
    ky, public = world.clips["ky_only"], world.clips["public"]
    with client(url, world.tokens["alpha"]) as http:
        only_ky = http.get("/", params={"language": "ky"}).text
        assert f"clip-{ky}" in only_ky and f"clip-{public}" not in only_ky
        by_footage = http.get("/", params={"footage": world.footage["partner_interview"]}).text
        assert f"clip-{world.clips['partners']}" in by_footage and f"clip-{ky}" not in by_footage
    with client(url, world.tokens["beta"]) as http:  # Beta takes Kyrgyz only
        page = http.get("/").text
        assert f"clip-{ky}" in page and f"clip-{public}" not in page
        assert http.get(f"/clips/{public}/video/vertical").status_code == 404
        assert http.get(f"/clips/{ky}/subtitles/ky.srt").status_code == 200


def test_every_file_downloads_whole_and_is_logged(world: World, url: str) -> None:
    clip, folder = world.clips["public"], world.files("public")
    with client(url, world.tokens["alpha"]) as http:
        video = http.get(f"/clips/{clip}/video/vertical?download=1")
        assert video.status_code == 200 and video.content == VIDEO.read_bytes()
        assert video.headers["content-type"] == "video/mp4"
        name = f"clip-{clip} Дом — это люди.vertical.mp4"
        disposition = video.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="clip-')
        assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
        sent = [video.content]
        for lang in ("ru", "en"):
            for kind in ("srt", "vtt"):
                got = http.get(f"/clips/{clip}/subtitles/{lang}.{kind}?download=1")
                assert got.content == (folder / f"{lang}.{kind}").read_bytes()
                sent.append(got.content)
        thumb = http.get(f"/clips/{clip}/thumbnail.jpg")
        assert thumb.headers["content-type"] == "image/jpeg" and thumb.content[:2] == b"\xff\xd8"
        package = http.get(f"/clips/{clip}/package.zip")
        again = http.head(f"/clips/{clip}/package.zip")
    assert package.headers["etag"] == again.headers["etag"]  # cached, not rebuilt
    with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
        names = sorted(archive.namelist())
        assert archive.read(f"clip-{clip}/vertical.mp4") == VIDEO.read_bytes()
    members = ["en.srt", "en.vtt", "metadata.json", "ru.srt", "ru.vtt", "thumbnail.jpg"]
    assert names == [f"clip-{clip}/{m}" for m in [*members, "vertical.mp4"]]
    log = downloads_total(world, clip, sum(map(len, sent)) + len(package.content))
    taken = {(d["partner"], d["file"], d["how"]): d["bytes"] for d in log}
    assert taken[("Alpha", "vertical.mp4", "download")] == VIDEO.stat().st_size
    assert taken[("Alpha", "package.zip", "download")] == len(package.content)
    assert ("Alpha", "ru.vtt", "download") in taken and all(d["at"] for d in log)


def test_parallel_package_requests_build_one_zip(
    world: World, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 9: partners asking for a new package at once get one zip, built once."""
    builds: list[Path] = []
    write_zip = portal_files._write_zip

    def slow_write(target: Path, *rest: Any) -> None:
        builds.append(target)
        time.sleep(0.5)  # a big package on a slow disk: every other request arrives meanwhile
        write_zip(target, *rest)

    monkeypatch.setattr(portal_files, "_write_zip", slow_write)
    clip, asking = world.clips["public"], 6
    together = threading.Barrier(asking)

    def fetch(_: int) -> httpx.Response:
        with client(url, world.tokens["alpha"]) as http:
            together.wait(timeout=10)
            return http.get(f"/clips/{clip}/package.zip")

    with ThreadPoolExecutor(asking) as pool:
        answers = list(pool.map(fetch, range(asking)))
    assert [a.status_code for a in answers] == [200] * asking
    assert len({a.content for a in answers}) == 1 and len(builds) == 1
    with client(url, world.tokens["alpha"]) as http:  # and later asks reuse it
        assert http.get(f"/clips/{clip}/package.zip").content == answers[0].content
    assert len(builds) == 1 and len(portal_files._builders) == 0


def test_range_requests_and_resume(world: World, url: str) -> None:
    clip, data = world.clips["public"], VIDEO.read_bytes()
    path = f"/clips/{world.clips['public']}/video/vertical"
    with client(url, world.tokens["alpha"]) as http:
        part = http.get(path, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == data[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
        assert part.headers["accept-ranges"] == "bytes"
        first = http.get(path, headers={"Range": "bytes=0-99999"}).content
        rest = http.get(path, headers={"Range": f"bytes={len(first)}-"})
        assert rest.status_code == 206 and first + rest.content == data
        etag = part.headers["etag"]
        same = http.get(path, headers={"Range": "bytes=10-19", "If-Range": etag})
        assert same.status_code == 206 and same.content == data[10:20]
        changed = http.get(path, headers={"Range": "bytes=10-19", "If-Range": '"stale"'})
        assert changed.status_code == 200 and changed.content == data
        beyond = http.get(path, headers={"Range": f"bytes={len(data) + 5}-"})
        assert beyond.status_code == 416
    log = downloads_total(world, clip, 100 + 2 * len(data) + 10)
    streamed = [d for d in log if d["how"] == "stream" and d["file"] == "vertical.mp4"]
    assert len(streamed) == 1  # range requests join one row
    assert streamed[0]["bytes"] == 100 + len(data) + 10 + len(data)


def _plant_escapes(world: World) -> None:
    """Catalog entries and package files that point outside the exports."""
    package, catalog_file = world.files("public"), world.workspace / "catalog.sqlite"
    (package / "square.mp4").symlink_to("/etc/passwd")
    (package / "de.vtt").symlink_to(catalog_file)
    (package / "de.srt").symlink_to(world.workspace / "library")
    catalog = Catalog(world.catalog_url, world.workspace)
    try:
        with catalog.session() as s:
            public = s.get_one(Clip, world.clips["public"])
            public.renders = public.renders | {
                "square": {"path": str(package / "square.mp4")},
                "tv": {"path": "/etc/passwd"},
            }
            public.subtitles = public.subtitles | {
                "de": {"vtt": str(package / "de.vtt"), "srt": str(package / "de.srt")}
            }
            partners = s.get_one(Clip, world.clips["partners"])
            partners.thumbnail, partners.package = str(catalog_file), str(world.workspace)
    finally:
        catalog.close()


def assert_refused(base: str, paths: list[str], token: str | None, status: int) -> None:
    """Every path answers `status` and its body holds no clip data and no file contents."""
    for path in paths:
        got, body = raw_get(base, path, token)
        assert got == status, (path, got)
        assert not any(secret in body for secret in SECRETS), path
        assert b"Quote of" not in body and b"/clips/" not in body, path


def test_no_valid_token_no_data(world: World, url: str) -> None:
    public = world.clips["public"]
    paths = ["/", *(f"/clips/{public}/{kind}" for kind in KINDS)]
    alpha = world.tokens["alpha"]
    for token in (None, "", "wrong-" + alpha[6:], alpha[:-1], world.tokens["gamma"]):
        assert_refused(url, paths, token, 401)  # gamma: another partner's revoked token


def test_nothing_outside_the_exports_is_served(world: World, url: str) -> None:
    _plant_escapes(world)
    public, partners = world.clips["public"], world.clips["partners"]
    traversal = [
        f"/clips/{public}/subtitles/../../catalog.sqlite",
        f"/clips/{public}/subtitles/..%2F..%2Fcatalog.sqlite",
        f"/clips/{public}/subtitles/%2e%2e%2f%2e%2e%2fcatalog.sqlite",
        f"/clips/{public}/subtitles/%2e%2e",
        f"/clips/{public}/subtitles/%2Fetc%2Fpasswd",
        f"/clips/{public}/subtitles//etc/passwd",
        f"/clips/{public}/video/..%2F..%2F..%2Fcatalog.sqlite",
        f"/clips/{public}/video/%2Fetc%2Fpasswd",
        f"/clips/{public}/package.zip/../../../catalog.sqlite",
        "/clips/..%2F..%2Fcatalog.sqlite/video/vertical",
        "/clips/%2Fetc%2Fpasswd/thumbnail.jpg",
        "/../../etc/passwd",
        "/catalog.sqlite",
        "/library/",
        "/docs",
        "/openapi.json",
    ]
    escapes = [
        f"/clips/{public}/video/square",  # a symlink in the package to /etc/passwd
        f"/clips/{public}/video/tv",  # the catalog names /etc/passwd itself
        f"/clips/{public}/subtitles/de.vtt",  # a symlink to the catalog file
        f"/clips/{public}/subtitles/de.srt",  # a symlink to the raw footage folder
        f"/clips/{public}/subtitles/ru.txt",
        f"/clips/{partners}/thumbnail.jpg",  # the catalog names the catalog file
        f"/clips/{partners}/package.zip",  # the package is the whole workspace
    ]
    assert_refused(url, traversal + escapes, world.tokens["alpha"], 404)
    with client(url, world.tokens["alpha"]) as http:  # the rest of the clip still works
        assert http.get(f"/clips/{public}/video/vertical").status_code == 200
        package = http.get(f"/clips/{public}/package.zip")
    with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
        names = {Path(name).name for name in archive.namelist()}
    assert not names & {"square.mp4", "de.vtt", "de.srt"} and b"root:" not in package.content


def test_hidden_clips_are_as_absent_as_missing_ones(world: World, url: str) -> None:
    paths = [f"/clips/{world.clips[name]}/{kind}" for name in world.hidden for kind in KINDS]
    paths += ["/clips/999999/video/vertical", "/clips/-1/video/vertical", "/clips/0x1/package.zip"]
    assert_refused(url, paths, world.tokens["alpha"], 404)


def test_repeated_bad_tokens_are_slowed_down_but_never_a_valid_one(world: World) -> None:
    """Finding 10: every partner behind one NAT shares the guesser's address, so a valid token
    always gets through; wrong ones past the limit get 429, held back, for as long as the
    guessing goes on."""
    now = [1000.0]  # the limiter's clock, moved by hand: no timing races
    limiter = FailureLimiter(5, window_s=1.5, clock=lambda: now[0], delay_s=0.3)
    app = create_app(load_settings(world.workspace), limiter=limiter)
    guess = {"Authorization": "Bearer guess"}
    with serve(app) as base, client(base) as http:
        assert http.get("/").status_code == 401  # no token at all is not a guess
        for _ in range(5):
            assert http.get("/", headers=guess).status_code == 401
        started = time.monotonic()
        blocked = http.get("/", headers=guess)
        assert time.monotonic() - started >= 0.3  # held back
        assert blocked.status_code == 429 and 1 <= int(blocked.headers["retry-after"]) <= 2
        good = {"Authorization": f"Bearer {world.tokens['alpha']}"}
        assert http.get("/", headers=good).status_code == 200  # a colleague behind the NAT
        with client(base) as colleague:  # and one who opens the link they were sent
            hop = colleague.get(f"/?token={world.tokens['beta']}")
            assert hop.status_code == 303 and colleague.get("/").status_code == 200
        now[0] += 1.0
        assert http.get("/", headers=guess).status_code == 429  # a valid token reset nothing
        now[0] += 1.6
        assert http.get("/", headers=guess).status_code == 401


def test_guessing_on_keeps_the_brake_on() -> None:
    now = [0.0]
    limiter = FailureLimiter(limit=3, window_s=10, clock=lambda: now[0])
    assert [limiter.failed("10.0.0.1") for _ in range(3)] == [0, 0, 0]
    assert limiter.failed("10.0.0.1") == 10  # too many, and counted
    for second in range(1, 30):  # a guess a second, every one refused
        now[0] = second
        assert limiter.failed("10.0.0.1") > 0
    now[0] = 40  # ten quiet seconds: an ordinary wrong token again
    assert limiter.failed("10.0.0.1") == 0


def test_failure_memory_is_bounded() -> None:
    now = [0.0]
    limiter = FailureLimiter(limit=2, window_s=10, max_clients=3, clock=lambda: now[0])
    for n in range(100):
        limiter.failed(f"10.0.0.{n}")
    assert len(limiter) == 3
    assert limiter.failed("10.0.0.99") == 0  # the second: still an ordinary wrong token
    assert limiter.retry_after("10.0.0.99") == 10
    assert limiter.failed("10.0.0.99") == 10  # the third: too many
    now[0] = 10.5
    assert limiter.retry_after("10.0.0.99") == 0 and len(limiter) == 2


def test_partner_commands(world: World) -> None:
    app = typer.Typer()
    app.add_typer(partners_app, name="partners")
    app.command()(portal)
    runner, ws = CliRunner(), ["--workspace", str(world.workspace)]
    added = runner.invoke(
        app, ["partners", "add", "Дельта", "--languages", "ru, ky", "--port", "9000", *ws]
    )
    assert added.exit_code == 0, added.output
    token = re.search(r"http://127\.0\.0\.1:9000/\?token=([A-Za-z0-9_-]{43})\n", added.output)
    assert token is not None
    catalog = Catalog(world.catalog_url, world.workspace)
    try:
        partner = partner_for_token(catalog, token.group(1))
        assert partner is not None and partner.languages == ("ky", "ru")
    finally:
        catalog.close()
    stored = (world.workspace / "catalog.sqlite").read_bytes()
    assert token.group(1).encode() not in stored
    assert hashlib.sha256(token.group(1).encode()).hexdigest().encode() in stored
    assert runner.invoke(app, ["partners", "add", "Alpha", *ws]).exit_code == 1
    listing = runner.invoke(app, ["partners", "list", *ws]).output
    assert "Дельта" in listing and "ky,ru" in listing and "revoked" in listing
    assert runner.invoke(app, ["partners", "revoke", "Дельта", *ws]).exit_code == 0
    assert runner.invoke(app, ["partners", "revoke", "Nobody", *ws]).exit_code == 1


def test_voices_portal_serves_the_workspace(world: World) -> None:
    """The real command in its own process: it answers a partner, refuses a stranger, and its
    log never shows a token (a link's first request carries one). With no trusted proxy set,
    forwarded headers are not believed, not even from 127.0.0.1 (uvicorn's default trust)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "cli",
        "portal",
        "--port",
        str(port),
        "--workspace",
        str(world.workspace),
    ]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parents[2],
    ) as server:
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    first = httpx.get(f"{base}/", timeout=2)
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline and server.poll() is None
                    time.sleep(0.3)
            assert first.status_code == 401
            token = world.tokens["alpha"]
            answer = httpx.get(f"{base}/?token={token}", follow_redirects=True, timeout=10)
            assert answer.status_code == 200 and "<video" in answer.text
            forged = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
            hop = httpx.get(f"{base}/?token={token}", headers=forged, timeout=10)
            assert hop.status_code == 303 and "secure" not in hop.headers["set-cookie"].lower()
            assert "strict-transport-security" not in hop.headers
            guesses = [
                httpx.get(
                    f"{base}/",
                    headers={"Authorization": "Bearer guess", "X-Forwarded-For": f"203.0.113.{n}"},
                    timeout=10,
                ).status_code
                for n in range(6)
            ]
            assert guesses == [401] * 5 + [429]  # one address, whatever the header says
            mine = {"Authorization": f"Bearer {token}"}
            assert httpx.get(f"{base}/", headers=mine, timeout=10).status_code == 200
        finally:
            server.terminate()
            output = server.communicate(timeout=30)[0].decode("utf-8", "replace")
    assert token not in output
