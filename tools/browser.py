"""Judge a generated game page by running it in headless Chromium.

Keyword checks cannot tell a Tetris game from a page that throws on every frame and draws a
black board, so this module loads the page in Debian's chromium and watches it:

- ``loads``: no uncaught JavaScript error during load and play (an unhandled promise
  rejection counts, e.g. a ``fetch`` to the blocked network without ``.catch``), the load
  event fires, and the page keeps answering (an infinite loop fails here).
- ``draws``: a canvas holds non-background pixels, or the DOM holds a board grid of >= 100
  cells.
- ``advances``: the drawn state changes with time alone, no keys pressed in that window.
- ``responds_to_keys``: ArrowLeft/ArrowRight/ArrowUp/ArrowDown/Space change the drawn state.

How a run goes: ``site_dir`` is served by a loopback HTTP server (only that folder), every
request to any other origin is blocked and recorded, and the page's clock (``Date``, timers,
``requestAnimationFrame``) is Playwright's fake clock, paused from the first instant. Time
only moves when we step it, so a run is deterministic and fast: two seconds of game time
take a fraction of a second. The page's first ~100 ms are let run before any comparison, so
a first paint does not count as motion. Real time only bounds the run: the load event
(5 s), each call into the page (5 s; both at most a quarter of ``timeout``) and the whole
run (``timeout``). A busy loop trips them; so can a machine starved of CPU, so run checks
one or two at a time per two cores.

The drawn state is a fingerprint: a hash of every canvas's pixels plus the class, inline
style and text of each cell of the board grid (not computed styles, so CSS transitions
cannot fake a change).

Telling key responses from gravity: a falling-block game changes by itself on every drop
tick, so "the picture changed after a key" proves nothing if a tick fell in the same
window. With time under our control:

1. After pressing a key we sample *before* any time passes. Timers cannot fire while the
   clock is paused, so a change here was made by the key handler: conclusive.
2. Games that draw in ``requestAnimationFrame`` need a frame first, so we also step
   ``WINDOW_MS`` (two frames) and compare. To keep gravity out of that window we first
   step until the game makes its own next change (a tick just happened, the next one is a
   whole period away), then step one more window with no key as a control: if that control
   window changed too, the page animates continuously and only rule 1 counts for that key.
   This is exact for drop intervals above ~130 ms (STEP_MS + 2 * WINDOW_MS); a page that
   moves by itself faster than that (but not every frame) can be credited with keys.

A game that waits for a key before pieces start falling fails the idle window at the start;
after the key round we watch once more with no keys, and if it then moves by itself
``advances`` passes, with the detail saying so.

Keys go to the focused element: the first element with a tabindex if there is one, else
the document body (so ``document``/``window`` listeners hear them). We do not click: a
click can be a game action.

Use one ``BrowserSession`` for many pages (a launch costs ~1-2 s, a page ~1.5-3 s)::

    with BrowserSession() as browser:
        report = check_game_page(Path("out/site"), browser=browser, screenshot=Path("s.png"))
    print(report.passed, [(c.name, c.passed, c.detail) for c in report.checks])

From async code use ``await browser.check_async(...)`` (the session runs its own event loop
in a thread, so both forms work from any thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.server
import os
import shutil
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

CHROMIUM_ENV = "CODECREW_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Defence in depth behind page.route: no host name resolves, so nothing the router
    # does not see (a worker's socket, a prefetch) can leave the machine either.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
VIEWPORT = {"width": 1024, "height": 768}
KEYS = ("ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Space")

STEP_MS = 64  # fake-time step while waiting for a gravity tick to dodge
IDLE_STEP_MS = 250  # coarser step while only asking "does it move at all?"
WINDOW_MS = 32  # fake time after a key (two animation frames) for rAF-drawn games
SETTLE_MS = 96  # fake time for the first frames before the baseline (first paint != motion)
IDLE_MS = 1500  # how long to watch for a change with no keys
SYNC_MS = 1200  # how long to wait for the next gravity tick before a key
LOAD_TIMEOUT = 5.0  # seconds for the load event (at most a quarter of the run's timeout)
OP_TIMEOUT = 5.0  # seconds for one call into the page (at most a quarter of the timeout)
DRAWN_FRACTION = 0.001  # a canvas "draws" when this share of pixels is not background
GRID_CELLS = 100
MAX_ERRORS = 20
REPORTED_ERRORS = 50  # errors thrown in timer callbacks beyond this are only counted in-page
MAX_ERROR_CHARS = 300
MAX_BLOCKED = 50

T = TypeVar("T")


class BrowserUnavailable(RuntimeError):
    """Chromium (or its Playwright driver) cannot be started; the message says how to fix it."""


@dataclass(frozen=True)
class PageCheck:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class PageReport:
    checks: list[PageCheck]
    js_errors: list[str]  # uncaught errors, then console.error lines; repeats as "... (xN)"
    blocked_requests: list[str]  # requests to non-local URLs, all blocked
    screenshot: Path | None
    duration: float
    dialogs: list[str] = field(default_factory=list)  # alert/confirm/prompt, dismissed; "(xN)"
    error_count: int = 0  # uncaught errors seen, including those past MAX_ERRORS

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)

    def check(self, name: str) -> PageCheck:
        """The check called `name` ("loads", "draws", "responds_to_keys", "advances")."""
        return next(check for check in self.checks if check.name == name)


def browser_available() -> str | None:
    """Path of the chromium executable ($CODECREW_CHROMIUM or /usr/bin/chromium), or None."""
    configured = os.environ.get(CHROMIUM_ENV)
    candidates = [configured] if configured else [DEFAULT_CHROMIUM, shutil.which("chromium")]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def check_game_page(
    site_dir: Path,
    entry: str = "index.html",
    *,
    screenshot: Path | None = None,
    timeout: float = 20.0,
    browser: BrowserSession | None = None,
) -> PageReport:
    """Load `site_dir/entry` in headless chromium and report the four checks.

    Pass a `BrowserSession` to reuse one browser across pages; without one, a browser is
    launched and closed for this page. Raises BrowserUnavailable if chromium cannot start;
    everything a page does wrong (errors, hangs, navigating away) is a failed check instead.
    """
    if not (Path(site_dir) / entry).is_file():
        return _failed_report(f"{entry} not found in {site_dir}", 0.0)
    if browser is not None:
        return browser.check(site_dir, entry, screenshot=screenshot, timeout=timeout)
    with BrowserSession() as session:
        return session.check(site_dir, entry, screenshot=screenshot, timeout=timeout)


class BrowserSession:
    """One chromium for many checks, driven from its own event-loop thread.

    Each check gets a fresh browser context (no shared storage) and its own HTTP server.
    If chromium dies, the next check launches a new one.
    """

    def __init__(self, executable: str | None = None) -> None:
        path = executable or browser_available()
        if path is None:
            where = os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
            raise BrowserUnavailable(
                f"chromium not found at {where}: apt-get install chromium (or set {CHROMIUM_ENV})"
            )
        self.executable = path
        self._playwright: Any = None
        self._browser: Browser | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="codecrew-browser", daemon=True)
        self._thread.start()
        try:
            self._call(self._ensure_browser(), timeout=120)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> BrowserSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check(
        self,
        site_dir: Path,
        entry: str = "index.html",
        *,
        screenshot: Path | None = None,
        timeout: float = 20.0,
    ) -> PageReport:
        """Blocking form: see `check_game_page`."""
        started = time.monotonic()
        try:
            return self._call(self._check(site_dir, entry, screenshot, timeout), timeout + 30)
        except TimeoutError:
            # The run has its own deadline; this is the backstop if chromium stops answering.
            self._call(self._drop_browser(), timeout=30)
            return _failed_report("the browser stopped answering", time.monotonic() - started)

    async def check_async(
        self,
        site_dir: Path,
        entry: str = "index.html",
        *,
        screenshot: Path | None = None,
        timeout: float = 20.0,
    ) -> PageReport:
        """Awaitable form for callers on another event loop (e.g. an async evaluator)."""
        future = asyncio.run_coroutine_threadsafe(
            self._check(site_dir, entry, screenshot, timeout), self._loop
        )
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                self._call(self._shutdown(), timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        if not self._loop.is_running():
            self._loop.close()

    def _call(self, coro: Awaitable[T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    async def _ensure_browser(self) -> Browser:
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        await self._drop_browser()
        try:
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(
                executable_path=self.executable, args=LAUNCH_ARGS, timeout=60_000
            )
        except PlaywrightError as error:
            first_line = (error.message or str(error)).strip().splitlines()[0]
            raise BrowserUnavailable(f"chromium at {self.executable} failed to start: {first_line}") from None
        return self._browser

    async def _drop_browser(self) -> None:
        browser, self._browser = self._browser, None
        if browser is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(browser.close(), 10)

    async def _shutdown(self) -> None:
        await self._drop_browser()
        playwright, self._playwright = self._playwright, None
        if playwright is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(playwright.stop(), 10)

    async def _check(self, site_dir: Path, entry: str, screenshot: Path | None, timeout: float) -> PageReport:
        started = time.monotonic()
        site_dir = Path(site_dir)
        if not (site_dir / entry).is_file():
            return _failed_report(f"{entry} not found in {site_dir}", 0.0)
        browser = await self._ensure_browser()
        run = _PageRun(started + timeout, min(LOAD_TIMEOUT, timeout / 4), min(OP_TIMEOUT, timeout / 4))
        with _serve(site_dir) as origin:
            context = await browser.new_context(
                viewport=VIEWPORT, service_workers="block", accept_downloads=False
            )
            try:
                await run.play(context, origin, f"{origin}/{urllib.parse.quote(entry)}", screenshot)
            finally:
                try:
                    await asyncio.wait_for(context.close(), 10)
                except Exception:
                    # A renderer that will not die takes the browser with it; relaunch later.
                    await self._drop_browser()
        return run.report(time.monotonic() - started)


# --- one page run ---------------------------------------------------------------------------


class _Stop(Exception):
    """Ends a run early; the message says why (used in the details of undecided checks)."""


@dataclass(frozen=True)
class _Sample:
    doc: str  # per-document token: changes when the page navigates or reloads
    state: str  # the fingerprint compared between samples
    drawn: str | None  # what counts as drawn ("canvas 300x600: 2.0% ..."), None if nothing
    blank: str  # what was seen when nothing is drawn


class _PageRun:
    def __init__(self, deadline: float, load_timeout: float, op_timeout: float) -> None:
        self.deadline = deadline
        self.load_timeout = load_timeout
        self.op_timeout = op_timeout
        self.page: Page | None = None
        self.errors: dict[str, int] = {}  # message -> times seen, first MAX_ERRORS kinds
        self.error_count = 0
        self.console_errors: dict[str, int] = {}
        self.blocked: list[str] = []
        self.dialogs: dict[str, int] = {}
        self.navigations: list[str] = []
        self.url = ""
        self.suppressed = 0  # errors the page only counted (past REPORTED_ERRORS)
        self.load_detail = "not loaded"
        self.loaded = False
        self.stopped: str | None = None
        self.unresponsive: str | None = None
        self.first: _Sample | None = None
        self.last: _Sample | None = None  # the latest sample, None once anything has run
        self.drawn: str | None = None
        self.blank = "nothing sampled"
        self.advances: tuple[bool, str] | None = None
        self.keys: tuple[bool, str] | None = None
        self.screenshot: Path | None = None

    async def play(self, context: BrowserContext, origin: str, url: str, screenshot: Path | None) -> None:
        await context.route("**/*", functools.partial(self._route, origin))
        with contextlib.suppress(AttributeError):  # route_web_socket: Playwright >= 1.48
            await context.route_web_socket("**/*", self._route_web_socket)
        self.url = url
        start = time.time()
        await context.clock.install(time=start)
        await context.clock.pause_at(start + 0.001)
        await context.add_init_script(_INIT_SCRIPT)  # after the clock: it wraps the fake timers
        self.page = page = await context.new_page()
        page.on("popup", self._on_popup)
        page.on("pageerror", self._on_page_error)
        page.on("console", self._on_console)
        page.on("dialog", self._on_dialog)
        page.on("crash", lambda _: self._set_unresponsive("the page crashed"))
        page.on("framenavigated", self._on_navigated)
        try:
            await self._load(url)
            self.first = await self._sample()
            await self._step(SETTLE_MS)
            await self._check_advances(IDLE_MS)
            await self._check_keys()
            if self.advances and not self.advances[0]:
                await self._check_advances(IDLE_MS, after_keys=True)
        except _Stop as stop:
            self.stopped = str(stop)
        except PlaywrightError as error:  # e.g. the document was replaced mid-call
            self.stopped = self._navigated_detail() or _first_line(str(error))
        if self.unresponsive is None:
            with contextlib.suppress(Exception):
                self.suppressed = int(await self._op(page.evaluate(_SUPPRESSED_SCRIPT), "counting errors"))
                self.error_count += self.suppressed
        if screenshot is not None and self.unresponsive is None:
            with contextlib.suppress(Exception):
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                timeout_ms = max(500, min(5000, self._remaining() * 1000))
                await page.screenshot(path=screenshot, timeout=timeout_ms)
                self.screenshot = screenshot

    async def _load(self, url: str) -> None:
        assert self.page is not None
        begun = time.monotonic()
        try:
            await self.page.goto(url, wait_until="load", timeout=self.load_timeout * 1000)
        except PlaywrightTimeoutError:
            self.load_detail = f"the load event did not fire within {self.load_timeout:g} s"
        except PlaywrightError as error:
            self.load_detail = f"loading failed: {_first_line(str(error))}"
            raise _Stop(self.load_detail) from None
        else:
            self.loaded = True
            self.load_detail = f"loaded in {time.monotonic() - begun:.2f} s"

    async def _check_advances(self, idle_ms: int, after_keys: bool = False) -> None:
        before = await self._current()
        elapsed = 0
        while elapsed < idle_ms:
            await self._step(IDLE_STEP_MS)
            elapsed += IDLE_STEP_MS
            if (await self._sample()).state != before.state:
                if after_keys:
                    detail = (
                        f"static for {IDLE_MS} ms at the start; after the keys it changed by "
                        f"itself within {elapsed} ms (the game waits for a key to start)"
                    )
                else:
                    detail = f"changed by itself within {elapsed} ms, no keys pressed"
                self.advances = (True, detail)
                return
        prefix = "static at the start and still static after the keys" if after_keys else ""
        self.advances = (False, prefix or f"no change in {idle_ms} ms with no keys")

    async def _check_keys(self) -> None:
        assert self.page is not None
        await self._op(self.page.evaluate(_FOCUS_SCRIPT), "focusing the page")
        # ticking: the page changes by itself, so a tick must be dodged before each key.
        # synced: we are right after such a change (within STEP_MS). probed: we already
        # looked for ticks after a key changed a still page (a key may start the game: look
        # once, not before every key).
        ticking = probed = bool(self.advances and self.advances[0])
        synced = False
        results: list[str] = []
        responded = False
        for key in KEYS:
            if ticking and not synced and not await self._sync():
                ticking = False  # no change in SYNC_MS: nothing to dodge
            animating = False
            if ticking:
                control = await self._current()
                await self._step(WINDOW_MS)
                animating = (await self._current()).state != control.state
            before = await self._current()
            await self._op(self.page.keyboard.press(key), f"pressing {key}")
            self.last = None
            at_once = await self._current()
            synced = False
            if at_once.state != before.state:
                results.append(f"{key}: changed at once")
                responded = True
            else:
                await self._step(WINDOW_MS)
                after = await self._current()
                if after.state == at_once.state:
                    results.append(f"{key}: no change")
                    continue
                if animating:
                    results.append(f"{key}: changed, but the page also changes every frame alone")
                    continue
                results.append(f"{key}: changed within {WINDOW_MS} ms")
                responded = True
            if not probed:
                ticking = probed = True
        self.keys = (responded, "; ".join(results))

    async def _sync(self) -> bool:
        """Step until the page changes by itself (a gravity tick): False if SYNC_MS passes."""
        before = await self._current()
        elapsed = 0
        while elapsed < SYNC_MS:
            await self._step(STEP_MS)
            elapsed += STEP_MS
            if (await self._current()).state != before.state:
                return True
        return False

    async def _step(self, ms: int) -> None:
        assert self.page is not None
        self.last = None
        await self._op(self.page.clock.run_for(ms), "running the page's timers")

    async def _current(self) -> _Sample:
        """The drawn state now: the last sample if nothing has run since, else a new one."""
        return self.last or await self._sample()

    async def _sample(self) -> _Sample:
        assert self.page is not None
        try:
            raw = await self._op(self.page.evaluate(_SAMPLE_SCRIPT, _SAMPLE_LIMITS), "reading the drawing")
        except PlaywrightError as error:  # the document went away under us
            raise _Stop(self._navigated_detail() or _first_line(str(error))) from None
        sample = _Sample(doc=str(raw.get("doc")), state=raw["state"], drawn=raw["drawn"], blank=raw["blank"])
        if self.first is not None and sample.doc != self.first.doc:
            raise _Stop(self._navigated_detail() or "the page reloaded itself")
        if sample.drawn and not self.drawn:
            self.drawn = sample.drawn
        if not self.drawn:
            self.blank = sample.blank
        self.last = sample
        return sample

    async def _op(self, awaitable: Awaitable[T], doing: str) -> T:
        """Await one call into the page, bounded by OP_TIMEOUT and the run's deadline."""
        if self.unresponsive:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise _Stop(self.unresponsive)
        remaining = self._remaining()
        if remaining <= 0:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise _Stop("the run ran out of time")
        try:
            return await asyncio.wait_for(awaitable, min(self.op_timeout, remaining))
        except TimeoutError:
            if self._remaining() <= 0:
                raise _Stop("the run ran out of time") from None
            self._set_unresponsive(
                f"the page stopped responding while {doing} (a script busy > {self.op_timeout:g} s)"
            )
            raise _Stop(self.unresponsive) from None

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _set_unresponsive(self, why: str) -> None:
        self.unresponsive = self.unresponsive or why

    def _navigated_detail(self) -> str | None:
        if not self.navigations:
            return None
        return f"the page navigated away (to {self.navigations[0]})"

    # --- event handlers ---

    async def _route(self, origin: str, route: Any) -> None:
        url = route.request.url
        if url == origin or url.startswith(origin + "/"):
            await route.continue_()
            return
        if len(self.blocked) < MAX_BLOCKED:
            self.blocked.append(_truncate(url))
        with contextlib.suppress(PlaywrightError):  # a request without a frame raises here
            if route.request.is_navigation_request() and route.request.frame == self.page_frame():
                self.navigations.append(_truncate(url))
        await route.abort("blockedbyclient")

    async def _route_web_socket(self, ws: Any) -> None:
        if len(self.blocked) < MAX_BLOCKED:
            self.blocked.append(_truncate(ws.url))
        await ws.close()

    def page_frame(self) -> Any:
        return self.page.main_frame if self.page is not None else None

    def _on_navigated(self, frame: Any) -> None:
        if (
            self.first is not None
            and frame == self.page_frame()
            and not frame.url.startswith("chrome-error:")
            and frame.url.split("#")[0] != self.url  # a reload or an in-page anchor
            and not self.navigations
        ):
            self.navigations.append(_truncate(frame.url))

    def _on_page_error(self, error: Any) -> None:
        self.error_count += 1
        name = getattr(error, "name", "") or ""
        message = getattr(error, "message", "") or str(error)
        _tally(self.errors, _truncate(f"{name}: {message}" if name else message))

    def _on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        where = (message.location or {}).get("url", "")
        if where and where in self.blocked:
            return  # "Failed to load resource" for a request we blocked: already recorded
        _tally(self.console_errors, _truncate(f"console.error: {message.text}"))

    async def _on_dialog(self, dialog: Any) -> None:
        _tally(self.dialogs, _truncate(f"{dialog.type}: {dialog.message}"))
        with contextlib.suppress(Exception):
            await dialog.dismiss()

    async def _on_popup(self, popup: Page) -> None:
        with contextlib.suppress(Exception):
            await popup.close()

    # --- the verdict ---

    def report(self, duration: float) -> PageReport:
        why_not = self.stopped or "not reached"
        if self.unresponsive:
            loads = (False, self.unresponsive if self.loaded else f"{self.load_detail}; {self.unresponsive}")
        elif self.error_count:
            s = "s" if self.error_count > 1 else ""
            first = next(iter(self.errors))
            loads = (False, f"{self.error_count} uncaught error{s}; first: {first}")
        elif not self.loaded:
            loads = (False, self.load_detail)
        else:
            loads = (True, f"{self.load_detail}, no uncaught errors")
        if self.drawn:
            draws = (True, self.drawn)
        elif self.first is None:
            draws = (False, why_not)
        else:
            draws = (False, self.blank)
        keys = self.keys or (False, why_not)
        advances = self.advances or (False, why_not)
        if self.stopped and self.advances and not self.advances[0]:
            advances = (False, f"{self.advances[1]}; then {self.stopped}")
        return PageReport(
            checks=[
                PageCheck("loads", *loads),
                PageCheck("draws", *draws),
                PageCheck("responds_to_keys", *keys),
                PageCheck("advances", *advances),
            ],
            js_errors=self._error_lines(),
            blocked_requests=list(self.blocked),
            screenshot=self.screenshot,
            duration=round(duration, 3),
            dialogs=_lines(self.dialogs.items()),
            error_count=self.error_count,
        )

    def _error_lines(self) -> list[str]:
        lines = _lines([*self.errors.items(), *self.console_errors.items()][:MAX_ERRORS])
        if self.suppressed:
            lines.append(f"... and {self.suppressed} more uncaught errors in timer callbacks")
        return lines


