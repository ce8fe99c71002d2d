"""The web judges: the page is loaded in headless Chromium by tools.browser (loopback
server, every other request blocked, fake clock).

- a game (the request or the page names a keyboard game, or says "game" and listens to
  keys): loads, draws, responds_to_keys, advances (tools.browser's game checks);
- an app (anything else): loads, draws, responds_to_input (its own inputs and buttons).

`loads` also fails when the page points at a local file that was not written (a <script
src> or <link href> with no file behind it), and its detail names where uncaught errors
were thrown (file:line:column). A browser that cannot start is an infrastructure verdict.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from tools.browser import BrowserSession, BrowserUnavailable, PageReport
from tools.browser.app_probes import NO_CONTROLS
from tools.extract import find_references, is_external, local_target
from tools.formatting import bounded
from tools.verify.records import Check, Verdict, infrastructure, make_verdict
from tools.verify.sandboxed import text_of

PAGE_SECONDS = 30.0
HTML_SUFFIXES = (".html", ".htm")
_KEY_GAMES = re.compile(
    r"\b(?:tetris|snake|pong|breakout|arkanoid|asteroids|space\s*invaders|flappy|pac-?man|platformer"
    r"|frogger|racing|racer|shooter|dino\s*run)\b",
    re.I,
)
# A page with nothing to click or type in passes responds_to_input only when one was asked for.
_STATIC = re.compile(r"\b(?:landing|static|portfolio|resume|homepage|brochure|article|blog post)\b", re.I)
_GAME = re.compile(r"\bgames?\b", re.I)
_PLACE = re.compile(r"@ (?P<file>[^\s@]+):(?P<line>\d+):\d+$")  # the end of a browser error place
_KEY_LISTENER = re.compile(
    r"""addEventListener\(\s*['"]key(?:down|up|press)['"]|\bonkey(?:down|up|press)\s*=""", re.I
)


def html_entry(names: list[str]) -> str | None:
    """index.html (the shallowest), else the only (or first) HTML file."""
    pages = sorted((n for n in names if n.lower().endswith(HTML_SUFFIXES)), key=lambda n: (n.count("/"), n))
    for name in pages:
        if PurePosixPath(name).name.lower() in ("index.html", "index.htm"):
            return name
    return pages[0] if pages else None


def is_game(request: str, page_text: str) -> bool:
    """A keyboard game: the request or page names one, or says "game" and listens to keys."""
    if _KEY_GAMES.search(request) or _KEY_GAMES.search(page_text):
        return True
    return bool((_GAME.search(request) or _GAME.search(page_text)) and _KEY_LISTENER.search(page_text))


def missing_local_files(directory: Path, files: Mapping[str, str | bytes]) -> list[str]:
    """`page -> reference` for each local <script src>/<link href> with no file behind it."""
    missing = []
    for name in files:
        if not name.lower().endswith(HTML_SUFFIXES):
            continue
        for ref in find_references(text_of(files, name), "html"):
            target = local_target(ref, name)
            if is_external(ref) or target is None:
                continue
            if target.startswith("..") or not (directory / target).is_file():
                missing.append(f"{name} -> {ref}")
    return missing[:10]


async def judge_web(
    directory: Path,
    files: Mapping[str, str | bytes],
    *,
    request: str,
    screenshot: Path | None,
    timeout: float,
    browser: BrowserSession | None,
) -> Verdict:
    entry = html_entry(sorted(files))
    assert entry is not None
    page_text = "\n".join(
        text_of(files, name) for name in files if name.lower().endswith((*HTML_SUFFIXES, ".js", ".mjs"))
    )
    game = is_game(request, page_text)
    judge = "web-game" if game else "web-app"
    owned = browser is None
    try:
        session = browser if browser is not None else await asyncio.to_thread(BrowserSession)
    except BrowserUnavailable as error:
        return infrastructure(judge, f"the browser could not start (infrastructure): {error}")
    try:
        report = await session.check_async(
            directory, entry, screenshot=screenshot, timeout=min(timeout, PAGE_SECONDS), app=not game
        )
    except BrowserUnavailable as error:
        return infrastructure(judge, f"the browser could not start (infrastructure): {error}")
    finally:
        if owned:
            await asyncio.to_thread(session.close)
    places = quote_error_lines(report.error_places[:5], files)
    static_page = bool(_STATIC.search(request))
    checks = _checks(report, places, missing_local_files(directory, files), static_page=static_page)
    return make_verdict(judge, checks, screenshot=report.screenshot)


def quote_error_lines(places: list[str], files: Mapping[str, str | bytes]) -> list[str]:
    """Each "<error> @ file:line:column", followed by that line of the file as written: the
    model repairing it sees the statement at fault, not only a number."""
    shown = []
    for place in places:
        shown.append(place)
        found = _PLACE.search(place)
        if not found or found["file"] not in files:
            continue
        lines = text_of(files, found["file"]).splitlines()
        number = int(found["line"])
        if 0 < number <= len(lines) and lines[number - 1].strip():
            shown.append(f"  line {number}: {bounded(lines[number - 1].strip(), 160)}")
    return shown


def _checks(report: PageReport, places: list[str], missing: list[str], *, static_page: bool) -> list[Check]:
    checks = []
    for page_check in report.checks:
        passed, detail = page_check.passed, page_check.detail
        if page_check.name == "responds_to_input" and static_page and detail.startswith(NO_CONTROLS):
            passed, detail = True, f"{detail}: a static page was asked for"
        if page_check.name == "loads":
            if missing:
                passed = False
                detail = (
                    f"missing local file{'s' if len(missing) > 1 else ''}: {', '.join(missing)}; {detail}"
                )
            if not passed:
                if places:
                    detail += "\nthrown at: " + "\n  ".join(places)
                console = [line for line in report.js_errors if line.startswith("console.error")]
                if console:
                    detail += "\n" + "\n".join(console[:3])
        checks.append(Check(page_check.name, passed, detail))
    if report.blocked_requests and not all(c.passed for c in checks[:2]):
        at = 0 if not checks[0].passed else 1
        blocked = ", ".join(report.blocked_requests[:5])
        why = f"\nblocked requests (the page must work offline, from its own files): {blocked}"
        checks[at] = Check(checks[at].name, False, checks[at].detail + why)
    return checks
