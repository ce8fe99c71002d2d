"""Which isolation mechanism works on this machine: each is probed once, with a real run."""

from __future__ import annotations

import functools
import os

from tools.sandbox.records import BWRAP, ISOLATIONS, SOCKET_GUARD, UNSHARE, SandboxLimits, _which


@functools.cache
def _probe(isolation: str) -> bool:
    """Whether `isolation` actually works here: its tools exist and a trivial run succeeds."""
    from tools.sandbox.run import run_sandboxed  # not at the top: run imports this module

    needs = {BWRAP: ["bwrap"], UNSHARE: ["unshare", "setpriv", "mount"], SOCKET_GUARD: []}
    if any(_which(tool) is None for tool in [*needs[isolation], "prlimit", "true"]):
        return False
    if isolation == UNSHARE and os.geteuid() != 0:
        return False
    try:
        result = run_sandboxed(["true"], limits=SandboxLimits(timeout=15), isolation=isolation)
    except Exception:  # a mechanism that cannot even start is simply not available
        return False
    return result.ok


@functools.cache
def available_isolations() -> tuple[str, ...]:
    """Every mechanism that works on this machine, best first (probed once)."""
    return tuple(isolation for isolation in ISOLATIONS if _probe(isolation))


@functools.cache
def isolation_available() -> str:
    """The mechanism `run_sandboxed` uses here, computed once."""
    for isolation in ISOLATIONS:
        if _probe(isolation):
            return isolation
    raise RuntimeError("no sandbox mechanism works here; is util-linux (prlimit) installed?")
