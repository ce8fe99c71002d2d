"""`run_sandboxed`: one isolated, limited run of a command, from run dir to result."""

from __future__ import annotations

import functools
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tools.sandbox.argv import bwrap_argv, prlimit_argv, sandbox_environment, started_marker, unshare_argv
from tools.sandbox.pump import Killer, Pumped, pump_output
from tools.sandbox.records import (
    BWRAP,
    DEFAULT_PATH,
    ISOLATIONS,
    SOCKET_GUARD,
    UNSHARE,
    SandboxLimits,
    SandboxResult,
    find_tool,
)
from tools.sandbox.rundir import prepare_dir, remove_dir
from tools.sandbox.seccomp import loader_argv, unix_socket_filter
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
    if "No space left on device" in stderr:
        return "disk-full"
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
        result = _run(list(cmd), root, uid, isolation, stdin, limits, env)
    finally:
        remove_dir(root)
        release_uid(uid)
    exec_failed = result.infrastructure is None and result.returncode in (126, 127)
    if exec_failed and (problem := _command_problem(cmd[0], isolation, env)):
        return replace(result, infrastructure=problem)
    return result


def _command_problem(command: str, isolation: str, env: Mapping[str, str] | None) -> str | None:
    """Why `command` cannot be run inside the sandbox (None: it can). Asked only after an
    exit status of 126/127, which a program may also choose itself."""
    test = '[ -x "$1" ] && [ -f "$1" ]' if os.path.isabs(command) else 'command -v -- "$1" >/dev/null'
    probe = run_sandboxed(
        ["/bin/sh", "-c", test, "sh", command],
        limits=SandboxLimits(timeout=15),
        env={"PATH": (env or {}).get("PATH", DEFAULT_PATH)},
        isolation=isolation,
    )
    if probe.infrastructure or probe.returncode != 0:
        return (
            f"{command} is not found or not executable inside the {isolation} sandbox: "
            "install it, or run from an interpreter the sandbox can see"
        )
    return None


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
    token = f"codecrew-sandbox-started-{secrets.token_hex(8)}"
    inner = started_marker(token, prlimit_argv(cmd, limits, nproc), copy_in=isolation == BWRAP)
    popen_options: dict[str, Any] = {}  # root drops privileges inside bwrap/unshare, or here (user=)
    filter_fd: int | None = None  # bwrap reads its seccomp filter from this pipe
    if isolation == BWRAP:
        program = unix_socket_filter()
        if program is not None:
            filter_fd, write_end = os.pipe()
            os.write(write_end, program)  # a few dozen bytes: never blocks
            os.close(write_end)
            popen_options["pass_fds"] = (filter_fd,)
        argv = bwrap_argv(work, inner, limits, uid, command=cmd[0], seccomp_fd=filter_fd)
    elif isolation == UNSHARE:
        if uid is None:
            raise RuntimeError("the unshare-net sandbox needs root")
        program = unix_socket_filter()
        loader = loader_argv(program) if program is not None else []
        argv = unshare_argv(work, inner, limits, uid, command=cmd[0], loader=loader)
    else:
        argv = inner
        if uid is not None:
            popen_options = {"user": uid, "group": uid, "extra_groups": []}
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=work,
            env=sandbox_environment(cmd, root, isolation, limits, env),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
            **popen_options,
        )
    except OSError as exc:
        why = f"the {isolation} sandbox could not start: {exc}"
        return SandboxResult(None, "", "", False, 0.0, isolation, None, infrastructure=why)
    finally:
        if filter_fd is not None:
            os.close(filter_fd)
    killer = Killer(proc.pid, uid)
    stdin_bytes = stdin.encode() if stdin is not None else None
    pumped = pump_output(
        proc,
        stdin_bytes,
        limits,
        start + limits.timeout,
        killer,
        always_kill_uid=isolation == SOCKET_GUARD,
        stderr_marker=len(token) + 1,
    )
    duration = time.monotonic() - start
    returncode = os.waitstatus_to_exitcode(pumped.status) if pumped.status >= 0 else None
    if isolation == BWRAP and returncode is not None and 128 < returncode < 160:
        returncode = -(returncode - 128)
    stdout = pumped.stdout.decode("utf-8", errors="replace")
    marker = f"{token}\n".encode()
    started = pumped.stderr.startswith(marker)
    stderr = pumped.stderr.removeprefix(marker).decode("utf-8", errors="replace")
    infrastructure = None
    if not started and not pumped.timed_out:
        tail = " | ".join(line for line in stderr.strip().splitlines()[-3:])
        infrastructure = f"the {isolation} sandbox could not start: {tail or f'exit {returncode}'}"
    return SandboxResult(
        returncode=None if pumped.timed_out else returncode,
        stdout=stdout,
        stderr=stderr,
        timed_out=pumped.timed_out,
        duration=duration,
        isolation=isolation,
        killed_reason=_killed_reason(returncode, pumped, stderr, limits),
        truncated=pumped.overflow,
        infrastructure=infrastructure,
    )


# -- which isolation works here: each mechanism probed once, with a real run ----------------
# A fallback is never silent: `sandbox_status()` says which mechanism is in force, whether it
# is a weak one, and why the better ones did not work, in one line for the run and the report.

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
    needs = {BWRAP: ["bwrap"], UNSHARE: ["unshare", "setpriv", "mount"], SOCKET_GUARD: []}
    missing = [tool for tool in [*needs[isolation], "prlimit", "true"] if find_tool(tool) is None]
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


def probe_isolation(isolation: str) -> bool:
    return probe_problems()[isolation] is None


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
