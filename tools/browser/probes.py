"""The two timed probes of a page run: does the page change by itself, do keys change it.

Both step the page's fake clock and compare samples of the drawing; how a key response is
told apart from a gravity tick is explained in the package docstring (tools.browser).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tools.browser.page_scripts import _FOCUS_SCRIPT

if TYPE_CHECKING:
    from tools.browser.run import _PageRun

KEYS = ("ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Space")

STEP_MS = 64  # fake-time step while waiting for a gravity tick to dodge
IDLE_STEP_MS = 250  # coarser step while only asking "does it move at all?"
WINDOW_MS = 32  # fake time after a key (two animation frames) for rAF-drawn games
IDLE_MS = 1500  # how long to watch for a change with no keys
SYNC_MS = 1200  # how long to wait for the next gravity tick before a key


async def check_advances(run: _PageRun, idle_ms: int, after_keys: bool = False) -> None:
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


async def check_keys(run: _PageRun) -> None:
    assert run.page is not None
    await run.op(run.page.evaluate(_FOCUS_SCRIPT), "focusing the page")
    # ticking: the page changes by itself, so a tick must be dodged before each key.
    # synced: we are right after such a change (within STEP_MS). probed: we already
    # looked for ticks after a key changed a still page (a key may start the game: look
    # once, not before every key).
    ticking = probed = bool(run.advances and run.advances[0])
    synced = False
    results: list[str] = []
    responded = False
    for key in KEYS:
        if ticking and not synced and not await _sync(run):
            ticking = False  # no change in SYNC_MS: nothing to dodge
        animating = False
        if ticking:
            control = await run.current()
            await run.step(WINDOW_MS)
            animating = (await run.current()).state != control.state
        before = await run.current()
        await run.op(run.page.keyboard.press(key), f"pressing {key}")
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
                continue
            results.append(f"{key}: changed within {WINDOW_MS} ms")
            responded = True
        if not probed:
            ticking = probed = True
    run.keys = (responded, "; ".join(results))


async def _sync(run: _PageRun) -> bool:
    """Step until the page changes by itself (a gravity tick): False if SYNC_MS passes."""
    before = await run.current()
    elapsed = 0
    while elapsed < SYNC_MS:
        await run.step(STEP_MS)
        elapsed += STEP_MS
        if (await run.current()).state != before.state:
            return True
    return False
