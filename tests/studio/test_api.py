"""The studio's API on real footage: the list `voices status --json` prints, a correction sent
as text and put back on the audio by the run, a clip made by quoting words, and the OpenAPI
schema that documents it all."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import srt

from catalog.store import Catalog
from config import load_settings
from tests.helpers import data, status, voices
from tests.portal import serve
from tests.studio import add_accounts, http
from tests.subtitles.test_align import grid_reference
from web.studio import create_studio

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]

SPOKEN = "set white with p two soon"  # what the speaker of grid_swwp2s says (its .align)
TOLERANCE_S = 0.15


@pytest.fixture
def grid(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, dict[str, str]]]:
    monkeypatch.setenv("VOICES_CLIPS__MIN_SECONDS", "1")
    monkeypatch.setenv("VOICES_CLIPS__MAX_CANDIDATES", "1")
    monkeypatch.setenv("VOICES_CLIPS__RENDER", '["square"]')
    inbox = isolated_env / "inbox"
    inbox.mkdir(parents=True)
    shutil.copy(data("grid_swwp2s.mpg"), inbox / "grid.mpg")
    (inbox / "grid.yaml").write_text("language: en\nconsent: public\n", "utf-8")
    assert voices("run")[0] == 0
    settings = load_settings(isolated_env)
    catalog = Catalog(settings.catalog_url, isolated_env)
    try:
        tokens = add_accounts(catalog)
    finally:
        catalog.close()
    with serve(create_studio(settings)) as base:
        yield base, tokens


def client(base: str, token: str) -> httpx.Client:
    return http(base, headers={"Authorization": f"Bearer {token}"})


def srt_text(path: str) -> str:
    return " ".join(s.content.replace("\n", " ") for s in srt.parse(Path(path).read_text("utf-8")))


def test_the_footage_list_is_what_status_json_prints(grid: tuple[str, dict[str, str]]) -> None:
    base, tokens = grid
    listed = client(base, tokens["edna"]).get("/api/v1/footage")
    assert listed.status_code == 200
    assert listed.json() == status()["footage"]


def test_a_correction_through_the_api_is_timed_to_the_audio_and_reaches_the_captions(
    grid: tuple[str, dict[str, str]],
) -> None:
    base, tokens = grid
    editor = client(base, tokens["edna"])
    [footage] = editor.get("/api/v1/footage").json()
    heard = editor.get(f"/api/v1/footage/{footage['id']}/transcript").json()
    assert heard["source"] == "machine" and heard["segments"]
    start = heard["segments"][0]["start_ms"]
    end = heard["segments"][-1]["end_ms"]
    body: dict[str, Any] = {"segments": [{"start_ms": start, "end_ms": end, "text": SPOKEN}]}
    answer = editor.put(f"/api/v1/footage/{footage['id']}/transcript", json=body)
    assert answer.status_code == 202, answer.text
    early = {"footage_id": footage["id"], "from": "set white", "to": "two soon"}
    assert "aligned" in editor.post("/api/v1/clips", json=early).json()["detail"]

    assert voices("run")[0] == 0  # aligns the correction (the studio starts this run itself)

    made = editor.post("/api/v1/clips", json=early)  # quoting the corrected words
    assert made.status_code == 201, made.text
    assert made.json()["origin"] == "chosen"
    assert voices("run")[0] == 0  # renders it

    corrected = editor.get(f"/api/v1/footage/{footage['id']}/transcript").json()
    assert corrected["source"] == "corrected"
    words = [w for s in corrected["segments"] for w in s["words"]]
    assert [w["text"].strip(".,").lower() for w in words] == SPOKEN.split()
    reference = grid_reference("grid_swwp2s.align")
    errors = [abs(w["start_ms"] / 1000 - ref[1]) for w, ref in zip(words, reference, strict=True)]
    assert max(errors) <= TOLERANCE_S, errors
    [after] = editor.get("/api/v1/footage").json()
    english = after["subtitles"]["en"]
    assert english["source"] == "corrected"
    for path in (english["srt"], english["vtt"]):
        assert SPOKEN in Path(path).read_text("utf-8").lower().replace(".", "").replace(",", "")
    chosen = next(c for c in after["clips"] if c["origin"] == "chosen")
    assert SPOKEN in srt_text(chosen["subtitles"]["en"]["srt"]).lower().replace(".", "")
    assert Path(chosen["renders"]["square"]).is_file()


def test_bad_requests_say_what_is_wrong(grid: tuple[str, dict[str, str]]) -> None:
    base, tokens = grid
    editor = client(base, tokens["edna"])
    [footage] = editor.get("/api/v1/footage").json()
    missing = editor.post(
        "/api/v1/clips", json={"footage_id": footage["id"], "from": "purple cows", "to": "soon"}
    )
    assert missing.status_code == 400
    assert "purple cows" in missing.json()["detail"]
    empty = editor.put(f"/api/v1/footage/{footage['id']}/transcript", json={"segments": []})
    assert empty.status_code == 422
    assert editor.get("/api/v1/footage/999/transcript").status_code == 404
    approver = client(base, tokens["abdul"])
    assert approver.post("/api/v1/clips/999/approve").status_code == 404


def test_the_api_is_documented_by_its_openapi_schema(grid: tuple[str, dict[str, str]]) -> None:
    base, _ = grid
    schema = httpx.get(f"{base}/api/v1/openapi.json", timeout=30).json()
    paths = set(schema["paths"])
    for wanted in (
        "/api/v1/footage",
        "/api/v1/footage/{footage_id}/transcript",
        "/api/v1/footage/{footage_id}/consent",
        "/api/v1/clips",
        "/api/v1/clips/{clip_id}/approve",
        "/api/v1/clips/{clip_id}/reject",
        "/api/v1/clips/{clip_id}/signoff",
        "/api/v1/publications",
        "/api/v1/audit",
    ):
        assert wanted in paths, wanted
    assert not any(not p.startswith("/api/v1/") for p in paths)  # pages are not in it
