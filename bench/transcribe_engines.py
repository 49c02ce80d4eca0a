"""faster-whisper vs openai-whisper on the same weights and the same decoded audio.

Both engines run the bundled Whisper base weights (the openai-whisper checkpoint is converted
from the CTranslate2 model), on the same 16 kHz samples, with the same decoding options.
Real-time factor (RTF) = processing seconds / audio seconds: lower is faster.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from media.audio import SAMPLE_RATE, decode_audio
from subtitles.engines import Audio, TranscribeOptions, transcribe
from subtitles.models import Transcript
from subtitles.weights import resolve_model

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SPEECH = DATA / "bush_columbia_address_2003.ogg"


def _best_of(repeat: int, audio: Audio, options: TranscribeOptions) -> tuple[float, Transcript]:
    transcribe(audio[: SAMPLE_RATE * 5], options)  # load the model and warm up
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = transcribe(audio, options)
        best = min(best, time.perf_counter() - started)
    assert result is not None
    return best, result


def run(seconds: float, repeat: int) -> None:
    audio = decode_audio(SPEECH)[: int(SAMPLE_RATE * seconds)]
    duration = len(audio) / SAMPLE_RATE
    cache = Path(tempfile.gettempdir()) / "voices-bench-models"
    runs = [
        ("faster-whisper", "float32"),
        ("openai-whisper", "float32"),
        ("faster-whisper", "int8"),
    ]
    rows = []
    for engine, compute_type in runs:
        options = TranscribeOptions(
            engine=engine,
            model=resolve_model("base", engine, cache),
            model_label="base",
            compute_type=compute_type,
            language="en",
            vad=False,
        )
        elapsed, transcript = _best_of(repeat, audio, options)
        rows.append((engine, compute_type, elapsed, transcript))
    reference = rows[1][2]
    print(
        f"\nTranscription, Whisper base, {duration:.1f} s of speech, best of {repeat} runs, "
        "same weights and audio, no VAD"
    )
    print(f"{'engine':<16} {'precision':<10} {'seconds':>8} {'RTF':>7} {'vs openai':>10}")
    for engine, compute_type, elapsed, _ in rows:
        print(
            f"{engine:<16} {compute_type:<10} {elapsed:8.2f} {elapsed / duration:7.3f} "
            f"{reference / elapsed:9.2f}x"
        )
    same = rows[0][3].text == rows[1][3].text
    print(f"fp32 transcripts identical across engines: {same}")
