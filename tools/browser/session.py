"""The browser session: one chromium driven from its own event-loop thread, and the
entry point `check_game_page`."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import threading
import time
import urllib.parse
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from playwright.async_api import Browser, BrowserContext, ViewportSize, async_playwright
from playwright.async_api import Error as PlaywrightError

from agents.config import chromium_path
from tools.browser.app_probes import AppRun, app_report, failed_app_report
from tools.browser.chromium import (
    CHROMIUM_ENV,
    DEFAULT_CHROMIUM,
    LAUNCH_ARGS,
    BrowserUnavailable,
    browser_available,
)
from tools.browser.records import PageReport
from tools.browser.run import PageRun
from tools.browser.site_server import serve_site
from tools.browser.verdict import failed_report, page_report

VIEWPORT: ViewportSize = {"width": 1024, "height": 768}
LOAD_TIMEOUT = 5.0  # seconds for the load event (at most a quarter of the run's timeout)
OP_TIMEOUT = 5.0  # seconds for one call into the page (at most a quarter of the timeout)

T = TypeVar("T")


def check_page(
    site_dir: Path,
    entry: str = "index.html",
    *,
    screenshot: Path | None = None,
    timeout: float = 20.0,
    browser: BrowserSession | None = None,
    app: bool = False,
) -> PageReport:
    """Load `site_dir/entry` in headless chromium and report the four checks of a game
    (`app=True`: loads, draws and responds_to_input of a web app, tools.browser.app_probes).

    Pass a `BrowserSession` to reuse one browser across pages; without one, a browser is
    launched and closed for this page. Raises BrowserUnavailable if chromium cannot start;
    everything a page does wrong (errors, hangs, navigating away) is a failed check instead.
    """
    if not (Path(site_dir) / entry).is_file():
        missing = failed_report(f"{entry} not found in {site_dir}", 0.0)
        return failed_app_report(missing) if app else missing
    if browser is not None:
        return browser.check(site_dir, entry, screenshot=screenshot, timeout=timeout, app=app)
    with BrowserSession() as session:
        return session.check(site_dir, entry, screenshot=screenshot, timeout=timeout, app=app)


check_game_page = functools.partial(check_page, app=False)
"""`check_page` for a game: the four checks."""
check_app_page = functools.partial(check_page, app=True)
"""`check_page` for a web app (no game): loads, draws and responds_to_input."""


class BrowserSession:
    """One chromium for many checks, driven from its own event-loop thread.

    Each check gets a fresh browser context (no shared storage) and its own HTTP server.
    If chromium dies, the next check launches a new one.
    """

    def __init__(self, executable: str | None = None) -> None:
        path = executable or browser_available()
        if path is None:
            where = chromium_path(DEFAULT_CHROMIUM)
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
        app: bool = False,
    ) -> PageReport:
        """Blocking form: see `check_page`."""
        started = time.monotonic()
        try:
            return self._call(self._check(site_dir, entry, screenshot, timeout, app=app), timeout + 30)
        except TimeoutError:
            # The run has its own deadline; this is the backstop if chromium stops answering.
            self._call(self._drop_browser(), timeout=30)
            stopped = failed_report("the browser stopped answering", time.monotonic() - started)
            return failed_app_report(stopped) if app else stopped

    async def check_async(
        self,
        site_dir: Path,
        entry: str = "index.html",
        *,
        screenshot: Path | None = None,
        timeout: float = 20.0,
        app: bool = False,
    ) -> PageReport:
        """Awaitable form for callers on another event loop (e.g. an async evaluator); see
        `check_page`."""
        future = asyncio.run_coroutine_threadsafe(
            self._check(site_dir, entry, screenshot, timeout, app=app), self._loop
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
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
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

    async def _check(
        self, site_dir: Path, entry: str, screenshot: Path | None, timeout: float, app: bool = False
    ) -> PageReport:
        started = time.monotonic()
        site_dir = Path(site_dir)
        if not (site_dir / entry).is_file():
            missing = failed_report(f"{entry} not found in {site_dir}", 0.0)
            return failed_app_report(missing) if app else missing
        browser = await self._ensure_browser()
        kind = AppRun if app else PageRun
        run = kind(started + timeout, min(LOAD_TIMEOUT, timeout / 4), min(OP_TIMEOUT, timeout / 4))

        def new_context() -> Awaitable[BrowserContext]:
            return browser.new_context(viewport=VIEWPORT, service_workers="block", accept_downloads=False)

        run.new_context = new_context  # a game's keys may be checked against a run without them
        with serve_site(site_dir) as origin:
            context = await new_context()
            try:
                await run.play(context, origin, f"{origin}/{urllib.parse.quote(entry)}", screenshot)
            finally:
                try:
                    await asyncio.wait_for(context.close(), 10)
                except Exception:
                    # A renderer that will not die takes the browser with it; relaunch later.
                    await self._drop_browser()
        if isinstance(run, AppRun):
            return app_report(run, time.monotonic() - started)
        return page_report(run, time.monotonic() - started)
