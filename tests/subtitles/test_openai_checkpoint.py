"""The CTranslate2 -> openai-whisper checkpoint converter."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from subtitles.openai_checkpoint import CheckpointError, convert_ct2_to_openai, load_openai_model

# Options under which faster-whisper (CTranslate2, fp32) and openai-whisper (torch, fp32) give
# byte-identical segment texts: beam search of 5, one temperature, no VAD. Everything not
# named here is each engine's default, which already agree (patience 1, length penalty 1,
# suppress_tokens [-1], suppress_blank, max_initial_timestamp 1.0, thresholds 2.4 / -1.0 / 0.6).
COMMON: dict[str, Any] = {
    "beam_size": 5,
    "language": "en",
    "word_timestamps": True,
    "temperature": 0.0,
    "condition_on_previous_text": True,
}


@pytest.mark.slow
def test_converted_checkpoint_transcribes_like_ctranslate2(
    ct2_base_dir: Path, jfk_wav: Path, tmp_path: Path
) -> None:
    from faster_whisper import WhisperModel, decode_audio

    checkpoint = convert_ct2_to_openai(ct2_base_dir, tmp_path / "base.pt")
    assert checkpoint == tmp_path / "base.pt"
    assert [p.name for p in tmp_path.iterdir()] == ["base.pt"]  # no temporary file left

    audio = decode_audio(str(jfk_wav), sampling_rate=16000)
    ct2 = WhisperModel(str(ct2_base_dir), device="cpu", compute_type="float32")
    segments, _ = ct2.transcribe(audio, vad_filter=False, **COMMON)
    ct2_texts = [segment.text for segment in segments]

    model = load_openai_model(checkpoint, ct2_base_dir / "config.json")
    heads = model.alignment_heads.to_dense().nonzero().tolist()
    assert heads == [[3, 1], [4, 2], [4, 3], [4, 7], [5, 1], [5, 2], [5, 4], [5, 6]]
    result = model.transcribe(audio, fp16=False, **COMMON)
    openai_texts = [segment["text"] for segment in result["segments"]]

    assert openai_texts == ct2_texts
    assert "ask not what your country can do for you" in "".join(ct2_texts)


@pytest.mark.parametrize("keep_bytes", [0, 10, 1_000, 5_000_000])
def test_truncated_model_bin_raises_checkpoint_error(
    ct2_base_dir: Path, tmp_path: Path, keep_bytes: int
) -> None:
    broken = tmp_path / "ct2"
    broken.mkdir()
    shutil.copy(ct2_base_dir / "config.json", broken / "config.json")
    with (ct2_base_dir / "model.bin").open("rb") as src:
        (broken / "model.bin").write_bytes(src.read(keep_bytes))

    with pytest.raises(CheckpointError, match=r"model\.bin.*fix:"):
        convert_ct2_to_openai(broken, tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()


def test_missing_model_bin_raises_checkpoint_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        convert_ct2_to_openai(tmp_path, tmp_path / "out.pt")
