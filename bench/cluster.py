"""Throughput of a cluster: the same batch processed by one worker, then by two, on a real
cluster each time (`flows.cluster`: PostgreSQL, a Prefect server, process workers), handed over
by what `voices run` calls (`flows.handover`). Measured side by side in one run:

- wall-clock seconds from hand-over to the last footage done, and the ratio 1 worker / 2;
- the per-stage cost (task run time from Prefect, per minute of footage) in the one-worker run,
  where no stage competes with another for the cores;
- from those costs, an estimate of how many workers keep up with N hours of footage a day.

The batch: `--footage` interviews cut from the Columbia address (real speech), each
`--seconds` long over a 640x360 test picture, each with different bytes; settings as the
defaults but for `clips.max_candidates` (1) so every footage makes one clip in every profile.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from media.ffmpeg import file_arg, run_ffmpeg

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SPEECH = DATA / "bush_columbia_address_2003.ogg"
# Hours a worker is busy in a day, for the estimate: a margin for reruns and peaks.
BUSY_HOURS = 20.0
# A GPU worker's real-time factor for transcription is not measured here (no GPU on this
# machine); faster-whisper's own published figures put Whisper base on a recent GPU well under
# this, so it stands as a cautious assumption, printed as such.
ASSUMED_GPU_RTF = 0.02


def _batch(folder: Path, count: int, seconds: float) -> list[Path]:
    made = []
    for index in range(count):
        path = folder / f"interview-{index + 1}.mp4"
        run_ffmpeg(
            [
                *("-y", "-f", "lavfi", "-i", f"testsrc2=s=640x360:r=25,hue=h={index * 40}"),
                *("-ss", f"{index * seconds}", "-i", file_arg(SPEECH)),
                *("-map", "0:v", "-map", "1:a", "-t", f"{seconds}", "-c:v", "libx264"),
                *("-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac"),
                file_arg(path),
            ]
        )
        made.append(path)
    return made


def _one(workers: int, batch: list[Path], root: Path) -> tuple[float, dict[str, float]]:
    """Seconds from hand-over to done, and task seconds by stage."""
    from config import load_settings
    from flows import cluster
    from flows.handover import hand_over

    workspace = root / f"workers-{workers}"
    (workspace / "inbox").mkdir(parents=True)
    (workspace / "voices.yaml").write_text("clips:\n  max_candidates: 1\n", encoding="utf-8")
    for path in batch:
        shutil.copy(path, workspace / "inbox" / path.name)
        path_yaml = workspace / "inbox" / f"{path.stem}.yaml"
        path_yaml.write_text("language: en\nconsent: public\n", encoding="utf-8")
    state = cluster.start(workspace, workers=workers, say=lambda _line: None)
    try:
        settings = load_settings(workspace)
        started = time.perf_counter()
        result = hand_over(settings, lambda _label, _fraction: None)
        elapsed = time.perf_counter() - started
        if not result.ok or len(result.footage) != len(batch):
            raise RuntimeError(f"the batch did not finish: {result}")
        return elapsed, _stages(settings.cluster.api_url, result.batch)
    finally:
        cluster.stop(workspace, say=lambda _line: None)
        if Path(state.pg_data).parent.name.startswith("voices-cluster-"):
            shutil.rmtree(Path(state.pg_data).parent, ignore_errors=True)


def _stages(api_url: str, batch: str) -> dict[str, float]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
    from prefect.client.schemas.sorting import TaskRunSort
    from prefect.settings import PREFECT_API_URL, temporary_settings

    totals: dict[str, float] = defaultdict(float)
    with (
        temporary_settings(updates={PREFECT_API_URL: api_url}),
        get_client(sync_client=True) as client,
    ):
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[batch])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=1000,
        )
    for run in runs:
        stage = run.name.rsplit("-", 1)[0]
        totals[stage] += run.total_run_time.total_seconds()
    return dict(totals)


def run(footage: int = 6, seconds: float = 30.0) -> None:
    root = Path(tempfile.mkdtemp(prefix="voices-bench-cluster-"))
    root.chmod(0o755)
    try:
        batch = _batch(root, footage, seconds)
        minutes = footage * seconds / 60
        one, stages = _one(1, batch, root)
        two, _ = _one(2, batch, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"\nCluster throughput: {footage} interviews x {seconds:g} s = {minutes:g} min of footage"
    )
    print(f"{'workers':<8} {'seconds':>8} {'footage min / wall min':>23} {'vs 1 worker':>12}")
    for count, took in ((1, one), (2, two)):
        print(f"{count:<8} {took:8.1f} {minutes / (took / 60):23.2f} {one / took:11.2f}x")
    print("\nPer-stage cost, one worker (task seconds per minute of footage):")
    for stage, total in sorted(stages.items(), key=lambda item: -item[1]):
        print(f"  {stage:<18} {total / minutes:7.1f}")
    _estimate(stages, minutes, one, footage)


def _estimate(stages: dict[str, float], minutes: float, wall: float, footage: int) -> None:
    """Workers that keep up with a day's footage, from the one-worker costs."""
    whisper = stages.get("transcribe", 0.0) / minutes  # s per footage minute
    rest = sum(v for k, v in stages.items() if k != "transcribe") / minutes
    overhead = max(0.0, wall / minutes - whisper - rest)  # run start-up, hand-over, polling
    gpu = ASSUMED_GPU_RTF * 60
    print(
        f"\nEstimate ({BUSY_HOURS:g} busy hours a day per worker; per footage minute: "
        f"transcription {whisper:.1f} s, the rest {rest:.1f} s, run overhead {overhead:.1f} s"
        f" measured on this 2-core machine; a GPU's transcription {gpu:.1f} s assumed, "
        f"RTF {ASSUMED_GPU_RTF:g}, not measured):"
    )
    print(f"{'hours/day':>9} {'CPU workers only':>17} {'GPU transcribers':>17} {'CPU workers':>12}")
    for hours in (1, 4, 10, 24):
        per_day = hours * 60  # footage minutes
        budget = BUSY_HOURS * 3600
        cpu_only = per_day * (whisper + rest + overhead) / budget
        gpu_workers = per_day * (gpu + overhead / 2) / budget
        cpu_rest = per_day * (rest + overhead / 2) / budget
        print(f"{hours:>9} {_ceil(cpu_only):>17} {_ceil(gpu_workers):>17} {_ceil(cpu_rest):>12}")


def _ceil(value: float) -> int:
    return max(1, int(-(-value // 1)))
