"""Safeguarding end to end: consent that changes, a second approval for minors, the audit log,
nothing identifying in what leaves, and the review's findings that live in the pipeline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

import media.ingest
import pipeline.publishing
from catalog.ledger import decide, publication
from catalog.partners import add_partner
from config import load_settings
from pipeline.clips import draft_description
from pipeline.context import Context, open_catalog
from pipeline.footage import ingest_inbox
from pipeline.packages import package_metadata, update_package
from pipeline.plan import MAX_ATTEMPTS, make_plan
from tests.channels.fake_telegram import FakeTelegram
from tests.channels.fake_youtube import FakeYouTube
from tests.flows.world import ADULT, CHILD, add_footage, publications
from tests.helpers import data, status, voices
from tests.portal import serve
from web.portal import create_app

pytestmark = pytest.mark.usefixtures("prefect_api")

NAMES = ("Бакыт", "Айгүл", "Нурлан")


def by_id(footage_id: int) -> dict[str, Any]:
    return next(f for f in status()["footage"] if f["id"] == footage_id)


def test_rejecting_a_footage_rejects_its_approved_clips_too(isolated_env: Path) -> None:
    """Finding 2: `reject --footage` left approved clips approved and served, exit 0, silent."""
    catalog = open_catalog(load_settings())
    try:
        footage, (first, second) = add_footage(catalog, isolated_env, "both", "public", [ADULT])
    finally:
        catalog.close()
    assert voices("approve", str(first))[0] == 0
    code, output = voices("reject", "--footage", str(footage))
    assert code == 0 and f"rejected clip {first}" in output and f"rejected clip {second}" in output
    decisions = {c["id"]: c["decision"] for c in by_id(footage)["clips"]}
    assert decisions == {first: "rejected", second: "rejected"}


def test_a_clip_rejected_during_a_publishing_run_is_not_posted(
    isolated_env: Path, channels_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 4: decisions were read once per run; a clip rejected meanwhile still went out."""
    youtube: FakeYouTube = channels_env["youtube"]
    catalog = open_catalog(load_settings())
    try:
        _, (clip, _) = add_footage(catalog, isolated_env, "changed", "public", [ADULT])
    finally:
        catalog.close()
    assert voices("approve", str(clip))[0] == 0
    planned = pipeline.publishing.due

    def due_then_rejected(ctx: Context, *args: Any) -> Any:
        work = planned(ctx, *args)
        decide(ctx.catalog, [clip], "rejected", "a colleague, at the same moment")
        return work

    monkeypatch.setattr(pipeline.publishing, "due", due_then_rejected)
    assert voices("publish")[0] == 0
    assert youtube.videos == {} and not channels_env["telegram"].messages
    assert not list(channels_env["drop"].glob("*.mp4"))


