"""Turn a code model's raw answer into files, deterministically and without a model.

`find_blocks` finds the code in the answer: fenced blocks (``` or ~~~ of any length, a
longer fence may hold shorter ones), or an answer that is itself an HTML document or plain
code. `extract_files` lays the blocks out as files: names the answer gives (fence info,
a heading or label just before the block, a first-line comment), then names the HTML
references (`<link href>`, `<script src>`), then a default per language. When it had to
guess it says so (`Extraction.ambiguous`), and the pipeline can ask a small model to pick
the layout from `describe_blocks` and apply it with `apply_layout`.

Code is never rewritten: every file's content is a verbatim slice of the answer.

    python -m tools.extract answer.txt --out out/ [--force]
"""

from __future__ import annotations

import json
import posixpath
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote


class NoCodeError(ValueError):
    """The answer holds no code that could become a file."""


@dataclass(frozen=True)
class CodeBlock:
    """One piece of code found in an answer."""

    index: int  # 0-based position in the answer
    language: str | None  # normalised: "html", "javascript", "python", ... or None
    code: str  # a verbatim slice of the answer
    name_hint: str | None  # a file name the answer gives for this block
    truncated: bool  # the fence (or the HTML document) was never closed
    line: int = 0  # 1-based line of the answer where the code starts
    name_source: str | None = None  # where name_hint came from: fence, label, comment, prose


@dataclass(frozen=True)
class ExtractedFile:
    """A file to write: a name and one block's code."""

    name: str  # relative name, not yet path-checked (tools/files.py does that)
    language: str | None
    content: str  # == the block's code, verbatim
    block_index: int
    origin: str = ""  # how the name was chosen: answer, reference, default, layout


@dataclass(frozen=True)
class Extraction:
    """The blocks of an answer and the deterministic file layout."""

    blocks: list[CodeBlock]
    files: list[ExtractedFile]
    ambiguous: bool  # the layout had to guess
    reason: str  # one line: why ambiguous, or how the layout was decided


# --- languages ---------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    """A long word list written as one string, to keep the tables short."""
    return text.split()


_ALIASES = {
    **dict.fromkeys(["js", "javascript", "mjs", "cjs", "node", "es6", "ecmascript"], "javascript"),
    **dict.fromkeys(["ts", "typescript", "mts"], "typescript"),
    **dict.fromkeys(["py", "python", "python3", "py3"], "python"),
    **dict.fromkeys(
        ["sh", "bash", "shell", "zsh", "console", "shell-session", "shellsession", "terminal"],
        "shell",
    ),
    **dict.fromkeys(["cmd", "bat", "batch", "powershell", "ps1", "pwsh"], "shell"),
    **dict.fromkeys(["html", "htm", "xhtml", "html5"], "html"),
    **dict.fromkeys(["json", "jsonc", "json5"], "json"),
    **dict.fromkeys(["sql", "sqlite", "postgresql", "postgres", "mysql", "psql", "plsql"], "sql"),
    **dict.fromkeys(["yaml", "yml"], "yaml"),
    **dict.fromkeys(["md", "markdown"], "markdown"),
    **dict.fromkeys(["text", "txt", "plaintext", "plain", "output", "log", "none"], "text"),
    **dict.fromkeys(["go", "golang"], "go"),
    **dict.fromkeys(["rs", "rust"], "rust"),
    **dict.fromkeys(["rb", "ruby"], "ruby"),
    **dict.fromkeys(["kt", "kotlin"], "kotlin"),
    **dict.fromkeys(["c", "h"], "c"),
    **dict.fromkeys(["cpp", "c++", "cc", "hpp", "cxx"], "cpp"),
    **dict.fromkeys(["cs", "csharp", "c#"], "csharp"),
    **dict.fromkeys(["dockerfile", "docker"], "dockerfile"),
    **dict.fromkeys(["makefile", "make"], "makefile"),
    **dict.fromkeys(["diff", "patch"], "diff"),
    **dict.fromkeys(["env", "dotenv"], "dotenv"),
    **{
        name: name
        for name in _words(
            "tsx jsx css scss sass less toml ini xml svg vue svelte java swift php lua r dart scala"
        )
    },
}

