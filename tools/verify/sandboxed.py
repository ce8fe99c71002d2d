"""Running written files in tools.sandbox for a judge: reading them, the interpreter the
sandbox sees, telling a harness failure from the code's, and trimming output to evidence."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.formatting import bounded
from tools.sandbox import SandboxLimits, SandboxResult, run_sandboxed

MAX_FILE_BYTES = 2_000_000
MAX_TOTAL_BYTES = 20_000_000
TRACEBACK = "Traceback (most recent call last)"

# What the sandbox or its launcher print when they, not the program, failed.
_RUN_DIR = re.compile(r"/[\w./-]*?codecrew-sbx-[\w-]+/work/")
_HARNESS_MARKERS = ("prlimit: failed to execute", "bwrap: ", "setpriv: ", "unshare: ")


@dataclass(frozen=True)
class HarnessFailure:
    """The sandbox could not run the command at all: an infrastructure problem."""

    reason: str


def read_files(directory: Path, names: Sequence[str]) -> dict[str, str | bytes]:
    """The written files by relative name; names that leave `directory`, links and oversized
    files are left out (a judge must never read outside what was written)."""
    root = directory.resolve()
    files: dict[str, str | bytes] = {}
    total = 0
    for name in names:
        path = (root / name).resolve()
        if not path.is_relative_to(root) or (root / name).is_symlink() or not path.is_file():
            continue
        size = path.stat().st_size
        if size > MAX_FILE_BYTES or total + size > MAX_TOTAL_BYTES:
            continue
        total += size
        files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def text_of(files: Mapping[str, str | bytes], name: str) -> str:
    content = files.get(name, "")
    return content if isinstance(content, str) else content.decode("utf-8", errors="replace")


def sandbox_python() -> str:
    """The interpreter for sandboxed Python: this venv's, by its real path (the sandbox hides
    the repository and home, and re-exposes the venv only under its resolved prefix)."""
    prefix = Path(sys.prefix).resolve()
    candidate = prefix / "bin" / Path(sys.executable).name
    return str(candidate) if candidate.is_file() else sys.executable


async def run_in_sandbox(
    cmd: Sequence[str],
    files: Mapping[str, str | bytes],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    memory_mb: int = 512,
) -> SandboxResult | HarnessFailure:
    """One sandboxed run off the event loop; a sandbox that cannot start is a HarnessFailure."""
    limits = SandboxLimits(timeout=timeout, cpu_seconds=max(1, int(timeout) + 1), memory_mb=memory_mb)
    try:
        result = await asyncio.to_thread(
            run_sandboxed, list(cmd), dict(files), stdin="", limits=limits, env=env
        )
    except (OSError, RuntimeError, ValueError) as error:
        return HarnessFailure(f"the sandbox could not start: {error}")
    if failure := harness_failure(result):
        return HarnessFailure(failure)
    return result


def harness_failure(result: SandboxResult) -> str | None:
    """Why the sandbox itself failed, from a result (None: the command ran)."""
    if result.returncode in (126, 127) or (result.returncode == 1 and result.duration < 1.0):
        first = result.stderr.strip().splitlines()[0] if result.stderr.strip() else ""
        if first.startswith(_HARNESS_MARKERS) or any(marker in first for marker in _HARNESS_MARKERS):
            return f"the sandbox could not run it: {first[:300]}"
    return None


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def head(text: str, lines: int = 5, limit: int = 400) -> str | None:
    """The first non-empty lines of a program's output, for a user to read: control
    characters (terminal escapes from untrusted code) become spaces; None when it printed nothing."""
    kept = [_CONTROL.sub(" ", line).expandtabs(4).rstrip() for line in text.splitlines()]
    kept = [line for line in kept if line.strip()][:lines]
    return bounded("\n".join(kept), limit) if kept else None


def tail(text: str, lines: int = 12, limit: int = 1200) -> str:
    """The last non-empty lines of output, joined with newlines, at most `limit` characters;
    the sandbox's run dir is left out of paths and Node's internal stack frames are dropped."""
    text = _RUN_DIR.sub("", text)
    kept = [
        line.rstrip() for line in text.strip().splitlines() if line.strip() and "(node:internal/" not in line
    ]
    kept = kept[-lines:]
    joined = "\n".join(kept)
    return joined if len(joined) <= limit else "…" + joined[-(limit - 1) :]


def outcome(result: SandboxResult) -> str:
    """How a run ended, in words: exit code, timeout or the limit that killed it."""
    if result.timed_out:
        return f"still running after {result.duration:.1f} s (timed out)"
    if result.killed_reason:
        return f"killed ({result.killed_reason}) after {result.duration:.1f} s"
    return f"exit {result.returncode} after {result.duration:.1f} s"
