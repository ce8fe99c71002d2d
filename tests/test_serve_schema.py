"""Schemathesis against the dashboard's OpenAPI document: no 500 on any generated input, and
every answer matches the schema it documents (bounded examples; a stub runner behind POST)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from evals.serve.app import create_app
from evals.serve.security import ServeConfig
from tests.dashboard_fixtures import fill_history
from tools.history import History


def no_run(models: list[str], suites: list[str], modes: list[str], **kwargs: Any) -> int:
    """The runner behind POST /benchmark here: the contract is under test, not the models."""
    return 0


def make_app(tmp: Path) -> Any:
    fill_history(History(tmp / "history.sqlite"))
    return create_app(
        reports_dir=tmp / "reports",
        history_path=tmp / "history.sqlite",
        run_eval=no_run,
        check_setup=False,
        config=ServeConfig(extra_hosts=frozenset({"testserver"})),  # schemathesis's ASGI client
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return make_app(tmp_path_factory.mktemp("schema"))


def test_api_never_answers_500_and_keeps_its_schema(app: Any) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {
        "GET /api/performance/metrics",
        "GET /api/performance/comparison",
        "POST /api/performance/benchmark",
        "GET /api/runs/{run_id}",
        "GET /api/runs/compare",
    }
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def answers_within_its_schema(case: Any) -> None:
            case.call_and_validate(
                checks=[not_a_server_error, status_code_conformance, response_schema_conformance]
            )

        answers_within_its_schema()


def test_run_comparison_answers_within_its_schema(app: Any) -> None:
    """Random run ids only reach the 404; two recorded runs reach the 200 answer."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = schema["/api/runs/compare"]["GET"]
    response = operation.Case(query={"a": "r0", "b": "r1"}).call_and_validate(
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance]
    )
    assert response.status_code == 200 and response.json()["b"]["id"] == "r1"
