"""What the dashboard shows, read from the history (tools.history_queries) and the reports.

Every function here answers one endpoint or page with the API's pydantic models. A run is
found by the id its benchmark job got here, or by the eval run's own id: its report folder
(`<reports>/<run id>/report.json`) is read first, the history second. Files of a run are
served only from inside its report folder (see `report_file`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.progress import RunProgress, read_progress
from evals.serve.runs import BenchmarkJob, Benchmarks
from evals.serve.schemas import (
    CaseChange,
    CaseDetail,
    CaseOut,
    CaseSide,
    CaseVerdict,
    ComparedCase,
    ComparedGroup,
    ComparedModel,
    ComparedRun,
    ComparisonResponse,
    DimensionOut,
    FileOut,
    GeneratorRuns,
    GroupOut,
    IntervalOut,
    MetricsResponse,
    ModelMetrics,
    RateOut,
    RunComparison,
    RunListItem,
    RunResults,
    RunStatus,
    SuitePassRate,
    ThresholdsOut,
)
from tools.history import WORK_SOURCES, History
from tools.history_queries import (
    SuiteResult,
    call_metrics,
    eval_rows,
    eval_runs,
    models_seen,
    suite_results,
)
from tools.stats import Interval, Rate, SampledRate, sampled_rate, wilson

ANSWER_LIMIT = 200_000  # characters of answer.md shown on a case page
RUN_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class NotFound(LookupError):
    """Nothing recorded under that name; the message says what was looked for."""


class SameRun(ValueError):
    """Two runs to compare that are one and the same."""


def _at_k(values: dict[int, float]) -> dict[str, float]:
    return {f"pass@{k}": v for k, v in sorted(values.items())}


def _rate_fields(rate: SampledRate) -> dict[str, Any]:
    """The fields a pass rate has in SuitePassRate and GroupOut."""
    return {
        "passed": rate.passed,
        "total": rate.total,
        "rate": rate.rate,
        "interval": IntervalOut.of(rate.interval),
        "pass_at_k": _at_k(rate.pass_at_k),
    }


def _suite_out(result: SuiteResult) -> SuitePassRate:
    rate = result.result
    return SuitePassRate(
        suite=result.suite,
        mode=result.mode,
        run_id=result.run_id,
        cases=rate.cases,
        samples=rate.samples,
        median_latency=result.median_latency,
        **_rate_fields(rate),
    )


def metrics(
    history: History | None,
    *,
    model: str | None = None,
    since: datetime | None = None,
    sources: Sequence[str] = WORK_SOURCES,
    group_by: Sequence[str] = ("model",),
) -> MetricsResponse:
    """Per model (and role / task type) call aggregates, with each model's pass rates, and
    per generator model its pipeline runs' verdicts (the same filters; `model`: the generator)."""
    rows = (
        call_metrics(history, group_by=group_by, model=model, since=since, sources=sources) if history else []
    )
    suites = suite_results(history, model=model, since=since) if history else []
    by_model: dict[str, list[SuitePassRate]] = {}
    for result in suites:
        by_model.setdefault(result.model, []).append(_suite_out(result))
    # ModelMetrics is CallMetrics field for field (the interval as {low, high}), and the pass rates
    out = [ModelMetrics(**asdict(m), pass_rates=by_model.get(m.model, [])) for m in rows]
    # models with eval results but no eval calls in the window still belong on the board
    seen = {m.model for m in out}
    for name, rates in by_model.items():
        if name not in seen and "eval" in sources:
            out.append(
                ModelMetrics(
                    model=name, calls=0, successes=0, success_rate=0.0,
                    success_interval=IntervalOut(low=0.0, high=1.0), median_latency=None, p90_latency=None,
                    input_tokens=0, output_tokens=0, tokens_per_second=None, cost_per_call=None,
                    total_cost=None, priced_calls=0, error_classes={}, last_used=None, pass_rates=rates,
                )
            )  # fmt: skip
    out.sort(key=lambda m: (m.model, m.role or "", m.task_type or ""))
    runs = history.generator_run_stats(generator_model=model, since=since, sources=sources) if history else []
    return MetricsResponse(
        generated=datetime.now(UTC),
        sources=list(sources),
        group_by=list(group_by),
        models=out,
        # GeneratorRuns is GeneratorRunStats attribute for attribute (its properties too)
        pipeline_runs=[GeneratorRuns.model_validate(r, from_attributes=True) for r in runs],
    )


def _success_interval(stats: Any) -> Interval | None:
    return wilson(stats.successes, stats.calls) if stats.calls else None


