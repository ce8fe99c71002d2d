"""What the dashboard's JSON API accepts and answers (pydantic: the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, overload

from pydantic import BaseModel, Field

from tools.stats import Interval

Suite = Literal["tetris", "bench", "humaneval", "all"]
ModeChoice = Literal["generator", "pipeline", "both"]
RunState = Literal["queued", "running", "done", "failed", "interrupted"]


class Problem(BaseModel):
    """Every error answer: one line saying what is wrong and what to do."""

    detail: str


class IntervalOut(BaseModel):
    """A 95 % Wilson confidence interval of a rate."""

    low: float
    high: float

    @overload
    @classmethod
    def of(cls, interval: Interval) -> IntervalOut: ...
    @overload
    @classmethod
    def of(cls, interval: Interval | None) -> IntervalOut | None: ...
    @classmethod
    def of(cls, interval: Interval | None) -> IntervalOut | None:
        return None if interval is None else cls(low=interval.low, high=interval.high)


class SuitePassRate(BaseModel):
    """A model's pass rate on one suite and mode, from the latest run that had them."""

    suite: str
    mode: str
    run_id: str
    passed: int
    total: int = Field(description="case results (cases × samples)")
    rate: float
    interval: IntervalOut
    cases: int
    samples: int = Field(description="the fewest samples any case has")
    pass_at_k: dict[str, float] = Field(description='"pass@1", and "pass@k" when every case ran k times')
    median_latency: float | None


class ModelMetrics(BaseModel):
    """Aggregates of a model's calls (per role / task type when grouped), and its pass rates."""

    model: str
    role: str | None = None
    task_type: str | None = None
    calls: int
    successes: int
    success_rate: float
    success_interval: IntervalOut
    median_latency: float | None = Field(description="seconds, successful calls only")
    p90_latency: float | None
    input_tokens: int
    output_tokens: int
    tokens_per_second: float | None
    cost_per_call: float | None = Field(description="USD over the priced calls; null when none had a price")
    total_cost: float | None
    priced_calls: int
    error_classes: dict[str, int]
    last_used: datetime | None
    pass_rates: list[SuitePassRate]


class GeneratorRuns(BaseModel):
    """How one generator model's pipeline runs were judged (tools.history.GeneratorRunStats)."""

    generator_model: str
    runs: int
    verified: int
    failed: int
    not_verified: int
    infrastructure: int = Field(description="the judge could not run: not counted as failed")
    no_verdict: int = Field(description="runs that ended before any version was judged")
    judged: int = Field(description="verified + failed + not_verified: the verified rate's denominator")
    verified_rate: float | None = Field(description="verified / judged; null when none was judged")
    verified_interval: IntervalOut | None
    median_duration: float | None = Field(description="seconds of wall time, all runs")
    output_tokens: int
    tokens_per_verified: float | None = Field(description="every run's output tokens over the verified runs")
    cost_per_verified: float | None = Field(description="USD likewise; null unless every run had a price")
    last_run: datetime | None


class MetricsResponse(BaseModel):
    generated: datetime
    sources: list[str]
    group_by: list[str]
    models: list[ModelMetrics]
    pipeline_runs: list[GeneratorRuns] = Field(
        default_factory=list, description="per generator model: its pipeline runs' verdicts"
    )


class RateOut(BaseModel):
    successes: int
    total: int
    rate: float
    interval: IntervalOut


class ComparedModel(BaseModel):
    model: str
    calls: int
    success_rate: float
    success_interval: IntervalOut | None
    median_latency: float | None
    tokens_per_second: float | None
    cost_per_call: float | None
    total_cost: float | None
    pass_rates: dict[str, RateOut] = Field(description="suite -> the latest run's pass rate")


class ThresholdsOut(BaseModel):
    """The decision thresholds: the smallest differences that count."""

    quality: float
    cost_savings: float
    latency: float
    success_rate: float
    min_calls: int


class DimensionOut(BaseModel):
    name: str
    a: float | None
    b: float | None
    threshold: float
    verdict: str = Field(description='a model, "tie", "no significant difference" or "not compared"')
    a_interval: IntervalOut | None = None
    b_interval: IntervalOut | None = None
    a_count: str | None = None
    b_count: str | None = None