def test_a_minor_needs_a_second_named_approval_for_public_channels_only(
    isolated_env: Path, channels_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICES_FOLDER__AUDIENCE", "partners")  # a partners-only drop folder
    catalog = open_catalog(load_settings())
    try:
        _, (clip, _) = add_footage(catalog, isolated_env, "child", "public", [ADULT, CHILD])
    finally:
        catalog.close()
    code, output = voices("approve", str(clip), "--by", "Aida")
    assert code == 0 and "shows a minor" in output
    assert voices("publish")[0] == 0
    report = publications(clip)
    assert report["folder"]["status"] == "published"  # partners only: one approval is enough
    for channel in ("youtube", "telegram"):
        assert report[channel]["status"] == "blocked"
        assert f"someone other than Aida (voices signoff {clip}" in report[channel]["error"]
    assert voices("signoff", str(clip), "--by", "Aida")[0] == 1  # not the approver herself
    code, output = voices("signoff", str(clip), "--by", "Dinara")
    assert code == 0, output
    assert voices("publish")[0] == 0
    report = publications(clip)
    assert {report[c]["status"] for c in ("youtube", "telegram")} == {"published"}
    [footage] = status()["footage"]
    [signed] = [c for c in footage["clips"] if c["id"] == clip]
    assert (signed["approved_by"], signed["signoff_by"]) == ("Aida", "Dinara")
    actions = [(a["actor"], a["action"]) for a in footage["audit"]]
    assert ("Aida", "approve") in actions and ("Dinara", "signoff") in actions


def test_nothing_identifying_leaves_in_texts_or_packages(isolated_env: Path) -> None:
    """No person's name or source file name in descriptions or package metadata; place and
    date only when the sidecar says so."""
    people: list[dict[str, Any]] = [
        {"name": "Айгүл", "role": "mother", "consent": "public"},
        {"name": "Бакыт", "role": "son", "minor": True, "consent": "public"},
    ]
    catalog = open_catalog(load_settings())
    try:
        footage_id, (clip_id, _) = add_footage(
            catalog,
            isolated_env,
            "home",
            "public",
            people,
            source_name="Бакыт и Айгүл, Нарын.mp4",
            location="Нарын, ул. Ленина 5",
            recorded="2026-03-14",
            description="A mother and her son talk about waiting.",
        )
        footage, clip = catalog.footage(footage_id), catalog.clip(clip_id)
        description = draft_description("we wait", footage)
        metadata = json.dumps(package_metadata(footage, clip), ensure_ascii=False)
        for text in (description, metadata):
            for secret in (*NAMES, "Нарын", "Ленина", "2026-03-14"):
                assert secret not in text
        told = footage.sidecar.model_copy(update={"public_location": True})
        catalog.set_sidecar(footage_id, told)
        assert "Ленина" in draft_description("we wait", catalog.footage(footage_id))
    finally:
        catalog.close()


def test_packages_are_named_by_content_and_only_for_clips_partners_may_take(
    isolated_env: Path,
) -> None:
    """Findings 1 and 18: a package named by a reused clip id carried another clip's files,
    and internal clips had packages too."""
    settings = load_settings()
    ctx = Context.open(settings)
    try:
        footage_id, (clip_id, _) = add_footage(ctx.catalog, isolated_env, "pk", "public", [ADULT])
        footage, clip = ctx.catalog.footage(footage_id), ctx.catalog.clip(clip_id)
        assert clip.package is not None
        (clip.package / "left-over.srt").write_text("an earlier clip's words", "utf-8")
        clip = update_package(ctx, footage, clip)
        assert clip.package is not None
        assert clip.package == (
            isolated_env / "packages" / footage.sha256[:12] / f"{clip.start_ms}-{clip.end_ms}"
        )
        listed = json.loads((clip.package / "metadata.json").read_text("utf-8"))
        names = {p.name for p in clip.package.iterdir()}
        assert "left-over.srt" not in names  # rebuilt whole
        assert names == {
            "metadata.json",
            *listed["renders"].values(),
            *(n for kinds in listed["subtitles"].values() for n in kinds.values()),
        }
        internal = footage.sidecar.model_copy(update={"consent": "internal"})
        footage = ctx.catalog.set_sidecar(footage_id, internal)
        folder = clip.package
        clip = update_package(ctx, footage, clip)
        assert clip.package is None and not folder.exists()
    finally:
        ctx.close()


def test_a_bad_sidecar_setting_fails_its_footage_only(isolated_env: Path) -> None:
    """Finding 5: an unknown `subtitle_profile` in one sidecar made every run fail."""
    ctx = Context.open(load_settings())
    try:
        bad, _ = add_footage(ctx.catalog, isolated_env, "bad", "public", [], subtitle_profile="x")
        good, _ = add_footage(ctx.catalog, isolated_env, "good", "public", [])
        plan = {work.footage.id: work for work in make_plan(ctx).footage}
    finally:
        ctx.close()
    assert "unknown subtitle profile 'x'" in plan[bad].problem
    assert "corrected bad.yaml in the inbox" in plan[bad].problem
    assert not plan[good].problem and plan[good].transcripts


def test_footage_that_stopped_runs_waits_for_a_person(isolated_env: Path) -> None:
    """Finding 13: a footage that OOM-killed the run was retried forever at the head."""
    ctx = Context.open(load_settings())
    try:
        footage, _ = add_footage(ctx.catalog, isolated_env, "huge", "public", [])
        other, _ = add_footage(ctx.catalog, isolated_env, "fine", "public", [])
        for _ in range(MAX_ATTEMPTS - 1):  # runs that started on it and were killed
            ctx.catalog.start_attempt(footage)
        assert [w.footage.id for w in make_plan(ctx).footage] == [other, footage]  # last
    finally:
        ctx.close()
    voices("run")  # its transcripts are missing, so the run would work on it
    report = by_id(footage)
    assert report["status"] == "failed" and f"voices retry {footage}" in report["error"]
    ctx = Context.open(load_settings())
    try:
        assert footage not in [w.footage.id for w in make_plan(ctx).footage]
    finally:
        ctx.close()
    assert voices("retry", str(footage))[0] == 0
    ctx = Context.open(load_settings())
    try:
        assert footage in [w.footage.id for w in make_plan(ctx).footage]
    finally:
        ctx.close()


def test_markup_in_names_and_titles_is_printed_as_it_is(isolated_env: Path) -> None:
    """Finding 16: Rich markup in a title crashed `voices status`."""
    catalog = open_catalog(load_settings())
    try:
        _, (clip, _) = add_footage(
            catalog, isolated_env, "markup", "public", [], source_name="[b]x[/].mp4"
        )
    finally:
        catalog.close()
    code, output = voices("edit", str(clip), "--title", "[/red]t")
    assert code == 0 and "[/red]t" in output
    code, output = voices("status")  # a table: its narrow columns may wrap the text
    assert code == 0 and "[/red" in output and "[b]x" in output
    [footage] = status()["footage"]
    assert footage["source_name"] == "[b]x[/].mp4" and footage["clips"][0]["title"] == "[/red]t"


def test_a_late_sidecar_is_applied_and_a_wrong_one_is_refused_with_its_reason(
    isolated_env: Path, channels_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICES_INGEST__SETTLE_SECONDS", "0")
    catalog = open_catalog(load_settings())
    try:
        footage_id, (clip, _) = add_footage(catalog, isolated_env, "late", "public", [ADULT])
        sha = catalog.footage(footage_id).sha256
    finally:
        catalog.close()
    assert voices("approve", str(clip))[0] == 0
    assert voices("publish")[0] == 0
    assert publications(clip)["folder"]["status"] == "published"
    inbox = isolated_env / "inbox"
    (inbox / f"{sha[:16]}.yaml").write_text("consent: yes please\n", "utf-8")
    ctx = Context.open(load_settings())
    try:
        [refused] = ingest_inbox(ctx)
        assert refused.kind == "rejected" and "consent" in refused.reason
        (inbox / f"{sha[:16]}.yaml").write_text("consent: partners\n", "utf-8")
        [applied] = ingest_inbox(ctx)
    finally:
        ctx.close()
    assert applied.kind == "sidecar" and "consent changed" in applied.reason
    assert (isolated_env / "rejected" / f"{sha[:16]}.yaml.reason.txt").is_file()
    assert not list(inbox.iterdir())
    library = isolated_env / "library" / sha[:2] / sha
    assert (library / "sidecar.yaml").read_text("utf-8") == "consent: partners\n"
    report = by_id(footage_id)
    assert report["consent"] == "partners"
    actions = [a["action"] for a in report["audit"]]
    assert actions.index("sidecar") < actions.index("takedown")
    assert {p["status"] for p in publications(clip).values()} == {"taken_down"}
    assert not list(channels_env["drop"].glob("*.mp4"))
    catalog = open_catalog(load_settings())
    try:
        folder = publication(catalog, clip, "folder")
        assert folder.taken_down_at is not None and folder.takedown_answer
    finally:
        catalog.close()


def test_withdrawn_consent_takes_the_clip_down_everywhere_at_once(
    isolated_env: Path, channels_env: dict[str, Any]
) -> None:
    """Published to the YouTube and Telegram stand-ins and a folder, then the family withdraws:
    every stand-in received the delete, the portal answers 404 at once, the ledger says
    `taken_down` (when, by whom, the remote's answer), the audit log says who asked."""
    youtube: FakeYouTube = channels_env["youtube"]
    telegram: FakeTelegram = channels_env["telegram"]
    catalog = open_catalog(load_settings())
    try:
        footage, (clip, _) = add_footage(catalog, isolated_env, "mother", "public", [ADULT])
        token = add_partner(catalog, "School 12")
    finally:
        catalog.close()
    assert voices("approve", str(clip))[0] == 0
    assert voices("publish")[0] == 0
    assert {p["status"] for p in publications(clip).values()} == {"published"}
    [video_id] = youtube.videos
    [message] = telegram.messages
    with serve(create_app(load_settings())) as base:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            assert http.get(f"/clips/{clip}/video/vertical").status_code == 200

            code, output = voices("consent", str(footage), "--withdraw", "--by", "Aida")

            assert code == 0, output
            assert http.get(f"/clips/{clip}/video/vertical").status_code == 404
            assert f"clip-{clip}" not in http.get("/").text
    assert video_id not in youtube.videos
    assert any(r.method == "DELETE" and r.query.get("id") == video_id for r in youtube.received)
    assert [m for _, m in telegram.deleted] == [message.message_id]
    assert not list(channels_env["drop"].glob("*.mp4"))
    report = publications(clip)
    assert {p["status"] for p in report.values()} == {"taken_down"}
    for taken in report.values():
        assert taken["taken_down_at"] and taken["taken_down_by"] == "Aida"
        assert taken["takedown_answer"]
    [summary] = [f for f in status()["footage"] if f["id"] == footage]
    assert summary["consent"] == "internal" and summary["clips"][0]["package"] is None
    audit = [(a["actor"], a["action"]) for a in summary["audit"]]
    assert ("Aida", "consent") in audit and audit.count(("Aida", "takedown")) == 3

    assert voices("publish")[0] == 0  # nothing goes out again
    assert video_id not in youtube.videos and len(telegram.messages) == 0


def test_a_takedown_that_fails_stays_visible_and_is_tried_again(
    isolated_env: Path, channels_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    youtube: FakeYouTube = channels_env["youtube"]
    catalog = open_catalog(load_settings())
    try:
        footage, (clip, _) = add_footage(catalog, isolated_env, "retry", "public", [ADULT])
    finally:
        catalog.close()
    assert voices("approve", str(clip))[0] == 0
    assert voices("publish")[0] == 0
    monkeypatch.setenv("VOICES_YOUTUBE__ENABLED", "false")  # its token is elsewhere today

    code, output = voices("consent", str(footage), "--set", "partners")

    assert code == 1 and "not yet taken down" in output and "youtube" in output
    pending = publications(clip)["youtube"]
    assert pending["status"] == "takedown_pending" and "not enabled here" in pending["error"]
    assert publications(clip)["telegram"]["status"] == "taken_down"
    assert youtube.videos  # still there: nothing claimed success it did not get
    monkeypatch.setenv("VOICES_YOUTUBE__ENABLED", "true")
    code, output = voices("publish")
    assert code == 0, output
    assert publications(clip)["youtube"]["status"] == "taken_down" and not youtube.videos


def test_each_file_is_recorded_as_it_is_filed_and_orphans_are_recovered(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 6: a crash half-way through a batch left originals in the library with no
    catalog row. Each file is now recorded as it is filed, and an original the catalog does not
    know (left by an older version) is recorded on the next run."""
    inbox = isolated_env / "inbox"
    inbox.mkdir(parents=True)
    for name in ("a.wav", "b.wav"):
        shutil.copy(data("jfk.wav"), inbox / name)
    with (inbox / "b.wav").open("ab") as handle:
        handle.write(b"\0" * 3200)  # other bytes
    real = media.ingest.ingest_file
    calls = []

    def crash_on_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(media.ingest, "ingest_file", crash_on_second)
    ctx = Context.open(load_settings())
    try:
        with pytest.raises(RuntimeError):
            ingest_inbox(ctx)
        [first] = ctx.catalog.all_footage()
        assert first.source_name == "a.wav" and first.library_path is not None
        monkeypatch.setattr(media.ingest, "ingest_file", real)

        orphan = isolated_env / "library" / "ab" / ("ab" * 32) / "original.wav"
        orphan.parent.mkdir(parents=True)
        shutil.copy(data("jfk.wav"), orphan)
        (orphan.parent / "sidecar.yaml").write_text("consent: partners\n", "utf-8")
        assert make_plan(ctx).orphans == (orphan,)
        results = {r.kind: r for r in ingest_inbox(ctx)}
        assert set(results) == {"recovered", "accepted"}  # the orphan, and b.wav
        recovered = ctx.catalog.footage(results["recovered"].footage_id)
        assert recovered.library_path == orphan and recovered.consent == "partners"
        assert recovered.status == "ingested" and recovered.duration_ms
        assert make_plan(ctx).orphans == ()
    finally:
        ctx.close()


def test_machine_captions_in_a_language_the_model_hears_badly_wait_for_a_person(
    isolated_env: Path, channels_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICES_TRANSCRIPTION__PUBLISH_DRAFTS", "false")
    catalog = open_catalog(load_settings())
    try:
        footage, (clip, _) = add_footage(catalog, isolated_env, "ky", "public", [ADULT])
        library = catalog.footage(footage).library_path
    finally:
        catalog.close()
    assert library is not None
    assert voices("approve", str(clip))[0] == 0
    assert voices("publish")[0] == 0
    blocked = publications(clip)["youtube"]
    assert blocked["status"] == "blocked" and "machine draft in ky" in blocked["error"]
    assert f"voices correct {footage}" in blocked["error"]
    assert status()["footage"][0]["subtitles"] == {}  # the world made no footage tracks
    (library.parent / "correction.ky.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nСалам\n")
    assert voices("publish")[0] == 0  # corrected by a person: no longer a draft
    assert publications(clip)["youtube"]["status"] == "published"
