"""Verify written files by running them (minimal stand-in; the `judges` branch owns the real one).

Only the interface the pipeline codes against lives here: `Check`, `Verdict`, `Status` and
`verify_files`, which runs a Python script in tools/sandbox and checks it exits 0. Anything
else is "not_verified". When the judges' tools/verify lands, it replaces this module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Status = Literal["verified", "failed", "not_verified", "infrastructure"]


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Verdict:
    status: Status
    judge: str
    checks: tuple[Check, ...]
    reason: str
    screenshot: str | None = None

    @property
    def score(self) -> float:
        """The fraction of checks passed (1.0 when verified)."""
        if self.status == "verified":
            return 1.0
        if not self.checks:
            return 0.0
        return sum(c.passed for c in self.checks) / len(self.checks)

    def summary(self) -> str:
        names = ", ".join(c.name for c in self.checks)
        if self.status == "verified":
            return f"verified: {self.reason} ({names})"
        if self.status == "failed":
            failed = ", ".join(
                f"{c.name}: {c.detail.strip().splitlines()[-1]}" for c in self.checks if not c.passed
            )
            return f"not working: {failed or self.reason}"
        return f"not verified: {self.reason}"

    def evidence(self, limit: int = 2000) -> str:
        lines = [f"- {c.name}: {c.detail}" for c in self.checks if not c.passed]
        return "\n".join(lines or [self.reason])[:limit]


def _python_main(names: Sequence[str]) -> str | None:
    scripts = [n for n in names if n.endswith(".py") and not Path(n).name.startswith("test_")]
    for preferred in ("main.py", "app.py"):
        if preferred in scripts:
            return preferred
    return scripts[0] if scripts else None


async def verify_files(
    directory: Path,
    names: Sequence[str],
    *,
    request: str = "",
    screenshot: Path | None = None,
    timeout: float = 60.0,
) -> Verdict:
    """Run the Python script among `names` in the sandbox; verified when it exits 0."""
    main = _python_main(names)
    if main is None:
        return Verdict("not_verified", "none", (), "no judge for these files here")
    from tools.sandbox import SandboxLimits, run_sandboxed

    files = {n: (directory / n).read_text(encoding="utf-8", errors="replace") for n in names}
    try:
        result = await asyncio.to_thread(
            run_sandboxed,
            ["python3", "-B", main],
            files,
            stdin="",
            limits=SandboxLimits(timeout=min(timeout, 30.0)),
        )
    except (OSError, RuntimeError) as exc:
        return Verdict("infrastructure", "python", (), f"the sandbox could not start: {exc}")
    tail = (result.stderr or result.stdout).strip()[-800:]
    passed = result.ok
    detail = "exit 0" if passed else f"exit {result.returncode}: {tail or result.killed_reason}"
    check = Check("runs", passed, detail)
    if passed:
        return Verdict("verified", "python", (check,), "runs in the sandbox")
    return Verdict("failed", "python", (check,), "the script fails")
