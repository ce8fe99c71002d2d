"""One page run: load the page under a paused fake clock, record what it does, sample it.

`PageRun.play` drives the run (load, settle, then the two timed probes at the end of this module);
its event handlers record errors, dialogs, blocked requests and navigations; the verdict
is made from its fields by tools.browser.verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from tools.browser.error_places import ERROR_PLACES_INIT_SCRIPT, ERROR_PLACES_SCRIPT
from tools.browser.page_scripts import (
    BLOCKED_MARK,
    FOCUS_SCRIPT,
    INIT_SCRIPT,
    KEY_LISTENER_SCRIPT,
    SAMPLE_LIMITS,
    SAMPLE_SCRIPT,
    SUPPRESSED_SCRIPT,
    WEBRTC_SCRIPT,
)
from tools.browser.records import Sample, first_line, tally_error, truncate

SETTLE_MS = 96  # fake time for the first frames before the baseline (first paint != motion)
MAX_BLOCKED = 50

T = TypeVar("T")


def is_local(url: str, origin: str) -> bool:
    """Whether `url` is on the page's own loopback server (the only origin a page may reach)."""
    return url == origin or url.startswith(origin + "/")


class StopRun(Exception):
    """Ends a run early; the message says why (used in the details of undecided checks)."""


class PageRun:
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
        self.first: Sample | None = None
        self.last: Sample | None = None  # the latest sample, None once anything has run
        self.drawn: str | None = None
        self.blank = "nothing sampled"
        self.advances: tuple[bool, str] | None = None
        self.keys: tuple[bool, str] | None = None
        self.screenshot: Path | None = None
        self.error_places: list[str] = []  # "TypeError: ... @ index.html:3:33", first MAX_ERRORS
        # What was done to the page since it loaded, in order ("step", ms), ("focus", None),
        # ("key", name): a run without the keys can replay the rest (see replay_without_keys).
        self.schedule: list[tuple[str, Any]] = []
        self.new_context: Callable[[], Awaitable[BrowserContext]] | None = None  # for that run
        self.origin = ""
        self.clock_start = 0.0

    async def play(self, context: BrowserContext, origin: str, url: str, screenshot: Path | None) -> None:
        self.url, self.origin, self.clock_start = url, origin, time.time()
        await self._prepare(context, functools.partial(self._route, origin), self._route_web_socket)
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
        except StopRun as stop:
            self.stopped = str(stop)
        except PlaywrightError as error:  # e.g. the document was replaced mid-call
            self.stopped = self._navigated_detail() or first_line(str(error))
        if self.unresponsive is None:
            with contextlib.suppress(Exception):
                self.suppressed = int(await self.op(page.evaluate(SUPPRESSED_SCRIPT), "counting errors"))
                self.error_count += self.suppressed
            with contextlib.suppress(Exception):
                places = await self.op(page.evaluate(ERROR_PLACES_SCRIPT), "reading where errors were thrown")
                self.error_places = [truncate(str(place).replace(origin + "/", "")) for place in places]
        if screenshot is not None and self.unresponsive is None:
            with contextlib.suppress(Exception):
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                timeout_ms = max(500, min(5000, self._remaining() * 1000))
                await page.screenshot(path=screenshot, timeout=timeout_ms)
                self.screenshot = screenshot

    async def _prepare(self, context: BrowserContext, route: Any, route_web_socket: Any) -> None:
        """Routes, the paused fake clock at `clock_start`, and the init scripts: the same for
        the run and for a replay of it."""
        await context.route("**/*", route)
        with contextlib.suppress(AttributeError):  # route_web_socket: Playwright >= 1.48
            await context.route_web_socket("**/*", route_web_socket)
        # pause_at alone installs the fake clock already paused. After install(), the clock ran
        # in real time until paused, and each page replays that gap into performance.now(): a
        # few ms that differed from run to run, and shifted Date.now() against the frames.
        await context.clock.pause_at(self.clock_start)
        await context.add_init_script(WEBRTC_SCRIPT)  # first: before any script of the page
        await context.add_init_script(INIT_SCRIPT)  # after the clock: it wraps the fake timers
        await context.add_init_script(ERROR_PLACES_INIT_SCRIPT)

    async def replay_without_keys(self, positions: list[int]) -> list[str]:
        """The drawn state at each of `positions` (lengths of `schedule`, ascending) in a
        fresh run of the same page that does everything this one did except press the keys.

        The clock starts at the same instant and Math.random is seeded, so the two runs draw
        the same until a key changes something. Nothing of the replay is recorded (its
        errors and requests were seen already). Raises StopRun when it cannot be made."""
        if self.new_context is None:
            raise StopRun("no browser context for a run without keys")
        origin = self.origin

        async def route(request_route: Any) -> None:
            if is_local(request_route.request.url, origin):
                await request_route.continue_()
            else:
                await request_route.abort("blockedbyclient")

        async def close_socket(ws: Any) -> None:
            await ws.close()

        def call(awaitable: Awaitable[T]) -> Awaitable[T]:
            # a replay that hangs ends only itself, not the run it checks
            return self.op(awaitable, "replaying the run without keys", ends_run=False)

        context = await call(self.new_context())
        try:
            await self._prepare(context, route, close_socket)
            page = await call(context.new_page())
            page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.dismiss()))
            await call(page.goto(self.url, wait_until="load", timeout=self.load_timeout * 1000))
            states: list[str] = []
            done = 0
            for position in positions:
                for kind, value in self.schedule[done:position]:
                    if kind == "step":
                        await call(page.clock.run_for(value))
                    elif kind == "focus":
                        await call(page.evaluate(FOCUS_SCRIPT))
                done = position
                states.append((await call(page.evaluate(SAMPLE_SCRIPT, SAMPLE_LIMITS)))["state"])
            return states
        except PlaywrightError as error:
            raise StopRun(first_line(str(error))) from None
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(context.close(), 10)

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
            self.load_detail = f"loading failed: {first_line(str(error))}"
            raise StopRun(self.load_detail) from None
        else:
            self.loaded = True
            self.load_detail = f"loaded in {time.monotonic() - begun:.2f} s"

    async def step(self, ms: int) -> None:
        assert self.page is not None
        self.last = None
        self.schedule.append(("step", ms))
        await self.op(self.page.clock.run_for(ms), "running the page's timers")

    async def current(self) -> Sample:
        """The drawn state now: the last sample if nothing has run since, else a new one."""
        return self.last or await self.sample()

    async def sample(self) -> Sample:
        assert self.page is not None
        try:
            raw = await self.op(self.page.evaluate(SAMPLE_SCRIPT, SAMPLE_LIMITS), "reading the drawing")
        except PlaywrightError as error:  # the document went away under us
            raise StopRun(self._navigated_detail() or first_line(str(error))) from None
        sample = Sample(doc=str(raw.get("doc")), state=raw["state"], drawn=raw["drawn"], blank=raw["blank"])
        if self.first is not None and sample.doc != self.first.doc:
            raise StopRun(self._navigated_detail() or "the page reloaded itself")
        if sample.drawn and not self.drawn:
            self.drawn = sample.drawn
        if not self.drawn:
            self.blank = sample.blank
        self.last = sample
        return sample

    async def op(self, awaitable: Awaitable[T], doing: str, *, ends_run: bool = True) -> T:
        """Await one call into the page, bounded by OP_TIMEOUT and the run's deadline. A call
        that hangs marks the page unresponsive, unless `ends_run` is False (a side run)."""
        if self.unresponsive:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise StopRun(self.unresponsive)
        remaining = self._remaining()
        if remaining <= 0:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise StopRun("the run ran out of time")
        try:
            return await asyncio.wait_for(awaitable, min(self.op_timeout, remaining))
        except TimeoutError:
            if self._remaining() <= 0:
                raise StopRun("the run ran out of time") from None
            if not ends_run:
                raise StopRun(f"no answer within {self.op_timeout:g} s while {doing}") from None
            self._set_unresponsive(
                f"the page stopped responding while {doing} (a script busy > {self.op_timeout:g} s)"
            )
            raise StopRun(self.unresponsive) from None

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
        if is_local(url, origin):
            await route.continue_()
            return
        if len(self.blocked) < MAX_BLOCKED:
            self.blocked.append(truncate(url))
        with contextlib.suppress(PlaywrightError):  # a request without a frame raises here
            if route.request.is_navigation_request() and route.request.frame == self.page_frame():
                self.navigations.append(truncate(url))
        await route.abort("blockedbyclient")

    async def _route_web_socket(self, ws: Any) -> None:
        if len(self.blocked) < MAX_BLOCKED:
            self.blocked.append(truncate(ws.url))
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
            self.navigations.append(truncate(frame.url))

    def _on_page_error(self, error: Any) -> None:
        self.error_count += 1
        name = getattr(error, "name", "") or ""
        message = getattr(error, "message", "") or str(error)
        tally_error(self.errors, truncate(f"{name}: {message}" if name else message))

    def _on_console(self, message: Any) -> None:
        if message.type == "debug" and message.text.startswith(BLOCKED_MARK):
            attempt = truncate(message.text.removeprefix(BLOCKED_MARK))
            if len(self.blocked) < MAX_BLOCKED and attempt not in self.blocked:
                self.blocked.append(attempt)
            return
        if message.type != "error":
            return
        where = (message.location or {}).get("url", "")
        if where and where in self.blocked:
            return  # "Failed to load resource" for a request we blocked: already recorded
        tally_error(self.console_errors, truncate(f"console.error: {message.text}"))

    async def _on_dialog(self, dialog: Any) -> None:
        tally_error(self.dialogs, truncate(f"{dialog.type}: {dialog.message}"))
        with contextlib.suppress(Exception):
            await dialog.dismiss()

    async def _on_popup(self, popup: Page) -> None:
        with contextlib.suppress(Exception):
            await popup.close()


