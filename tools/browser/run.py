"""One page run: load the page under a paused fake clock, record what it does, sample it.

`_PageRun.play` drives the run (load, settle, then the probes in tools.browser.probes);
its event handlers record errors, dialogs, blocked requests and navigations; the verdict
is made from its fields by tools.browser.verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from tools.browser.error_places import ERROR_PLACES_INIT_SCRIPT, ERROR_PLACES_SCRIPT
from tools.browser.page_scripts import (
    _INIT_SCRIPT,
    _SAMPLE_LIMITS,
    _SAMPLE_SCRIPT,
    _SUPPRESSED_SCRIPT,
    _WEBRTC_SCRIPT,
    BLOCKED_MARK,
)
from tools.browser.probes import IDLE_MS, check_advances, check_keys
from tools.browser.records import _first_line, _Sample, _tally, _truncate

SETTLE_MS = 96  # fake time for the first frames before the baseline (first paint != motion)
MAX_BLOCKED = 50

T = TypeVar("T")


class _Stop(Exception):
    """Ends a run early; the message says why (used in the details of undecided checks)."""


class _PageRun:
    """One page in a fresh browser context: what it did so far, and how to step and sample it."""

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
        self.error_places: list[str] = []  # "TypeError: ... @ index.html:3:33", first MAX_ERRORS

    async def play(self, context: BrowserContext, origin: str, url: str, screenshot: Path | None) -> None:
        await context.route("**/*", functools.partial(self._route, origin))
        with contextlib.suppress(AttributeError):  # route_web_socket: Playwright >= 1.48
            await context.route_web_socket("**/*", self._route_web_socket)
        self.url = url
        start = time.time()
        await context.clock.install(time=start)
        await context.clock.pause_at(start + 0.001)
        await context.add_init_script(_WEBRTC_SCRIPT)  # first: before any script of the page
        await context.add_init_script(_INIT_SCRIPT)  # after the clock: it wraps the fake timers
        await context.add_init_script(ERROR_PLACES_INIT_SCRIPT)
        self.page = page = await context.new_page()
        page.on("popup", self._on_popup)
        page.on("pageerror", self._on_page_error)
        page.on("console", self._on_console)
        page.on("dialog", self._on_dialog)
        page.on("crash", lambda _: self._set_unresponsive("the page crashed"))
        page.on("framenavigated", self._on_navigated)
        try:
            await self._load(url)
            self.first = await self.sample()
            await self.step(SETTLE_MS)
            await self.probe()
        except _Stop as stop:
            self.stopped = str(stop)
        except PlaywrightError as error:  # e.g. the document was replaced mid-call
            self.stopped = self._navigated_detail() or _first_line(str(error))
        if self.unresponsive is None:
            with contextlib.suppress(Exception):
                self.suppressed = int(await self.op(page.evaluate(_SUPPRESSED_SCRIPT), "counting errors"))
                self.error_count += self.suppressed
            with contextlib.suppress(Exception):
                places = await self.op(page.evaluate(ERROR_PLACES_SCRIPT), "reading where errors were thrown")
                self.error_places = [_truncate(str(place).replace(origin + "/", "")) for place in places]
        if screenshot is not None and self.unresponsive is None:
            with contextlib.suppress(Exception):
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                timeout_ms = max(500, min(5000, self._remaining() * 1000))
                await page.screenshot(path=screenshot, timeout=timeout_ms)
                self.screenshot = screenshot

    async def probe(self) -> None:
        """The game probes: does it move by itself, do the keys move it."""
        await check_advances(self, IDLE_MS)
        await check_keys(self)
        if self.advances and not self.advances[0]:
            await check_advances(self, IDLE_MS, after_keys=True)

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

    async def step(self, ms: int) -> None:
        assert self.page is not None
        self.last = None
        await self.op(self.page.clock.run_for(ms), "running the page's timers")

    async def current(self) -> _Sample:
        """The drawn state now: the last sample if nothing has run since, else a new one."""
        return self.last or await self.sample()

    async def sample(self) -> _Sample:
        assert self.page is not None
        try:
            raw = await self.op(self.page.evaluate(_SAMPLE_SCRIPT, _SAMPLE_LIMITS), "reading the drawing")
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

    async def op(self, awaitable: Awaitable[T], doing: str) -> T:
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
        if message.type == "debug" and message.text.startswith(BLOCKED_MARK):
            attempt = _truncate(message.text.removeprefix(BLOCKED_MARK))
            if len(self.blocked) < MAX_BLOCKED and attempt not in self.blocked:
                self.blocked.append(attempt)
            return
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
