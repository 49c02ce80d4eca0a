"""Token files: JSON written atomically with mode 0600, never losing a refresh token.

A reconnect that wiped the stored refresh token disconnected channels hourly in other
publishing tools; `save_token` keeps the earlier refresh token when the new one lacks it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def save_token(token_file: Path, info: dict[str, Any]) -> None:
    """Replace `token_file` with `info` in one step; the file is only ever readable by us."""
    info = dict(info)
    if not info.get("refresh_token") and token_file.exists():
        earlier = json.loads(token_file.read_text(encoding="utf-8")).get("refresh_token")
        if earlier:
            info["refresh_token"] = earlier
    token_file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=token_file.parent, prefix=f".{token_file.name}.")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(info, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, token_file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
