"""Channels do no media work: what they need about a video (its size, a preview) comes from the
render step in the `PublishRequest`, so no channel imports the media package or PyAV. And every
channel is a whole `Channel` (checked by mypy through `as_channels`)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import channels
from channels.base import Channel
from channels.folder import FolderChannel
from channels.telegram import TelegramChannel
from channels.youtube import YouTubeChannel

CHANNELS_DIR = Path(channels.__file__).parent
FORBIDDEN = ("av", "media", "numpy")


def imported_modules(path: Path) -> set[str]:
    """Every module an `import` or `from ... import` in `path` names, anywhere in the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_channel_module_imports_media_or_pyav() -> None:
    sources = sorted(CHANNELS_DIR.glob("*.py"))
    assert CHANNELS_DIR / "telegram.py" in sources
    offending = {
        f"{path.name}: {name}"
        for path in sources
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
    }
    assert offending == set()


def test_importing_telegram_loads_no_media_stack() -> None:
    program = (
        "import json, sys, channels.telegram\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def as_channels(
    youtube: YouTubeChannel, telegram: TelegramChannel, folder: FolderChannel
) -> list[Channel]:
    """Fails type checking when a channel lacks part of the interface (`take_down`...)."""
    return [youtube, telegram, folder]


def test_every_channel_can_take_a_clip_down() -> None:
    for kind in (YouTubeChannel, TelegramChannel, FolderChannel):
        assert callable(getattr(kind, "take_down", None)), kind.__name__
