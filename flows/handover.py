"""`voices run` on a cluster: the work goes to the cluster's workers, and this waits for it.

1. A run of `voices-process/process` with `dispatch` is created for the work pool and waited
   for: a worker files the inbox and turns each footage that needs work into a run of
   `voices-footage/footage`, all tagged with this hand-over's batch tag.
2. Those runs are followed until every one has ended, with progress per footage.
3. A footage whose run is still "running" although nobody holds its lease any more (its worker
   was killed or lost: it stopped renewing) is handed out again, to whichever worker is free,
   and the dead run is marked Crashed, so nothing waits for a worker that is gone.
4. What became of each footage is read from the catalog, which every worker writes.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

import httpx

from catalog import leases
from catalog.leases import footage_lease
from catalog.store import Catalog
from config import Settings

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun

PROCESS_DEPLOYMENT = "voices-process/process"
POLL_S = 1.0
# A run that has not ended this long after its footage's lease lapsed is taken for dead.
GRACE_S = 20.0
MAX_HANDOUTS = 3


class HandOverError(Exception):
    """The cluster cannot take the work; the message says what to do."""


@dataclass
class FootageOutcome:
    footage_id: int
    source_name: str
    status: str
    processed_by: str
    error: str
    handed_out: int = 1


@dataclass
class HandOver:
    """What a hand-over came to."""

    batch: str
    coordinator: str  # the process run's final state and message
    footage: list[FootageOutcome] = field(default_factory=list)
    failed_runs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed_runs and all(f.status != "failed" for f in self.footage)


Progress = Callable[[str, float], None]


def hand_over(settings: Settings, progress: Progress) -> HandOver:
    """Hand the workspace's work to the cluster and follow it. The workers read the workspace
    where their machines mount it, with its own settings files (voices.yaml, cluster.yaml)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    url = settings.cluster.api_url
    _check_server(url)
    batch = f"voices-run-{secrets.token_hex(4)}"
    with (
        temporary_settings(updates={PREFECT_API_URL: url}),
        get_client(sync_client=True) as client,
    ):
        coordinator = _start(
            PROCESS_DEPLOYMENT,
            {"workspace": "", "config_file": None, "dispatch": True, "batch": batch},
            batch,
            "process (voices run)",
        )
        final = _wait_for(client, coordinator, progress, "filing the inbox")
        result = HandOver(batch=batch, coordinator=_describe(final))
        if final.state is None or not final.state.is_completed():
            result.failed_runs.append(f"process: {_describe(final)}")
        catalog = Catalog(settings.catalog_url, settings.workspace)
        try:
            _follow(client, catalog, settings, batch, coordinator, progress, result)
        finally:
            catalog.close()
    return result


def _check_server(url: str) -> None:
    try:
        httpx.get(f"{url}/health", timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        raise HandOverError(
            f"the cluster's Prefect server at {url} does not answer ({exc.__class__.__name__}): "
            "start the cluster (`make cluster` or `voices cluster start`), or remove "
            "cluster.api_url from the workspace's settings to run on this machine"
        ) from exc


def _start(deployment: str | UUID, parameters: dict[str, Any], batch: str, name: str) -> FlowRun:
    from prefect.deployments import run_deployment

    run = run_deployment(
        deployment,
        parameters=parameters,
        timeout=0,
        as_subflow=False,
        tags=[batch],
        flow_run_name=name[:120],
    )
    return cast("FlowRun", run)


def _wait_for(client: SyncPrefectClient, run: FlowRun, progress: Progress, label: str) -> FlowRun:
    while True:
        run = client.read_flow_run(run.id)
        state = run.state
        if state is not None and state.is_final():
            progress(label, 1.0)
            return run
        progress(label, 0.5 if state is not None and state.is_running() else 0.0)
        time.sleep(POLL_S)


def _follow(
    client: SyncPrefectClient,
    catalog: Catalog,
    settings: Settings,
    batch: str,
    coordinator: FlowRun,
    progress: Progress,
    result: HandOver,
) -> None:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.states import Crashed

    handouts: dict[int, int] = {}
    names: dict[int, str] = {}
    while True:
        # limit and sort given: the server refuses the nulls the client sends otherwise.
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[batch])),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
            limit=200,
        )
        footage_runs = [r for r in runs if r.id != coordinator.id]
        live = leases.live(catalog, "footage:")
        going = 0
        for run in footage_runs:
            footage_id = int(run.parameters["footage_id"])
            handouts[footage_id] = max(handouts.get(footage_id, 1), 1)
            names.setdefault(footage_id, catalog.footage(footage_id).source_name)
            state = run.state
            if state is None or not state.is_final():
                going += 1
            if state is None or state.is_final():
                progress(names[footage_id], 1.0)
                continue
            progress(names[footage_id], 0.5 if state.is_running() else 0.0)
            if _dead(state, footage_lease(footage_id) in live, settings.cluster.lease_seconds):
                client.set_flow_run_state(
                    run.id,
                    Crashed(message="its worker stopped renewing the footage's lease (lost)"),
                    force=True,
                )
                if handouts[footage_id] < MAX_HANDOUTS and run.deployment_id is not None:
                    handouts[footage_id] += 1  # the same work again, for the same pool
                    _start(run.deployment_id, dict(run.parameters), batch, f"{run.name} (again)")
        if going == 0:
            break
        time.sleep(POLL_S)
    latest: dict[int, FlowRun] = {}
    for run in sorted(footage_runs, key=lambda r: r.created or datetime.min.replace(tzinfo=UTC)):
        latest[int(run.parameters["footage_id"])] = run
    for footage_id, run in sorted(latest.items()):
        record = catalog.footage(footage_id)
        # A footage that failed says why in the catalog; a run that failed otherwise (a clip,
        # a crash) says it here.
        ended_badly = run.state is not None and (run.state.is_crashed() or run.state.is_failed())
        if ended_badly and record.status != "failed":
            result.failed_runs.append(f"{record.source_name}: {_describe(run)}")
        result.footage.append(
            FootageOutcome(
                footage_id=footage_id,
                source_name=record.source_name,
                status=record.status,
                processed_by=record.processed_by,
                error=record.error,
                handed_out=handouts.get(footage_id, 1),
            )
        )


def _dead(state: Any, leased: bool, lease_seconds: float) -> bool:
    """A run that is going (pending or running) but whose footage nobody holds, long enough
    after its state began that its worker would have taken and renewed the lease."""
    if leased or state.is_scheduled():
        return False
    began = state.timestamp
    if began is None:
        return False
    waited = float((datetime.now(UTC) - began).total_seconds())
    return waited > lease_seconds + GRACE_S


def _describe(run: FlowRun) -> str:
    state = run.state
    if state is None:
        return "no state"
    return f"{state.name}" + (f": {state.message}" if state.message else "")
