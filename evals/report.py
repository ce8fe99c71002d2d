"""What an eval run found: per-case results, per-model summaries, JSON and HTML reports.

`CaseResult.from_report` (evals.results) turns a pydantic-evals EvaluationReport into flat
rows: pass/fail (every assertion passed), a reason (the first failing assertion, model
errors first), the error class, duration, requests, tokens, cost and scores. Summaries never
mix units: cost is a sum of the prices the providers' responses gave (None when no case had
one, never 0 for "unknown"); tokens are counted separately; latency is the median case
duration.

evals.report_html writes the report as JSON and as one self-contained HTML file (inline SVG
charts drawn with matplotlib).
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from evals.results import CaseResult


@dataclass
class Summary:
    model: str
    suite: str  # "all" for the model's total
    mode: str  # "all" for the model's total
    cases: int
    passed: int
    pass_rate: float  # passed / judged: cases the harness could not judge do not count
    median_latency: float | None
    requests: int
    input_tokens: int
    output_tokens: int
    cost: float | None  # sum over the cases that had a price; None when none had one
    priced_cases: int
    lazy: int
    failures: dict[str, int]
    judged: int = 0
    not_judged: int = 0  # the harness failed (failure "infrastructure"): see the notes

    @classmethod
    def of(cls, model: str, suite: str, mode: str, rows: list[CaseResult]) -> Summary:
        costs = [r.cost for r in rows if r.cost is not None]
        # latency of answers only: a skipped case (model already down) took no time
        durations = [r.duration for r in rows if not r.skipped]
        failures: dict[str, int] = {}
        for r in rows:
            if r.failure:
                failures[r.failure] = failures.get(r.failure, 0) + 1
        passed = sum(r.passed for r in rows)
        judged = sum(r.judged for r in rows)
        return cls(
            model=model,
            suite=suite,
            mode=mode,
            cases=len(rows),
            passed=passed,
            pass_rate=passed / judged if judged else 0.0,
            median_latency=round(statistics.median(durations), 3) if durations else None,
            requests=sum(r.requests for r in rows),
            input_tokens=sum(r.input_tokens for r in rows),
            output_tokens=sum(r.output_tokens for r in rows),
            cost=round(sum(costs), 6) if costs else None,
            priced_cases=len(costs),
            lazy=sum(r.lazy for r in rows),
            failures=dict(sorted(failures.items(), key=lambda kv: -kv[1])),
            judged=judged,
            not_judged=len(rows) - judged,
        )


@dataclass
class RunReport:
    run_id: str
    started: str
    finished: str | None
    suites: list[str]
    models: list[str]
    modes: list[str]
    options: dict[str, Any]
    cases: list[CaseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sandbox: dict[str, Any] = field(default_factory=dict)  # tools.sandbox.sandbox_status()

    def not_judged(self) -> list[CaseResult]:
        """Cases the harness could not judge (sandbox, interpreter or browser failed)."""
        return [r for r in self.cases if not r.judged]

    def groups(self) -> list[Summary]:
        """One summary per (model, suite, mode), in the order the models were given."""
        keys = dict.fromkeys((r.model, r.suite, r.mode) for r in self.cases)
        order = {m: i for i, m in enumerate(self.models)}
        return [
            Summary.of(m, s, mo, [r for r in self.cases if (r.model, r.suite, r.mode) == (m, s, mo)])
            for m, s, mo in sorted(keys, key=lambda k: (order.get(k[0], 99), k[1], k[2]))
        ]

    def per_model(self) -> list[Summary]:
        """One summary per model over everything it ran (what --min-pass-rate looks at)."""
        return [
            Summary.of(m, "all", "all", rows)
            for m in self.models
            if (rows := [r for r in self.cases if r.model == m])
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started": self.started,
            "finished": self.finished,
            "suites": self.suites,
            "models": self.models,
            "modes": self.modes,
            "options": self.options,
            "notes": self.notes,
            "sandbox": self.sandbox,
            "models_summary": [asdict(s) for s in self.per_model()],
            "groups": [asdict(s) for s in self.groups()],
            "cases": [asdict(c) for c in self.cases],
        }
