"""Verify what a run wrote by running it with the judge that fits, and say what was seen.

`await verify_files(directory, names, request=...)` picks one judge from the written files
(and, for a page, from the request: a game or an app) and returns a `Verdict`: its status,
the `Check`s with their evidence, one line for the user (`summary()`), and the text a
repair prompt needs (`evidence()`). Pure functions, no model.

- an .html page: `web-game` for a keyboard game (loads, draws, responds_to_keys, advances)
  or `web-app` (loads, draws, responds_to_input), in headless Chromium;
- Python: `python` (compiles; runs: exit 0, no traceback, stdin at EOF), `python-server`
  (compiles; starts: still up after 3 s), `pytest` (test_*.py / *_test.py run by pytest);
- TypeScript / JavaScript: `typescript` / `javascript` (transpiles / parses: esbuild in the
  sandbox; runs under Node), `javascript-server` (starts: still up after 3 s);
- SQL: `sql` (runs: every statement in SQLite, schema files first);
- C / C++: `c` (compiles with gcc/g++, runs);
- anything else: `none`, not_verified, saying what is missing.
- a browser script with no HTML page, for a request that asks for a page (a game or app,
  read from the request): failed (`has_page`), so a repair can add the page.

Statuses: `verified` (every check passed; something really ran), `failed` (the code's
fault: the evidence says what), `not_verified` (no judge for it, or it needs a package or
display this machine lacks), `infrastructure` (the browser, sandbox or an interpreter
could not start: never the code's fault). Everything generated runs in tools.sandbox or in
headless Chromium with the network blocked.

Modules: `records` (Check, Verdict), `sandboxed` (reading files, running in the sandbox),
`web`, `python`, `node`, `sql`, `native` (one judge family each).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from tools.browser import BrowserSession
from tools.verify.native import C_SUFFIXES, CPP_SUFFIXES, judge_c, no_judge
from tools.verify.node import JS_SUFFIXES, TS_SUFFIXES, judge_node
from tools.verify.node import is_server as node_is_server
from tools.verify.python import is_server as python_is_server
from tools.verify.python import judge_python
from tools.verify.records import Check, Status, Verdict, infrastructure, not_verified
from tools.verify.sandboxed import read_files
from tools.verify.sql import judge_sql
from tools.verify.web import HTML_SUFFIXES, is_game, judge_web

__all__ = ["Check", "ExpectedJudge", "Status", "Verdict", "expected_judge", "judge_name", "verify_files"]

ExpectedJudge = Literal["game", "app", "python"]
_PYTHON_REQUEST = re.compile(r"\b(?:python3?|flask|django|fastapi|pygame|tkinter|pytest)\b|\.py\b", re.I)
_OTHER_LANGUAGE = re.compile(
    r"\b(?:node(?:\.?js)?|typescript|sql|sqlite|postgres|rust|golang|java|kotlin|swift|ruby|php|bash"
    r"|shell|perl|haskell|c#|c\+\+|cpp)\b|(?<![\w+])c(?![\w+#])(?=\s+(?:program|code|function))",
    re.I,
)
_WEB_REQUEST = re.compile(
    r"\b(?:web|html|page|website|site|browser|app|dashboard|form|todo|calculator|widget)\b", re.I
)


def expected_judge(request: str) -> ExpectedJudge | None:
    """The judge a request's answer will most likely meet, read from the request alone
    (before any code exists), so the generator can be told how it will be checked:
    Python when it names Python, a keyboard game, a web app; None when unsure."""
    if _PYTHON_REQUEST.search(request):
        return "python"
    if _OTHER_LANGUAGE.search(request):
        return None
    if is_game(request, ""):
        return "game"
    if _WEB_REQUEST.search(request):
        return "app"
    return None


def judge_name(files: Mapping[str, str | bytes]) -> str:
    """Which judge family the written files go to (before game/app or server is decided):
    a page, unless a server program came with it (its pages are templates or static files
    it serves; the server is what runs), then by language."""
    lowered = [name.lower() for name in sorted(files)]
    if any(name.endswith(HTML_SUFFIXES) for name in lowered):
        if any(name.endswith(".py") for name in lowered) and python_is_server(files):
            return "python"
        if any(name.endswith((*JS_SUFFIXES, *TS_SUFFIXES)) for name in lowered) and node_is_server(files):
            return "typescript" if any(name.endswith(TS_SUFFIXES) for name in lowered) else "javascript"
    for family, suffixes in (
        ("web", HTML_SUFFIXES),
        ("python", (".py",)),
        ("typescript", TS_SUFFIXES),
        ("javascript", JS_SUFFIXES),
        ("sql", (".sql",)),
        ("c", C_SUFFIXES),
        ("c++", CPP_SUFFIXES),
    ):
        if any(name.endswith(suffixes) for name in lowered):
            return family
    return "none"


async def verify_files(
    directory: Path,
    names: Sequence[str],
    *,
    request: str = "",
    screenshot: Path | None = None,
    timeout: float = 60.0,
    browser: BrowserSession | None = None,
) -> Verdict:
    """Run the written files (`names`, relative to `directory`) with the judge that fits.

    Pass `browser` to reuse one Chromium across calls; otherwise a page launches its own.
    Never raises for anything the code does; a harness failure is an `infrastructure` verdict.
    """
    directory = Path(directory)
    files = read_files(directory, names)
    if not files:
        return not_verified(
            "none", "no files were written" if not names else "none of the files could be read"
        )
    family = judge_name(files)
    try:
        if family == "web":
            return await judge_web(
                directory, files, request=request, screenshot=screenshot, timeout=timeout, browser=browser
            )
        if family == "python":
            return await judge_python(files, timeout)
        if family in ("typescript", "javascript"):
            page_asked = expected_judge(request) in ("game", "app")
            return await judge_node(files, family == "typescript", timeout, page_asked=page_asked)
        if family == "sql":
            return await judge_sql(files, timeout)
        if family in ("c", "c++"):
            return await judge_c(files, family == "c++", timeout)
    except Exception as error:  # a bug or a failure of the harness, never the code's fault
        return infrastructure(family, f"the {family} judge failed: {type(error).__name__}: {error}")
    return no_judge(sorted(files))
