"""Where Debian's chromium is, the flags it is launched with, and the error when it is missing."""

from __future__ import annotations

import os
import shutil

from agents.config import env_value

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
    # WebRTC is not a request the router sees: no UDP but through a proxy, and there is
    # none (the page's RTCPeerConnection is removed too: tools.browser.page_scripts).
    "--force-webrtc-ip-handling-policy",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
]


class BrowserUnavailable(RuntimeError):
    """Chromium (or its Playwright driver) cannot be started; the message says how to fix it."""


def browser_available() -> str | None:
    """Path of the chromium executable ($CODECREW_CHROMIUM or /usr/bin/chromium), or None."""
    configured = env_value(CHROMIUM_ENV)
    candidates = [configured] if configured else [DEFAULT_CHROMIUM, shutil.which("chromium")]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None
