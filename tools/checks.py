"""Cheap static checks of extracted files, run before they are written and shown in the manifest.

Nothing here runs the code: Python is compiled (never executed), JavaScript is parsed by
`node --check` when node is installed, references between files are matched by name.
No network: http(s) references are listed as external, not fetched.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.extract import ExtractedFile, find_references, is_external, language_of_name, local_target
from tools.lazy import lazy_verdict

NODE_TIMEOUT = 10.0  # seconds for one `node --check`


@dataclass(frozen=True)
class Check:
    """One check's outcome, for the manifest."""

    name: str
    passed: bool
    detail: str


def check_files(files: Sequence[ExtractedFile]) -> list[Check]:
    """All checks that apply to these files, in a stable order."""
    if not files:
        return [Check("files", False, "no files")]
    checks = [_non_empty(files), *_references(files)]
    node = find_node()
    for file in files:
        language = _language(file)
        if language == "python":
            checks.append(_python_compiles(file))
        elif language == "javascript":
            checks.append(_node_check(file, node))
        elif language == "json":
            checks.append(_json_parses(file))
        elif language == "html":
            checks.append(_html_has_script(file, files))
            inline = _inline_scripts_parse(file, node)
            if inline:
                checks.append(inline)
        elif language in ("css", "scss", "less"):
            checks.append(_css_braces(file))
    checks.append(_no_placeholders(files))
    return checks


def _language(file: ExtractedFile) -> str | None:
    return file.language or language_of_name(file.name)


def find_node() -> str | None:
    """The node executable, if installed (a function so tests can pretend it is not)."""
    return shutil.which("node")


def _non_empty(files: Sequence[ExtractedFile]) -> Check:
    empty = [file.name for file in files if not file.content.strip()]
    if empty:
        return Check("non-empty", False, f"empty: {', '.join(empty)}")
    return Check("non-empty", True, f"{len(files)} file{'s' if len(files) > 1 else ''} with content")


# --- references between files ------------------------------------------------------------------

_JS_LANGUAGES = ("javascript", "typescript", "jsx", "tsx")
_JS_SUFFIXES = (
    "",
    ".js",
    ".mjs",
    ".ts",
    ".tsx",
    ".jsx",
    "/index.js",
    "/index.ts",
    "/index.tsx",
    "/index.jsx",
)


def _references(files: Sequence[ExtractedFile]) -> list[Check]:
    """Every local <link href>, <script src>, relative import and @import names one of the files."""
    names = {file.name.removeprefix("./") for file in files}
    found, missing, external = [], [], []
    for file in files:
        language = _language(file)
        if language == "python":
            continue  # Python imports name modules and packages, not files next to it
        for ref in find_references(file.content, language):
            if is_external(ref):
                external.append(f"{file.name} -> {ref}")
                continue
            if language in _JS_LANGUAGES and not ref.startswith((".", "/")):
                continue  # a package such as "react"
            target = local_target(ref, file.name)
            if target is None:
                continue
            if _resolves(target, language, names):
                found.append(f"{file.name} -> {ref}")
            else:
                missing.append(f"{file.name} -> {ref}")
    checks = []
    if missing:
        checks.append(Check("references", False, f"missing: {', '.join(missing)}"))
    elif found:
        checks.append(Check("references", True, f"all found: {', '.join(found)}"))
    else:
        checks.append(Check("references", True, "no local references"))
    if external:
        checks.append(Check("external references", True, f"not checked: {', '.join(external)}"))
    return checks


def _resolves(target: str, language: str | None, names: set[str]) -> bool:
    if language in _JS_LANGUAGES:
        # "./utils" may mean utils.js, utils.ts or utils/index.js; TypeScript imports ".js" for ".ts"
        stem = re.sub(r"\.js$", "", target)
        candidates = [target + suffix for suffix in _JS_SUFFIXES] + [stem + ".ts", stem + ".tsx"]
        return any(candidate in names for candidate in candidates)
    return target in names


# --- per-language checks ------------------------------------------------------------------------


