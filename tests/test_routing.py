"""Routing: task type, complexity, tier and model for a table of requests; history; budget; cost."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from inline_snapshot import snapshot

from agents.models.catalog import ModelCard, read_catalog_file
from agents.models.routing import ab_pick, route, score_complexity, task_type, tier_for
from tools.history import CallRecord, History, ModelStats

T0 = datetime(2025, 1, 1, tzinfo=UTC)
REQUESTS = [
    "fix this typo in the README",
    "a small python snippet to reverse a string",
    "build tetris",
    "write unit tests for this parser",
    "add docstrings to every function in utils.py",
    "generate a Dockerfile and docker-compose boilerplate for a flask app",
    "refactor the payment module to remove duplicated code",
    "why does this function raise KeyError on empty input?",
    "compare websocket libraries for python and recommend one",
    "optimize this SQL query, it takes 30 seconds",
    "review this pull request for security issues",
    "design a distributed rate limiter architecture",
    "build a multiplayer online chess game with user auth, matchmaking, chat and a leaderboard;"
    " React frontend and Go backend",
]


@pytest.fixture(scope="module")
def catalog() -> dict[str, ModelCard]:
    """models.yaml alone: its prices, no genai-prices and no measurements (fast, stable)."""
    return read_catalog_file()


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path / "h.sqlite")


def record(history: History, model: str, outcomes: str, kind: str = "code_generation") -> None:
    for i, o in enumerate(outcomes):
        history.record_call(
            CallRecord(
                model=model, role="generator", task_type=kind, started=T0 + timedelta(seconds=i),
                duration=10.0 + i, requests=1, input_tokens=1000, output_tokens=3000, cost=None,
                outcome="ok" if o == "o" else "error", error_class=None if o == "o" else "server_error",
            )
        )  # fmt: skip


def test_the_table_of_requests(catalog: dict[str, ModelCard]) -> None:
    rows = []
    for request in REQUESTS:
        d = route(request, catalog=catalog)
        rows.append(f"{request[:40]:40} | {d.task_type:15} | {d.complexity:2} | {d.tier:9} | {d.model}")
    assert rows == snapshot(
        [
            "fix this typo in the README              | documentation   |  1 | local     | local:qwen2.5-coder-1.5b",
            "a small python snippet to reverse a stri | code_generation |  1 | local     | local:qwen2.5-coder-1.5b",
            "build tetris                             | code_generation |  4 | budget    | openrouter:deepseek/deepseek-chat",
            "write unit tests for this parser         | testing         |  4 | budget    | anthropic:claude-haiku-4-5",
            "add docstrings to every function in util | documentation   |  3 | budget    | anthropic:claude-haiku-4-5",
            "generate a Dockerfile and docker-compose | boilerplate     |  3 | budget    | anthropic:claude-haiku-4-5",
            "refactor the payment module to remove du | refactoring     |  3 | budget    | openrouter:deepseek/deepseek-chat",
            "why does this function raise KeyError on | debugging       |  3 | budget    | anthropic:claude-haiku-4-5",
            "compare websocket libraries for python a | research        |  4 | budget    | anthropic:claude-haiku-4-5",
            "optimize this SQL query, it takes 30 sec | optimization    |  5 | workhorse | deepseek:deepseek-chat",
            "review this pull request for security is | code_review     |  5 | workhorse | anthropic:claude-sonnet-4-5",
            "design a distributed rate limiter archit | architecture    |  8 | premium   | anthropic:claude-opus-4-6",
            "build a multiplayer online chess game wi | code_generation | 10 | premium   | anthropic:claude-opus-4-6",
        ]
    )


def test_reasons_say_why(catalog: dict[str, ModelCard]) -> None:
    reasons = [route(REQUESTS[i], catalog=catalog).reason for i in (1, 5, 7, 9, 12)]
    assert reasons == snapshot(
        [
            "code_generation, complexity 1/10 -> local tier (budget normal): local:qwen2.5-coder-1.5b, first of 5 models for code_generation",
            "boilerplate, complexity 3/10 -> budget tier (budget normal): anthropic:claude-haiku-4-5, first of 4 models for boilerplate",
            "debugging, complexity 3/10 -> budget tier (budget normal): anthropic:claude-haiku-4-5, no budget model lists debugging, first of the tier's 5 models",
            "optimization, complexity 5/10 -> workhorse tier (budget normal): deepseek:deepseek-chat, the only one for optimization",
            "code_generation, complexity 10/10 -> premium tier (budget normal): anthropic:claude-opus-4-6, no premium model lists code_generation, first of the tier's 3 models",
        ]
    )


def test_candidates_are_the_tier_models_for_the_task(catalog: dict[str, ModelCard]) -> None:
    d = route("optimize this SQL query, it takes 30 seconds", catalog=catalog)
    assert d.candidates == snapshot(["deepseek:deepseek-chat"])
    d = route(
        "build a small CRUD boilerplate", catalog=catalog, available=["openai:gpt-4o", "ollama:qwen3:14b"]
    )
    assert (d.model, d.tier, d.reason) == snapshot(
        (
            "ollama:qwen3:14b",
            "local",
            "boilerplate, complexity 1/10 -> local tier (budget normal): ollama:qwen3:14b, the only one for boilerplate",
        )
    )


def test_tiers_follow_seed_004_and_the_budget() -> None:
    table = {
        budget: " ".join(f"{c}:{tier_for(c, budget)}" for c in range(1, 11))
        for budget in ("low", "normal", "high")
    }
    assert table == snapshot(
        {
            "low": "1:local 2:local 3:local 4:local 5:budget 6:budget 7:budget 8:workhorse 9:workhorse 10:workhorse",
            "normal": "1:local 2:local 3:budget 4:budget 5:workhorse 6:workhorse 7:workhorse 8:premium 9:premium 10:premium",
            "high": "1:budget 2:budget 3:workhorse 4:workhorse 5:premium 6:premium 7:premium 8:premium 9:premium 10:premium",
        }
    )
    with pytest.raises(ValueError, match="budget must be one of low, normal, high"):
        tier_for(5, "cheap")


def test_budget_moves_the_pick(catalog: dict[str, ModelCard]) -> None:
    picks = {b: route("build tetris", budget=b, catalog=catalog).model for b in ("low", "normal", "high")}
    assert picks == snapshot(
        {
            "low": "local:qwen2.5-coder-1.5b",
            "normal": "openrouter:deepseek/deepseek-chat",
            "high": "anthropic:claude-sonnet-4-5",
        }
    )


def test_max_cost_drops_dear_models(catalog: dict[str, ModelCard]) -> None:
    request = "design a distributed rate limiter architecture"
    d = route(request, max_cost=0.05, catalog=catalog)
    assert (d.model, d.tier, d.reason) == snapshot(
        (
            "anthropic:claude-3-5-sonnet-latest",
            "workhorse",
            "architecture, complexity 8/10 -> premium tier (budget normal): anthropic:claude-3-5-sonnet-latest, the only one for architecture; max_cost $0.05 left out 11 models dearer per typical request; no premium model available, nearest tier workhorse",
        )
    )
    d = route(
        request,
        max_cost=0.0,
        catalog=catalog,
        available=["openai:gpt-4o"],
        configured="ollama:qwen2.5-coder:14b",
    )
    assert (d.model, d.reason, d.candidates) == snapshot(
        (
            "ollama:qwen2.5-coder:14b",
            "architecture, complexity 8/10 -> premium tier (budget normal): max_cost $0 left out 1 model dearer per typical request; no catalog model is available: using ollama:qwen2.5-coder:14b",
            [],
        )
    )


def test_past_performance_wins_over_the_static_table(catalog: dict[str, ModelCard], history: History) -> None:
    static = route("build tetris", catalog=catalog)
    record(history, static.candidates[0], "ooeeoe")  # the static pick: 3/6
    record(history, static.candidates[1], "oooooo")  # the other: 6/6
    record(history, static.candidates[1], "eeeeee", kind="testing")  # other task types do not count
    d = route("build tetris", catalog=catalog, history=history)
    assert (static.model, d.model, d.reason) == snapshot(
        (
            "openrouter:deepseek/deepseek-chat",
            "openrouter:z-ai/glm-4.7",
            "code_generation, complexity 4/10 -> budget tier (budget normal): openrouter:z-ai/glm-4.7, history: 6/6 ok (100%, median 12.5 s) over its code_generation runs, best of 2 models with >= 5 runs, wins over the static pick openrouter:deepseek/deepseek-chat",
        )
    )

    few = route("build tetris", catalog=catalog, history=history, min_runs=7)
    assert few.model == static.model  # not enough runs: the static table stands


def test_task_types_and_complexity_extremes() -> None:
    assert task_type("hello") == "code_generation"
    assert task_type("the login page crashes with a TypeError") == "debugging"
    assert score_complexity("quick and simple one-liner") == 1
    long_hard = "Build a distributed, real-time multiplayer game server with auth. " * 20
    assert score_complexity(long_hard) == 10


def test_ab_pick_is_random_per_run_and_reproducible_with_a_seed() -> None:
    picks = [ab_pick("a", "b", random.Random(seed)) for seed in range(40)]
    assert set(picks) == {"a", "b"}
    assert ab_pick("a", "b", random.Random(7)) == ab_pick("a", "b", random.Random(7))


def test_measured_figures_rank_the_candidates(catalog: dict[str, ModelCard]) -> None:
    cards = copy.deepcopy(catalog)
    for model, rate, latency in (
        ("openrouter:deepseek/deepseek-chat", 0.7, 9.0),
        ("openrouter:z-ai/glm-4.7", 0.9, 20.0),
    ):
        cards[model].measured = ModelStats(
            model, 10, int(rate * 10), rate, latency, latency, None, None, None, 0, 0, None, None
        )
    assert route("build tetris", catalog=cards).candidates == snapshot(
        ["openrouter:z-ai/glm-4.7", "openrouter:deepseek/deepseek-chat"]
    )
