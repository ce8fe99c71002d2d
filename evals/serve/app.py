"""The dashboard as a FastAPI app: the JSON API, the server-rendered pages, the run files.

    app = create_app(reports_dir=Path("reports"))           # what `python -m evals.serve` serves

API (the OpenAPI document is at /openapi.json, browsable at /docs):
    GET  /api/performance/metrics       per model (role, task type): calls, success rate,
                                        latency p50/p90, tokens, tokens/s, cost, pass rates;
                                        per generator: pipeline runs verified (pipeline_runs)
    GET  /api/performance/comparison    the comparison of two models + recommendation
    POST /api/performance/benchmark     start an eval run (202 + run id)
    GET  /api/runs, /api/runs/{id}      runs; one run's status, live progress, results
    GET  /api/runs/compare?a=ID&b=ID    two runs side by side: cases fixed / broken, pass rates
    GET  /api/runs/{id}/case            one case: reason, checks, answer, files, screenshot
Pages: / (leaderboard), /runs, /runs/{id} (progress, model × case matrix), /runs/{id}/case,
/runs/compare (two runs), /compare (two models), /model. Files of a run: /files/{run id}/{path}
(only inside that run's folder).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from evals.serve import data
from evals.serve.runs import BenchmarkRefused, Benchmarks, Builder, RunEval
from evals.serve.schemas import (
    BenchmarkAccepted,
    BenchmarkRequest,
    CaseDetail,
    ComparisonResponse,
    MetricsResponse,
    Problem,
    RunComparison,
    RunListItem,
    RunStatus,
)
from evals.serve.security import ServeConfig, guard
from tools.history import WORK_SOURCES, History
from tools.history_queries import QueryError, existing_history, parse_since

HERE = Path(__file__).resolve().parent
Source = Literal["run", "eval", "probe", "ab", "bench"]
GroupColumn = Literal["role", "task_type"]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "Nothing recorded under that name"},
    422: {"model": Problem, "description": "The request is not valid; the detail says what to change"},
}
# generated files are shown as text, never run on the dashboard's origin
FILE_POLICY = "sandbox; default-src 'none'"
REPORT_POLICY = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}


def create_app(
    *,
    reports_dir: Path = Path("reports"),
    history_path: Path | None = None,
    config: ServeConfig | None = None,
    builder: Builder | None = None,
    run_eval: RunEval | None = None,
    check_setup: bool = True,
) -> FastAPI:
    """The dashboard over `history_path` (default: tools.history's) and `reports_dir`.

    `builder` and `run_eval` let tests script the models or the runner.
    """
    config = config or ServeConfig()
    config.check()
    app = FastAPI(
        title="codecrew dashboard",
        summary="Metrics, comparisons and benchmark runs over codecrew's history",
        version="1",
    )
    app.middleware("http")(guard(config))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    benchmarks = Benchmarks(reports_dir, builder=builder, run_eval=run_eval, check_setup=check_setup)
    app.state.benchmarks = benchmarks

    def history() -> History | None:
        return existing_history(history_path)

    def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, template, context, status_code=status)

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
            parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
        message = "; ".join(parts) or "invalid request"
        if is_api(request):
            return JSONResponse({"detail": message}, status_code=422)
        return page(request, "error.html", 422, title="Bad request", message=message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail)
        if is_api(request) or request.url.path.startswith("/files/"):
            return JSONResponse({"detail": message}, status_code=exc.status_code)
        return page(request, "error.html", exc.status_code, title=f"{exc.status_code}", message=message)

    def not_found(message: str) -> StarletteHTTPException:
        return StarletteHTTPException(404, message)

    def since_of(value: str | None) -> datetime | None:
        try:
            return parse_since(value)
        except QueryError as exc:
            raise RequestValidationError([{"loc": ("query", "since"), "msg": str(exc)}]) from None

    # -- API -------------------------------------------------------------------------------

    @app.get(
        "/api/performance/metrics", response_model=MetricsResponse, responses=ERRORS, tags=["performance"]
    )
    def get_metrics(
        model: Annotated[str | None, Query(max_length=300, description="only this model")] = None,
        since: Annotated[str | None, Query(max_length=40, description="7d, 12h, 30m or an ISO date")] = None,
        source: Annotated[Source | None, Query(description="only this source (default: work)")] = None,
        group_by: Annotated[list[GroupColumn], Query(description="also split by role / task type")] = [],  # noqa: B006
    ) -> MetricsResponse:
        """Per model (and role / task type): calls, success rate with its 95% interval, median
        and p90 latency, tokens in/out, tokens/s, cost per call and in total, error classes, and
        the pass rate per suite (Wilson interval, pass@k when cases were sampled); and per
        generator model its pipeline runs: verified, failed, not verified, infrastructure, no
        verdict, the verified rate with its interval, median wall time, tokens per verified run."""
        sources = [source] if source else list(WORK_SOURCES)
        return data.metrics(
            history(), model=model, since=since_of(since), sources=sources, group_by=["model", *group_by]
        )

    @app.get(
        "/api/performance/comparison",
        response_model=ComparisonResponse,
        responses=ERRORS,
        tags=["performance"],
    )
    def get_comparison(
        a: Annotated[str, Query(min_length=1, max_length=300, description="first model string")],
        b: Annotated[str, Query(min_length=1, max_length=300, description="second model string")],
        task_type: Annotated[str | None, Query(max_length=100)] = None,
        min_calls: Annotated[int, Query(ge=1, le=100_000)] = 5,
    ) -> ComparisonResponse:
        """The comparison (quality, reliability, cost, speed) and the recommendation,
        with the numbers and thresholds that decided it; overlapping 95% intervals give
        "no significant difference"."""
        try:
            return data.comparison(history(), a, b, task_type=task_type, min_calls=min_calls)
        except data.NotFound as exc:
            raise not_found(str(exc)) from None

    @app.post(
        "/api/performance/benchmark",
        status_code=202,
        response_model=BenchmarkAccepted,
        responses={
            **ERRORS,
            409: {"model": Problem, "description": "A benchmark is already running"},
            503: {"model": Problem, "description": "A checker the suite needs is missing"},
        },
        tags=["performance"],
    )
    def post_benchmark(request: BenchmarkRequest) -> Any:
        """Start an eval run (the same run `python -m evals.run` makes); poll its status URL."""
        try:
            job = benchmarks.start(request)
        except BenchmarkRefused as exc:
            return JSONResponse({"detail": str(exc)}, status_code=exc.status)
        return BenchmarkAccepted(
            id=job.id,
            status=job.status,  # type: ignore[arg-type]
            total=job.total,
            status_url=f"/api/runs/{job.id}",
            page_url=f"/runs/{job.id}",
        )

    @app.get("/api/runs", response_model=list[RunListItem], responses=ERRORS, tags=["runs"])
    def get_runs(limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[RunListItem]:
        """Eval runs, newest first: the ones running here, then the history's."""
        return data.run_list(benchmarks, history(), reports_dir, limit)

    @app.get("/api/runs/compare", response_model=RunComparison, responses=ERRORS, tags=["runs"])
    def get_run_comparison(
        a: Annotated[str, Query(min_length=1, max_length=100, description="the earlier run's id")],
        b: Annotated[str, Query(min_length=1, max_length=100, description="the later run's id")],
    ) -> RunComparison:
        """Two finished runs side by side: every case in either (passed, failed or absent in
        each, with its reason and duration), changed cases first; the fixed and broken cases;
        per model, suite and mode the pass counts with 95% intervals and a verdict ("no
        significant difference" when the intervals overlap, as in the model comparison)."""
        try:
            return data.run_comparison(benchmarks, history(), reports_dir, a, b)
        except data.NotFound as exc:
            raise not_found(str(exc)) from None
        except data.SameRun as exc:
            raise RequestValidationError([{"loc": ("query", "b"), "msg": str(exc)}]) from None

    @app.get("/api/runs/{run_id}", response_model=RunStatus, responses=ERRORS, tags=["runs"])
    def get_run(run_id: str) -> RunStatus:
        """A run's status and live progress (cases answered / total), and its results when done."""
        try:
            return data.run_status(benchmarks, history(), reports_dir, run_id)
        except data.NotFound as exc:
            raise not_found(str(exc)) from None

    @app.get("/api/runs/{run_id}/case", response_model=CaseDetail, responses=ERRORS, tags=["runs"])
    def get_case(
        run_id: str,
        suite: Annotated[str, Query(max_length=100)],
        model: Annotated[str, Query(max_length=300)],
        mode: Annotated[str, Query(max_length=20)],
        case: Annotated[str, Query(max_length=300)],
        sample: Annotated[int, Query(ge=0, le=1000)] = 0,
    ) -> CaseDetail:
        """One case of a run: verdict, failure reason, checks, the answer, files and screenshot."""
        try:
            return data.case_detail(
                history(), reports_dir, _eval_id(run_id), suite=suite, model=model, mode=mode, case=case,
                sample=sample,
            )  # fmt: skip
        except data.NotFound as exc:
            raise not_found(str(exc)) from None

    def _eval_id(run_id: str) -> str:
        job = benchmarks.get(run_id)
        return job.eval_run_id if job and job.eval_run_id else run_id

    @app.get("/files/{run_id}/{path:path}", include_in_schema=False)
    def get_file(run_id: str, path: str) -> Response:
        target = data.report_file(reports_dir, _eval_id(run_id), path)
        if target is None:
            raise not_found(f"no file {path!r} in run {run_id}")
        headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": FILE_POLICY}
        if media := IMAGE_TYPES.get(target.suffix.lower()):
            return FileResponse(target, media_type=media, headers=headers)
        if target.name == "report.html":  # our own report: no script, inline SVG and images
            headers["Content-Security-Policy"] = REPORT_POLICY
            return FileResponse(target, media_type="text/html; charset=utf-8", headers=headers)
        return FileResponse(target, media_type="text/plain; charset=utf-8", headers=headers)

    # -- pages -----------------------------------------------------------------------------

    from evals.serve import pages

    pages.add_pages(app, page, history, benchmarks, reports_dir, _eval_id)
    return app
