"""The deployments, declared once, from the settings: for `voices serve` (one machine, its own
runner) and for a cluster (`voices cluster`: a work pool and its workers).

    voices-process/process   every `schedule.process_every_minutes`: ingest and process
                             (in a cluster: ingest, then one `footage` run per footage)
    voices-footage/footage   a cluster only: one footage, for whichever worker is free
    voices-footage/transcribe  a cluster with `cluster.transcribe_pool`: the Whisper part of a
                             footage, on that pool's (GPU) workers; it hands on the rest
    voices-publish/publish   on `schedule.publish_cron` in `schedule.timezone`: publish
    voices-review/review     no schedule: run it from the UI to approve clips there
    voices-check/check       daily on `schedule.check_cron`: are the channels' tokens still good?

A cluster's deployments name their flows by module (`flows.process.process_flow`), so each
worker runs the voices installed on its machine: no code is copied or pulled.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from config import Settings

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment


def deployments(
    settings: Settings, config_file: Path | None, cluster: bool = False
) -> list[RunnerDeployment]:
    from prefect.schedules import Cron, Interval
    from prefect.types.entrypoint import EntrypointType

    from flows.process import footage_flow, process_flow
    from flows.publish import check_flow, publish_flow, review_flow

    # A cluster's workers read the workspace where their machine mounts it (VOICES_WORKSPACE).
    parameters: dict[str, Any] = {
        "workspace": "" if cluster else str(settings.workspace),
        "config_file": None if cluster else (str(config_file) if config_file else None),
    }
    zone = settings.schedule.timezone
    every = timedelta(minutes=settings.schedule.process_every_minutes)
    extra: dict[str, Any] = {}
    if cluster:
        extra = {
            "work_pool_name": settings.cluster.pool,
            "entrypoint_type": EntrypointType.MODULE_PATH,
        }
    made = [
        process_flow.to_deployment(
            name="process",
            schedules=[Interval(every)],
            parameters={**parameters, "dispatch": cluster},
            **extra,
        ),
        publish_flow.to_deployment(
            name="publish",
            parameters=parameters,
            schedules=[Cron(settings.schedule.publish_cron, timezone=zone)],
            **extra,
        ),
        review_flow.to_deployment(
            name="review", parameters={"workspace": parameters["workspace"]}, **extra
        ),
        check_flow.to_deployment(
            name="check",
            parameters=parameters,
            schedules=[Cron(settings.schedule.check_cron, timezone=zone)],
            **extra,
        ),
    ]
    if cluster:
        made.append(footage_flow.to_deployment(name="footage", parameters=parameters, **extra))
    if cluster and settings.cluster.transcribe_pool:
        made.append(
            footage_flow.to_deployment(
                name="transcribe",
                parameters={**parameters, "stage": "transcribe"},
                **{**extra, "work_pool_name": settings.cluster.transcribe_pool},
            )
        )
    # to_deployment is sync-or-async in Prefect's types; called here it returns the deployment.
    return [cast("RunnerDeployment", d) for d in made]