class ComparisonResponse(BaseModel):
    a: ComparedModel
    b: ComparedModel
    task_type: str | None
    thresholds: ThresholdsOut
    choice: str = Field(
        description='a model, "either", "neither", "no clear winner", "no significant difference"'
        ' or "not enough data"'
    )
    reasons: list[str]
    dimensions: list[DimensionOut]


class BenchmarkRequest(BaseModel):
    """An eval run, as `python -m evals.run --suite S --models M1,M2 --limit N` would make it."""

    suite: Suite = "bench"
    models: list[str] = Field(min_length=1, max_length=8, description="pydantic-ai model strings")
    limit: int | None = Field(default=None, ge=1, le=1000, description="only the first N cases")
    samples: int = Field(default=1, ge=1, le=20, description="each case N times (pass@k)")
    mode: ModeChoice = "generator"


class BenchmarkAccepted(BaseModel):
    id: str
    status: RunState
    total: int
    status_url: str
    page_url: str


class CaseVerdict(BaseModel):
    """Which case of a run (suite, model, mode, case, sample) and how it ended."""

    suite: str
    model: str
    mode: str
    case: str
    sample: int
    passed: bool
    reason: str
    failure: str | None


class CaseOut(CaseVerdict):
    duration: float


class GroupOut(BaseModel):
    model: str
    suite: str
    mode: str
    passed: int
    total: int
    rate: float
    interval: IntervalOut
    pass_at_k: dict[str, float]


class RunResults(BaseModel):
    groups: list[GroupOut]
    cases: list[CaseOut]
    report_html: str | None = Field(description="URL of the run's report.html, when there is one")


class RunStatus(BaseModel):
    id: str
    eval_run_id: str | None
    status: RunState
    suites: list[str]
    models: list[str]
    done: int = Field(description="case runs answered so far")
    total: int
    started: datetime | None
    finished: datetime | None
    error: str | None
    exit_code: int | None
    results: RunResults | None


class RunListItem(BaseModel):
    id: str
    status: RunState
    started: datetime | None
    models: list[str]
    suites: list[str]
    passed: int
    total: int


class FileOut(BaseModel):
    path: str
    url: str


class CaseDetail(CaseVerdict):
    run_id: str
    checks: dict[str, dict[str, object]]
    answer: str | None
    files: list[FileOut]
    screenshot_url: str | None


CaseChange = Literal["fixed", "broken", "only in a", "only in b", "unchanged"]


class CaseSide(BaseModel):
    """How a case ended in one of the two compared runs."""

    passed: bool
    reason: str
    failure: str | None
    duration: float


class ComparedCase(BaseModel):
    """One case (suite, model, mode, case, sample) in two runs; a side is null when absent."""

    suite: str
    model: str
    mode: str
    case: str
    sample: int
    a: CaseSide | None
    b: CaseSide | None
    change: CaseChange = Field(
        description='"fixed" (failed in a, passed in b), "broken" (passed in a, failed in b),'
        ' "only in a", "only in b" or "unchanged"'
    )


class ComparedGroup(BaseModel):
    """A (model, suite, mode)'s pass counts in each run; a side is null when that run lacks it."""

    model: str
    suite: str
    mode: str
    a: RateOut | None
    b: RateOut | None
    difference: float | None = Field(description="b's rate minus a's")
    verdict: str = Field(
        description='the better run\'s id, "tie" (below the threshold), "no significant difference"'
        ' (the 95% intervals overlap) or "not compared" (in one run only)'
    )


class ComparedRun(BaseModel):
    id: str
    eval_run_id: str | None
    status: RunState
    started: datetime | None
    suites: list[str]
    models: list[str]
    passed: int
    total: int


class RunComparison(BaseModel):
    """Two eval runs side by side: every case in either, pass rates per (model, suite, mode)."""

    a: ComparedRun
    b: ComparedRun
    threshold: float = Field(description="the smallest pass-rate difference that counts")
    groups: list[ComparedGroup]
    cases: list[ComparedCase] = Field(description="changed cases first, then the unchanged")
    fixed: list[ComparedCase] = Field(description="failed in a, passed in b")
    broken: list[ComparedCase] = Field(description="passed in a, failed in b")
