"""The dashboard's pages: server-rendered (Jinja2) over the same data as the API.

Charts are matplotlib SVG (evals.charts) drawn on the server; the only script is a few
lines of vanilla JS shipped in static/ (sorting tables, polling a run, the benchmark form).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from evals import charts
from evals.serve import data
from evals.serve.runs import Benchmarks
from tools.history import History
from tools.history_queries import model_runs, models_seen

Page = Callable[..., HTMLResponse]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def _interval(low: float, high: float) -> str:
    return f"{low * 100:.0f}–{high * 100:.0f}%"


def _num(value: float | None, digits: int = 1, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def _money(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"


FILTERS = {"pct": _pct, "num": _num, "money": _money, "interval": _interval}


def add_pages(
    app: FastAPI,
    page: Page,
    history: Callable[[], History | None],
    benchmarks: Benchmarks,
    reports_dir: Path,
    eval_id: Callable[[str], str],
) -> None:
    """Register the page routes on `app` (`page` renders a template)."""

    def render(request: Request, template: str, **context: Any) -> HTMLResponse:
        return page(request, template, **FILTERS, **context)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def leaderboard(request: Request) -> HTMLResponse:
        board = data.metrics(history())
        suites = sorted({(r.suite, r.mode) for m in board.models for r in m.pass_rates})
        rows = []
        for m in board.models:
            rates = {(r.suite, r.mode): r for r in m.pass_rates}
            rows.append({"m": m, "rates": [rates.get(s) for s in suites]})
        bars = [(f"{m.model} · {r.suite}/{r.mode}", r.rate * 100) for m in board.models for r in m.pass_rates]
        chart_list = []
        if bars:
            chart_list.append(charts.bar_chart("Pass rate (latest run per suite)", bars, "%"))
        if board.models:
            chart_list.append(
                charts.bar_chart("Tokens per second", [(m.model, m.tokens_per_second) for m in board.models])
            )
        return render(request, "leaderboard.html", board=board, suites=suites, rows=rows, charts=chart_list)

    @app.get("/runs", response_class=HTMLResponse, include_in_schema=False)
    def runs(request: Request) -> HTMLResponse:
        return render(request, "runs.html", runs=data.run_list(benchmarks, history(), reports_dir))

    @app.get("/runs/compare", response_class=HTMLResponse, include_in_schema=False)
    def runs_compare_page(request: Request, a: str | None = None, b: str | None = None) -> HTMLResponse:
        found = history()
        result = None
        if a and b:
            try:
                result = data.run_comparison(benchmarks, found, reports_dir, a, b)
            except data.NotFound as exc:
                raise StarletteHTTPException(404, str(exc)) from None
            except data.SameRun as exc:
                raise StarletteHTTPException(422, str(exc)) from None
        choices = [
            (r.id, f"{r.id} · {r.started:%Y-%m-%d %H:%M}" if r.started else r.id)
            for r in data.run_list(benchmarks, found, reports_dir)
        ]
        listed = {run_id for run_id, _ in choices}
        choices += [(run_id, run_id) for run_id in dict.fromkeys((a, b)) if run_id and run_id not in listed]
        return render(request, "runs_compare.html", choices=choices, a=a, b=b, result=result)

    @app.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    def run_page(request: Request, run_id: str) -> HTMLResponse:
        try:
            status = data.run_status(benchmarks, history(), reports_dir, run_id)
        except data.NotFound as exc:
            raise StarletteHTTPException(404, str(exc)) from None
        matrix = _matrix(status.results.cases) if status.results else None
        return render(request, "run.html", run=status, matrix=matrix)

    @app.get("/runs/{run_id}/case", response_class=HTMLResponse, include_in_schema=False)
    def case_page(
        request: Request,
        run_id: str,
        suite: str,
        model: str,
        mode: str,
        case: str,
        sample: Annotated[int, Query(ge=0)] = 0,
    ) -> HTMLResponse:
        try:
            detail = data.case_detail(
                history(), reports_dir, eval_id(run_id), suite=suite, model=model, mode=mode, case=case,
                sample=sample,
            )  # fmt: skip
        except data.NotFound as exc:
            raise StarletteHTTPException(404, str(exc)) from None
        return render(request, "case.html", c=detail, run_id=run_id)

    @app.get("/compare", response_class=HTMLResponse, include_in_schema=False)
    def compare_page(request: Request, a: str | None = None, b: str | None = None) -> HTMLResponse:
        found = history()
        known = models_seen(found) if found else []
        result, problem, chart = None, None, None
        if a and b:
            try:
                result = data.comparison(found, a, b)
            except data.NotFound as exc:
                problem = str(exc)
            if result:
                suites = sorted(result.a.pass_rates.keys() | result.b.pass_rates.keys())
                bars = [
                    (f"{side.model} · {s}", side.pass_rates[s].rate * 100)
                    for s in suites
                    for side in (result.a, result.b)
                    if s in side.pass_rates
                ]
                chart = charts.bar_chart("Pass rate per suite", bars, "%") if bars else None
        return render(
            request, "compare.html", known=known, a=a, b=b, result=result, problem=problem, chart=chart
        )

    @app.get("/model", response_class=HTMLResponse, include_in_schema=False)
    def model_page(request: Request, name: str) -> HTMLResponse:
        found = history()
        if found is None or name not in models_seen(found):
            raise StarletteHTTPException(404, f"nothing recorded for {name}")
        over_time = model_runs(found, name)
        pass_chart = charts.line_chart(
            "Pass rate per run",
            {name: [(r.started, r.pass_rate.rate * 100) for r in over_time]},
            "pass rate %",
            percent=True,
        )
        latencies = {name: [(r.started, r.median_latency) for r in over_time]}
        latency_chart = charts.line_chart("Median case latency per run", latencies, "seconds")
        detail = data.metrics(found, model=name, group_by=("model", "role", "task_type"))
        return render(
            request,
            "model.html",
            name=name,
            runs=list(reversed(over_time)),
            charts=[pass_chart, latency_chart],
            groups=detail.models,
        )


def _matrix(cases: list[Any]) -> dict[str, Any]:
    """Rows: suite/case; columns: model (and mode); a cell: the samples of that case."""
    columns = list(dict.fromkeys((c.model, c.mode) for c in cases))
    rows = list(dict.fromkeys((c.suite, c.case) for c in cases))
    cells: dict[tuple[str, str, str, str], list[Any]] = {}
    for c in cases:
        cells.setdefault((c.suite, c.case, c.model, c.mode), []).append(c)
    return {
        "columns": columns,
        "rows": [
            {"suite": s, "case": c, "cells": [cells.get((s, c, m, mode), []) for m, mode in columns]}
            for s, c in rows
        ],
        "show_mode": len({mode for _, mode in columns}) > 1,
    }
