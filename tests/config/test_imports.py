"""Loading settings stays light: no media stack, no model runtime, no Prefect.

The CLI and every worker load settings first; pulling in PyAV, numpy or a transcription engine
there costs seconds and ties settings to libraries they do not use.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("av", "numpy", "faster_whisper", "ctranslate2", "prefect", "torch", "moviepy")

PROGRAM = f"""
import json, sys
from pathlib import Path
import config
settings = config.load_settings(Path(sys.argv[1]))
assert settings.render.profile("vertical").width == 1080
print(json.dumps(sorted(name for name in {HEAVY!r} if name in sys.modules)))
"""


def test_loading_settings_imports_no_media_stack_or_engine(tmp_path: Path) -> None:
    # A fresh interpreter: this test process has loaded all of them already.
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path / "workspace")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
