"""Shared fixtures: real media, the bundled model joined once, and an isolated environment."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from subtitles.models import Transcript
from tests.helpers import CHROMIUM, CHROMIUM_FLAGS, data

# Local stand-ins for YouTube (TLS) and friends, shared by channel and flow tests.
pytest_plugins = ["tests.channels.fixtures", "tests.flows.world"]


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("session")


@pytest.fixture(scope="session")
def model_cache(session_dir: Path) -> Path:
    return session_dir / "models"


@pytest.fixture(autouse=True)
def isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_cache: Path, session_dir: Path
) -> Path:
    """Each test gets its own workspace; no setting of the developer's machine leaks in."""
    for name in list(os.environ):
        if name.startswith("VOICES_"):
            monkeypatch.delenv(name)
    workspace = tmp_path / "workspace"
    monkeypatch.setenv("VOICES_WORKSPACE", str(workspace))
    monkeypatch.setenv("VOICES_TRANSCRIPTION__MODEL_CACHE", str(model_cache))
    # Files the tests drop are complete: no quiet period to wait for (tests of it set their own).
    monkeypatch.setenv("VOICES_INGEST__SETTLE_SECONDS", "0")
    monkeypatch.setenv("PREFECT_HOME", str(session_dir / "prefect"))
    monkeypatch.chdir(tmp_path)
    return workspace


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A real PostgreSQL server (the system's, as `voices cluster` starts it) for the session,
    in a folder its user can reach; tests make databases in it (`fresh_database`)."""
    import tempfile

    from flows.cluster import Postgres

    folder = Path(tempfile.mkdtemp(prefix="voices-pg-"))
    folder.chmod(0o755)
    server = Postgres.create(folder / "data")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def fresh_database(postgres: Any, request: pytest.FixtureRequest) -> str:
    """The URL of a new, empty PostgreSQL database for one test."""
    import re

    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:50]
    postgres.ensure_database(name)
    import psycopg

    with psycopg.connect(postgres.url(name, "postgresql"), autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")
    url: str = postgres.url(name)
    return url


@pytest.fixture(scope="session")
def ct2_base_dir(model_cache: Path) -> Path:
    from subtitles.weights import bundled_base

    return bundled_base(model_cache)


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """One Prefect API for the whole session (each start costs ~10 s)."""
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
        # Its "stopping" message would go to a stream pytest has already closed.
        logging.getLogger("prefect").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def jfk_wav() -> Path:
    return data("jfk.wav")


@pytest.fixture(scope="session")
def bush_transcript(ct2_base_dir: Path) -> Transcript:
    """The 199 s address, transcribed once per session with the default engine and settings."""
    from media.audio import decode_audio
    from subtitles.engines import TranscribeOptions, transcribe

    options = TranscribeOptions(model=str(ct2_base_dir), model_label="base")  # detects English
    return transcribe(decode_audio(data("bush_columbia_address_2003.ogg")), options)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's headless Chromium, through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()
