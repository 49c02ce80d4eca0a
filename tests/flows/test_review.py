"""Approval from Prefect's UI: the review run pauses and a person's input resumes it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.flow_runs import resume_flow_run

from catalog.models import ClipDraft, NewFootage
from config import load_settings
from flows.publish import review_flow
from pipeline.context import open_catalog

pytestmark = pytest.mark.usefixtures("prefect_api")


def make_clips(workspace: Path) -> tuple[int, int]:
    catalog = open_catalog(load_settings())
    try:
        footage = catalog.record_footage(
            NewFootage(
                sha256="ab" * 32,
                source_name="talk.mp4",
                status="processed",
                path=Path("/x"),
                library_path=Path("/x"),
            )
        )
        catalog.sync_clips(
            footage,
            [
                ClipDraft(start_ms=0, end_ms=20_000, text="one"),
                ClipDraft(start_ms=30_000, end_ms=50_000, text="two"),
            ],
            "k",
        )
        first, second = (c.id for c in catalog.clips_of(footage))
    finally:
        catalog.close()
    return first, second


def paused_review_run() -> object:
    state = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["voices-review"])),
            flow_run_filter=FlowRunFilter(state=state),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
    return runs[0].id if runs else None


def test_review_run_waits_for_a_decision(isolated_env: Path) -> None:
    first, second = make_clips(isolated_env)
    result: dict[str, object] = {}

    def review() -> None:
        try:
            result.update(review_flow(str(isolated_env), timeout_hours=0.05))
        except BaseException as exc:  # handed to the test below
            result["error"] = exc

    runner = threading.Thread(target=review, daemon=True)
    runner.start()
    deadline = time.monotonic() + 60
    run_id = None
    while run_id is None and time.monotonic() < deadline and runner.is_alive():
        time.sleep(1)
        run_id = paused_review_run()
    assert run_id is not None, f"the review run never paused: {result}"

    decision = {"approve": [first], "reject": [second], "publish_at": "2026-12-01T10:00:00"}
    resume_flow_run(run_id, run_input=decision)  # type: ignore[arg-type]
    runner.join(timeout=60)

    assert result == {"approved": [first], "rejected": [second]}
    catalog = open_catalog(load_settings())
    try:
        assert catalog.clip(first).decision == "approved"
        assert catalog.clip(first).approved_at is not None
        # A time typed in the UI without a zone is the campaign's (Asia/Bishkek, UTC+6).
        assert catalog.clip(first).publish_at == datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
        assert catalog.clip(second).decision == "rejected"
    finally:
        catalog.close()
