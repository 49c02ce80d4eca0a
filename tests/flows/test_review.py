"""Approval from Prefect's UI: the review run pauses and a person's input resumes it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.flow_runs import resume_flow_run

from catalog import Catalog
from catalog.store import ClipDraft
from config import load_settings
from flows.publish import review_flow

pytestmark = pytest.mark.usefixtures("prefect_api")


def make_clips(workspace: Path) -> tuple[int, int]:
    catalog = Catalog(load_settings().catalog_url)
    try:
        footage = catalog.record_footage(
            "ab" * 32, "talk.mp4", "processed", "/x", library_path="/x"
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


def paused_run_id() -> object:
    state = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(state=state), sort=FlowRunSort.ID_DESC, limit=5
        )
    return runs[0].id if runs else None


def test_review_run_waits_for_a_decision(isolated_env: Path) -> None:
    first, second = make_clips(isolated_env)
    result: dict[str, object] = {}
    runner = threading.Thread(
        target=lambda: result.update(review_flow(str(isolated_env), timeout_hours=0.05))
    )
    runner.start()
    deadline = time.monotonic() + 60
    run_id = None
    while run_id is None and time.monotonic() < deadline:
        time.sleep(1)
        run_id = paused_run_id()
    assert run_id is not None, "the review run never paused"

    resume_flow_run(run_id, run_input={"approve": [first], "reject": [second]})  # type: ignore[arg-type]
    runner.join(timeout=60)

    assert result == {"approved": [first], "rejected": [second]}
    catalog = Catalog(load_settings().catalog_url)
    try:
        assert catalog.clip(first).status == "approved"
        assert catalog.clip(first).approved_at is not None
        assert catalog.clip(second).status == "rejected"
    finally:
        catalog.close()
