"""Issue 11, item 5 (and the report side of item 4): a harness that cannot run the checks is
an `infrastructure` failure, never the model's; a weak sandbox is said in the run and the report."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from rich.console import Console

from evals import bench, humaneval, run
from evals.tasks import CaseMeta, TaskFactory
from tools.errors import ErrorClass
from tools.history import History
from tools.sandbox import SandboxStatus

PROBLEMS = humaneval.load_problems()
MISSING_PYTHON = f"/nonexistent-{uuid.uuid4().hex}/bin/python"


def solver(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    prompt = str(getattr(messages[0].parts[-1], "content", ""))
    problem = next(p for p in PROBLEMS if p["prompt"].strip() in prompt)
    return ModelResponse(
        parts=[TextPart(f"```python\n{problem['prompt']}{problem['canonical_solution']}```")]
    )


@pytest.fixture
def no_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The interpreter the checks run is not there (a broken install, a moved venv)."""
    monkeypatch.setattr(bench, "python_cmd", lambda: [MISSING_PYTHON, "-B", "-"])


def test_infrastructure_is_an_error_class() -> None:
    assert ErrorClass("infrastructure") is ErrorClass.infrastructure


def test_missing_interpreter_is_not_the_models_check_failure(no_interpreter: None) -> None:
    problem = PROBLEMS[0]
    meta = CaseMeta(
        task_id=problem["task_id"],
        entry_point=problem["entry_point"],
        original_prompt=problem["prompt"],
        test=problem["test"],
    )
    answer = f"```python\n{problem['prompt']}{problem['canonical_solution']}```"
    result = humaneval.run_check(answer, {}, meta)
    assert not result.passed and result.infrastructure
    assert result.detail.startswith("infrastructure:") and MISSING_PYTHON in result.detail


def test_python_bench_check_with_no_interpreter_is_infrastructure(no_interpreter: None) -> None:
    result = bench.run_python_tests({"m.py": "x = 1\n"}, "m.py", "def test_x():\n    assert True\n")
    assert not result.passed and result.infrastructure


def eval_once(tmp_path: Path, console: Console) -> tuple[int, dict]:
    factory = TaskFactory(tmp_path, builder=lambda spec: FunctionModel(solver))
    code = run.run_eval(
        ["good"],
        ["humaneval"],
        ["generator"],
        limit=2,
        report_dir=tmp_path / "reports",
        factory=factory,
        console=console,
    )
    [run_dir] = (tmp_path / "reports").iterdir()
    return code, json.loads((run_dir / "report.json").read_text())


def test_eval_marks_harness_failures_not_judged(
    tmp_path: Path, no_interpreter: None, private_history: Path
) -> None:
    console = Console(record=True, width=200)
    code, report = eval_once(tmp_path, console)
    cases = report["cases"]
    assert [c["failure"] for c in cases] == ["infrastructure", "infrastructure"]
    assert {c["error_class"] for c in cases} == {"infrastructure"}
    assert not any(c["judged"] for c in cases)
    [summary] = report["models_summary"]
    assert summary["not_judged"] == 2 and summary["judged"] == 0
    assert summary["pass_rate"] == 0.0 and summary["passed"] == 0
    text = console.export_text()
    assert "not judged" in text and MISSING_PYTHON in text  # says what is wrong
    assert any("not judged" in note for note in report["notes"])
    db = sqlite3.connect(private_history)
    outcomes = {row[0] for row in db.execute("SELECT outcome FROM calls")}
    assert outcomes == {"ok"}  # the model answered; the harness failed
    assert History(private_history).eval_pass_rates("good") == {}


def test_min_pass_rate_ignores_cases_not_judged(tmp_path: Path, no_interpreter: None) -> None:
    factory = TaskFactory(tmp_path, builder=lambda spec: FunctionModel(solver))
    code = run.run_eval(
        ["good"],
        ["humaneval"],
        ["generator"],
        limit=1,
        report_dir=tmp_path / "r",
        factory=factory,
        min_pass_rate=0.5,
    )
    assert code == 2  # nothing could be judged: a setup problem, not a model below the bar


def test_weak_sandbox_is_said_in_the_run_and_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warning = "WEAK sandbox: generated code runs under socket-guard (...)"
    status = SandboxStatus("socket-guard", weak=True, warning=warning)
    monkeypatch.setattr(run, "sandbox_status", lambda: status)
    console = Console(record=True, width=300)
    _, report = eval_once(tmp_path, console)
    assert report["sandbox"] == {"isolation": "socket-guard", "weak": True, "warning": warning}
    assert warning in console.export_text()
