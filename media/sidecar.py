"""The optional metadata file staff put next to footage: `NAME.yaml` beside `NAME.mp4`.

A wrong sidecar is an error that names the file, the line and the field, and says what is
expected there. Consent defaults to `internal`: nothing leaves the organisation unless a person
said so. The models themselves (`Sidecar`, `Person`) are the catalog's: it stores them as
they are read here.
"""

from __future__ import annotations

import difflib
import errno
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from catalog.models import Person, Sidecar
from media.errors import MediaError, display_name
from media.library import LINK_FIX, not_a_file_reason

__all__ = ["Person", "Sidecar", "SidecarError", "read_sidecar", "sidecar_path"]

SIDECAR_SUFFIXES = (".yaml", ".yml")
# A sidecar or clips file holds a few fields; anything bigger is not one (or is an attack).
MAX_YAML_BYTES = 64 * 1024
# Lists in lists (or fields in fields) deeper than this are not a sidecar either.
MAX_NESTING = 20


class SidecarError(MediaError):
    def __init__(self, path: Path, line: int | None, field: str | None, problem: str) -> None:
        name = display_name(path.name)
        where = f"{name}, line {line}" if line else name
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{problem}")
        self.path = path
        self.line = line
        self.field = field
        self.problem = problem


def sidecar_path(media: Path) -> Path | None:
    """The sidecar next to `media`, whatever it is (a link is found too, and refused when read)."""
    for suffix in SIDECAR_SUFFIXES:
        candidate = media.with_suffix(suffix)
        if os.path.lexists(candidate) and not candidate.is_dir():
            return candidate
    return None


def load_yaml(
    path: Path, error: type[SidecarError] = SidecarError, hard_links: bool = False
) -> tuple[yaml.Node | None, Any]:
    """The YAML tree (for line numbers) and data of a file staff wrote, or `error` saying
    where it is wrong. Links (hard links too, unless `hard_links`: see `not_a_file_reason`),
    files over `MAX_YAML_BYTES` and anchors or aliases (`&a`, `*a`: a few lines of them expand
    to gigabytes) are refused."""
    try:
        text = _read_text(path, error, hard_links).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(path, None, None, "is not UTF-8 text; save it as UTF-8") from exc
    try:
        _check_tokens(path, text, error)
        return yaml.compose(text), yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise error(path, line, None, f"not valid YAML: {exc.problem}") from exc
    except RecursionError as exc:
        raise error(path, None, None, "is nested too deeply") from exc


def _read_text(path: Path, error: type[SidecarError], hard_links: bool) -> bytes:
    """At most `MAX_YAML_BYTES` of a plain file, opened without following a link."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise error(path, None, None, f"is a symbolic link; {LINK_FIX}") from exc
    with open(fd, "rb") as handle:
        reason = not_a_file_reason(os.fstat(fd), hard_links)
        if reason is not None:
            raise error(path, None, None, reason)
        data = handle.read(MAX_YAML_BYTES + 1)
    if len(data) > MAX_YAML_BYTES:
        raise error(
            path,
            None,
            None,
            f"is larger than {MAX_YAML_BYTES // 1024} KB; it should hold a few "
            "fields, one per line",
        )
    return data


def _check_tokens(path: Path, text: str, error: type[SidecarError]) -> None:
    """Refuse anchors, aliases and deep nesting while only scanning: nothing is built yet."""
    depth = 0
    for token in yaml.scan(text):
        if isinstance(token, yaml.AnchorToken | yaml.AliasToken):
            raise error(
                path,
                token.start_mark.line + 1,
                None,
                "anchors and aliases (&name, *name) are not allowed; write each value out",
            )
        if isinstance(token, _OPENING):
            depth += 1
            if depth > MAX_NESTING:
                raise error(path, token.start_mark.line + 1, None, "is nested too deeply")
        elif isinstance(token, _CLOSING):
            depth -= 1


_OPENING = (
    yaml.FlowSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.BlockMappingStartToken,
)
_CLOSING = (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken, yaml.BlockEndToken)


def read_sidecar(path: Path) -> Sidecar:
    root, data = load_yaml(path)
    if data is None:
        return Sidecar()
    if not isinstance(data, dict):
        raise SidecarError(path, 1, None, "expected fields like 'language: ru', one per line")
    try:
        return Sidecar.model_validate(data)
    except ValidationError as exc:
        raise _explain(path, root, exc) from exc


def _explain(path: Path, root: yaml.Node | None, exc: ValidationError) -> SidecarError:
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    field = ".".join(str(part) for part in loc)
    line = yaml_line(root, loc)
    if error["type"] == "extra_forbidden":
        return SidecarError(path, line, field, f"unknown field{_suggest(str(loc[-1]))}")
    if error["type"] == "literal_error" and loc[-1] == "consent":
        return SidecarError(path, line, field, "must be one of: public, partners, internal")
    hint = _HINTS.get(str(error["type"]), str(error["msg"]).removeprefix("Value error, "))
    return SidecarError(path, line, field, hint)


_HINTS = {
    "bool_parsing": "use true or false",
    "bool_type": "use true or false",
    "date_from_datetime_parsing": "use a date like 2026-03-14",
    "date_parsing": "use a date like 2026-03-14",
    "date_type": "use a date like 2026-03-14",
    "string_type": "use text (put it in quotes if it looks like a number or a date)",
    "tuple_type": "use a list, one '- item' per line",
    "missing": "is required",
}


def _suggest(name: str) -> str:
    known = list(Sidecar.model_fields) + list(Person.model_fields)
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean '{close[0]}'?" if close else f"; known fields: {', '.join(known)}"


def yaml_line(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the value at `loc` in the composed YAML tree."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def _child(node: yaml.Node | None, part: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == part:
                found: yaml.Node = (
                    value if not isinstance(value, yaml.ScalarNode) or value.value else key
                )
                return found
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        child: yaml.Node = node.value[part]
        return child
    return None
