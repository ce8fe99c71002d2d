"""The evaluators: small classes that judge a CaseOutput by running it.

A case passes when every assertion (bool) passes. Assertions here run code: hidden tests,
SQLite, esbuild + Node, the HumanEval `check`, a headless browser. Keyword matches are
scores (numbers) shown beside them, never the verdict.

Execution happens in threads (the sandbox and the browser block), with at most
EXEC_SLOTS sandbox runs and one browser page at a time, whatever the case concurrency.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic_evals.evaluators import EvaluationReason, Evaluator, EvaluatorContext

from evals import bench
from evals.tasks import CaseOutput

EXEC_SLOTS = threading.BoundedSemaphore(2)  # two cores: two sandboxed programs at a time
_BROWSER_LOCK = threading.Lock()
_browser_session: Any = None


def _blocked(output: CaseOutput) -> str | None:
    """Why there is nothing to run (model error), else None."""
    if output.error:
        return f"nothing to run: {output.error_class or 'error'}: {output.error}"
    return None


async def _in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    def guarded() -> Any:
        with EXEC_SLOTS:
            return fn(*args, **kwargs)

    return await asyncio.to_thread(guarded)


@dataclass(repr=False)
class Answered(Evaluator[Any, CaseOutput, Any]):
    """The model answered: no API error, no timeout, some code in the answer."""

    def evaluate(self, ctx: EvaluatorContext[Any, CaseOutput, Any]) -> EvaluationReason:
        out = ctx.output
        if out.error:
            return EvaluationReason(False, f"{out.error_class}: {out.error}")
        if not out.files:
            return EvaluationReason(False, "no_code: the answer holds no code block")
        return EvaluationReason(True, f"{len(out.files)} file(s)")


@dataclass(repr=False)
class NotLazy(Evaluator[Any, CaseOutput, Any]):
    """The code is complete: no "// rest of the code" placeholders left after rewrites."""

    def evaluate(self, ctx: EvaluatorContext[Any, CaseOutput, Any]) -> EvaluationReason:
        out = ctx.output
        if out.lazy:
            found = ", ".join(repr(p) for p in out.placeholders[:3]) or "placeholders"
            return EvaluationReason(False, f"lazy_output: {found} (after {out.rewrites} rewrites)")
        return EvaluationReason(True, "complete")


# --- Tetris -------------------------------------------------------------------------

# Seven content checks of a Tetris page, as regexes over the page source. Cheap scores only:
# a page can pass all seven and still throw on every frame.
TETRIS_KEYWORDS: dict[str, str] = {
    "has_doctype": r"<!doctype\s+html",
    "has_html_tag": r"<html[\s>]",
    "has_javascript": r"<script[\s>]",
    "has_board": r"<canvas|\bboard\b|\bgrid\b|\barena\b",
    "has_pieces": r"tetromino|\bpieces?\b|\bshapes?\b|\b[IJLOSTZ]\s*:\s*\[",
    "has_score": r"\bscore\b",
    "has_game_logic": r"requestAnimationFrame|setInterval|setTimeout|game\s*loop|\bdrop\w*\s*\(",
}


def _page(output: CaseOutput) -> tuple[str, str] | None:
    """The HTML entry page of an answer: index.html, else the first .html file."""
    return bench.pick_file(output.files, "index.html", "html")


@dataclass(repr=False)
class TetrisKeywords(Evaluator[Any, CaseOutput, Any]):
    """Seven content checks, one 0/1 score each."""

    def evaluate(self, ctx: EvaluatorContext[Any, CaseOutput, Any]) -> dict[str, EvaluationReason]:
        text = "\n".join(ctx.output.files.values())
        return {
            name: EvaluationReason(1 if re.search(pattern, text, re.IGNORECASE) else 0, pattern)
            for name, pattern in TETRIS_KEYWORDS.items()
        }


def _browser() -> Any:
    """One chromium for the whole eval run (launched on first use)."""
    global _browser_session
    from tools.browser import BrowserSession

    if _browser_session is None:
        _browser_session = BrowserSession()
    return _browser_session


def close_browser() -> None:
    global _browser_session
    with _BROWSER_LOCK:
        session, _browser_session = _browser_session, None
    if session is not None:
        session.close()


@dataclass(repr=False)
class PlaysInBrowser(Evaluator[Any, CaseOutput, Any]):
    """The page runs in headless chromium: loads without JS errors, draws, responds to
    keys and advances by itself (tools.browser). Saves a screenshot next to the files."""

    timeout: float = 20.0

    async def evaluate(self, ctx: EvaluatorContext[Any, CaseOutput, Any]) -> dict[str, EvaluationReason]:
        out = ctx.output
        if why := _blocked(out):
            return {"plays": EvaluationReason(False, why)}
        page = _page(out)
        if page is None:
            names = ", ".join(out.files) or "none"
            return {"plays": EvaluationReason(False, f"no HTML page in the answer (files: {names})")}
        site = Path(out.work_dir or ".")
        screenshot = site.parent / "screenshot.png"

        def check() -> Any:
            with _BROWSER_LOCK:
                return _browser().check(site, page[0], screenshot=screenshot, timeout=self.timeout)

        from tools.browser import BrowserUnavailable

        try:
            report = await asyncio.to_thread(check)
        except BrowserUnavailable as exc:  # the harness's problem: the page is not judged
            return {"plays": EvaluationReason(False, f"{bench.INFRASTRUCTURE}{exc}")}
        results = {
            f"browser_{c.name}": EvaluationReason(1 if c.passed else 0, c.detail) for c in report.checks
        }
        failed = [f"{c.name}: {c.detail}" for c in report.checks if not c.passed]
        if report.js_errors:
            failed.append(f"JS errors: {report.js_errors[0]}")
        verdict = "; ".join(failed) if failed else "loads, draws, responds to keys, advances"
        results["plays"] = EvaluationReason(report.passed, verdict[:500])
        return results


# --- bench --------------------------------------------------------------------------


FileCheck = Callable[[dict[str, str], str], Awaitable[bench.CheckResult]]


async def _check_file(out: CaseOutput, file: str, language: str | None, check: FileCheck) -> EvaluationReason:
    """`check(files, content)` of the answer's `file` (or the file that stands for it:
    bench.pick_file); why not, when the model failed or wrote no such file."""
    if why := _blocked(out):
        return EvaluationReason(False, why)
    target = bench.pick_file(out.files, file, language)
    if target is None:
        names = ", ".join(out.files) or "none"
        return EvaluationReason(False, f"no {file} in the answer (files: {names})")
    result = await check(out.files, target[1])
    return EvaluationReason(result.passed, result.detail)


@dataclass(repr=False)
class PythonTests(Evaluator[Any, CaseOutput, Any]):
    """Hidden `def test_...` functions run against the generated module in the sandbox."""

    file: str
    tests: str
    timeout: float = 30.0

    async def evaluate(self, ctx: EvaluatorContext[Any, CaseOutput, Any]) -> EvaluationReason:
        return await _check_file(ctx.output, self.file, "python", self.check)

    async def check(self, files: dict[str, str], content: str) -> bench.CheckResult:
        importable = {**files, self.file: content}  # under the name the tests use
        return await _in_thread(
            bench.run_python_tests, importable, self.file, self.tests, timeout=self.timeout
        )


@dataclass(repr=False)
class SqlRows(Evaluator[Any, CaseOutput, Any]):
    """The query runs in SQLite on the fixture and returns exactly the expected rows."""

    file: str
    expected: list[list[Any]]
    fixture: str = "shop.sql"
    ordered: bool = True

    async def evaluate(self, ctx: EvaluatorContext[Any, CaseOutput, Any]) -> EvaluationReason:
        return await _check_file(ctx.output, self.file, "sql", self.check)

    async def check(self, files: dict[str, str], content: str) -> bench.CheckResult:
        return await _in_thread(
            bench.run_sql_check,
            {self.file: content},
            self.file,
            self.expected,
            fixture=self.fixture,
            ordered=self.ordered,
        )


@dataclass(repr=False)
class NodeTests(Evaluator[Any, CaseOutput, Any]):
    """esbuild parses/transpiles the JS/TS/TSX file, `node --check`, then hidden tests run."""

    file: str
    tests: str
    language: str = "javascript"
    timeout: float = 30.0

    async def evaluate(self, ctx: EvaluatorContext[Any, CaseOutput, Any]) -> EvaluationReason:
        return await _check_file(ctx.output, self.file, self.language, self.check)

    async def check(self, files: dict[str, str], content: str) -> bench.CheckResult:
        if problem := bench.node_problem():
            return bench.unavailable(problem)
        return await _in_thread(
            bench.run_node_tests, {self.file: content}, self.file, self.tests, timeout=self.timeout
        )


@dataclass(repr=False)
class Keywords(Evaluator[Any, CaseOutput, Any]):
    """Share of expected keywords (regexes) in the code: an extra score, never the verdict."""

    keywords: list[str] = field(default_factory=list)

    def evaluate(self, ctx: EvaluatorContext[Any, CaseOutput, Any]) -> EvaluationReason:
        score, missing = bench.keyword_score("\n".join(ctx.output.files.values()), self.keywords)
        return EvaluationReason(round(score, 3), f"missing: {', '.join(missing)}" if missing else "all found")

    def get_default_evaluation_name(self) -> str:
        return "keywords"


# --- HumanEval ------------------------------------------------------------------------


@dataclass(repr=False)
class HumanEvalCheck(Evaluator[Any, CaseOutput, Any]):
    """pass@1: the task's own `check(candidate)` runs against the answer in the sandbox."""

    timeout: float = 20.0

    async def evaluate(self, ctx: EvaluatorContext[Any, CaseOutput, Any]) -> EvaluationReason:
        from evals import humaneval

        out = ctx.output
        if why := _blocked(out):
            return EvaluationReason(False, why)
        meta = ctx.metadata
        result = await _in_thread(humaneval.run_check, out.text, out.files, meta, timeout=self.timeout)
        return EvaluationReason(result.passed, result.detail)


ALL_EVALUATORS: list[type[Evaluator[Any, Any, Any]]] = [
    Answered,
    NotLazy,
    TetrisKeywords,
    PlaysInBrowser,
    PythonTests,
    SqlRows,
    NodeTests,
    Keywords,
    HumanEvalCheck,
]
