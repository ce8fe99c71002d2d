"""One row per case: what a pydantic-evals EvaluationReport found, flattened.

`CaseResult.from_report` turns a pydantic-evals EvaluationReport into flat rows: pass/fail
(every assertion passed), a reason (the first failing assertion, model errors first), the
error class, duration, requests, tokens, cost and scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CHECK_FAILED = "check_failed"  # the code ran and was wrong (not an ErrorClass: no error)
HARNESS_ERROR = "harness_error"  # an evaluator itself crashed: our bug, not the model's
INFRASTRUCTURE = "infrastructure"  # the harness could not run a check: the case is not judged
INFRASTRUCTURE_REASON = "infrastructure: "  # how such a check's reason starts (evals.bench)
FIRST = ("Answered", "NotLazy")  # reasons of these come first: they explain the rest


@dataclass
class CaseResult:
    suite: str
    model: str
    mode: str
    case: str
    passed: bool
    reason: str
    error_class: str | None  # tools.errors.ErrorClass value; None when passed or just wrong
    failure: str | None  # error_class, or "check_failed" / "harness_error"; None when passed
    duration: float
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    lazy: bool = False
    skipped: bool = False  # not asked: the model had already failed for good
    judged: bool = True  # False: the harness failed (infrastructure); not in any pass rate
    scores: dict[str, float] = field(default_factory=dict)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)  # assertion -> passed, reason
    files: list[str] = field(default_factory=list)  # what the answer held
    work_dir: str | None = None  # relative to the report folder: answer.md, files/
    screenshot: str | None = None  # relative to the report folder
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)  # pipeline: usage per role
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    sample: int = 0  # which run of the case (evals.run --samples N: 0..N-1)

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        """What identifies a case result within a run: (model, suite, mode, case, sample)."""
        return (self.model, self.suite, self.mode, self.case, self.sample)

    @classmethod
    def from_report(
        cls, report: Any, *, suite: str, model: str, mode: str, run_dir: Path
    ) -> list[CaseResult]:
        """Rows of a whole EvaluationReport (cases, then task failures)."""
        return [
            cls.from_result(r, suite=suite, model=model, mode=mode, run_dir=run_dir)
            for r in [*report.cases, *report.failures]
        ]

    @classmethod
    def from_result(
        cls, result: Any, *, suite: str, model: str, mode: str, run_dir: Path, sample: int = 0
    ) -> CaseResult:
        """The row of one ReportCase, or of a ReportCaseFailure (the task raised: a bug of ours,
        since tasks turn model failures into data)."""
        if hasattr(result, "output"):
            row = cls._from_case(result, suite, model, mode, run_dir)
            row.sample = sample
            return row
        return cls(
            suite=suite,
            model=model,
            mode=mode,
            case=result.name,
            passed=False,
            reason=f"the eval task crashed: {result.error_message}"[:500],
            error_class="unknown",
            failure=HARNESS_ERROR,
            duration=0.0,
            sample=sample,
        )

    @classmethod
    def _from_case(cls, case: Any, suite: str, model: str, mode: str, run_dir: Path) -> CaseResult:
        out = case.output
        checks = {
            name: {"passed": bool(r.value), "reason": r.reason or ""} for name, r in case.assertions.items()
        }
        scores = {name: float(r.value) for name, r in case.scores.items()}
        ordered = sorted(checks, key=lambda n: (n not in FIRST, FIRST.index(n) if n in FIRST else 0))
        failing = [n for n in ordered if not checks[n]["passed"]]
        crashed = [f"{f.name} crashed: {f.error_message}" for f in case.evaluator_failures]
        passed = bool(checks) and not failing and not crashed
        if passed:
            others = [str(checks[n]["reason"]) for n in ordered if n not in FIRST and checks[n]["reason"]]
            reason = "; ".join(others) or "passed"
        elif failing:
            reason = f"{failing[0]}: {checks[failing[0]]['reason']}"
        elif crashed:
            reason = crashed[0]
        else:
            reason = "no checks ran"
        error_class = out.error_class if not passed else None
        # Every failing check failed because the harness could not run it: not judged.
        harness_only = bool(failing) and all(
            str(checks[n]["reason"]).startswith(INFRASTRUCTURE_REASON) for n in failing
        )
        judged = passed or bool(out.error_class) or not harness_only
        if not judged:
            error_class = failure = INFRASTRUCTURE
        elif passed:
            failure = None
        elif out.error_class:
            failure = out.error_class
        elif crashed and not failing:
            failure = HARNESS_ERROR
        else:
            failure = CHECK_FAILED
        work = Path(out.work_dir) if out.work_dir else None
        shot = work.parent / "screenshot.png" if work else None
        return cls(
            suite=suite,
            model=model,
            mode=mode,
            case=case.name,
            passed=passed,
            reason=reason[:1000],
            error_class=error_class,
            failure=failure,
            duration=round(out.duration, 3),
            requests=out.requests,
            input_tokens=out.input_tokens,
            output_tokens=out.output_tokens,
            cost=out.cost,
            lazy=out.lazy,
            skipped=out.skipped,
            judged=judged,
            scores=scores,
            checks=checks,
            files=sorted(out.files),
            work_dir=_rel(work.parent, run_dir) if work else None,
            screenshot=_rel(shot, run_dir) if shot and shot.is_file() else None,
            agents=out.agents,
            started=out.started,
        )


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)
