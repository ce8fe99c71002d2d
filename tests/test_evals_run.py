"""The eval run end to end with scripted models: reports, history, exit codes, failing models."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from pydantic_ai.exceptions import ModelHTTPError
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from typer.testing import CliRunner

from agents.config import ConfigError
from agents.models import build as model_build
from evals import bench, humaneval, jobs, run, suites, tasks
from evals.evaluators import ALL_EVALUATORS
from evals.tasks import TaskFactory

PROBLEMS = {p["task_id"]: p for p in humaneval.load_problems()}


def solver(wrong_after: int | None = None) -> FunctionModel:
    """Answers HumanEval tasks with the canonical solution (wrong from task `wrong_after` on)."""

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        prompt = messages[0].parts[-1].content
        problem = next(p for p in PROBLEMS.values() if p["prompt"].strip() in prompt)
        number = int(problem["task_id"].split("/")[1])
        body = problem["canonical_solution"]
        if wrong_after is not None and number >= wrong_after:
            body = "    return None\n"
        return ModelResponse(parts=[TextPart(f"```python\n{problem['prompt']}{body}```")])

    return FunctionModel(respond)


def limited(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    raise ModelHTTPError(429, "scripted", body={"error": "quota exceeded"})


SCRIPTED = ("good", "half", "limited", "missing-key")


def build(spec: str):
    if spec == "missing-key":
        raise ConfigError(
            "missing API key for 'openai:gpt-4o': set OPENAI_API_KEY in the environment or in .env"
        )
    return {
        "good": solver(),
        "half": solver(wrong_after=2),
        "limited": FunctionModel(limited),
    }[spec]


@pytest.fixture(autouse=True)
def history_file(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "history.sqlite"
    monkeypatch.setenv("CODECREW_HISTORY", str(path))
    return path


@pytest.fixture
def scripted(monkeypatch) -> None:
    """The CLI builds its TaskFactory with our scripted models."""
    monkeypatch.setattr(tasks, "TaskFactory", partial(TaskFactory, builder=build))
    monkeypatch.setattr(run, "load_settings", lambda: (None, None))
    known = model_build.model_string_problem
    monkeypatch.setattr(
        model_build, "model_string_problem", lambda spec: None if spec in SCRIPTED else known(spec)
    )


def run_once(tmp_path: Path, models: list[str], **kwargs) -> tuple[int, dict, Path]:
    factory = TaskFactory(tmp_path, builder=build)
    code = run.run_eval(
        models,
        ["humaneval"],
        ["generator"],
        limit=4,
        report_dir=tmp_path / "reports",
        factory=factory,
        **kwargs,
    )
    [run_dir] = (tmp_path / "reports").iterdir()
    return code, json.loads((run_dir / "report.json").read_text()), run_dir


def run_one_at_a_time(tmp_path: Path, function: Callable[..., ModelResponse], limit: int) -> int:
    """HumanEval on one scripted model `function`, one case at a time, reports under tmp_path/r."""
    factory = TaskFactory(tmp_path, concurrency=1, builder=lambda spec: FunctionModel(function))
    return run.run_eval(
        ["m"],
        ["humaneval"],
        ["generator"],
        limit=limit,
        concurrency=1,
        report_dir=tmp_path / "r",
        factory=factory,
    )


def test_reports_hold_the_real_per_case_results(tmp_path: Path) -> None:
    code, report, run_dir = run_once(tmp_path, ["good", "half", "limited", "missing-key"])
    assert code == 0  # no --min-pass-rate
    rows = {(c["model"], c["case"]): c for c in report["cases"]}
    assert len(rows) == 16
    assert all(rows[("good", f"HumanEval_{i}")]["passed"] for i in range(4))
    assert [rows[("half", f"HumanEval_{i}")]["passed"] for i in range(4)] == [True, True, False, False]
    assert "AssertionError" in rows[("half", "HumanEval_3")]["reason"]
    assert rows[("half", "HumanEval_3")]["failure"] == "check_failed"
    # the failing models are reported with their error class; the others ran regardless
    assert {rows[("limited", f"HumanEval_{i}")]["failure"] for i in range(4)} == {"rate_limited"}
    assert {rows[("missing-key", f"HumanEval_{i}")]["failure"] for i in range(4)} == {"config"}
    assert "OPENAI_API_KEY" in rows[("missing-key", "HumanEval_0")]["reason"]
    summary = {s["model"]: s for s in report["models_summary"]}
    assert summary["good"]["pass_rate"] == 1.0 and summary["half"]["pass_rate"] == 0.5
    assert summary["good"]["input_tokens"] > 0 and summary["good"]["requests"] == 4
    assert summary["good"]["cost"] is None  # no price known: not 0
    assert summary["limited"]["failures"] == {"rate_limited": 4}
    html = (run_dir / "report.html").read_text()
    assert html.count("<svg") == 6  # pass rate, latency, tokens, cost, two scatters
    assert "AssertionError" in html and "rate_limited" in html and "OPENAI_API_KEY" in html
    assert "<script" not in html and not re.search(r'(src|href)="https?:', html)
    assert (run_dir / "work" / "humaneval" / "good" / "generator" / "HumanEval_0" / "answer.md").is_file()


def test_humaneval_asks_its_own_prompt_greedy_with_a_short_token_cap(tmp_path: Path) -> None:
    seen: list[dict] = []
    answer = solver()

    def record_settings(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        seen.append({**(info.model_settings or {}), "instructions": info.instructions})
        return answer.function(messages, info)

    factory = TaskFactory(tmp_path, builder=lambda spec: FunctionModel(record_settings))
    run.run_eval(["rec"], ["humaneval"], ["generator"], limit=2, report_dir=tmp_path / "r", factory=factory)
    assert len(seen) == 2
    assert {(s["temperature"], s["max_tokens"], s["instructions"]) for s in seen} == {(0.0, 1024, None)}


def test_bench_keeps_the_generator_instructions(tmp_path: Path) -> None:
    seen: list[str | None] = []

    def record(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        seen.append(info.instructions)
        return ModelResponse(parts=[TextPart("```python\nprint(1)\n```")])

    factory = TaskFactory(tmp_path, builder=lambda spec: FunctionModel(record))
    run.run_eval(["rec"], ["bench"], ["generator"], limit=1, report_dir=tmp_path / "r", factory=factory)
    assert seen and all(text and text.startswith("You are an expert software engineer") for text in seen)


def test_every_case_goes_into_the_history(tmp_path: Path, history_file: Path) -> None:
    run_once(tmp_path, ["good", "limited"])
    db = sqlite3.connect(history_file)
    evals = db.execute("SELECT model, passed, error_class FROM evals ORDER BY model, case_name").fetchall()
    assert evals == [("good", 1, None)] * 4 + [("limited", 0, "rate_limited")] * 4
    calls = db.execute("SELECT model, role, source, outcome FROM calls").fetchall()
    assert ("good", "generator", "eval", "ok") in calls
    # a case skipped after three 429s in a row (the model is given up) records no call
    assert calls.count(("limited", "generator", "eval", "error")) in (3, 4)


def test_min_pass_rate_sets_the_exit_code(tmp_path: Path) -> None:
    assert run_once(tmp_path / "a", ["good", "half"], min_pass_rate=0.5)[0] == 0
    assert run_once(tmp_path / "b", ["good", "half"], min_pass_rate=0.75)[0] == 1
    assert run_once(tmp_path / "c", ["good"], min_pass_rate=1.0)[0] == 0


def test_cli(tmp_path: Path, scripted) -> None:
    reports = tmp_path / "reports"
    args = ["--suite", "humaneval", "--limit", "2", "--mode", "generator", "--report-dir", str(reports)]
    result = CliRunner().invoke(run.app, [*args, "--models", "good,limited", "--min-pass-rate", "0.9"])
    assert result.exit_code == 1, result.output
    assert "limited: pass rate 0% is below --min-pass-rate 90%" in result.output
    assert "rate_limited" in result.output
    result = CliRunner().invoke(run.app, [*args, "--models", "good", "--min-pass-rate", "0.9"])
    assert result.exit_code == 0, result.output
    assert len(list(reports.iterdir())) == 2  # one timestamped folder per run


def test_cli_defaults_to_the_configured_models(tmp_path: Path, scripted, monkeypatch) -> None:
    note = "Ollama is not reachable: running every role on the embedded local:qwen2.5-coder-1.5b"
    monkeypatch.setattr(run, "load_settings", lambda: (None, note))
    monkeypatch.setattr(run, "_default_models", lambda settings: ["good"])
    result = CliRunner().invoke(
        run.app, ["--suite", "humaneval", "--limit", "1", "--report-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(next(tmp_path.glob("*/report.json")).read_text())
    assert report["models"] == ["good"] and report["modes"] == ["generator", "pipeline"]
    assert report["notes"] == [note, "humaneval has no pipeline cases"]


def test_missing_checker_is_a_setup_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(run, "load_settings", lambda: (None, None))
    monkeypatch.setattr(bench, "node_problem", lambda: "esbuild missing: run `npm ci ...`")
    result = CliRunner().invoke(
        run.app, ["--suite", "bench", "--models", "test", "--report-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "esbuild missing" in result.output


def test_mode_filter_keeps_only_cases_that_run_that_way() -> None:
    tetris = suites.load_suite("tetris")
    assert suites.for_mode(tetris, "pipeline") is not None
    assert suites.for_mode(suites.load_suite("bench"), "pipeline") is None
    planned = jobs.plan(["a", "b"], ["tetris", "bench"], ["generator", "pipeline"], limit=None)
    assert sorted((j.model, j.suite, j.mode) for j in planned) == [
        ("a", "bench", "generator"),
        ("a", "tetris", "generator"),
        ("a", "tetris", "pipeline"),
        ("b", "bench", "generator"),
        ("b", "tetris", "generator"),
        ("b", "tetris", "pipeline"),
    ]


@pytest.mark.parametrize("suite", ["tetris", "bench"])
def test_datasets_round_trip_through_yaml(tmp_path: Path, suite: str) -> None:
    dataset = suites.load_suite(suite)
    dataset.to_file(tmp_path / f"{suite}.yaml", custom_evaluator_types=ALL_EVALUATORS)
    loaded = type(dataset).from_file(tmp_path / f"{suite}.yaml", custom_evaluator_types=ALL_EVALUATORS)
    assert [c.name for c in loaded.cases] == [c.name for c in dataset.cases]
    assert [c.inputs for c in loaded.cases] == [c.inputs for c in dataset.cases]
    assert [c.evaluators for c in loaded.cases] == [c.evaluators for c in dataset.cases]
    assert loaded.evaluators == dataset.evaluators


@pytest.mark.parametrize("suite", ["tetris", "bench"])
def test_schema_files_are_current(suite: str) -> None:
    """If this fails: python -c 'from evals.suites import write_schemas; write_schemas()'"""
    assert (suites.DATASETS / f"{suite}_schema.json").read_text() == suites.schema_text()
    assert (
        (suites.DATASETS / f"{suite}.yaml")
        .read_text()
        .startswith(f"# yaml-language-server: $schema={suite}_schema.json\n")
    )


@pytest.mark.parametrize(("signum", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_ctrl_c_or_sigterm_still_reports_the_finished_cases(tmp_path: Path, signum: str, code: int) -> None:
    import os
    import signal

    calls = []

    def interrupt_on_third(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), getattr(signal, signum))
        return solver().function(messages, info)

    exit_code = run_one_at_a_time(tmp_path, interrupt_on_third, limit=6)
    assert exit_code == code
    report = json.loads(next((tmp_path / "r").glob("*/report.json")).read_text())
    assert 2 <= len(report["cases"]) < 6
    assert report["notes"][-1].startswith("interrupted:")


def test_unknown_model_string_stops_at_once_with_exit_2(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(run, "load_settings", lambda: (None, None))
    result = CliRunner().invoke(
        run.app, ["--suite", "humaneval", "--models", "test,foo:bar", "--report-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "foo:bar" in lines[0] and "unknown model string" in lines[0]
    assert list(tmp_path.iterdir()) == []  # nothing ran, no report folder


def test_a_running_eval_keeps_its_progress_on_disk_for_the_dashboard(tmp_path: Path) -> None:
    """progress.json is there while cases run (the dashboard shows a CLI run as it goes),
    counts up, and is gone once report.json says it all."""
    from evals.progress import read_progress

    seen = []

    def looking(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        [run_dir] = (tmp_path / "r").iterdir()
        progress = read_progress(run_dir)
        seen.append((progress.done, progress.total, progress.state()) if progress else None)
        return solver().function(messages, info)

    run_one_at_a_time(tmp_path, looking, limit=3)
    assert len(seen) == 3 and None not in seen, seen
    assert [total for _, total, _ in seen] == [3, 3, 3] and {state for *_, state in seen} == {"running"}
    done = [d for d, _, _ in seen]
    assert done == sorted(done) and done[0] == 0 and done[-1] < 3
    [run_dir] = (tmp_path / "r").iterdir()
    assert (run_dir / "report.json").is_file() and not (run_dir / "progress.json").exists()
