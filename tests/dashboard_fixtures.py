"""Scripted models and a filled history for the dashboard's tests (tests/test_serve*.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from evals import humaneval
from tools.history import CallRecord, EvalRecord, History

NOW = datetime.now(UTC).replace(microsecond=0)
PROBLEMS = {p["task_id"]: p for p in humaneval.load_problems()}


def solver(correct: bool) -> FunctionModel:
    """Answers a HumanEval task with its canonical solution, or with `return None`."""

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        prompt = str(getattr(messages[0].parts[-1], "content", ""))
        problem = next(p for p in PROBLEMS.values() if p["prompt"].strip() in prompt)
        body = problem["canonical_solution"] if correct else "    return None\n"
        return ModelResponse(parts=[TextPart(f"```python\n{problem['prompt']}{body}```")])

    return FunctionModel(respond)


def scripted_builder(spec: str) -> FunctionModel:
    """openai:good solves every task, openai:bad none (model strings that pass validation)."""
    return {"openai:good": solver(True), "openai:bad": solver(False)}[spec]


def fill_history(history: History) -> None:
    """Two models' calls and two eval runs, as evals.run and agents.run record them.

    openai:a: 8 eval calls (7 ok, 1 timeout), $0.01 each; bench 3/4 in its latest run.
    openai:b: 8 eval calls, all ok, no price; bench 2/4; humaneval sampled 3 times per case.
    openai:old: one probe ten days ago (not work).
    """
    for i in range(8):
        ok = i < 7
        history.record_call(
            CallRecord("openai:a", "generator", "bench", NOW - timedelta(hours=i), 1.0 + i, 1, 100, 50, 0.01,
                       "ok" if ok else "error", None if ok else "timeout", f"r{i % 2}", "eval")
        )  # fmt: skip
        history.record_call(
            CallRecord("openai:b", "generator", "bench", NOW - timedelta(hours=i), 2.0 + i, 1, 100, 80, None,
                       "ok", None, f"r{i % 2}", "eval")
        )  # fmt: skip
    history.record_call(
        CallRecord("openai:a", "coordinator", "bench", NOW, 0.5, 1, 10, 5, None, "ok", None, "p1", "run")
    )
    history.record_call(
        CallRecord("openai:old", "generator", None, NOW - timedelta(days=10), 1.0, 1, 1, 1, None, "ok", None,
                   None, "probe")
    )  # fmt: skip
    for run, hours_ago in (("r0", 3), ("r1", 1)):
        for c in range(4):
            for model, passed in (("openai:a", c < 3), ("openai:b", c < 2)):
                history.record_eval(
                    EvalRecord(run, "bench", model, "generator", f"case{c}", passed,
                               "passed" if passed else "AssertionError: wrong total", 1.5, 10, 10, None, False,
                               None, NOW - timedelta(hours=hours_ago))
                )  # fmt: skip
    for sample, outcomes in enumerate([(True, False), (True, True), (True, False)]):
        for c, passed in enumerate(outcomes):
            history.record_eval(
                EvalRecord("r1", "humaneval", "openai:b", "generator", f"HumanEval_{c}", passed,
                           "ok" if passed else "wrong", 1.0, 10, 10, None, False, None,
                           NOW - timedelta(hours=1) + timedelta(seconds=sample))
            )  # fmt: skip
