"""`run_sandboxed`: one isolated, limited run of a command, from run dir to result."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tools.sandbox.argv import bwrap_argv, prlimit_argv, sandbox_environment, unshare_argv
from tools.sandbox.pump import Killer, Pumped, pump_output
from tools.sandbox.records import (
    BWRAP,
    ISOLATIONS,
    SOCKET_GUARD,
    UNSHARE,
    SandboxLimits,
    SandboxResult,
    find_tool,
)
from tools.sandbox.rundir import prepare_dir, remove_dir
from tools.sandbox.uids import allocate_uid, count_tasks, release_uid

_MEMORY_MARKERS = (
    "MemoryError",
    "JavaScript heap out of memory",
    "Array buffer allocation failed",
    "Cannot allocate memory",
    "std::bad_alloc",
    "out of memory",
)


def _killed_reason(returncode: int | None, pumped: Pumped, stderr: str, limits: SandboxLimits) -> str | None:
    if pumped.timed_out:
        return "timeout"
    if pumped.overflow:
        return "output-limit"
    if returncode is None or returncode == 0:
        return None
    if returncode < 0:
        sig = -returncode
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and pumped.cpu_time >= limits.cpu_seconds - 0.05):
            return "cpu"
        if sig == signal.SIGXFSZ:
            return "file-size"
    if any(marker in stderr for marker in _MEMORY_MARKERS):
        return "memory"
    if "File too large" in stderr:
        return "file-size"
    return f"signal {-returncode}" if returncode < 0 else None


def run_sandboxed(
    cmd: Sequence[str],
    files: Mapping[str, str | bytes] | None = None,
    *,
    stdin: str | None = None,
    limits: SandboxLimits = SandboxLimits(),  # frozen, safe as a default
    env: Mapping[str, str] | None = None,
    isolation: str | None = None,
) -> SandboxResult:
    """Run `cmd` in a fresh temp dir holding `files`, isolated and limited; never raises for
    anything the command does.

    `cmd[0]` is looked up on the sandbox PATH (`DEFAULT_PATH` unless `env` sets PATH). `env` is
    added to the minimal environment. `isolation` forces one of `available_isolations()`.
    Under bwrap a process killed by signal N makes bwrap exit 128+N; that is reported as -N
    (so a program that itself exits 129..159 is reported as killed by a signal).
    """
    if isinstance(cmd, str) or not cmd:
        raise ValueError("cmd must be a non-empty sequence of arguments")
    isolation = isolation or isolation_available()
    if isolation not in ISOLATIONS:
        raise ValueError(f"unknown isolation {isolation!r}; expected one of {ISOLATIONS}")
    uid = allocate_uid()
    root = prepare_dir(files, uid)
    try:
        return _run(list(cmd), root, uid, isolation, stdin, limits, env)
    finally:
        remove_dir(root)
        release_uid(uid)


def _run(
    cmd: list[str],
    root: Path,
    uid: int | None,
    isolation: str,
    stdin: str | None,
    limits: SandboxLimits,
    env: Mapping[str, str] | None,
) -> SandboxResult:
    work = root / "work"
    if uid is not None or isolation != SOCKET_GUARD:
        nproc = limits.max_processes
    else:
        nproc = count_tasks(os.getuid()) + limits.max_processes
    inner = prlimit_argv(cmd, limits, nproc)
    drop: dict[str, Any] = {}  # root drops privileges inside bwrap/unshare, or here via subprocess
    if isolation == BWRAP:
        argv = bwrap_argv(work, inner, limits, uid)
    elif isolation == UNSHARE:
        if uid is None:
            raise RuntimeError("the unshare-net sandbox needs root")
        argv = unshare_argv(work, inner, limits, uid)
    else:
        argv = inner
        if uid is not None:
            drop = {"user": uid, "group": uid, "extra_groups": []}
    start = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=work,
        env=sandbox_environment(cmd, root, isolation, limits, env),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        close_fds=True,
        **drop,
    )
    killer = Killer(proc.pid, uid)
    stdin_bytes = stdin.encode() if stdin is not None else None
    pumped = pump_output(
        proc,
        stdin_bytes,
        limits,
        start + limits.timeout,
        killer,
        always_kill_uid=isolation == SOCKET_GUARD,
    )
    duration = time.monotonic() - start
    returncode = os.waitstatus_to_exitcode(pumped.status) if pumped.status >= 0 else None
    if isolation == BWRAP and returncode is not None and 128 < returncode < 160:
        returncode = -(returncode - 128)
    stdout = pumped.stdout.decode("utf-8", errors="replace")
    stderr = pumped.stderr.decode("utf-8", errors="replace")
    return SandboxResult(
        returncode=None if pumped.timed_out else returncode,
        stdout=stdout,
        stderr=stderr,
        timed_out=pumped.timed_out,
        duration=duration,
        isolation=isolation,
        killed_reason=_killed_reason(returncode, pumped, stderr, limits),
        truncated=pumped.overflow,
    )


# -- which isolation works here: each mechanism probed once, with a real run ----------------


@functools.cache
def probe_isolation(isolation: str) -> bool:
    """Whether `isolation` actually works here: its tools exist and a trivial run succeeds."""
    needs = {BWRAP: ["bwrap"], UNSHARE: ["unshare", "setpriv", "mount"], SOCKET_GUARD: []}
    if any(find_tool(tool) is None for tool in [*needs[isolation], "prlimit", "true"]):
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
    return tuple(isolation for isolation in ISOLATIONS if probe_isolation(isolation))


@functools.cache
def isolation_available() -> str:
    """The mechanism `run_sandboxed` uses here, computed once."""
    for isolation in ISOLATIONS:
        if probe_isolation(isolation):
            return isolation
    raise RuntimeError("no sandbox mechanism works here; is util-linux (prlimit) installed?")
