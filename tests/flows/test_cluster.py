"""A real cluster on this machine (`voices cluster start`, what `make cluster` runs): PostgreSQL
for the catalog and for Prefect, a Prefect server, a process work pool and two workers, each a
separate process running one flow run at a time.

- A batch handed over by `voices run` is processed by both workers.
- A worker killed with SIGKILL in the middle of a footage: the footage is finished by the other
  worker once the dead one's lease lapses, and `voices run` says it was handed out again.
- Two publish runs started at once, on the two workers, post each clip once (the folder
  channel; the ledger's compare-and-set and the `voices-publish` limit).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog import leases
from catalog.ledger import publications_of
from catalog.store import Catalog
from config import load_settings
from flows import cluster
from tests.helpers import by_name, data, mux_video, status, voices

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) and not shutil.which("initdb"),
        reason="PostgreSQL's server is not installed (.ci/run installs it)",
    ),
]

LEASE_S = 6


def _voices_run(workspace: Path) -> subprocess.Popen[str]:
    """`voices run` in a process of its own, as a person would start it."""
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "run"],
        env=dict(os.environ, VOICES_WORKSPACE=str(workspace)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def running_cluster(
    isolated_env: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Path]:
    """A cluster of two workers; with the `transcribers` marker, one worker and a transcription
    pool with one worker of its own."""
    workspace = isolated_env
    (workspace / "inbox").mkdir(parents=True)
    drop = tmp_path / "drop"
    drop.mkdir()
    transcribers = request.node.get_closest_marker("transcribers") is not None
    pool = "transcribe" if transcribers else ""
    (workspace / "voices.yaml").write_text(
        f"""
cluster:
  lease_seconds: {LEASE_S}
  transcribe_pool: "{pool}"
clips:
  max_candidates: 1
  min_seconds: 2
  max_seconds: 12
  render: [tv]
folder:
  enabled: true
  path: {drop}
