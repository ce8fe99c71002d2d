"""The eval suites: their datasets, the JSON schema editors check them with, and the
checkers (chromium, Node) they need installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic_evals import Case, Dataset

from evals import bench, humaneval
from evals.evaluators import ALL_EVALUATORS, Answered, HumanEvalCheck, NotLazy
from evals.tasks import CaseInputs, CaseMeta, Mode

DATASETS = Path(__file__).resolve().parent / "datasets"
SUITES = ("tetris", "bench", "humaneval")


class SetupProblem(Exception):
    """Something the eval itself needs is missing (not the models' fault)."""


def load_suite(suite: str, limit: int | None = None) -> Dataset[CaseInputs, Any, CaseMeta]:
    """A suite as a pydantic-evals Dataset: YAML under evals/datasets/, or HumanEval's data."""
    if suite == "humaneval":
        return humaneval_dataset(limit)
    dataset = Dataset[CaseInputs, Any, CaseMeta].from_file(
        DATASETS / f"{suite}.yaml", custom_evaluator_types=ALL_EVALUATORS
    )
    if limit:
        dataset = Dataset[CaseInputs, Any, CaseMeta](
            name=dataset.name, cases=dataset.cases[:limit], evaluators=dataset.evaluators
        )
    return dataset


def schema_text() -> str:
    """The JSON schema of our datasets, evaluators included (what Dataset.to_file writes)."""
    from pydantic_core import to_json

    schema = Dataset[CaseInputs, Any, CaseMeta].model_json_schema_with_evaluators(ALL_EVALUATORS)
    return to_json(schema, indent=2).decode() + "\n"


def write_schemas() -> list[Path]:
    """Refresh evals/datasets/<suite>_schema.json, which the YAML files point editors at."""
    paths = [DATASETS / f"{suite}_schema.json" for suite in ("tetris", "bench")]
    for path in paths:
        path.write_text(schema_text(), encoding="utf-8")
    return paths


def for_mode(dataset: Dataset[CaseInputs, Any, CaseMeta], mode: Mode) -> Dataset | None:
    """The cases of `dataset` that run in `mode` (case metadata `modes`), or None."""
    cases = [c for c in dataset.cases if mode in (c.metadata.modes if c.metadata else ["generator"])]
    if not cases:
        return None
    return Dataset[CaseInputs, Any, CaseMeta](name=dataset.name, cases=cases, evaluators=dataset.evaluators)


def preflight(suites: Sequence[str]) -> None:
    """Fail early, with the fix, when a checker the suites need is not installed."""
    if "tetris" in suites:
        from tools.browser import browser_available

        if browser_available() is None:
            raise SetupProblem(
                "the tetris suite plays the page in chromium, which is missing: "
                "apt-get install -y chromium (or set CODECREW_CHROMIUM)"
            )
    if "bench" in suites and (problem := bench.node_problem()):
        raise SetupProblem(f"the bench suite runs JS/TS under Node: {problem}")


def humaneval_dataset(limit: int | None = None, evaluators: list[Any] | None = None) -> Dataset:
    """HumanEval as a pydantic-evals Dataset (the first `limit` tasks)."""
    problems = humaneval.load_problems()[:limit] if limit else humaneval.load_problems()
    cases = [
        Case(
            name=problem["task_id"].replace("/", "_"),
            inputs=CaseInputs(prompt=humaneval.build_prompt(problem)),
            metadata=CaseMeta(
                modes=["generator"],
                language="python",
                task_id=problem["task_id"],
                entry_point=problem["entry_point"],
                original_prompt=problem["prompt"],
                test=problem["test"],
            ),
        )
        for problem in problems
    ]
    return Dataset[CaseInputs, Any, CaseMeta](
        name="humaneval",
        cases=cases,
        evaluators=evaluators or [Answered(), NotLazy(), HumanEvalCheck()],
    )