def _python_compiles(file: ExtractedFile) -> Check:
    name = f"python compiles: {file.name}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "invalid escape sequence" is not our business here
            compile(file.content, file.name, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return Check(name, False, f"line {exc.lineno}: {exc.msg}")
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        return Check(name, False, str(exc) or type(exc).__name__)
    return Check(name, True, "compiles")


_ESM = re.compile(r"^\s*(?:import\s*[\w*{\"']|export\s)", re.M)


def _node_check(file: ExtractedFile, node: str | None) -> Check:
    """Parse a JavaScript file with `node --check`."""
    name = f"node --check: {file.name}"
    if node is None:
        return Check(name, True, "node not found")
    passed, detail = _node_parse(node, file.content, module=bool(_ESM.search(file.content)))
    return Check(name, passed, detail or "parses")


def _node_parse(node: str, code: str, *, module: bool, first_line: int = 1) -> tuple[bool, str]:
    """(parses, error) from `node --check` on `code` in a temp dir; modules go in as .mjs.

    `first_line` is where the code starts in its file, so errors point at the right line.
    """
    with tempfile.TemporaryDirectory(prefix="codecrew-check-") as folder:
        path = Path(folder) / ("code.mjs" if module else "code.js")
        path.write_bytes(code.encode("utf-8"))
        try:
            result = subprocess.run(
                [node, "--check", str(path)],
                capture_output=True,
                text=True,
                timeout=NODE_TIMEOUT,
                cwd=folder,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return False, f"node --check timed out after {NODE_TIMEOUT:g} s"
        except OSError as exc:
            return True, f"node could not run: {exc.strerror}"
    if result.returncode == 0:
        return True, ""
    return False, _node_error(result.stderr, path.name, first_line)


def _node_error(stderr: str, temp_name: str, first_line: int) -> str:
    """`code.js:12` ... `SyntaxError: Unexpected token '}'` -> "line 12: SyntaxError: ..."."""
    line = re.search(rf"{re.escape(temp_name)}:(\d+)", stderr)
    error = next((text.strip() for text in stderr.splitlines() if re.match(r"\s*\w*Error\b", text)), "")
    error = error or (stderr.strip().splitlines() or ["node --check failed"])[-1]
    return f"line {int(line.group(1)) + first_line - 1}: {error}" if line else error


def _json_parses(file: ExtractedFile) -> Check:
    name = f"json parses: {file.name}"
    try:
        json.loads(file.content)
    except ValueError as exc:
        return Check(name, False, str(exc))
    return Check(name, True, "parses")


_APP_MARKERS = re.compile(r"<(?:canvas|button|input|select|textarea|form)\b|\son[a-z]+\s*=", re.I)
# A script element; one left open at the end of a cut-off page runs to the end.
_SCRIPT_BLOCK = re.compile(r"<script\b([^>]{0,1000})>(.*?)(?:</script\s*>|\Z)", re.I | re.S)
_JS_TYPES = ("", "text/javascript", "application/javascript", "module")


def _without_comments(html: str) -> str:
    """HTML comments blanked out, keeping their newlines so line numbers stay right."""
    return re.sub(r"<!--.*?(?:-->|\Z)", lambda match: "\n" * match.group(0).count("\n"), html, flags=re.S)


def _inline_scripts(html: str) -> list[tuple[int, str, bool]]:
    """(first line, code, is a module) of each inline JavaScript <script> with content."""
    scripts = []
    for match in _SCRIPT_BLOCK.finditer(_without_comments(html)):
        attributes, body = match.group(1), match.group(2)
        kind = re.search(r"""\btype\s*=\s*["']?([^"'\s>]*)""", attributes, re.I)
        script_type = kind.group(1).lower() if kind else ""
        if re.search(r"\bsrc\s*=", attributes, re.I) or script_type not in _JS_TYPES or not body.strip():
            continue
        scripts.append((html.count("\n", 0, match.start(2)) + 1, body, script_type == "module"))
    return scripts


def _html_has_script(file: ExtractedFile, files: Sequence[ExtractedFile]) -> Check:
    """A page with a canvas, buttons or inputs needs some script to do anything."""
    name = f"html has script: {file.name}"
    html = _without_comments(file.content)
    names = {other.name for other in files}
    loaded = [
        ref
        for ref in find_references(html, "html")
        if re.search(r"\.(?:m?js|tsx?|jsx)$", ref.split("?")[0]) or ref.startswith("/src/")
    ]
    local = [ref for ref in loaded if not is_external(ref) and local_target(ref, file.name) in names]
    inline = ["inline script"] if _inline_scripts(file.content) else []
    if inline or local:
        return Check(name, True, ", ".join(inline + local))
    if not _APP_MARKERS.search(html):
        return Check(name, True, "static page: no script needed")
    if loaded:
        return Check(
            name, False, f"interactive page whose scripts are not among the files: {', '.join(loaded)}"
        )
    return Check(name, False, "interactive page (canvas, buttons or inputs) without any script")


def _inline_scripts_parse(file: ExtractedFile, node: str | None) -> Check | None:
    """`node --check` each inline <script>: a single-file page is mostly its script."""
    scripts = _inline_scripts(file.content)
    if not scripts:
        return None
    name = f"node --check: {file.name} inline scripts"
    if node is None:
        return Check(name, True, "node not found")
    for first_line, code, module in scripts:
        passed, error = _node_parse(node, code, module=module, first_line=first_line)
        if not passed:
            return Check(name, False, error)
    return Check(name, True, f"{len(scripts)} inline script{'s' if len(scripts) > 1 else ''} parse")


def _css_braces(file: ExtractedFile) -> Check:
    """Braces balance once comments and strings are set aside."""
    name = f"css braces: {file.name}"

    def keep_lines(match: re.Match[str]) -> str:  # line numbers stay right
        return "\n" * match.group(0).count("\n")

    text = re.sub(r"/\*.*?(?:\*/|$)", keep_lines, file.content, flags=re.S)
    text = re.sub(r"\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", "", text)
    depth = 0
    for number, line in enumerate(text.split("\n"), 1):
        for char in line:
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth < 0:
                return Check(name, False, f"line {number}: '}}' without an opening '{{'")
    if depth:
        return Check(name, False, f"{depth} '{{' never closed")
    return Check(name, True, "balanced")


def _no_placeholders(files: Sequence[ExtractedFile]) -> Check:
    verdict = lazy_verdict(files)
    if verdict.lazy:
        return Check("no placeholders", False, verdict.reason())
    return Check("no placeholders", True, "none found")
