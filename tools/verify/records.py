"""What a judge says: one `Check` per thing observed, and the `Verdict` over them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tools.formatting import bounded

Status = Literal["verified", "failed", "not_verified", "infrastructure"]

# What a verified run proved, per judge; the checks are listed after it for the browser judges.
_VERIFIED = {
    "web-game": "plays in Chromium",
    "web-app": "works in Chromium",
    "python": "runs in the sandbox (exit 0, no traceback)",
    "python-server": "starts in the sandbox and stays up (no traceback)",
    "pytest": "its tests pass in the sandbox (pytest)",
    "javascript": "runs under Node in the sandbox (exit 0)",
    "typescript": "transpiles with esbuild and runs under Node in the sandbox (exit 0)",
    "javascript-server": "starts under Node in the sandbox and stays up",
    "typescript-server": "transpiles with esbuild, starts under Node in the sandbox and stays up",
    "sql": "runs in SQLite without error",
    "c": "compiles with gcc and runs in the sandbox (exit 0)",
}
_SPOKEN = {
    "responds_to_keys": "responds to keys",
    "responds_to_input": "responds to input",
    "advances": "moves by itself",
}


@dataclass(frozen=True)
class Check:
    name: str  # "loads", "draws", "responds_to_keys", "advances", "runs", "compiles", "pytest", ...
    passed: bool
    detail: str  # the evidence: JS error with its line, what was observed, traceback tail, stderr tail
    # What a program that ran printed first (stdout): shown to the user, checked by no judge.
    output: str | None = None


@dataclass(frozen=True)
class Verdict:
    status: Status
    # "web-game", "web-app", "python", "python-server", "pytest", "javascript", "typescript",
    # "javascript-server", "typescript-server", "sql", "c", "none"
    judge: str
    checks: tuple[Check, ...]
    reason: str  # one line; for not_verified / infrastructure: why (and what to install)
    screenshot: str | None = None  # path of a PNG when a browser judged it

    @property
    def score(self) -> float:
        """Fraction of checks passed (1.0 when verified, 0.0 with no checks): keeps the best version."""
        if self.status == "verified":
            return 1.0
        if not self.checks:
            return 0.0
        return sum(check.passed for check in self.checks) / len(self.checks)

    def summary(self) -> str:
        """One line a user can trust."""
        if self.status == "verified":
            said = _VERIFIED.get(self.judge, f"{self.judge} checks pass")
            if self.judge.startswith("web-"):
                said += f" ({', '.join(_SPOKEN.get(c.name, c.name) for c in self.checks)})"
            return f"verified: {said}"
        if self.status == "failed":
            failed = [check for check in self.checks if not check.passed]
            if not failed:
                return f"not working: {_one_line(self.reason)}"
            first = failed[0]
            others = f" (also failed: {', '.join(c.name for c in failed[1:])})" if failed[1:] else ""
            said = first.detail.strip().splitlines()[0] if first.detail.strip() else "no detail"
            return f"not working: {first.name} failed: {_one_line(said, 200)}{others}"
        return f"not verified: {_one_line(self.reason)}"

    def evidence(self, limit: int = 2000) -> str:
        """For the repair prompt: each failed check with its detail, at most `limit` characters."""
        failed = [check for check in self.checks if not check.passed]
        if not failed:
            text = f"{self.status}: {self.reason}"
        else:
            share = max(200, limit // len(failed))
            text = "\n".join(f"- {check.name} failed: {bounded(check.detail, share)}" for check in failed)
        return bounded(text, limit)


def make_verdict(
    judge: str, checks: list[Check], *, reason: str = "", screenshot: Path | None = None
) -> Verdict:
    """verified when every check passed (and there is one), else failed."""
    passed = bool(checks) and all(check.passed for check in checks)
    if not reason:
        failed = [check.name for check in checks if not check.passed]
        reason = "every check passed" if passed else f"failed: {', '.join(failed) or 'nothing was checked'}"
    return Verdict(
        status="verified" if passed else "failed",
        judge=judge,
        checks=tuple(checks),
        reason=reason,
        screenshot=str(screenshot) if screenshot else None,
    )


def not_verified(judge: str, reason: str, checks: list[Check] | None = None) -> Verdict:
    return Verdict(status="not_verified", judge=judge, checks=tuple(checks or ()), reason=_one_line(reason))


def infrastructure(judge: str, reason: str, checks: list[Check] | None = None) -> Verdict:
    """The harness failed (browser, sandbox or interpreter missing): never the code's fault."""
    why = _one_line(reason)
    if "(infrastructure)" not in why:
        why = f"{why} (infrastructure)"
    return Verdict(status="infrastructure", judge=judge, checks=tuple(checks or ()), reason=why)


def _one_line(text: str, limit: int = 300) -> str:
    return bounded(" ".join(text.split()), limit)
