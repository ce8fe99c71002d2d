"""The file name the answer gives a block: fence info, a label above it, a first comment."""

from __future__ import annotations

import re

from tools.extract.languages import ALIASES, EXTENSIONS, FAMILIES, LIBRARY_NAMES, language_of_name
from tools.extract.lines import Line, RawLine

_EXT_PATTERN = "|".join(
    re.escape(ext[1:]) for ext in sorted(EXTENSIONS, key=len, reverse=True) if ext != ".env"
)
_FILE_NAME = re.compile(
    rf"(?<![\w./@:-])((?:[\w.-]+/)*[\w-][\w.-]*\.(?:{_EXT_PATTERN})"
    r"|(?i:Dockerfile|Makefile|Procfile|\.gitignore|\.env(?:\.\w+)?))(?![\w/-]|\.\w)",
)
_EMPHASIS = re.compile(r"`([^`\n]+)`|\*\*([^*\n]+)\*\*|__([^_\n]+)__")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_LABEL = re.compile(r"^\s*(?:[-*+]|\d+[.)])?\s*(?:\*\*|__)?(?:file\s*name|file|path|name)\s*:", re.IGNORECASE)
_BOLD_LINE = re.compile(r"^\s*(?:[-*+]|\d+[.)])?\s*(?:\*\*|__|`)[^\s`*_].*(?:\*\*|__|`):?\s*$")
_INFO_KEY = re.compile(
    r"""\b(?:title|file|filename|name|path)\s*=\s*(?:"([^"]+)"|'([^']+)'|(\S+))""", re.IGNORECASE
)


def _names_in(text: str) -> list[str]:
    """File names mentioned in a line; library names such as Three.js are not files."""
    names = [match.group(1) for match in _FILE_NAME.finditer(text)]
    return [name.removeprefix("./") for name in names if name.lower() not in LIBRARY_NAMES]


def _one_name(text: str) -> str | None:
    """The file name a line is about: the only one in `code`/bold, else the only one."""
    emphasised = {
        name for match in _EMPHASIS.finditer(text) for name in _names_in(next(filter(None, match.groups())))
    }
    if len(emphasised) == 1:
        return emphasised.pop()
    everything = set(_names_in(text))
    return everything.pop() if len(everything) == 1 else None


def parse_info(info: str) -> tuple[str | None, str | None]:
    """A fence info string -> (language tag, file name): `js game.js`, `html title="x"`."""
    if not info:
        return None, None
    first, _, rest = info.partition(" ")
    tag, name = first, None
    if ":" in first and not first.startswith(":"):  # ```js:game.js
        tag, _, after = first.partition(":")
        name = _one_name(after)
    elif first.lower() not in ALIASES and _FILE_NAME.fullmatch(first.removeprefix("./")):
        return language_of_name(first), first.removeprefix("./")  # ```index.html
    if name is None:
        keyed = _INFO_KEY.search(info)
        name = next(filter(None, keyed.groups())) if keyed else _one_name(rest)
    return tag, name


_COMMENT_START = re.compile(
    r"^\s*(?:<!--|/\*+|//+|#+|--|;+)\s*(?:(?:file\s*name|file|path|name)\s*:\s*)?", re.IGNORECASE
)
_AFTER_NAME = ("-->", "*/", "-", "\u2013", "\u2014", ":", "(", "|")


def comment_name(code: str) -> str | None:
    """A name in the block's first comment line: `// game.js`, `<!-- index.html -->`."""
    for line in code.splitlines()[:3]:
        if not line.strip() or line.startswith("#!"):
            continue  # the name comes after a shebang
        start = _COMMENT_START.match(line)
        rest = line[start.end() :].lstrip("`*") if start else ""
        found = _FILE_NAME.match(rest)
        if not start or not found:
            return None
        after = rest[found.end() :].lstrip("`*").strip()
        name = found.group(1).removeprefix("./")
        if (not after or after.startswith(_AFTER_NAME)) and name.lower() not in LIBRARY_NAMES:
            return name
        return None
    return None


def preceding_names(lines: list[Line], raw: RawLine) -> tuple[str | None, str | None]:
    """Names on the lines just before the block -> (label name, prose name).

    A label is a heading, a bold or backticked name, or `File: x` up to three lines up;
    prose is the line right before the block when it ends with ":" ("Save this as x:").
    """
    nearby = [i for i in range(raw.first - 1, raw.gap_start - 1, -1) if lines[i].text.strip()]
    label = prose = None
    for distance, i in enumerate(nearby[:3]):
        text = lines[i].text
        if _HEADING.match(text) or _LABEL.match(text) or _BOLD_LINE.match(text):
            label = _one_name(text)
            break  # a name above the nearest heading belongs to an earlier section
        if distance == 0 and text.rstrip().endswith(":"):
            prose = _one_name(text)
        if len(text.strip()) > 100:
            break  # a paragraph of prose: what is above it is about something else
    return label, prose


def compatible(language: str | None, name: str) -> bool:
    """Can a block in `language` be the file `name`? Unknown on either side: yes."""
    implied = language_of_name(name)
    if language in (None, "text") or implied is None:
        return True
    return FAMILIES.get(language, language) == FAMILIES.get(implied, implied)
