"""Guessing the language of untagged code, and telling shell commands and trees apart."""

from __future__ import annotations

import json
import re

from tools.extract.languages import word_list

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
    word_list(
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


def looks_like_tree(code: str) -> bool:
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
    if looks_like_tree(text):
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