""",
        encoding="utf-8",
    )
    if transcribers:
        state = cluster.start(workspace, workers=1, transcribe_workers=1)
    else:
        state = cluster.start(workspace, workers=2)
    try:
        yield workspace
    finally:
        cluster.stop(workspace)
        data_folder = Path(state.pg_data)
        if data_folder.parent.name.startswith("voices-cluster-"):
            shutil.rmtree(data_folder.parent, ignore_errors=True)


def _drop(inbox: Path, name: str, source: Path) -> None:
    shutil.copy(source, inbox / name)
    (inbox / name).with_suffix(".yaml").write_text("consent: public\n", encoding="utf-8")


def test_a_cluster_shares_the_work_survives_a_killed_worker_and_publishes_once(
    running_cluster: Path, tmp_path: Path
) -> None:
    workspace = running_cluster
    inbox = workspace / "inbox"
    mux_video(data("jfk.wav"), tmp_path / "jfk.mp4")
    _drop(inbox, "jfk.mp4", tmp_path / "jfk.mp4")
    _drop(inbox, "grid-1.mpg", data("grid_swwp2s.mpg"))
    _drop(inbox, "grid-2.mpg", data("grid_lwbsza.mpg"))
    _drop(inbox, "editor.mp4", data("auto_editor_example.mp4"))

    run = _voices_run(workspace)
    output, _ = run.communicate(timeout=900)
    assert run.returncode == 0, output
    report = status()
    assert report["catalog"].startswith("postgresql+psycopg://voices:***@127.0.0.1:")
    first = by_name(report)
    assert {first[n]["status"] for n in first} == {"processed"}, first
    workers = {f["processed_by"] for f in first.values()}
    assert workers == {"worker-1", "worker-2"}, first  # both did some
    assert "processed jfk.mp4 by worker-" in output
    # voices' own log lines are in the Prefect run of that footage, for the UI.
    lines = _logs_of_runs_named(load_settings(workspace).cluster.api_url, "jfk.mp4")
    assert any(
        name == "pipeline.footage" and "jfk.mp4: transcribe in" in message
        for name, message in lines
    ), lines

    # A long footage; its worker is killed (SIGKILL, worker and flow run) while it works.
    _drop(inbox, "address.ogg", data("bush_columbia_address_2003.ogg"))
    run = _voices_run(workspace)
    settings = load_settings(workspace)
    catalog = Catalog(settings.catalog_url, workspace)
    try:
        holder = ""
        deadline = time.monotonic() + 300
        while not holder and time.monotonic() < deadline:
            assert run.poll() is None, run.communicate()[0]
            held = leases.live(catalog, "footage:")
            holder = next(iter(held.values())).holder if held else ""
            time.sleep(0.5)
        assert holder, "no worker took the footage"
        victim = holder.split("/")[0]
        time.sleep(3)  # well into transcription
        cluster.kill_worker(workspace, victim)
        output, _ = run.communicate(timeout=900)
        assert run.returncode == 0, output
        address = by_name(status())["address.ogg"]
        survivor = ({"worker-1", "worker-2"} - {victim}).pop()
        assert address["status"] == "processed" and address["processed_by"] == survivor
        assert "address.ogg by " + survivor + " (handed out 2 times)" in output

        # The killed worker comes back (start again starts what is missing), and two publish
        # runs start at once, one on each worker.
        cluster.start(workspace, workers=2)
        code, approved = voices("approve", "--all")
        assert code == 0, approved
        clip_ids = [c["id"] for f in status()["footage"] for c in f["clips"]]
        assert len(clip_ids) >= 4
        states = _publish_twice_at_once(settings.cluster.api_url)
        # One may step aside ("Skipped": the other holds the `voices-publish` slot); none fails.
        assert set(states) <= {"Completed", "Skipped"} and "Completed" in states, states
        drop = Path(settings.folder.path)
        for clip_id in clip_ids:
            (publication,) = publications_of(catalog, clip_id)
            assert publication.status == "published" and publication.attempts == 1
            assert len(list(drop.glob(f"{clip_id}-*.json"))) == 1
    finally:
        catalog.close()
        if run.poll() is None:
            run.kill()


def _publish_twice_at_once(api_url: str) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        runs = [
            run_deployment("voices-publish/publish", timeout=0, as_subflow=False) for _ in range(2)
        ]
        names = []
        with get_client(sync_client=True) as client:
            for run in runs:
                deadline = time.monotonic() + 600
                while True:
                    state = client.read_flow_run(run.id).state  # type: ignore[union-attr]
                    if state is not None and state.is_final():
                        names.append(str(state.name))
                        break
                    assert time.monotonic() < deadline, "a publish run did not end"
                    time.sleep(1)
    return names


@pytest.mark.transcribers
def test_transcription_runs_on_its_own_pool_and_hands_on_the_rest(
    running_cluster: Path, tmp_path: Path
) -> None:
    workspace = running_cluster
    inbox = workspace / "inbox"
    _drop(inbox, "grid-1.mpg", data("grid_swwp2s.mpg"))
    _drop(inbox, "grid-2.mpg", data("grid_lwbsza.mpg"))

    run = _voices_run(workspace)
    output, _ = run.communicate(timeout=900)
    assert run.returncode == 0, output
    report = by_name(status())
    assert {f["status"] for f in report.values()} == {"processed"}, report
    assert {f["processed_by"] for f in report.values()} == {"worker-1"}
    assert all(f["transcript"] and f["clips"] for f in report.values())

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings(updates={PREFECT_API_URL: load_settings(workspace).cluster.api_url}),
        get_client(sync_client=True) as client,
    ):
        runs = client.read_flow_runs(sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=50)
    by_stage: dict[str, list[str]] = {}
    for flow_run in runs:
        if flow_run.parameters.get("footage_id"):
            stage = flow_run.parameters["stage"]
            by_stage.setdefault(stage, []).append(flow_run.work_pool_name or "")
            assert flow_run.state is not None and flow_run.state.is_completed(), flow_run.name
    assert by_stage == {"transcribe": ["transcribe"] * 2, "all": ["voices"] * 2}


def _logs_of_runs_named(api_url: str, part: str) -> list[tuple[str, str]]:
    """(logger, message) of every log line of the flow runs whose name holds `part`."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import FlowRunSort, LogSort
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings(updates={PREFECT_API_URL: api_url}),
        get_client(sync_client=True) as client,
    ):
        runs = client.read_flow_runs(sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=100)
        ids = [r.id for r in runs if part in r.name]
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)),
            limit=200,
            offset=0,
            sort=LogSort.TIMESTAMP_ASC,
        )
    return [(log.name, log.message) for log in logs]