_EXTENSIONS = {
    **dict.fromkeys([".html", ".htm"], "html"),
    **dict.fromkeys([".js", ".mjs", ".cjs"], "javascript"),
    **dict.fromkeys([".ts", ".mts"], "typescript"),
    **dict.fromkeys([".sh", ".bash", ".zsh", ".ps1", ".bat"], "shell"),
    **dict.fromkeys([".yaml", ".yml"], "yaml"),
    **dict.fromkeys([".md", ".markdown"], "markdown"),
    **dict.fromkeys([".c", ".h"], "c"),
    **dict.fromkeys([".cpp", ".hpp", ".cc"], "cpp"),
    **dict.fromkeys([".ini", ".cfg"], "ini"),
    ".tsx": "tsx",
    ".jsx": "jsx",
    ".py": "python",
    ".css": "css",
    ".scss": "scss",
    ".sass": "sass",
    ".less": "less",
    ".json": "json",
    ".sql": "sql",
    ".toml": "toml",
    ".txt": "text",
    ".xml": "xml",
    ".svg": "svg",
    ".vue": "vue",
    ".svelte": "svelte",
    ".go": "go",
    ".rs": "rust",
    ".rb": "ruby",
    ".java": "java",
    ".kt": "kotlin",
    ".swift": "swift",
    ".cs": "csharp",
    ".php": "php",
    ".lua": "lua",
    ".r": "r",
    ".dart": "dart",
    ".env": "dotenv",
}

# Names without an extension that are still plainly file names.
_BARE_NAMES = {
    "dockerfile": "dockerfile",
    "makefile": "makefile",
    "procfile": None,
    ".gitignore": None,
    ".env": "dotenv",
}

_DEFAULT_NAMES = {
    "html": "index.html",
    "css": "style.css",
    "javascript": "script.js",
    "typescript": "index.ts",
    "tsx": "App.tsx",
    "jsx": "App.jsx",
    "python": "main.py",
    "sql": "query.sql",
    "json": "data.json",
    "yaml": "config.yaml",
    "toml": "config.toml",
    "ini": "config.ini",
    "markdown": "README.md",
    "scss": "style.scss",
    "sass": "style.sass",
    "less": "style.less",
    "xml": "data.xml",
    "svg": "image.svg",
    "vue": "App.vue",
    "svelte": "App.svelte",
    "go": "main.go",
    "rust": "main.rs",
    "ruby": "main.rb",
    "java": "Main.java",
    "kotlin": "Main.kt",
    "swift": "main.swift",
    "c": "main.c",
    "cpp": "main.cpp",
    "csharp": "Program.cs",
    "php": "index.php",
    "lua": "main.lua",
    "r": "main.R",
    "dart": "main.dart",
    "scala": "Main.scala",
    "dockerfile": "Dockerfile",
    "makefile": "Makefile",
    "shell": "script.sh",
    "dotenv": ".env",
}

# Languages whose blocks are files only when the answer names them: commands, output,
# directory trees and patches are shown to the reader, not saved.
_NAMED_ONLY = {"shell", "text", "diff", "markdown", "dotenv"}

# Which languages may share a name: a hint "game.js" on a ```jsx block is fine, on a
# ```css block it names some other file the prose talks about.
_FAMILIES = {
    **dict.fromkeys(["javascript", "typescript", "jsx", "tsx"], "js"),
    **dict.fromkeys(["css", "scss", "sass", "less"], "css"),
    **dict.fromkeys(["html", "vue", "svelte", "php", "xml", "svg"], "markup"),
}

# Library names that look like file names in prose ("a Three.js scene").
_LIBRARY_NAMES = {
    f"{name}.js"
    for name in _words(
        "node vue next nuxt three react express chart p5 d3 anime matter phaser pixi "
        "babylon ember backbone angular nest deno socket moment alpine htmx"
    )
}


def normalise_language(tag: str | None) -> str | None:
    """A fence tag as one of the names used here ("js" -> "javascript"), or None."""
    if not tag:
        return None
    tag = tag.strip().strip("{}").lstrip(".").lower()
    if not tag or "=" in tag:
        return None
    return _ALIASES.get(tag, tag)


def language_of_name(name: str) -> str | None:
    """The language a file name implies, from its extension."""
    base = posixpath.basename(name).lower()
    if base in _BARE_NAMES:
        return _BARE_NAMES[base]
    return _EXTENSIONS.get(posixpath.splitext(base)[1])


def default_name(language: str | None) -> str | None:
    """The file name used for a block of `language` that nothing else names."""
    return _DEFAULT_NAMES.get(language or "")


# --- lines ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    start: int  # offset of the line in the answer
    end: int  # offset just after its newline (or the end of the answer)
    text: str  # the line without "\n" or "\r\n"


def _split_lines(text: str) -> list[_Line]:
    """Split on "\n" only: str.splitlines also splits on characters code may contain."""
    lines: list[_Line] = []
    start = 0
    while start < len(text):
        newline = text.find("\n", start)
        end = len(text) if newline < 0 else newline + 1
        body = text[start : newline if newline >= 0 else end]
        lines.append(_Line(start, end, body.removesuffix("\r")))
        start = end
    return lines


_THINK_OPEN = re.compile(r"\s*<(think|thinking|reasoning)>", re.IGNORECASE)


