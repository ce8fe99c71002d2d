"""Where a page's uncaught errors were thrown: file, line and column, for the repair prompt.

Playwright's `pageerror` carries a stack for runtime errors but none for a SyntaxError; the
window's `error` event has the place for both (and for errors re-reported from timer
callbacks by the init script in tools.browser.page_scripts). This init script records the
first few, and ERROR_PLACES_SCRIPT reads them back at the end of a run.
"""

from __future__ import annotations

from tools.browser.records import MAX_ERRORS

ERROR_PLACES_INIT_SCRIPT = """
(() => {
  const places = [];
  Object.defineProperty(window, "__codecrewErrorPlaces", { value: places, enumerable: false });
  window.addEventListener("error", (event) => {
    if (places.length >= MAX_ERRORS || !(event instanceof ErrorEvent)) return;
    const where = event.filename ? ` @ ${event.filename}:${event.lineno}:${event.colno}` : "";
    const text = `${event.message || String(event.error)}${where}`;
    if (!places.includes(text)) places.push(text);
  }, true);
})();
""".replace("MAX_ERRORS", str(MAX_ERRORS))

ERROR_PLACES_SCRIPT = "() => (window.__codecrewErrorPlaces ? [...window.__codecrewErrorPlaces] : [])"
