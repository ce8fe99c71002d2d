"""Watching a running command: feed its stdin, read its capped output, enforce the deadline,
and kill its whole process tree."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass

from tools.sandbox.records import DEFAULT_PATH, SandboxLimits
from tools.sandbox.uids import SANDBOX_UID_BASE, count_tasks

_DRAIN_GRACE = 1.0  # seconds to collect remaining output once the process is gone or killed


def _has_exited(pid: int) -> bool:
    """Whether the child has exited, without reaping it (its pid, and so its pgid, stay ours)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


class Killer:
    """Kills a run's whole process tree: its process group and, if it has one, its uid."""

    def __init__(self, pid: int, uid: int | None) -> None:
        self.pid, self.uid = pid, uid

    def kill(self, *, whole_uid: bool) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        uid = self.uid
        if whole_uid and uid is not None and uid >= SANDBOX_UID_BASE and count_tasks(uid, besides=self.pid):
            # kill(-1) sent *as the run's uid* reaches exactly that uid's processes. Once
            # none is left, none can appear: only they could start more as that uid.
            subprocess.Popen(
                ["/bin/sh", "-c", "kill -9 -1"],
                user=self.uid,
                group=self.uid,
                extra_groups=[],
                env={"PATH": DEFAULT_PATH},
                cwd="/",
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ).wait()  # no timeout: run() would poll with sleeps; this takes a few ms


@dataclass
class Pumped:
    stdout: bytes
    stderr: bytes
    timed_out: bool
    overflow: bool
    status: int  # wait status; -1 if unknown
    cpu_time: float


def pump_output(
    proc: subprocess.Popen[bytes],
    stdin: bytes | None,
    limits: SandboxLimits,
    deadline: float,
    killer: Killer,
    always_kill_uid: bool,
    stderr_marker: int = 0,
) -> Pumped:
    """Feed stdin, read capped stdout/stderr, and enforce the deadline; then reap the child.
    `stderr_marker` bytes of stderr (the sandbox's started marker) do not count to its cap."""
    assert proc.stdout is not None and proc.stderr is not None
    sel = selectors.DefaultSelector()
    bufs: dict[int, bytearray] = {}
    for pipe in (proc.stdout, proc.stderr):
        os.set_blocking(pipe.fileno(), False)
        sel.register(pipe.fileno(), selectors.EVENT_READ)
        bufs[pipe.fileno()] = bytearray()
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    pending = memoryview(stdin or b"")
    stdin_fd = None
    if proc.stdin is not None:
        if pending:
            stdin_fd = proc.stdin.fileno()
            os.set_blocking(stdin_fd, False)
            sel.register(stdin_fd, selectors.EVENT_WRITE)
        else:
            proc.stdin.close()
    pidfd: int | None
    try:
        pidfd = os.pidfd_open(proc.pid)
        sel.register(pidfd, selectors.EVENT_READ)
    except (AttributeError, OSError):
        pidfd = None

    exited = timed_out = overflow = killed = False
    stop_at: float | None = None  # set once nothing more is expected; drain until then

    def kill_all() -> None:
        nonlocal killed, stop_at
        if not killed:
            killed = True
            killer.kill(whole_uid=True)
        stop_at = stop_at or time.monotonic() + _DRAIN_GRACE

    while True:
        open_pipes = [fd for fd in (out_fd, err_fd) if fd in sel.get_map()]
        now = time.monotonic()
        if exited and not open_pipes:
            break
        if stop_at is not None and now >= stop_at:
            break
        if not exited and now >= deadline:
            timed_out = True
            kill_all()
        wait = (stop_at if stop_at is not None else deadline) - now
        if pidfd is None:
            wait = min(wait, 0.02)
        for key, _ in sel.select(max(wait, 0)):
            fd = key.fd
            if fd == pidfd:
                sel.unregister(fd)
            elif fd == stdin_fd:
                try:
                    written = os.write(fd, pending[:65536])
                    pending = pending[written:]
                except BlockingIOError:
                    continue
                except OSError:  # the program closed its stdin or exited
                    pending = pending[:0]
                if not pending:
                    sel.unregister(fd)
                    proc.stdin.close()  # type: ignore[union-attr]
            else:
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(fd)
                    continue
                buf = bufs[fd]
                room = limits.max_output_bytes + (stderr_marker if fd == err_fd else 0) - len(buf)
                buf += chunk[: max(room, 0)]
                if len(chunk) > room:
                    overflow = True
                    kill_all()
        if not exited and _has_exited(proc.pid):
            exited = True
            if not killed:  # leftovers (background children) are not waited for
                killer.kill(whole_uid=always_kill_uid)
                killed = True
            stop_at = stop_at or time.monotonic() + _DRAIN_GRACE

    if not exited:
        killer.kill(whole_uid=True)
    for registered in list(sel.get_map()):
        sel.unregister(registered)
    sel.close()
    if pidfd is not None:
        os.close(pidfd)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None and not stream.closed:
            stream.close()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except ChildProcessError:  # someone else reaped it (a waitpid(-1) SIGCHLD handler)
        status, cpu_time = -1, 0.0
    else:
        cpu_time = usage.ru_utime + usage.ru_stime
    proc.returncode = os.waitstatus_to_exitcode(status) if status >= 0 else -1
    return Pumped(
        stdout=bytes(bufs[out_fd]),
        stderr=bytes(bufs[err_fd]),
        timed_out=timed_out,
        overflow=overflow,
        status=status,
        cpu_time=cpu_time,
    )