def _first_answer_line(answer: str, lines: list[_Line]) -> int:
    """Skip a reasoning model's <think>...</think> preamble: its code is drafts."""
    opened = _THINK_OPEN.match(answer)
    if not opened:
        return 0
    closing = re.compile(rf"</{opened.group(1)}>", re.IGNORECASE).search(answer)
    if not closing:
        return len(lines)  # cut off while thinking: no answer yet
    return next((i for i, line in enumerate(lines) if line.end > closing.end()), len(lines))


# --- finding blocks -----------------------------------------------------------------------

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_HTML_START = re.compile(r"^\s*(<!doctype\s+html|<html[\s>])", re.IGNORECASE)
_HTML_END = re.compile(r"</html\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class _Raw:
    """A block before it is named: line numbers into the answer's lines."""

    first: int  # index of the first line that may hold hints (the fence line, or code)
    code_start: int
    code_end: int
    info: str | None  # fence info string; None when unfenced
    truncated: bool
    gap_start: int  # first line after the previous block: hints are looked for from here


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def find_blocks(answer: str) -> list[CodeBlock]:
    """All code in the answer, in order; prose is left out. No code -> []."""
    lines = _split_lines(answer)
    first = _first_answer_line(answer, lines)
    raws: list[_Raw] = []
    gaps: list[tuple[int, int]] = []  # line ranges outside fences
    gap_start = i = first
    while i < len(lines):
        match = _FENCE.match(lines[i].text)
        if not match or (match["fence"][0] == "`" and "`" in match["info"]):
            i += 1
            continue
        fence = match["fence"]
        j = i + 1
        while j < len(lines) and not _closes(lines[j].text, fence):
            j += 1
        closed = j < len(lines)
        gaps.append((gap_start, i))
        raws.append(
            _Raw(
                first=i,
                code_start=lines[i].end,
                code_end=lines[j].start if closed else len(answer),
                info=match["info"].strip(),
                truncated=not closed,
                gap_start=gap_start,
            )
        )
        i = gap_start = j + 1
    gaps.append((gap_start, len(lines)))

    for start, stop in gaps:
        html = _unfenced_html(lines, start, stop)
        if html:
            raws.append(html)
    if not raws:
        code = _unfenced_code(answer, lines, first)
        if code:
            raws.append(code)
    raws.sort(key=lambda raw: raw.code_start)
    return [_make_block(index, answer, lines, raw) for index, raw in enumerate(raws)]


def _unfenced_html(lines: list[_Line], start: int, stop: int) -> _Raw | None:
    """An HTML document written straight into the answer, without a fence."""
    begin = next((i for i in range(start, stop) if _HTML_START.match(lines[i].text)), None)
    if begin is None:
        return None
    closing = [i for i in range(begin, stop) if _HTML_END.search(lines[i].text)]
    if closing:
        last, truncated = closing[-1], False
    else:
        last = max(i for i in range(begin, stop) if lines[i].text.strip())
        truncated = True
    return _Raw(begin, lines[begin].start, lines[last].end, None, truncated, start)


def _unfenced_code(answer: str, lines: list[_Line], first: int) -> _Raw | None:
    """An answer that is plainly code from its first code line to its last."""
    code_lines = [
        i for i in range(first, len(lines)) if lines[i].text.strip() and not _is_prose(lines[i].text)
    ]
    if not code_lines:
        return None
    begin, last = code_lines[0], code_lines[-1]
    body = [i for i in range(begin, last + 1) if lines[i].text.strip()]
    if len(code_lines) < 0.75 * len(body):
        return None
    language = guess_language(answer[lines[begin].start : lines[last].end])
    if language in (None, "text", "shell"):
        return None
    return _Raw(begin, lines[begin].start, lines[last].end, None, False, first)


# Lower-case keywords (prose sentences start with a capital) and upper-case SQL.
_CODE_STARTS = re.compile(
    r"(def|class|import|from|return|if|elif|else|for|while|try|except|with|raise|yield|async|"
    r"await|const|let|var|function|export|assert|print|SELECT|INSERT|CREATE|UPDATE|DELETE)\b"
)
_WORD = re.compile(r"^[(\"'`*_]*[A-Za-z][a-z'’-]*[)\"'`*_,.:;!?]*$")


def _is_prose(line: str) -> bool:
    """A sentence rather than code: mostly plain words, no code punctuation at the end."""
    text = line.strip()
    if text.startswith(("#", "//", "/*", "*", "<", "--")) or _CODE_STARTS.match(text):
        return False
    tokens = text.split()
    if len(tokens) < 4 or text.endswith(("{", "}", ";", "(", "[", "=")):
        return False
    return sum(bool(_WORD.match(token)) for token in tokens) >= 0.75 * len(tokens)


# --- naming and language of one block -------------------------------------------------------

_EXT_PATTERN = "|".join(
    re.escape(ext[1:]) for ext in sorted(_EXTENSIONS, key=len, reverse=True) if ext != ".env"
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
    return [name.removeprefix("./") for name in names if name.lower() not in _LIBRARY_NAMES]


def _one_name(text: str) -> str | None:
    """The file name a line is about: the only one in `code`/bold, else the only one."""
    emphasised = {
        name for match in _EMPHASIS.finditer(text) for name in _names_in(next(filter(None, match.groups())))
    }
    if len(emphasised) == 1:
        return emphasised.pop()
    everything = set(_names_in(text))
    return everything.pop() if len(everything) == 1 else None


def _parse_info(info: str) -> tuple[str | None, str | None]:
    """A fence info string -> (language tag, file name): `js game.js`, `html title="x"`."""
    if not info:
        return None, None
    first, _, rest = info.partition(" ")
    tag, name = first, None
    if ":" in first and not first.startswith(":"):  # ```js:game.js
        tag, _, after = first.partition(":")
        name = _one_name(after)
    elif first.lower() not in _ALIASES and _FILE_NAME.fullmatch(first.removeprefix("./")):
        return language_of_name(first), first.removeprefix("./")  # ```index.html
    if name is None:
        keyed = _INFO_KEY.search(info)
        name = next(filter(None, keyed.groups())) if keyed else _one_name(rest)
    return tag, name


_COMMENT_START = re.compile(
    r"^\s*(?:<!--|/\*+|//+|#+|--|;+)\s*(?:(?:file\s*name|file|path|name)\s*:\s*)?", re.IGNORECASE
)
_AFTER_NAME = ("-->", "*/", "-", "\u2013", "\u2014", ":", "(", "|")


def _comment_name(code: str) -> str | None:
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
        if (not after or after.startswith(_AFTER_NAME)) and name.lower() not in _LIBRARY_NAMES:
            return name
        return None
    return None


def _preceding_names(lines: list[_Line], raw: _Raw) -> tuple[str | None, str | None]:
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


def _compatible(language: str | None, name: str) -> bool:
    """Can a block in `language` be the file `name`? Unknown on either side: yes."""
    implied = language_of_name(name)
    if language in (None, "text") or implied is None:
        return True
    return _FAMILIES.get(language, language) == _FAMILIES.get(implied, implied)


def _make_block(index: int, answer: str, lines: list[_Line], raw: _Raw) -> CodeBlock:
    code = answer[raw.code_start : raw.code_end]
    tag, fence_name = _parse_info(raw.info or "")
    language = normalise_language(tag)
    if raw.info is None:  # unfenced: only an HTML document or plain code gets here
        language = guess_language(code)

    label, prose = _preceding_names(lines, raw)
    candidates = [(fence_name, "fence"), (label, "label"), (_comment_name(code), "comment")]
    candidates.append((prose, "prose"))

    name_hint = name_source = None
    for name, source in candidates:
        if name and (source == "fence" or _compatible(language, name)):
            name_hint, name_source = name, source
            break
    if language is None and name_hint:
        language = language_of_name(name_hint)
    if language is None:
        language = guess_language(code)
    return CodeBlock(
        index=index,
        language=language,
        code=code,
        name_hint=name_hint,
        truncated=raw.truncated,
        line=raw.first + (2 if raw.info is not None else 1),
        name_source=name_source,
    )


# --- guessing a language from code --------------------------------------------------------

_SIGNALS: dict[str, list[tuple[re.Pattern[str], int]]] = {
    "python": [
        (re.compile(r"^\s*(async\s+)?def \w+\s*\(.*\)\s*(->\s*[^:\n]+)?:\s*(#.*)?$", re.M), 3),
        (re.compile(r"^\s*class \w+(\(.*\))?:\s*$", re.M), 3),
        (re.compile(r"^(from [\w.]+ import \w|import [\w.]+( as \w+)?(, [\w.]+)*\s*$)", re.M), 3),
        (re.compile(r"^if __name__ == ['\"]__main__['\"]:", re.M), 5),
        (re.compile(r"^\s*(elif .*|else|try|finally|except\b.*|for .+ in .+|while .+):\s*$", re.M), 1),
        (re.compile(r"\bself\.\w"), 1),
        (re.compile(r"\bprint\("), 1),
    ],
    "javascript": [
        (re.compile(r"^\s*(export\s+)?(const|let|var)\s+[\w${}\[\], ]+\s*=", re.M), 2),
        (re.compile(r"^\s*(export\s+)?(default\s+)?(async\s+)?function\b", re.M), 3),
        (re.compile(r"=>"), 1),
        (re.compile(r"\b(document|window|console)\.\w"), 2),
        (re.compile(r"\baddEventListener\("), 2),
        (re.compile(r"^\s*import\s.*\sfrom\s+['\"]|^\s*export\s+default\b", re.M), 2),
        (re.compile(r"\brequire\(['\"]"), 2),
        (re.compile(r"===|!=="), 2),
    ],
    "typescript": [
        (re.compile(r":\s*(number|string|boolean|void|any|unknown|never)\b"), 2),
        (re.compile(r"^\s*(export\s+)?(interface|type|enum)\s+\w+", re.M), 3),
    ],
    "jsx": [
        (re.compile(r"\bclassName="), 3),
        (re.compile(r"return\s*\(\s*\n\s*<"), 3),
        (re.compile(r"<[A-Z]\w*[\s/>]"), 1),
    ],
    "sql": [
        (
            re.compile(
                r"^\s*(select\s.+\sfrom|insert\s+into|create\s+(table|index|view)|"
                r"update\s+\w+\s+set|delete\s+from|alter\s+table|drop\s+table)\b",
                re.M | re.I,
            ),
            3,
        )
    ],
}

_CSS_SELECTOR = re.compile(
    r"^\s*(?!(else|try|do|class|finally|return|export|interface|type|enum|struct|impl|fn|func)\b)"
    r"[^{}();=]+\{\s*$"
)
_CSS_DECLARATION = re.compile(r"^\s*-{0,2}[a-z-]+\s*:\s*[^;{}]+;?\s*$")
_CSS_AT = re.compile(r"@media|@keyframes|@import|@font-face|:root\b|!important")
_COMMANDS = set(
    _words(
        "npm npx yarn pnpm pip pip3 pipx python python3 py node cd mkdir git uv uvx poetry brew apt "
        "apt-get sudo curl wget export set source chmod touch ls cp mv rm cat echo open start code "
        "deno bun docker docker-compose make go cargo rustc gcc g++ javac java conda pytest streamlit "
        "flask uvicorn gunicorn php http-server serve live-server xdg-open firefox vite tsc"
    )
)


# `export default App;` and `open(path)` are code, not commands.
_CODE_IN_LINE = re.compile(
    r"[;{}]\s*$|=>|\s=\s|\b(?:function|const|let|var|class|def|return|import|default)\b|^\w+\("
)


def looks_like_commands(code: str) -> bool:
    """True when every line is a shell command (`npm install`, `$ python main.py`)."""
    lines = [line.strip() for line in code.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if not lines:
        return False
    for line in lines:
        words = re.sub(r"^(\$|>|PS [^>]*>)\s*", "", line).split()
        if not words or words[0] not in _COMMANDS or _CODE_IN_LINE.search(line):
            return False
    return True


def _looks_like_tree(code: str) -> bool:
    return any(mark in code for mark in ("├──", "└──", "|-- ", "`-- "))


def guess_language(code: str) -> str | None:
    """The language of untagged code, when it is clear; else None."""
    text = code.strip()
    if not text:
        return None
    lower = text.lower()
    if lower.startswith(("<!doctype html", "<html")):
        return "html"
    if lower.startswith("<?xml"):
        return "svg" if "<svg" in lower else "xml"
    if lower.startswith("<svg"):
        return "svg"
    if lower.startswith("<?php"):
        return "php"
    first = text.splitlines()[0]
    if first.startswith("#!"):
        for marker, language in (("python", "python"), ("node", "javascript"), ("sh", "shell")):
            if marker in first:
                return language
    if text[0] in "{[":
        try:
            json.loads(text)
            return "json"
        except ValueError:
            pass
    if looks_like_commands(text):
        return "shell"
    if _looks_like_tree(text):
        return "text"

    lines = [line for line in text.splitlines() if line.strip()]
    css_lines = sum(
        bool(_CSS_SELECTOR.match(line) or _CSS_DECLARATION.match(line) or line.strip() == "}")
        for line in lines
    )
    if any(_CSS_SELECTOR.match(line) for line in lines) and css_lines >= 0.8 * len(lines):
        return "css"

    scores = {
        language: sum(weight * min(len(pattern.findall(text)), 5) for pattern, weight in signals)
        for language, signals in _SIGNALS.items()
    }
    tags = sum(bool(re.match(r"\s*</?[a-zA-Z!]", line)) for line in lines)
    if tags >= 0.5 * len(lines) and scores["javascript"] < 3 and scores["jsx"] < 3:
        return "html"
    if scores["javascript"] >= 3 or (scores["typescript"] >= 3 and scores["javascript"] >= 1):
        if scores["jsx"] >= 3:
            return "tsx" if scores["typescript"] >= 4 else "jsx"
        if scores["typescript"] >= 4:
            return "typescript"
        if scores["javascript"] > scores["python"]:
            return "javascript"
    if scores["python"] >= 3 and scores["python"] > scores["javascript"]:
        return "python"
    if scores["sql"] >= 3:
        return "sql"
    return None


# --- references ---------------------------------------------------------------------------

# Bounded repeats and an unclosed comment running to the end keep these linear on odd input.
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_ATTR = r"""\s*=\s*(?:"([^"]{0,2000})"|'([^']{0,2000})'|([^\s"'>]+))"""
_LINK_HREF = re.compile(rf"<link\b[^>]{{0,1000}}?\bhref{_ATTR}", re.I)
_SCRIPT_SRC = re.compile(rf"<script\b[^>]{{0,1000}}?\bsrc{_ATTR}", re.I)
_JS_IMPORT = re.compile(
    r"""^\s*(?:import|export)\s+(?:[\w*{}\s,$]{1,1000}?\s+from\s+)?["']([^"'\n]+)["']"""
    r"""|\b(?:import|require)\(\s*["']([^"'\n]+)["']\s*\)""",
    re.M,
)
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?["']?([^"')\s;]+)""")
_PY_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\b|import\s+([\w.]+))", re.M)


def find_references(code: str, language: str | None) -> list[str]:
    """What the code loads, as written: stylesheets, scripts, imported modules."""
    found: list[str] = []
    if language in ("html", "vue", "svelte", "php"):
        markup = _HTML_COMMENT.sub("", code)
        for pattern in (_LINK_HREF, _SCRIPT_SRC):
            found += [next(filter(None, m.groups()), "") for m in pattern.finditer(markup)]
    if language in ("javascript", "typescript", "jsx", "tsx", "vue", "svelte"):
        found += [m.group(1) or m.group(2) for m in _JS_IMPORT.finditer(code)]
    if language in ("css", "scss", "sass", "less"):
        found += [m.group(1) for m in _CSS_IMPORT.finditer(code)]
    if language == "python":
        found += [m.group(1) or m.group(2) for m in _PY_IMPORT.finditer(code)]
    return list(dict.fromkeys(ref for ref in found if ref))


def is_external(ref: str) -> bool:
    """A URL that lives on the network, not in the answer's files."""
    return bool(re.match(r"^(https?:)?//", ref, re.I))


def local_target(ref: str, from_name: str) -> str | None:
    """The file name a local reference points at, relative to the output folder.

    None for URLs, data:, anchors, template placeholders and bare package names; a path
    that climbs out of the folder keeps its `../` so it can never match a file.
    """
    if is_external(ref) or re.match(r"^[a-z][a-z0-9+.-]*:", ref, re.I) or ref.startswith("#"):
        return None
    if any(marker in ref for marker in ("{{", "{%", "${", "<%")):
        return None
    path = unquote(ref.split("#")[0].split("?")[0])
    if not path:
        return None
    if path.startswith("/"):
        return posixpath.normpath(path.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(from_name), path))


def block_references(block: CodeBlock, name: str) -> list[str]:
    """The local files a block (to be saved as `name`) loads, as relative names."""
    targets = []
    for ref in find_references(block.code, block.language):
        if block.language in ("javascript", "typescript", "jsx", "tsx") and not ref.startswith((".", "/")):
            continue  # a package such as "react", not a file
        target = local_target(ref, name) if block.language != "python" else None
        if target:
            targets.append(target)
    return targets


# --- the deterministic layout --------------------------------------------------------------


@dataclass
class _Slot:
    block: CodeBlock
    name: str | None = None
    origin: str = ""  # answer, reference, default


def _drop_reason(block: CodeBlock) -> str | None:
    """Why a block is not a file, or None when it is one."""
    if block.name_hint or block.code.startswith("#!"):
        return None  # named, or a script with a shebang
    if not block.code.strip():
        return "empty"
    if _looks_like_tree(block.code):
        return "a directory tree"
    if looks_like_commands(block.code):
        return "shell commands"
    if block.language is None and all(_is_prose(line) for line in block.code.splitlines() if line.strip()):
        return "prose"  # "Open index.html in your browser." in a fence
    if block.language in _NAMED_ONLY:
        if block.language == "shell" and re.search(r"^\s*(if|for|while|function)\b", block.code, re.M):
            return None  # a script with control flow, not a list of commands
        return {"shell": "shell commands", "text": "plain text"}.get(
            block.language, f"{block.language} without a file name"
        )
    return None


def _package_json_name(code: str) -> str | None:
    """package.json / tsconfig.json when an unnamed JSON block plainly is one."""
    try:
        data = json.loads(code)
    except ValueError:
        return None
    if isinstance(data, dict) and "compilerOptions" in data:
        return "tsconfig.json"
    if isinstance(data, dict) and {"dependencies", "devDependencies", "scripts"} & set(data):
        return "package.json"
    return None


def extract_files(answer: str) -> Extraction:
    """Find the blocks and lay them out as files; raise NoCodeError if there are none."""
    blocks = find_blocks(answer)
    if not blocks:
        opened = _THINK_OPEN.match(answer)
        if opened and not re.search(rf"</{opened.group(1)}>", answer, re.IGNORECASE):
            raise NoCodeError(f"no code in the answer: it stops inside its <{opened.group(1)}> part")
        raise NoCodeError("no code in the answer: it has no fenced code block and no HTML/code document")
    notes: list[str] = []  # why the layout is ambiguous
    dropped: list[str] = []
    slots: list[_Slot] = []
    for block in blocks:
        why = _drop_reason(block)
        if why:
            dropped.append(f"block {block.index} ({why})")
        else:
            slot = _Slot(block)
            if block.name_hint:
                slot.name, slot.origin = block.name_hint.removeprefix("./"), "answer"
            slots.append(slot)

    _name_by_references(slots, notes)
    for slot in slots:
        if slot.name is None and slot.block.language == "json":
            slot.name = _package_json_name(slot.block.code)
            slot.origin = "default" if slot.name else ""
    _name_by_default(slots, notes)
    kept = _resolve_collisions([slot for slot in slots if slot.name], notes)

    if not kept:
        what = "; ".join(dropped + notes)
        raise NoCodeError(f"no code in the answer that can be a file: {what}")
    files = [
        ExtractedFile(
            name=slot.name or "",
            language=slot.block.language or language_of_name(slot.name or ""),
            content=slot.block.code,
            block_index=slot.block.index,
            origin=slot.origin,
        )
        for slot in sorted(kept, key=lambda slot: slot.block.index)
    ]
    return Extraction(
        blocks=blocks,
        files=files,
        ambiguous=bool(notes),
        reason=_reason(notes, kept, dropped),
    )


def _name_by_references(slots: list[_Slot], notes: list[str]) -> None:
    """Unnamed blocks take the names the HTML (and JS/CSS) blocks load them by."""
    claimed = {slot.name.lower() for slot in slots if slot.name}
    for referrer in slots:
        if referrer.block.language not in ("html", "javascript", "typescript", "jsx", "tsx", "css"):
            continue
        referrer_name = referrer.name or default_name(referrer.block.language) or ""
        for target in block_references(referrer.block, referrer_name):
            if target.lower() in claimed or target.startswith(".."):
                continue
            language = language_of_name(target)
            if language is None and referrer.block.language != "html":
                language = "javascript"  # an extensionless import: "./utils"
                target = f"{target}.js"
            unnamed = [s for s in slots if s.name is None and s is not referrer]
            matches = [s for s in unnamed if s.block.language == language]
            if not matches:
                matches = [s for s in unnamed if s.block.language is None]
                if matches:
                    notes.append(f"block {matches[0].block.index} has no known language: took it as {target}")
            if matches:
                matches[0].name, matches[0].origin = target, "reference"
                claimed.add(target.lower())


def _name_by_default(slots: list[_Slot], notes: list[str]) -> None:
    """The rest take their language's default name; the longest wins a shared default."""
    by_language: dict[str | None, list[_Slot]] = {}
    for slot in slots:
        if slot.name is None:
            by_language.setdefault(slot.block.language, []).append(slot)
    for language, group in by_language.items():
        name = default_name(language)
        if name is None:
            indexes = ", ".join(str(slot.block.index) for slot in group)
            what = f"language {language}" if language else "no known language"
            notes.append(f"block {indexes} has {what}: left out")
            continue
        longest = max(group, key=lambda slot: (len(slot.block.code), slot.block.index))
        longest.name, longest.origin = name, "default"
        if len(group) > 1:
            others = ", ".join(str(s.block.index) for s in group if s is not longest)
            notes.append(
                f"{len(group)} unnamed {language} blocks: kept the longest (block "
                f"{longest.block.index}) as {name}, left out block {others}"
            )


_ORIGIN_RANK = {"answer": 0, "reference": 1, "default": 2}


def _resolve_collisions(slots: list[_Slot], notes: list[str]) -> list[_Slot]:
    """One block per name: named by the answer first, then the longest, then the last."""
    by_name: dict[str, list[_Slot]] = {}
    for slot in slots:
        by_name.setdefault((slot.name or "").lower(), []).append(slot)
    kept = []
    for group in by_name.values():
        best = min(
            group,
            key=lambda s: (_ORIGIN_RANK.get(s.origin, 3), -len(s.block.code), -s.block.index),
        )
        kept.append(best)
        if any(s.block.code != best.block.code for s in group):
            indexes = ", ".join(str(s.block.index) for s in sorted(group, key=lambda s: s.block.index))
            notes.append(f"blocks {indexes} share the name {best.name}: kept block {best.block.index}")
    return kept


def _reason(notes: list[str], kept: list[_Slot], dropped: list[str]) -> str:
    """One line: the guesses first, then where each name came from."""
    origins = {
        "answer": "named in the answer",
        "reference": "named by references",
        "default": "default names",
    }
    parts = []
    for origin, label in origins.items():
        names = [slot.name or "" for slot in kept if slot.origin == origin]
        if names:
            parts.append(f"{label}: {', '.join(names)}")
    if dropped:
        parts.append(f"not files: {', '.join(dropped)}")
    layout = "; ".join(parts)
    return f"{'; '.join(notes)} ({layout})" if notes else layout


def apply_layout(blocks: list[CodeBlock], layout: dict[int, str]) -> list[ExtractedFile]:
    """Files from a layout {block index: name} that a model chose; other blocks are dropped."""
    by_index = {block.index: block for block in blocks}
    unknown = sorted(set(layout) - set(by_index))
    if unknown:
        known = ", ".join(str(index) for index in sorted(by_index)) or "none"
        raise ValueError(f"no block {unknown[0]} in the answer (its blocks are {known})")
    seen: dict[str, int] = {}
    for index, name in sorted(layout.items()):
        key = name.removeprefix("./").lower()  # one file on case-insensitive file systems
        if key in seen:
            raise ValueError(f"blocks {seen[key]} and {index} are both named {name}: one block per file")
        seen[key] = index
    return [
        ExtractedFile(
            name.removeprefix("./"),
            by_index[index].language or language_of_name(name),
            by_index[index].code,
            index,
            "layout",
        )
        for index, name in sorted(layout.items())
    ]


def describe_blocks(blocks: list[CodeBlock]) -> str:
    """A short listing a small model reads to choose a layout: no code beyond 2 lines."""
    out = []
    for block in blocks:
        lines = block.code.splitlines()
        facts = [block.language or "unknown language"]
        facts.append(f"name hint {block.name_hint}" if block.name_hint else "no name")
        facts.append(f"{len(lines)} line{'s' if len(lines) != 1 else ''}")
        if block.truncated:
            facts.append("cut off")
        not_a_file = _drop_reason(block)
        if not_a_file:
            facts.append(f"probably not a file: {not_a_file}")
        out.append(f"block {block.index}: {', '.join(facts)}")
        for line in [line for line in lines if line.strip()][:2]:
            shown = line.strip()
            out.append(f"    | {shown[:77] + '...' if len(shown) > 80 else shown}")
        refs = find_references(block.code, block.language)
        if refs:
            shown_refs = ", ".join(refs[:8]) + (", ..." if len(refs) > 8 else "")
            out.append(f"    loads: {shown_refs}")
    return "\n".join(out)


# --- the command line -----------------------------------------------------------------------
# `app` is built on first use: typer takes longer to import than everything else here, and
# the pipeline imports this module without its CLI.


def _fail(message: str, code: int = 1) -> SystemExit:
    """One line on stderr, no traceback."""
    print(f"error: {message}", file=sys.stderr)
    return SystemExit(code)


def _read_answer(source: str) -> str:
    if source == "-":
        data = sys.stdin.buffer.read()
    else:
        path = Path(source)
        if not path.is_file():
            raise _fail(f"{source}: no such file", 2)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise _fail(f"{source}: cannot read it ({exc.strerror})", 2) from None
    try:
        return data.decode("utf-8-sig")  # bytes, not text mode: CRLF stays CRLF
    except UnicodeDecodeError:
        raise _fail(f"{source}: not UTF-8 text", 2) from None


def run_cli(response_file: str, out: Path, force: bool = False) -> None:
    """Extract the code files from a model's answer and write them into --out."""
    from tools.files import OutputExistsError, UnsafePathError, write_files  # they import this module
    from tools.lazy import lazy_verdict

    answer = _read_answer(response_file)
    try:
        extraction = extract_files(answer)
        written = write_files(out, extraction.files, force=force)
    except (NoCodeError, UnsafePathError, OutputExistsError) as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"{exc.filename or out}: {exc.strerror}") from None
    for file in written:
        print(f"{file.name}  {file.bytes} bytes")
    warnings = []
    if extraction.ambiguous:
        warnings.append(f"ambiguous layout, guessed: {extraction.reason}")
    used = {file.block_index for file in extraction.files}
    warnings += [
        f"block {block.index} was cut off before its end"
        for block in extraction.blocks
        if block.truncated and block.index in used
    ]
    verdict = lazy_verdict(extraction.files)
    if verdict.lazy:
        warnings.append(verdict.reason())
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _make_app() -> Any:
    import typer

    cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @cli.command(help=run_cli.__doc__)
    def main(
        response_file: str = typer.Argument(..., help="the model's answer; - reads stdin"),
        out: Path = typer.Option(..., "--out", "-o", help="folder to write the files into"),
        force: bool = typer.Option(False, "--force", help="overwrite existing files"),
    ) -> None:
        run_cli(response_file, out, force)

    return cli


def __getattr__(name: str) -> Any:
    if name == "app":
        globals()["app"] = built = _make_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    _make_app()()