# -- the two timed probes: does the page change by itself, do keys change it -------------------
# Both step the page's fake clock and compare samples of the drawing; how a key response is
# told apart from a gravity tick is explained in the package docstring (tools.browser).

KEYS = ("ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Space")

STEP_MS = 64  # fake-time step while waiting for a gravity tick to dodge
IDLE_STEP_MS = 250  # coarser step while only asking "does it move at all?"
WINDOW_MS = 32  # fake time after a key (two animation frames) for rAF-drawn games
IDLE_MS = 1500  # how long to watch for a change with no keys
SYNC_MS = 1200  # how long to wait for the next gravity tick before a key


async def check_advances(run: PageRun, idle_ms: int, after_keys: bool = False) -> None:
    before = await run.current()
    elapsed = 0
    while elapsed < idle_ms:
        await run.step(IDLE_STEP_MS)
        elapsed += IDLE_STEP_MS
        if (await run.sample()).state != before.state:
            if after_keys:
                detail = (
                    f"static for {IDLE_MS} ms at the start; after the keys it changed by "
                    f"itself within {elapsed} ms (the game waits for a key to start)"
                )
            else:
                detail = f"changed by itself within {elapsed} ms, no keys pressed"
            run.advances = (True, detail)
            return
    prefix = "static at the start and still static after the keys" if after_keys else ""
    run.advances = (False, prefix or f"no change in {idle_ms} ms with no keys")