def comparison(
    history: History | None, a: str, b: str, *, task_type: str | None = None, min_calls: int = 5
) -> ComparisonResponse:
    """The comparison of two models, with the recommendation and what decided it."""
    from agents.models.compare import Thresholds, compare_models

    known = set(models_seen(history)) if history else set()
    missing = [m for m in (a, b) if m not in known]
    if missing:
        raise NotFound(f"nothing recorded for {', '.join(missing)}: run it (evals.run or agents.run) first")
    found = compare_models(history, a, b, task_type=task_type, thresholds=Thresholds(min_calls=min_calls))
    sides = []
    for stats, counts in zip(found.stats, found.pass_counts, strict=True):
        sides.append(
            ComparedModel(
                model=stats.model,
                calls=stats.calls,
                success_rate=stats.success_rate,
                success_interval=IntervalOut.of(_success_interval(stats)),
                median_latency=stats.median_latency,
                tokens_per_second=stats.tokens_per_second,
                cost_per_call=stats.cost_per_call,
                total_cost=stats.total_cost,
                pass_rates={
                    suite: RateOut(
                        successes=r.successes,
                        total=r.total,
                        rate=r.value,
                        interval=IntervalOut.of(r.interval),
                    )
                    for suite, r in counts.items()
                },
            )
        )
    rec, t = found.recommendation, found.thresholds
    return ComparisonResponse(
        a=sides[0],
        b=sides[1],
        task_type=task_type,
        thresholds=ThresholdsOut(
            quality=t.quality,
            cost_savings=t.cost_savings,
            latency=t.latency,
            success_rate=t.success_rate,
            min_calls=t.min_calls,
        ),
        choice=rec.choice,
        reasons=rec.reasons,
        dimensions=[
            DimensionOut(
                name=d.name,
                a=d.a,
                b=d.b,
                threshold=d.threshold,
                verdict=d.verdict,
                a_interval=IntervalOut.of(d.a_interval),
                b_interval=IntervalOut.of(d.b_interval),
                a_count=d.a_count,
                b_count=d.b_count,
            )
            for d in rec.dimensions
        ],
    )


# -- runs ------------------------------------------------------------------------------------


class RunCase(CaseOut):
    """One case result of a run, from report.json (with files) or the history (without)."""

    checks: dict[str, dict[str, Any]]
    work_dir: str | None
    screenshot: str | None

    def out(self) -> CaseOut:
        return CaseOut(**self.model_dump(include=set(CaseOut.model_fields)))


def valid_run_id(run_id: str) -> bool:
    """Run ids are file names: letters, digits, - _ . (never a path)."""
    return 0 < len(run_id) <= 100 and set(run_id) <= RUN_ID_CHARS and run_id not in (".", "..")


def _report(reports_dir: Path, run_id: str) -> dict[str, Any] | None:
    """A run's report.json, parsed once per version of the file (/runs reads every report
    folder's on each request). Callers must not change what they get."""
    if not valid_run_id(run_id):
        return None
    path = reports_dir / run_id / "report.json"
    try:
        stat = path.stat()
    except OSError:
        return None
    return _parsed_report(path, stat.st_mtime_ns, stat.st_size)


def _progress(reports_dir: Path, run_id: str) -> RunProgress | None:
    """The progress.json of a run still going (or that died) without a report yet."""
    return read_progress(reports_dir / run_id) if valid_run_id(run_id) else None


@functools.lru_cache(maxsize=256)
def _parsed_report(path: Path, mtime_ns: int, size: int) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def run_cases(history: History | None, reports_dir: Path, run_id: str) -> list[RunCase] | None:
    """The case results of eval run `run_id` (None when neither a report nor the history has it)."""
    if (report := _report(reports_dir, run_id)) is not None:
        samples: dict[tuple[str, str, str, str], int] = {}
        cases = []
        for c in report.get("cases", []):
            key = (c["suite"], c["model"], c["mode"], c["case"])
            sample = c.get("sample", samples.get(key, 0))
            samples[key] = sample + 1
            cases.append(
                RunCase(
                    suite=c["suite"], model=c["model"], mode=c["mode"], case=c["case"], sample=sample,
                    passed=bool(c["passed"]), reason=c.get("reason", ""), failure=c.get("failure"),
                    duration=float(c.get("duration", 0.0)), checks=c.get("checks") or {},
                    work_dir=c.get("work_dir"), screenshot=c.get("screenshot"),
                )
            )  # fmt: skip
        return cases
    rows = eval_rows(history, run_id=run_id) if history else []
    if not rows:
        return None
    counter: dict[tuple[str, str, str, str], int] = {}
    cases = []
    for r in rows:
        key = (r.suite, r.model, r.mode, r.case)
        counter[key] = counter.get(key, -1) + 1
        cases.append(
            RunCase(
                suite=r.suite, model=r.model, mode=r.mode, case=r.case, sample=counter[key], passed=r.passed,
                reason=r.reason, failure=None if r.passed else (r.error_class or "check_failed"),
                duration=r.duration, checks={}, work_dir=None, screenshot=None,
            )
        )  # fmt: skip
    return cases


