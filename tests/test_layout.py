"""Imports run one way: cli -> web -> flows -> pipeline -> {channels, media, subtitles, catalog,
config}.

Read from the source with `ast` (every import, at the top of a module or inside a function), so
an arrow drawn the wrong way fails here, not months later as an import loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("cli", "flows", "web", "pipeline", "channels", "media", "subtitles", "catalog", "config")

# What each package may import of ours (besides itself). `config` holds the settings models of
# the packages it configures, and imports their model modules only (checked below).
ALLOWED: dict[str, set[str]] = {
    "cli": {"flows", "web", "pipeline", "channels", "media", "subtitles", "catalog", "config"},
    "flows": {"pipeline", "channels", "media", "subtitles", "catalog", "config"},
    "web": {"flows", "pipeline", "catalog", "config"},
    "pipeline": {"channels", "media", "subtitles", "catalog", "config"},
    "channels": {"catalog"},
    "media": {"subtitles", "catalog"},
    "subtitles": set(),
    "catalog": set(),
    "config": {"media", "subtitles"},
}
MODELS_ONLY = {"config": {"media.profiles", "subtitles.models"}, "channels": {"catalog.models"}}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name for name in names if name.split(".")[0] in OURS}


def test_every_package_is_covered() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(OURS)


def test_imports_run_one_way() -> None:
    wrong = []
    for package in OURS:
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in imports_of(path):
                target = name.split(".")[0]
                if target == package:
                    continue
                only = MODELS_ONLY.get(package)
                allowed = target in ALLOWED[package] and (only is None or name in only)
                if not allowed:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_the_checker_sees_a_wrong_arrow(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from flows.process import process_flow\n", "utf-8")
    assert imports_of(module) == {"flows.process"}