def _failed_report(why: str, duration: float) -> PageReport:
    names = ("loads", "draws", "responds_to_keys", "advances")
    return PageReport(
        checks=[PageCheck(name, False, why) for name in names],
        js_errors=[],
        blocked_requests=[],
        screenshot=None,
        duration=round(duration, 3),
    )


def _lines(tally: Iterable[tuple[str, int]]) -> list[str]:
    return [f"{text} (x{count})" if count > 1 else text for text, count in tally]


def _tally(seen: dict[str, int], text: str) -> None:
    if text in seen or len(seen) < MAX_ERRORS:
        seen[text] = seen.get(text, 0) + 1


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _first_line(text: str) -> str:
    return _truncate(text.strip().splitlines()[0] if text.strip() else text)


# --- the loopback server --------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


@contextlib.contextmanager
def _serve(site_dir: Path) -> Iterator[str]:
    """Serve site_dir (and nothing else) on 127.0.0.1 at a free port; yield the origin."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="codecrew-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- scripts run in the page ----------------------------------------------------------------

# Runs before the page's own scripts in every document, after the fake clock is in place:
# - a token that tells documents apart;
# - timer callbacks that throw are reported like any uncaught error (pageerror). The fake
#   clock would catch them and rethrow only the first from run_for, so without this a page
#   failing on every frame would look like a single error;
# - a record of each canvas's context type (WebGL gets preserveDrawingBuffer so its pixels
#   can be read back between frames).
_INIT_SCRIPT = """
(() => {
  const cc = { doc: Math.random().toString(36).slice(2), types: new WeakMap(), reported: 0,
              suppressed: 0 };
  Object.defineProperty(window, "__codecrew", { value: cc, enumerable: false });
  for (const name of ["setTimeout", "setInterval", "requestAnimationFrame", "requestIdleCallback"]) {
    const scheduled = window[name];
    if (typeof scheduled !== "function") continue;
    window[name] = function (callback, ...rest) {
      if (typeof callback !== "function") return scheduled.call(window, callback, ...rest);
      const guarded = function (...args) {
        try {
          return callback.apply(this, args);
        } catch (error) {
          if (cc.reported++ < REPORTED_ERRORS) reportError(error);
          else cc.suppressed++;
        }
      };
      return scheduled.call(window, guarded, ...rest);
    };
  }
  const getContext = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (type, attributes) {
    if (/webgl/i.test(String(type))) {
      attributes = Object.assign({}, attributes, { preserveDrawingBuffer: true });
    }
    const context = getContext.call(this, type, attributes);
    if (context && !cc.types.has(this)) cc.types.set(this, String(type));
    return context;
  };
})();
""".replace("REPORTED_ERRORS", str(REPORTED_ERRORS))

_SUPPRESSED_SCRIPT = "() => (window.__codecrew ? window.__codecrew.suppressed : 0)"

_FOCUS_SCRIPT = """
() => {
  const target = document.querySelector('[tabindex]:not([tabindex="-1"])');
  if (target && typeof target.focus === "function") target.focus();
  window.focus();
}
"""

# Returns {doc, state, drawn, blank}. state: FNV-1a hashes of every canvas's pixels plus the
# board grid's cells. drawn: a description of the first canvas with non-background pixels
# or of the grid, else null. A grid is >= 100 leaf elements of one tag under one parent
# (cells) or one grandparent (rows of cells).
_SAMPLE_SCRIPT = """
({ GRID_CELLS, DRAWN_FRACTION }) => {
  const cc = window.__codecrew;
  const fnv = (h, x) => Math.imul(h ^ x, 16777619);
  const parts = [], blanks = [];
  let drawn = null;
  const canvases = [...document.querySelectorAll("canvas")];
  canvases.forEach((canvas, index) => {
    const w = canvas.width, h = canvas.height;
    const type = cc && cc.types.get(canvas);
    if (!type || !w || !h) { parts.push(`c${index}:${w}x${h}:empty`); return; }
    let data;
    try {
      if (type === "2d") {
        data = canvas.getContext("2d").getImageData(0, 0, w, h).data;
      } else {
        const scratch = document.createElement("canvas");
        scratch.width = w; scratch.height = h;
        const ctx = scratch.getContext("2d");
        ctx.drawImage(canvas, 0, 0);
        data = ctx.getImageData(0, 0, w, h).data;
      }
    } catch (error) {
      parts.push(`c${index}:${w}x${h}:unreadable`); return;
    }
    const pixels = new Uint32Array(data.buffer, data.byteOffset, data.byteLength >> 2);
    let hash = 2166136261;
    for (let i = 0; i < pixels.length; i++) hash = fnv(hash, pixels[i]);
    parts.push(`c${index}:${w}x${h}:${hash >>> 0}`);
    const stride = Math.max(1, Math.floor(pixels.length / 20000));
    const counts = new Map();
    let sampled = 0;
    for (let i = 0; i < pixels.length; i += stride) {
      counts.set(pixels[i], (counts.get(pixels[i]) || 0) + 1);
      sampled++;
    }
    let background = 0, most = 0;
    for (const [color, count] of counts) if (count > most) { most = count; background = color; }
    const share = (sampled - most) / sampled;
    const bytes = [0, 8, 16, 24].map((s) => (background >>> s) & 255);
    const colour = "#" + bytes.slice(0, 3).map((b) => b.toString(16).padStart(2, "0")).join("");
    const bg = bytes[3] === 0 ? "transparent" : colour;
    if (share >= DRAWN_FRACTION && !drawn) {
      drawn = `canvas ${index + 1} (${w}x${h}): ${(share * 100).toFixed(1)}% of pixels `
        + `differ from the background ${bg}`;
    } else if (share < DRAWN_FRACTION) {
      blanks.push(`canvas ${index + 1} (${w}x${h}) is all background ${bg}`);
    }
  });

  const byParent = new Map(), byGrand = new Map();
  const bump = (map, el, tag) => {
    if (!el) return;
    let tags = map.get(el);
    if (!tags) map.set(el, (tags = new Map()));
    tags.set(tag, (tags.get(tag) || 0) + 1);
  };
  const skip = new Set(["SCRIPT", "STYLE", "CANVAS", "BR", "OPTION", "svg"]);
  for (const el of document.body ? document.body.querySelectorAll("*") : []) {
    if (el.childElementCount || skip.has(el.tagName)) continue;
    const parent = el.parentElement;
    bump(byParent, parent, el.tagName);
    bump(byGrand, parent && parent.parentElement, el.tagName);
  }
  const best = (map) => {
    let found = null;
    for (const [el, tags] of map) for (const [tag, count] of tags) {
      if (count >= GRID_CELLS && (!found || count > found.count)) found = { el, tag, count };
    }
    return found;
  };
  const grid = best(byParent) || best(byGrand);
  if (grid) {
    let hash = 2166136261;
    const looks = new Set();
    for (const cell of grid.el.querySelectorAll(grid.tag)) {
      if (cell.childElementCount) continue;
      const look = `${cell.className}|${cell.getAttribute("style") || ""}|${cell.textContent}`;
      looks.add(look);
      for (let i = 0; i < look.length; i++) hash = fnv(hash, look.charCodeAt(i));
      hash = fnv(hash, 10);
    }
    const name = grid.el.id ? `#${grid.el.id}` : grid.el.tagName.toLowerCase();
    parts.push(`grid:${grid.count}:${hash >>> 0}`);
    if (!drawn) {
      drawn = `DOM grid of ${grid.count} ${grid.tag.toLowerCase()} cells in ${name} `
        + `(${looks.size} distinct looks)`;
    }
  }
  const blank = canvases.length
    ? blanks.join("; ") || "no canvas has readable pixels"
    : `no canvas and no DOM grid of >= ${GRID_CELLS} cells`;
  return { doc: cc ? cc.doc : null, state: parts.join(" "), drawn, blank };
}
"""
_SAMPLE_LIMITS = {"GRID_CELLS": GRID_CELLS, "DRAWN_FRACTION": DRAWN_FRACTION}