def groups(cases: list[RunCase]) -> list[GroupOut]:
    """Pass rate, Wilson interval and pass@k per (model, suite, mode) of a run."""
    grouped: dict[tuple[str, str, str], dict[str, list[bool]]] = {}
    for c in cases:
        grouped.setdefault((c.model, c.suite, c.mode), {}).setdefault(c.case, []).append(c.passed)
    out = []
    for (model, suite, mode), per_case in grouped.items():
        rate = sampled_rate(per_case.values())
        out.append(GroupOut(model=model, suite=suite, mode=mode, **_rate_fields(rate)))
    return out


def _results(history: History | None, reports_dir: Path, run_id: str) -> RunResults | None:
    cases = run_cases(history, reports_dir, run_id)
    if cases is None:
        return None
    html = reports_dir / run_id / "report.html"
    return RunResults(
        groups=groups(cases),
        cases=[c.out() for c in cases],
        report_html=f"/files/{run_id}/report.html" if html.is_file() else None,
    )


def _job_status(job: BenchmarkJob, history: History | None, reports_dir: Path) -> RunStatus:
    finished = job.status in ("done", "failed", "interrupted")
    results = _results(history, reports_dir, job.eval_run_id) if finished and job.eval_run_id else None
    return RunStatus(
        id=job.id,
        eval_run_id=job.eval_run_id,
        status=job.status,  # type: ignore[arg-type]
        suites=job.suites,
        models=list(job.request.models),
        done=job.done,
        total=job.total,
        started=job.started,
        finished=job.finished,
        error=job.error,
        exit_code=job.exit_code,
        results=results,
    )


def run_status(benchmarks: Benchmarks, history: History | None, reports_dir: Path, run_id: str) -> RunStatus:
    """A run started here (live) or any recorded eval run (finished)."""
    if job := benchmarks.get(run_id):
        return _job_status(job, history, reports_dir)
    cases = run_cases(history, reports_dir, run_id)
    if cases is None and (progress := _progress(reports_dir, run_id)):
        return RunStatus(
            id=run_id, eval_run_id=run_id, status=progress.state(), suites=progress.suites,
            models=progress.models, done=progress.done, total=progress.total,
            started=progress.started_at, finished=None, error=None, exit_code=None, results=None,
        )  # fmt: skip
    if cases is None:
        raise NotFound(f"no run {run_id!r}: not started here, not in the history, not under {reports_dir}")
    report = _report(reports_dir, run_id) or {}
    started = report.get("started")
    finished = report.get("finished")
    return RunStatus(
        id=run_id,
        eval_run_id=run_id,
        status="done",
        suites=list(dict.fromkeys(c.suite for c in cases)),
        models=list(dict.fromkeys(c.model for c in cases)),
        done=len(cases),
        total=len(cases),
        started=datetime.fromisoformat(started) if started else None,
        finished=datetime.fromisoformat(finished) if finished else None,
        error=None,
        exit_code=None,
        results=_results(history, reports_dir, run_id),
    )


def run_list(
    benchmarks: Benchmarks, history: History | None, reports_dir: Path | None = None, limit: int = 50
) -> list[RunListItem]:
    """Runs started here that are not in the history yet, then the finished ones, newest
    first: the history's and those only a report folder holds (a run with --no-history,
    or a report copied from another machine)."""
    recorded = eval_runs(history, limit=limit) if history else []
    ids = {r.run_id for r in recorded}
    live = [
        RunListItem(
            id=j.id, status=j.status, started=j.started, models=list(j.request.models),  # type: ignore[arg-type]
            suites=j.suites, passed=0, total=j.total,
        )
        for j in sorted(benchmarks.jobs.values(), key=lambda j: j.started, reverse=True)
        if j.eval_run_id not in ids
    ]  # fmt: skip
    finished = [
        RunListItem(
            id=r.run_id, status="done", started=r.started, models=r.models, suites=r.suites,
            passed=r.passed, total=r.results,
        )
        for r in recorded
    ]  # fmt: skip
    known = ids | {j.eval_run_id for j in benchmarks.jobs.values()}
    finished += _report_only_runs(reports_dir, known, limit) if reports_dir else []
    newest_first = sorted(finished, key=lambda r: _aware(r.started), reverse=True)
    return live + newest_first[:limit]