async def check_keys(run: PageRun) -> None:
    assert run.page is not None
    await run.op(run.page.evaluate(FOCUS_SCRIPT), "focusing the page")
    run.schedule.append(("focus", None))
    # ticking: the page changes by itself, so a tick must be dodged before each key.
    # synced: we are right after such a change (within STEP_MS). probed: we already
    # looked for ticks after a key changed a still page (a key may start the game: look
    # once, not before every key).
    ticking = probed = bool(run.advances and run.advances[0])
    synced = False
    results: list[str] = []
    responded = False
    gate: tuple[int, str] | None = None  # where the first key was pressed, and the state then
    unproven: list[tuple[int, str, str]] = []  # (where, key, state) of changes a tick may have made
    for key in KEYS:
        if ticking and not synced and not await _sync(run):
            ticking = False  # no change in SYNC_MS: nothing to dodge
        animating = False
        if ticking:
            control = await run.current()
            await run.step(WINDOW_MS)
            animating = (await run.current()).state != control.state
        before = await run.current()
        gate = gate or (len(run.schedule), before.state)
        await run.op(run.page.keyboard.press(key), f"pressing {key}")
        run.schedule.append(("key", key))
        run.last = None
        at_once = await run.current()
        synced = False
        if at_once.state != before.state:
            results.append(f"{key}: changed at once")
            responded = True
        else:
            await run.step(WINDOW_MS)
            after = await run.current()
            if after.state == at_once.state:
                results.append(f"{key}: no change")
                continue
            if animating:
                results.append(f"{key}: changed, but the page also changes every frame alone")
                unproven.append((len(run.schedule), key, after.state))
                continue
            results.append(f"{key}: changed within {WINDOW_MS} ms")
            if ticking:  # a tick faster than the dodge (~130 ms) can fall in the window
                unproven.append((len(run.schedule), key, after.state))
            else:
                responded = True
        if not probed:
            ticking = probed = True
    said = "; ".join(results)
    if not await run.op(run.page.evaluate(KEY_LISTENER_SCRIPT), "looking for key listeners"):
        # Asked whatever was seen: a change after a key can be the page's own doing (a piece that
        # falls off the canvas and respawns in the window after the key), and how often that
        # coincidence happens depends on the machine's timing.
        responded, said = False, f"the page has no key listener (keydown, keyup or keypress): {said}"
    elif not responded and gate is not None and unproven:
        responded, compared = await compare_without_keys(run, gate, unproven)
        said = f"{said}; {compared}"
    run.keys = (responded, said)


async def compare_without_keys(
    run: PageRun, gate: tuple[int, str], unproven: list[tuple[int, str, str]]
) -> tuple[bool, str]:
    """For a page that changes by itself: do the keys make it draw something other than a
    run without them, at the same moments? `gate` (where the first key was pressed, the
    state then) must match first, or the page is not deterministic enough to compare."""
    try:
        states = await run.replay_without_keys([gate[0]] + [where for where, _, _ in unproven])
    except StopRun as stop:
        return False, f"a run without keys to compare with could not be made ({stop})"
    if states[0] != gate[1]:
        return False, "a run without keys drew something else before any key, so the two cannot be compared"
    for (_, key, state), control in zip(unproven, states[1:], strict=True):
        if state != control:
            return True, f"after {key} it drew something else than a run without keys at the same moment"
    return False, "a run without keys drew the same at every moment after a key: the keys changed nothing"


async def _sync(run: PageRun) -> bool:
    """Step until the page changes by itself (a gravity tick): False if SYNC_MS passes."""
    before = await run.current()
    elapsed = 0
    while elapsed < SYNC_MS:
        await run.step(STEP_MS)
        elapsed += STEP_MS
        if (await run.current()).state != before.state:
            return True
    return False
