"""Each evaluator both passes and fails, on answers from FunctionModel-scripted models:
good, lazy, broken (syntax error), slow (past the case timeout), rate-limited (429)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai.exceptions import ModelHTTPError
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_evals import Dataset

from agents.config import Settings
from agents.coordinator import coordinator_agent
from agents.extractor import extractor_agent
from agents.generator import generator_agent
from evals import evaluators as ev
from evals import humaneval
from evals.results import CaseResult
from evals.suites import humaneval_dataset, load_suite
from evals.tasks import CaseNames, CaseOutput, TaskFactory
from tools.browser import browser_available

REFERENCE = Path(__file__).resolve().parent.parent / "evals" / "fixtures" / "reference"
PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"
INTERVALS = (REFERENCE / "intervals.py").read_text()


def fenced(name: str, code: str, lang: str = "python") -> str:
    return f"Here you go.\n\n### {name}\n```{lang}\n{code}\n```\n"


def answers(text: str) -> FunctionModel:
    """Always the same answer, plainly or streamed (the pipeline streams the generator)."""

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[TextPart(text)])

    async def stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str]:
        for start in range(0, len(text), 64):
            yield text[start : start + 64]

    return FunctionModel(respond, stream_function=stream)


def slow(seconds: float) -> FunctionModel:
    async def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        await asyncio.sleep(seconds)
        return ModelResponse(parts=[TextPart(fenced("intervals.py", INTERVALS))])

    return FunctionModel(respond)


def rate_limited() -> FunctionModel:
    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        raise ModelHTTPError(429, "scripted", body={"error": "Rate limit exceeded"})

    return FunctionModel(respond)


MODELS = {
    "good": answers(fenced("intervals.py", INTERVALS)),
    "lazy": answers(
        fenced("intervals.py", "def merge_intervals(intervals):\n    # ... rest of the code\n    pass")
    ),
    "broken": answers(fenced("intervals.py", "def merge_intervals(intervals)\n    return intervals")),
    "prose": answers("I would sort the intervals and then merge neighbours."),
    "slow": slow(30),
    "limited": rate_limited(),
}


def one_case(suite: str, name: str) -> Dataset:
    full = load_suite(suite)
    case = next(c for c in full.cases if c.name == name)
    return Dataset(name=suite, cases=[case], evaluators=full.evaluators)


async def evaluate(
    model: str, dataset: Dataset, tmp_path: Path, *, timeout: float = 20.0, suite: str = "bench"
) -> CaseResult:
    factory = TaskFactory(tmp_path, case_timeout=timeout, builder=MODELS.__getitem__)
    task = factory.generator_task(model, suite=suite)
    report = await dataset.evaluate(task, progress=False, lifecycle=CaseNames)
    [row] = CaseResult.from_report(report, suite=suite, model=model, mode="generator", run_dir=tmp_path)
    return row


async def test_good_answer_passes_every_check(tmp_path: Path) -> None:
    row = await evaluate("good", one_case("bench", "python_merge_intervals"), tmp_path)
    assert row.passed, row.reason
    assert row.failure is None and row.error_class is None
    assert row.checks == {
        "PythonTests": {"passed": True, "reason": "hidden tests: 6/6 passed"},
        "Answered": {"passed": True, "reason": "1 file(s)"},
        "NotLazy": {"passed": True, "reason": "complete"},
    }
    assert row.requests == 1 and row.input_tokens > 0 and row.output_tokens > 0
    assert row.cost is None  # a FunctionModel has no price: unknown, not 0
    work = tmp_path / row.work_dir
    assert (work / "files" / "intervals.py").read_text().strip() == INTERVALS.strip()
    assert "### intervals.py" in (work / "answer.md").read_text()


async def test_lazy_answer_fails_as_lazy(tmp_path: Path) -> None:
    row = await evaluate("lazy", one_case("bench", "python_merge_intervals"), tmp_path)
    assert not row.passed
    assert row.lazy and row.failure == "lazy_output" == row.error_class
    assert row.reason.startswith("NotLazy: lazy_output: '# ... rest of the code' (after 2 rewrites)")
    assert row.requests == 3  # the first answer and two rewrites


async def test_syntax_error_fails_the_hidden_tests(tmp_path: Path) -> None:
    row = await evaluate("broken", one_case("bench", "python_merge_intervals"), tmp_path)
    assert not row.passed
    assert row.failure == "check_failed" and row.error_class is None
    assert row.checks["Answered"]["passed"]
    assert "SyntaxError" in row.reason


async def test_answer_without_code_is_no_code(tmp_path: Path) -> None:
    row = await evaluate("prose", one_case("bench", "python_merge_intervals"), tmp_path)
    assert not row.passed
    assert row.failure == "no_code"
    assert row.reason.startswith("Answered: no_code:")


async def test_slow_model_times_out(tmp_path: Path) -> None:
    row = await evaluate("slow", one_case("bench", "python_merge_intervals"), tmp_path, timeout=0.5)
    assert not row.passed
    assert row.failure == "timeout"
    assert row.reason == "Answered: timeout: no answer within 0.5s"
    assert row.checks["PythonTests"] == {
        "passed": False,
        "reason": "nothing to run: timeout: no answer within 0.5s",
    }
    assert row.duration < 5


async def test_rate_limited_model_is_reported_with_its_class(tmp_path: Path) -> None:
    row = await evaluate("limited", one_case("bench", "python_merge_intervals"), tmp_path)
    assert not row.passed
    assert row.failure == row.error_class == "rate_limited"
    assert "429" in row.reason


async def test_sql_rows_pass_and_fail(tmp_path: Path) -> None:
    sql = (REFERENCE / "revenue_2024.sql").read_text()
    MODELS["sql-good"] = answers(fenced("revenue_2024.sql", sql, "sql"))
    MODELS["sql-bad"] = answers(fenced("revenue_2024.sql", sql.replace("DESC", "ASC"), "sql"))
    good = await evaluate("sql-good", one_case("bench", "sql_revenue_2024"), tmp_path / "a")
    bad = await evaluate("sql-bad", one_case("bench", "sql_revenue_2024"), tmp_path / "b")
    assert good.passed, good.reason
    assert not bad.passed and bad.reason.startswith("SqlRows: row 1 is ['Dee', 0.0, 0.0]")


async def test_node_tests_pass_and_fail_and_keywords_are_only_a_score(tmp_path: Path) -> None:
    errors_js = (REFERENCE / "errors.js").read_text()
    MODELS["js-good"] = answers(fenced("errors.js", errors_js, "javascript"))
    # Every keyword is there, but the classes forget their status codes.
    MODELS["js-bad"] = answers(
        fenced("errors.js", errors_js.replace("super(message, 404)", "super(message)"), "javascript")
    )
    good = await evaluate("js-good", one_case("bench", "node_error_handling"), tmp_path / "a")
    bad = await evaluate("js-bad", one_case("bench", "node_error_handling"), tmp_path / "b")
    assert good.passed, good.reason
    assert not bad.passed and "NotFoundError is a 404 AppError" in bad.reason
    assert good.scores["keywords"] == bad.scores["keywords"] == 1.0


async def test_humaneval_check_passes_and_fails(tmp_path: Path) -> None:
    problem = humaneval.load_problems()[0]
    MODELS["he-good"] = answers(fenced("solution.py", problem["prompt"] + problem["canonical_solution"]))
    MODELS["he-bad"] = answers(fenced("solution.py", problem["prompt"] + "    return True\n"))
    dataset = humaneval_dataset(limit=1)
    good = await evaluate("he-good", dataset, tmp_path / "a", suite="humaneval")
    bad = await evaluate("he-bad", dataset, tmp_path / "b", suite="humaneval")
    assert good.passed, good.reason
    assert not bad.passed and "AssertionError" in bad.reason


# --- Tetris ---------------------------------------------------------------------------


def page_answer(page: str) -> str:
    return fenced("index.html", (PAGES / page / "index.html").read_text(), "html")


def ctx_for(output: CaseOutput) -> Any:
    from pydantic_evals.evaluators import EvaluatorContext

    return EvaluatorContext(
        name="build_tetris",
        inputs=None,
        metadata=None,
        expected_output=None,
        output=output,
        duration=0.0,
        _span_tree=None,  # type: ignore[arg-type]
        attributes={},
        metrics={},
    )


def test_tetris_keywords_score_each_of_the_seven_checks() -> None:
    page = (PAGES / "canvas_game" / "index.html").read_text()
    full = ev.TetrisKeywords().evaluate(
        ctx_for(CaseOutput(model="m", mode="generator", files={"index.html": page}))
    )
    empty = ev.TetrisKeywords().evaluate(
        ctx_for(CaseOutput(model="m", mode="generator", files={"a.py": "print(1)"}))
    )
    assert len(full) == len(empty) == 7
    assert {k: r.value for k, r in empty.items()} == dict.fromkeys(ev.TETRIS_KEYWORDS, 0)
    assert full["has_doctype"].value == full["has_javascript"].value == 1


class FakeBrowser:
    def __init__(self, passed: bool) -> None:
        self.passed = passed
        self.seen: list[tuple[Path, str]] = []

    def check(self, site: Path, entry: str, *, screenshot: Path, timeout: float) -> Any:
        from tools.browser import PageCheck, PageReport

        self.seen.append((site, entry))
        screenshot.write_bytes(b"\x89PNG fake")
        names = ("loads", "draws", "responds_to_keys", "advances")
        checks = [PageCheck(n, self.passed or n != "draws", "scripted") for n in names]
        errors = [] if self.passed else ["TypeError: piece is undefined"]
        return PageReport(
            checks=checks, js_errors=errors, blocked_requests=[], screenshot=screenshot, duration=0.1
        )


@pytest.mark.parametrize("passed", [True, False])
async def test_plays_in_browser_follows_the_browser_report(tmp_path: Path, monkeypatch, passed: bool) -> None:
    fake = FakeBrowser(passed)
    monkeypatch.setattr(ev, "_browser", lambda: fake)
    MODELS["page"] = answers(page_answer("canvas_game"))
    row = await evaluate("page", one_case("tetris", "build_tetris"), tmp_path, suite="tetris")
    assert row.passed is passed
    assert fake.seen[0][1] == "index.html" and (fake.seen[0][0] / "index.html").is_file()
    assert row.screenshot == f"{row.work_dir}/screenshot.png"
    assert row.scores["browser_draws"] == (1 if passed else 0)
    if not passed:
        assert row.reason == "plays: draws: scripted; JS errors: TypeError: piece is undefined"


async def test_no_html_page_fails_without_opening_a_browser(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ev, "_browser", lambda: pytest.fail("no page, no browser"))
    MODELS["python-tetris"] = answers(fenced("tetris.py", "import pygame\nprint('tetris')"))
    row = await evaluate("python-tetris", one_case("tetris", "build_tetris"), tmp_path, suite="tetris")
    assert not row.passed
    assert row.reason == "plays: no HTML page in the answer (files: tetris.py)"


needs_chromium = pytest.mark.skipif(browser_available() is None, reason="chromium not installed")


@pytest.fixture(scope="module", autouse=True)
def one_browser_for_the_module():
    """The evaluators share one chromium per run; here, one per test module."""
    yield
    ev.close_browser()


@needs_chromium
async def test_real_browser_tells_a_game_from_a_broken_page(tmp_path: Path) -> None:
    MODELS["game"] = answers(page_answer("canvas_game"))
    MODELS["broken-page"] = answers(page_answer("broken_typeerror"))
    game = await evaluate("game", one_case("tetris", "build_tetris"), tmp_path / "a", suite="tetris")
    broken = await evaluate("broken-page", one_case("tetris", "build_tetris"), tmp_path / "b", suite="tetris")
    assert game.passed, game.reason
    assert (tmp_path / "a" / game.screenshot).read_bytes().startswith(b"\x89PNG")
    assert not broken.passed and "TypeError" in broken.reason
    # keyword checks cannot tell them apart
    assert broken.scores["has_javascript"] == game.scores["has_javascript"] == 1


@needs_chromium
async def test_pipeline_mode_plays_the_page_the_pipeline_wrote(tmp_path: Path) -> None:
    from pydantic_ai.messages import ToolCallPart

    steps = [
        ToolCallPart("generate_code", {"spec": "A Tetris game in one index.html with a canvas."}),
        ToolCallPart("extract_files", {}),
        ToolCallPart("write_files", {}),
    ]

    def coordinate(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        done = sum(1 for m in messages if isinstance(m, ModelResponse))
        return ModelResponse(parts=[steps[min(done, 2)]])

    settings = Settings.load({}, coordinator="test", generator="test", extractor="test")
    factory = TaskFactory(tmp_path, settings=settings)
    task = factory.pipeline_task("test", suite="tetris")
    with (
        coordinator_agent.override(model=FunctionModel(coordinate)),
        generator_agent.override(model=answers(page_answer("canvas_game"))),
        extractor_agent.override(model=FunctionModel(lambda m, i: pytest.fail("not needed"))),
    ):
        report = await one_case("tetris", "build_tetris").evaluate(task, progress=False, lifecycle=CaseNames)
    [row] = CaseResult.from_report(report, suite="tetris", model="test", mode="pipeline", run_dir=tmp_path)
    assert row.passed, row.reason
    assert row.requests >= 4  # coordinator turns + the generator
    assert (tmp_path / row.work_dir / "files" / "manifest.json").is_file()


async def test_a_pipeline_whose_coordinator_is_down_does_not_skip_the_generator(tmp_path: Path) -> None:
    from evals.tasks import CaseInputs

    async def coordinator_down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("coordinator at localhost:11434 refused the connection")

    factory = TaskFactory(tmp_path, builder=MODELS.__getitem__, pipeline_fn=coordinator_down)
    pipeline = factory.pipeline_task("good", suite="bench")
    first, second = [await pipeline(CaseInputs(prompt="x")) for _ in range(2)]
    assert first.error_class == "connection_refused" and not first.skipped
    assert second.skipped and second.error_class == "connection_refused"
    generated = await factory.generator_task("good", suite="bench")(CaseInputs(prompt="x"))
    assert generated.error is None and "intervals.py" in generated.files
