"""The isolation mechanisms by name, the PATH a run sees, and the records of one run:
its limits and its result."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

BWRAP = "bwrap"
UNSHARE = "unshare-net"
SOCKET_GUARD = "socket-guard"
ISOLATIONS = (BWRAP, UNSHARE, SOCKET_GUARD)

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one run. Memory, CPU and files are per process."""

    timeout: float = 10.0  # wall clock seconds
    cpu_seconds: int = 10
    memory_mb: int = 512  # RLIMIT_AS, or RLIMIT_DATA for node (see the tools.sandbox docstring)
    max_processes: int = 32  # tasks (processes and threads) of the run's uid
    max_output_bytes: int = 64_000  # stdout and stderr each, truncated beyond
    max_file_bytes: int = 10_000_000
    max_open_files: int = 1024
    max_disk_mb: int = 128  # everything written to the work dir and /tmp together (one tmpfs)


@dataclass(frozen=True)
class SandboxResult:
    """What a sandboxed run did. A signal death is a negative returncode, as in subprocess."""

    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration: float
    isolation: str  # "bwrap" / "unshare-net" / "socket-guard"
    killed_reason: (
        str | None
    )  # "timeout", "memory", "cpu", "output-limit", "file-size", "disk-full", "signal N"
    truncated: bool = False  # stdout or stderr was cut at max_output_bytes
    # The harness failed, not the code: the sandbox could not start, or the command is not
    # there inside it. What to fix; None when the command ran.
    infrastructure: str | None = None

    @property
    def ok(self) -> bool:
        """True when the command exited 0 on its own, within every limit."""
        return (
            self.returncode == 0
            and not self.timed_out
            and self.killed_reason is None
            and self.infrastructure is None
        )


def find_tool(name: str) -> str | None:
    return shutil.which(name, path=DEFAULT_PATH)