def _aware(moment: datetime | None) -> datetime:
    """For sorting: a naive time is UTC (as the history writes it); none sorts last."""
    if moment is None:
        return datetime.fromtimestamp(0, UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _report_only_runs(reports_dir: Path, known: set[str | None], limit: int) -> list[RunListItem]:
    """The newest `limit` report folders whose run the history does not have: finished
    (report.json) or still going (progress.json, see evals.progress)."""
    try:
        names = sorted((p.name for p in reports_dir.iterdir() if p.is_dir()), reverse=True)
    except OSError:
        return []
    found: list[RunListItem] = []
    for name in names:
        if len(found) >= limit:
            break
        if name in known:
            continue
        if (report := _report(reports_dir, name)) is None:
            if progress := _progress(reports_dir, name):
                found.append(
                    RunListItem(
                        id=name, status=progress.state(), started=progress.started_at,
                        models=progress.models, suites=progress.suites, passed=0, total=progress.total,
                    )
                )  # fmt: skip
            continue
        listed = report.get("cases")
        cases = [c for c in listed if isinstance(c, dict)] if isinstance(listed, list) else []
        try:
            started = datetime.fromisoformat(str(report["started"])) if report.get("started") else None
        except ValueError:
            started = None
        found.append(
            RunListItem(
                id=name, status="done", started=started,
                models=[str(m) for m in report.get("models") or []],
                suites=[str(s) for s in report.get("suites") or []],
                passed=sum(bool(c.get("passed")) for c in cases), total=len(cases),
            )
        )  # fmt: skip
    return found


# -- two runs compared -----------------------------------------------------------------------

CHANGE_ORDER = {"fixed": 0, "broken": 1, "only in a": 2, "only in b": 3, "unchanged": 4}


def _finished_run(
    benchmarks: Benchmarks, history: History | None, reports_dir: Path, run_id: str
) -> tuple[RunStatus, list[CaseOut]]:
    status = run_status(benchmarks, history, reports_dir, run_id)
    if status.results is None:
        raise NotFound(f"run {run_id} has no results yet ({status.status}): compare it when it is done")
    return status, status.results.cases


def _compared_run(status: RunStatus, cases: list[CaseOut]) -> ComparedRun:
    return ComparedRun(
        id=status.id, eval_run_id=status.eval_run_id, status=status.status, started=status.started,
        suites=status.suites, models=status.models, passed=sum(c.passed for c in cases), total=len(cases),
    )  # fmt: skip


def _change(a: CaseOut | None, b: CaseOut | None) -> CaseChange:
    if a is None:
        return "only in b"
    if b is None:
        return "only in a"
    if a.passed != b.passed:
        return "fixed" if b.passed else "broken"
    return "unchanged"


def _side(case: CaseOut | None) -> CaseSide | None:
    if case is None:
        return None
    return CaseSide(passed=case.passed, reason=case.reason, failure=case.failure, duration=case.duration)


def _pass_counts(cases: list[CaseOut]) -> dict[tuple[str, str, str], Rate]:
    counts: dict[tuple[str, str, str], Rate] = {}
    for c in cases:
        seen = counts.get((c.model, c.suite, c.mode), Rate(0, 0))
        counts[(c.model, c.suite, c.mode)] = Rate(seen.successes + c.passed, seen.total + 1)
    return counts


def _rate_out(rate: Rate | None) -> RateOut | None:
    if rate is None:
        return None
    return RateOut(
        successes=rate.successes, total=rate.total, rate=rate.value, interval=IntervalOut.of(rate.interval)
    )


def run_comparison(
    benchmarks: Benchmarks, history: History | None, reports_dir: Path, a: str, b: str
) -> RunComparison:
    """Two finished runs side by side: every (suite, model, mode, case, sample) in either, how
    it ended in each, fixed and broken cases, and per (model, suite, mode) the pass counts
    with the verdict the model comparison gives two pass rates (agents.models.compare)."""
    from agents.models.compare import Thresholds, rate_verdict

    if a == b:
        raise SameRun(f"a and b are the same run {a!r}: pick two different runs")
    first, a_cases = _finished_run(benchmarks, history, reports_dir, a)
    second, b_cases = _finished_run(benchmarks, history, reports_dir, b)
    if first.eval_run_id and first.eval_run_id == second.eval_run_id:
        raise SameRun(f"{a} and {b} are the same eval run {first.eval_run_id}: pick two different runs")

    def key(c: CaseOut) -> tuple[str, str, str, str, int]:
        return (c.suite, c.model, c.mode, c.case, c.sample)

    in_a, in_b = {key(c): c for c in a_cases}, {key(c): c for c in b_cases}
    compared = []
    for k in dict.fromkeys([*in_a, *in_b]):
        ca, cb = in_a.get(k), in_b.get(k)
        suite, model, mode, case, sample = k
        compared.append(
            ComparedCase(
                suite=suite, model=model, mode=mode, case=case, sample=sample, a=_side(ca), b=_side(cb),
                change=_change(ca, cb),
            )
        )  # fmt: skip
    compared.sort(key=lambda c: (CHANGE_ORDER[c.change], c.suite, c.model, c.mode, c.case, c.sample))
    threshold = Thresholds().quality
    counts_a, counts_b = _pass_counts(a_cases), _pass_counts(b_cases)
    group_list = []
    for group in sorted(counts_a.keys() | counts_b.keys()):
        ra, rb = counts_a.get(group), counts_b.get(group)
        if ra is None or rb is None:
            verdict, difference = "not compared", None
        else:
            found = rate_verdict(ra, rb, threshold)
            verdict = {"a": first.id, "b": second.id}.get(found, found)
            difference = rb.value - ra.value
        model, suite, mode = group
        group_list.append(
            ComparedGroup(
                model=model, suite=suite, mode=mode, a=_rate_out(ra), b=_rate_out(rb), difference=difference,
                verdict=verdict,
            )
        )  # fmt: skip
    return RunComparison(
        a=_compared_run(first, a_cases),
        b=_compared_run(second, b_cases),
        threshold=threshold,
        groups=group_list,
        cases=compared,
        fixed=[c for c in compared if c.change == "fixed"],
        broken=[c for c in compared if c.change == "broken"],
    )


# -- a case and its files --------------------------------------------------------------------


def _inside_run(reports_dir: Path, run_id: str, rel: str) -> Path | None:
    """`<reports>/<run id>/<rel>` resolved, if it stays inside that run's folder.

    The run id must be a plain name, and the resolved path (symlinks followed) must stay
    inside the resolved run folder: `..`, absolute paths and links out are refused.
    """
    if not valid_run_id(run_id) or not rel or "\x00" in rel:
        return None
    base = (reports_dir / run_id).resolve()
    try:
        target = (base / rel).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    return target if target.is_relative_to(base) else None


def report_file(reports_dir: Path, run_id: str, rel: str) -> Path | None:
    """A regular file inside run `run_id`'s report folder, else None."""
    target = _inside_run(reports_dir, run_id, rel)
    return target if target is not None and target.is_file() else None


def report_folder(reports_dir: Path, run_id: str, rel: str) -> Path | None:
    """A folder inside run `run_id`'s report folder, else None."""
    target = _inside_run(reports_dir, run_id, rel)
    return target if target is not None and target.is_dir() else None


def case_detail(
    history: History | None,
    reports_dir: Path,
    run_id: str,
    *,
    suite: str,
    model: str,
    mode: str,
    case: str,
    sample: int = 0,
) -> CaseDetail:
    """One case of a run: verdict, reason, checks, the answer, its files and screenshot."""
    cases = run_cases(history, reports_dir, run_id)
    if cases is None:
        raise NotFound(f"no run {run_id!r}")
    found = next(
        (
            c
            for c in cases
            if (c.suite, c.model, c.mode, c.case, c.sample) == (suite, model, mode, case, sample)
        ),
        None,
    )
    if found is None:
        raise NotFound(f"run {run_id} has no case {suite}/{case} of {model} ({mode}, sample {sample})")
    answer, files = None, []
    if found.work_dir and (answer_path := report_file(reports_dir, run_id, f"{found.work_dir}/answer.md")):
        answer = answer_path.read_text(encoding="utf-8", errors="replace")[:ANSWER_LIMIT]
    if found.work_dir and (folder := report_folder(reports_dir, run_id, f"{found.work_dir}/files")):
        base = (reports_dir / run_id).resolve()
        for path in sorted(p for p in folder.rglob("*") if p.is_file())[:50]:
            rel = str(path.resolve().relative_to(base)) if path.resolve().is_relative_to(base) else None
            if rel:
                files.append(FileOut(path=str(path.relative_to(folder)), url=f"/files/{run_id}/{rel}"))
    shot = None
    if found.screenshot and report_file(reports_dir, run_id, found.screenshot):
        shot = f"/files/{run_id}/{found.screenshot}"
    return CaseDetail(
        **found.model_dump(include=set(CaseVerdict.model_fields)),
        run_id=run_id,
        checks=found.checks,
        answer=answer,
        files=files,
        screenshot_url=shot,
    )
