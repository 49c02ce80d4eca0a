"""Runs that tell the truth, and tell someone: a run in which a footage or a publication
failed ends Failed in Prefect, and the operator hears of it, with the footage and the fix,
through Apprise (a JSON webhook stand-in here) and through the Telegram bot (its stand-in)."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from catalog.ledger import mark_done, publication
from config import load_settings
from flows.locks import outcome
from flows.process import process_flow
from pipeline.context import Context, open_catalog
from pipeline.notify import quiet_for
from tests.channels.fake_telegram import TOKEN, FakeTelegram
from tests.channels.fake_youtube import FakeYouTube
from tests.flows.world import ADULT, add_footage
from tests.helpers import data, voices

pytestmark = pytest.mark.usefixtures("prefect_api")


class Hook:
    """A webhook that keeps what Apprise's json:// sends it."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.received = received
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self._server.server_address[1]}/voices"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def told(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Hook, FakeTelegram]]:
    hook = Hook()
    telegram = FakeTelegram().__enter__()
    monkeypatch.setenv("VOICES_NOTIFY__URLS", json.dumps([hook.url]))
    monkeypatch.setenv("VOICES_NOTIFY__TELEGRAM_CHAT_ID", "@voices_ops")
    monkeypatch.setenv("VOICES_TELEGRAM__TOKEN", TOKEN)
    monkeypatch.setenv("VOICES_TELEGRAM__BASE_URL", telegram.base_url)
    try:
        yield hook, telegram
    finally:
        hook.stop()
        telegram.__exit__(None, None, None)


@pytest.mark.slow
def test_a_run_with_a_failing_footage_ends_failed_and_says_which_and_what_to_do(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, told: tuple[Hook, FakeTelegram]
) -> None:
    hook, telegram = told
    monkeypatch.setenv("VOICES_TRANSCRIPTION__MODELS_BY_LANGUAGE", '{"kk": "/nowhere/model"}')
    inbox = isolated_env / "inbox"
    inbox.mkdir(parents=True)
    shutil.copy(data("jfk.wav"), inbox / "kazakh.wav")
    (inbox / "kazakh.yaml").write_text("language: kk\n", "utf-8")

    state = process_flow(str(isolated_env), return_state=True)

    assert state.type.value == "FAILED"
    assert "kazakh.wav" in (state.message or "") and "/nowhere/model" in (state.message or "")
    assert outcome(state).footage[0].status == "failed"  # the summary still comes back
    [sent] = hook.received
    assert "processing run" in sent["title"]
    assert "kazakh.wav" in sent["message"] and "/nowhere/model" in sent["message"]
    [(chat, text)] = telegram.texts
    assert chat == "@voices_ops" and "kazakh.wav" in text and "/nowhere/model" in text
    assert TOKEN not in text and TOKEN not in sent["message"]

    code, output = voices("run")  # the CLI says the same, and exits 1
    assert code == 1 and "/nowhere/model" in output


def test_a_channel_that_stops_fails_the_publishing_run_and_says_so(
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    told: tuple[Hook, FakeTelegram],
    fake_youtube: FakeYouTube,
    youtube_token_file: Path,
) -> None:
    hook, _ = told
    monkeypatch.setenv("VOICES_YOUTUBE__ENABLED", "true")
    monkeypatch.setenv("VOICES_YOUTUBE__API_ENDPOINT", fake_youtube.url)
    monkeypatch.setenv("VOICES_YOUTUBE__TOKEN_FILE", str(youtube_token_file))
    monkeypatch.setenv("VOICES_TRANSCRIPTION__PUBLISH_DRAFTS", "true")
    fake_youtube.faults.quota_on_insert = True
    catalog = open_catalog(load_settings())
    try:
        _, (clip, _) = add_footage(catalog, isolated_env, "public", "public", [ADULT])
    finally:
        catalog.close()
    assert voices("approve", str(clip))[0] == 0

    code, output = voices("publish")

    assert code == 1 and "quota" in output.lower()
    [sent] = hook.received
    assert "publishing run" in sent["title"] and "youtube" in sent["message"]
    assert "quota" in sent["message"].lower()


def test_weeks_without_a_publication_are_noticed(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICES_NOTIFY__QUIET_DAYS", "7")
    ctx = Context.open(load_settings())
    try:
        _, (clip, _) = add_footage(ctx.catalog, isolated_env, "public", "public", [ADULT])
        assert quiet_for(ctx) is None  # nothing approved: nothing is waiting
        assert voices("approve", str(clip))[0] == 0
        line = quiet_for(ctx)
        assert line and "nothing was published ever while 1 approved clips wait" in line
        record = publication(ctx.catalog, clip, "youtube")
        mark_done(ctx.catalog, record.id, status="published", remote_id="v1", url=None)
        assert quiet_for(ctx) is None  # published just now
        later = datetime.now(UTC) + timedelta(days=8)
        assert "since" in (quiet_for(ctx, now=later) or "")
    finally:
        ctx.close()
