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
request to any other origin is blocked and recorded, WebRTC (which no request route sees)
is removed from every document before the page's scripts run and its UDP is off by launch
flag, each attempt recorded as a blocked ``webrtc: <server url>`` request, and the page's
clock (``Date``, timers, ``requestAnimationFrame``) is Playwright's fake clock, paused from the
first instant, and ``Math.random`` is seeded (the next piece is the same on every run).
Time only moves when we step it, so a run is deterministic and fast: two seconds of game time
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
   window changed too, the page animates continuously and only rule 1 (or 3) counts for that key.
   This is exact for drop intervals above ~130 ms (STEP_MS + 2 * WINDOW_MS), but a page
   that moves by itself faster than that (not every frame) can have a drop land in the
   window after a key: on a page that moves by itself, rule 2 only proposes, rule 3 decides.
3. A page that moves by itself and passed rule 1 for no key is run a second time, in a
   fresh context from the same clock instant (``Math.random`` is seeded), doing everything
   the first run did except press the keys. Its drawing is compared with the first run's
   at the moment just before the first key (they must match, or the page is not
   deterministic and nothing is credited) and at each moment after a key that rule 2
   proposed or that changed a page animating every frame: a difference there is the
   keys' doing. This costs one more page load (about half a second), only for such pages.
4. Whatever was seen, a page with no key listener (``keydown``/``keyup``/``keypress``, added
   or as an ``on...`` handler) fails: a change after a key was then the page's own doing.

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

A web app (no game) is judged by ``check_app_page`` / ``browser.check_async(..., app=True)``: loads,
draws and ``responds_to_input`` (typing into its inputs, clicking its buttons changes the
page; see tools.browser.app_probes). Every report lists where uncaught errors were thrown
(``error_places``: "TypeError: ... @ index.html:3:33").

From async code use ``await browser.check_async(...)`` (the session runs its own event loop
in a thread, so both forms work from any thread).

The package, one job per module: `chromium` (finding chromium, its launch flags),
`session` (`BrowserSession`, `check_page` and its two forms), `site_server` (the loopback server),
`run` (one page run, its event handlers and the two probes: advances, responds_to_keys),
`page_scripts` (the JavaScript run in the page), `records` (`PageReport`, `PageCheck`,
samples, message tallies) and `verdict` (a run as a `PageReport`).
"""

from __future__ import annotations

from tools.browser.chromium import BrowserUnavailable, browser_available
from tools.browser.records import PageCheck, PageReport
from tools.browser.session import BrowserSession, check_app_page, check_game_page

__all__ = [
    "BrowserSession",
    "BrowserUnavailable",
    "PageCheck",
    "PageReport",
    "browser_available",
    "check_app_page",
    "check_game_page",
]
