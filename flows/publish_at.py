"""A publishing run at the very time a clip was approved for (`voices approve --at`, the
studio's approve with a time), rather than at the next tick of `schedule.publish_cron`.

Where a Prefect server runs the deployments (a cluster's, `cluster.api_url`; one named by
`PREFECT_API_URL`; or the one `voices serve` started for this workspace, whose address it
leaves in `.prefect-server/api_url`), a run of `voices-publish/publish` is scheduled for that
time, once per distinct time (an idempotency key). With no server, nothing can fire at a time:
the clip goes out with the first publishing run after it, and the caller says so.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime

from config import Settings
from flows.embedded import answering, serve_api

log = logging.getLogger(__name__)

PUBLISH_DEPLOYMENT = "voices-publish/publish"


def server_for(settings: Settings) -> str | None:
    """The Prefect API whose workers or runner publish for this workspace, if one answers."""
    candidates = [settings.cluster.api_url, os.environ.get("PREFECT_API_URL", "")]
    candidates.append(serve_api(settings.workspace))
    return next((url for url in candidates if answering(url)), None)


def schedule_publishing(settings: Settings, when: datetime) -> str:
    """Schedule a publishing run for `when`; a sentence for the person who approved."""
    later = "the first publishing run after that time posts it (voices publish, or a schedule)"
    url = server_for(settings)
    if url is None:
        return f"no Prefect server runs the schedules: {later}"
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    key = f"voices-publish-at-{when.isoformat()}"
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}):
            run_deployment(
                PUBLISH_DEPLOYMENT,
                scheduled_time=when,
                timeout=0,
                as_subflow=False,
                idempotency_key=key,
                flow_run_name=f"publish at {when.isoformat(timespec='minutes')}",
            )
    except ObjectNotFound:
        return f"{url} has no {PUBLISH_DEPLOYMENT} deployment: {later}"
    except Exception as exc:  # the approval stands; only the exact run is missing
        log.warning("could not schedule a publishing run at %s: %s", when, exc)
        return f"a publishing run could not be scheduled ({exc}): {later}"
    return f"a publishing run is scheduled for {when.isoformat(timespec='minutes')}"
