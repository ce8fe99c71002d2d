"""Which isolation mechanism works on this machine: each is probed once, with a real run.

A fallback is never silent: `sandbox_status()` says which mechanism is in force, whether it
is a weak one, and why the better ones did not work, in one warning line for the run and
the report."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from tools.sandbox.records import BWRAP, ISOLATIONS, SOCKET_GUARD, UNSHARE, SandboxLimits, _which

_WEAKNESS = {
    UNSHARE: "the root file system stays writable for root, so only file permissions protect it",
    SOCKET_GUARD: (
        "no namespaces: generated code can write to /tmp, reach Unix sockets and, outside Python, the network"
    ),
}
_HOW_TO_FIX = "install bubblewrap (apt-get install bubblewrap) and allow unprivileged user namespaces"


@dataclass(frozen=True)
class SandboxStatus:
    """The mechanism in force and, when it is not the best one, why and what that costs."""

    isolation: str
    weak: bool  # socket-guard: the code is not contained, only discouraged
    warning: str | None  # one line for the run and the report; None with bwrap

    def as_dict(self) -> dict[str, object]:
        return {"isolation": self.isolation, "weak": self.weak, "warning": self.warning}


def _probe_problem(isolation: str) -> str | None:
    """Why `isolation` does not work here (None: it does): its tools, then a trivial run."""
    from tools.sandbox.run import run_sandboxed  # not at the top: run imports this module

    needs = {BWRAP: ["bwrap"], UNSHARE: ["unshare", "setpriv", "mount"], SOCKET_GUARD: []}
    missing = [tool for tool in [*needs[isolation], "prlimit", "true"] if _which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not installed"
    if isolation == UNSHARE and os.geteuid() != 0:
        return "needs root"
    try:
        result = run_sandboxed(["true"], limits=SandboxLimits(timeout=15), isolation=isolation)
    except Exception as exc:  # a mechanism that cannot even start is simply not available
        return f"{type(exc).__name__}: {exc}"
    if result.ok:
        return None
    return result.infrastructure or f"a trivial run failed: {result.stderr.strip()[-200:]}"


@functools.cache
def probe_problems() -> dict[str, str | None]:
    """Each mechanism and why it does not work here (None: it works), probed once."""
    return {isolation: _probe_problem(isolation) for isolation in ISOLATIONS}


def _probe(isolation: str) -> bool:
    return probe_problems()[isolation] is None


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


def describe_isolation(isolation: str, problems: dict[str, str | None]) -> SandboxStatus:
    """The status of running under `isolation`, given why the better mechanisms failed."""
    better = ISOLATIONS[: ISOLATIONS.index(isolation)]
    if not better:
        return SandboxStatus(isolation, weak=False, warning=None)
    why = "; ".join(f"{name}: {problems.get(name) or 'not used'}" for name in better)
    weak = isolation == SOCKET_GUARD
    level = "WEAK sandbox" if weak else "sandbox fallback"
    warning = f"{level}: generated code runs under {isolation} ({_WEAKNESS[isolation]}), because {why}"
    return SandboxStatus(isolation, weak=weak, warning=f"{warning}; to fix: {_HOW_TO_FIX}")


def sandbox_status() -> SandboxStatus:
    """The mechanism in force here and what to say about it (probed once)."""
    return describe_isolation(isolation_available(), probe_problems())
