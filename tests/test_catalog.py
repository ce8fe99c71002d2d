"""The catalog: models.yaml + genai-prices + history; and recommend()'s decision table."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from inline_snapshot import snapshot

from agents.models.catalog import (
    TASK_TYPES,
    TIERS,
    CatalogError,
    card_text,
    load_catalog,
    model_card,
    read_catalog_file,
)
from agents.models.compare import Recommendation, Thresholds, quality, recommend
from tools.history import CallRecord, EvalRecord, History, ModelStats, ProbeRecord
from tools.stats import Rate

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_user_history(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never read the user's real history: the default path points at a file that does not exist."""
    monkeypatch.setenv("CODECREW_HISTORY", str(tmp_path / "absent" / "history.sqlite"))


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path / "h.sqlite")


def test_shipped_catalog_is_valid_and_covers_every_task_type() -> None:
    cards = read_catalog_file()
    assert {"anthropic:claude-sonnet-4-5", "openai:gpt-4o", "local:qwen2.5-coder-1.5b"} <= set(cards)
    assert {t for card in cards.values() for t in card.task_types} == set(TASK_TYPES)
    assert {card.tier for card in cards.values()} == set(TIERS)


def test_genai_prices_win_over_the_catalog() -> None:
    cards = load_catalog(history=None)
    # models.yaml says $0.80/$4; genai-prices knows better
    haiku = cards["anthropic:claude-haiku-4-5"]
    assert haiku.price_source == "genai-prices"
    assert (haiku.input_price, haiku.output_price) == (1.0, 5.0)
    sonnet = cards["anthropic:claude-sonnet-4-5"]  # tiered price: the base tier
    assert (sonnet.input_price, sonnet.output_price, sonnet.cached_price) == (3.0, 15.0, 0.3)
    assert sonnet.tier == "workhorse"
    assert sonnet.published["humaneval"] == 88


def test_local_models_cost_nothing() -> None:
    cards = load_catalog()
    for model in ("local:qwen2.5-coder-1.5b", "ollama:qwen2.5-coder:14b"):
        card = cards[model]
        assert (card.input_price, card.output_price, card.price_source) == (0.0, 0.0, "local")
    assert cards["local:qwen2.5-coder-1.5b"].published == {"humaneval": 70.7, "mbpp": 69.2}


def test_catalog_prices_fill_gaps(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n"
        "  acme:coder-9000:\n"
        "    input_price: 1.5\n    output_price: 2\n    tier: budget\n"
        "    task_types: [testing]\n    strengths: made up\n"
    )
    (card,) = load_catalog(path).values()
    assert (card.provider, card.input_price, card.output_price) == ("acme", 1.5, 2.0)
    assert card.price_source == "catalog"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("models:\n  a:b:\n    tier: gold\n", "tier 'gold' is not one of"),
        ("models:\n  a:b:\n    tier: local\n    task_types: [dancing]\n", "unknown task types"),
        ("models:\n  a:b:\n    tier: local\n    input_price: cheap\n", "input_price must be"),
        ("models: [1, 2]\n", "top-level `models:` mapping"),
        ("models: {a: [\n", "not valid YAML"),
    ],
)
def test_malformed_catalog(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(body)
    with pytest.raises(CatalogError, match=message):
        read_catalog_file(path)


def test_unknown_models_still_get_a_card() -> None:
    card = model_card("google:gemini-2.5-pro")
    assert (card.provider, card.tier, card.in_catalog) == ("google", "unknown", False)
    assert card.price_source == "genai-prices"
    assert card.input_price is not None
    free = model_card("openrouter:meta-llama/llama-3.3-8b-instruct:free")
    assert (free.input_price, free.price_source) == (0.0, "free")
    nothing = model_card("acme:coder-9000")
    assert (nothing.provider, nothing.input_price, nothing.price_source) == (
        "acme",
        None,
        "unknown",
    )
    assert model_card("ollama:mystery:7b").tier == "local"


def test_measured_figures_come_from_the_history(history: History) -> None:
    for i, outcome in enumerate(["ok", "ok", "error"]):
        history.record_call(
            CallRecord("openai:gpt-4o", "generator", None, T0, 2.0 + i, 1, 10, 10, 0.01, outcome,
                       None if outcome == "ok" else "timeout")
        )  # fmt: skip
    history.record_call(
        CallRecord("openai:gpt-4o", "probe", None, T0, 0.1, 1, 1, 1, None, "ok", None,
                   source="probe")
    )  # fmt: skip
    history.record_call(CallRecord("acme:new", "generator", None, T0, 1, 1, 1, 1, None, "ok", None))
    history.record_eval(
        EvalRecord("r1", "humaneval", "openai:gpt-4o", "generator", "c1", True, "", 1, 1, 1,
                   None, False, None, T0)
    )  # fmt: skip
    cards = load_catalog(history=history)
    gpt = cards["openai:gpt-4o"]
    assert gpt.measured is not None
    assert (gpt.measured.calls, gpt.measured.success_rate) == (3, pytest.approx(2 / 3))  # no probe
    assert gpt.pass_rates == {"humaneval": 1.0}
    assert cards["acme:new"].in_catalog is False  # measured models join the catalog
    assert model_card("openai:gpt-4o", history).measured == gpt.measured
    assert "3 calls, success 67%" in card_text(gpt)


def test_quality_over_common_suites() -> None:
    assert quality({"a": 0.5, "b": 1.0}, {"a", "b"}) == 0.75
    assert quality({"a": 0.5}, set()) is None


def stats(
    model: str,
    *,
    calls: int = 400,
    success_rate: float = 1.0,
    median: float | None = 5.0,
    cost: float | None = 0.01,
) -> ModelStats:
    return ModelStats(
        model=model,
        calls=calls,
        successes=round(calls * success_rate),
        success_rate=success_rate,
        median_latency=median,
        mean_latency=median,
        tokens_per_second=None,
        total_cost=None if cost is None else cost * calls,
        cost_per_call=cost,
        input_tokens=0,
        output_tokens=0,
        last_error_class=None,
        last_used=None,
    )


CASES = {
    "not enough data": (stats("a", calls=3), stats("b"), None, None),
    "quality wins": (stats("a"), stats("b", cost=0.001), 0.80, 0.65),
    "quality under threshold, cost decides": (stats("a"), stats("b", cost=0.004), 0.80, 0.75),
    "reliability wins": (stats("a", success_rate=0.9), stats("b"), None, None),
    "quality vs reliability split": (stats("a", success_rate=0.8), stats("b"), 0.9, 0.6),
    "cost savings just under 50%": (stats("a", cost=0.0051), stats("b", cost=0.01), None, None),
    "exactly at the threshold (0.75 - 0.7)": (
        stats("a", calls=2000, success_rate=0.75),
        stats("b", calls=2000, success_rate=0.7),
        None,
        None,
    ),
    "speed decides when costs tie": (
        stats("a", median=8.0),
        stats("b", median=5.5),
        0.7,
        0.7,
    ),
    "nothing crosses a threshold": (
        stats("a", success_rate=0.97, median=6.0),
        stats("b", median=5.0),
        0.7,
        0.65,
    ),
    "reliability gap on 20 calls is noise": (
        stats("a", calls=20, success_rate=0.9),
        stats("b", calls=20, cost=0.001),
        None,
        None,
    ),
    "quality gap on 10 cases is noise, cost does not decide": (
        stats("a"),
        stats("b", cost=0.001),
        Rate(8, 10),
        Rate(6, 10),
    ),
    "quality gap on 100 cases is significant": (stats("a"), stats("b"), Rate(95, 100), Rate(60, 100)),
    "unknown cost and no successes": (
        stats("a", cost=None, median=None, success_rate=0.0),
        stats("b", cost=None, median=None, success_rate=0.0),
        None,
        None,
    ),
}


def test_recommend_decision_table() -> None:
    results = {name: recommend(a, b, quality_a=qa, quality_b=qb) for name, (a, b, qa, qb) in CASES.items()}
    assert results == snapshot(
        {
            "not enough data": Recommendation(
                choice="not enough data", reasons=["a has 3 calls, b has 400; need at least 5 each"]
            ),
            "quality wins": Recommendation(
                choice="a",
                reasons=[
                    "quality: pass rate 80% vs 65%, diff 15 pp (threshold 10 pp) -> a",
                    "reliability: success rate 100% [99%–100%] of 400/400 vs 100% [99%–100%] of 400/400, diff 0 pp (threshold 5 pp) -> tie",
                    "cost: $0.0100 vs $0.0010 per call, savings 90% (threshold 50%) -> b",
                    "speed: median latency 5.0 s vs 5.0 s, diff 0.0 s (threshold 2.0 s) -> tie",
                    "decision: better on quality/reliability -> a",
                ],
            ),
            "quality under threshold, cost decides": Recommendation(
                choice="b",
                reasons=[
                    "quality: pass rate 80% vs 75%, diff 5 pp (threshold 10 pp) -> tie",
                    "reliability: success rate 100% [99%–100%] of 400/400 vs 100% [99%–100%] of 400/400, diff 0 pp (threshold 5 pp) -> tie",
                    "cost: $0.0100 vs $0.0040 per call, savings 60% (threshold 50%) -> b",
                    "speed: median latency 5.0 s vs 5.0 s, diff 0.0 s (threshold 2.0 s) -> tie",
                    "decision: equivalent quality and reliability, cost -> b",
                ],
            ),
            "reliability wins": Recommendation(
                choice="b",
                reasons=[
                    "quality: no eval suite run by both -> not compared",
                    "reliability: success rate 90% [87%–93%] of 360/400 vs 100% [99%–100%] of 400/400, diff 10 pp (threshold 5 pp) -> b",
                    "cost: $0.0100 vs $0.0100 per call, savings 0% (threshold 50%) -> tie",
                    "speed: median latency 5.0 s vs 5.0 s, diff 0.0 s (threshold 2.0 s) -> tie",
                    "decision: better on quality/reliability -> b",
                ],
            ),
            "quality vs reliability split": Recommendation(
                choice="no clear winner",
                reasons=[
                    "quality: pass rate 90% vs 60%, diff 30 pp (threshold 10 pp) -> a",
                    "reliability: success rate 80% [76%–84%] of 320/400 vs 100% [99%–100%] of 400/400, diff 20 pp (threshold 5 pp) -> b",
                    "cost: $0.0100 vs $0.0100 per call, savings 0% (threshold 50%) -> tie",
                    "speed: median latency 5.0 s vs 5.0 s, diff 0.0 s (threshold 2.0 s) -> tie",
                    "decision: each wins on quality or reliability -> no clear winner",
                ],
            ),
            "cost savings just under 50%": Recommendation(
                choice="either",
                reasons=[
                    "quality: no eval suite run by both -> not compared",
                    "reliability: success rate 100% [99%–100%] of 400/400 vs 100% [99%–100%] of 400/400, diff 0 pp (threshold 5 pp) -> tie",
                    "cost: $0.0051 vs $0.0100 per call, savings 49% (threshold 50%) -> tie",
                    "speed: median latency 5.0 s vs 5.0 s, diff 0.0 s (threshold 2.0 s) -> tie",
                    "decision: no difference crosses a threshold -> either",
                ],
            ),
            "exactly at the threshold (0.75 - 0.7)": Recommendation(
                choice="a",
                reasons=[
                    "quality: no eval suite run by both -> not compared",
                    "reliability: success rate 75% [73%–77%] of 1500/2000 vs 70% [68%–72%] of 1400/2000, diff 5 pp (threshold 5 pp) -> a",
                    "cost: $0.0100 vs $0.0100 per call, savings 0% (threshold 50%) -> tie",
                    "speed: median latency 5.0 s vs 5.0 s, diff 0.0 s (threshold 2.0 s) -> tie",
                    "decision: better on quality/reliability -> a",
                ],
            ),
            "speed decides when costs tie": Recommendation(
                choice="b",
                reasons=[
                    "quality: pass rate 70% vs 70%, diff 0 pp (threshold 10 pp) -> tie",
                    "reliability: success rate 100% [99%–100%] of 400/400 vs 100% [99%–100%] of 400/400, diff 0 pp (threshold 5 pp) -> tie",
                    "cost: $0.0100 vs $0.0100 per call, savings 0% (threshold 50%) -> tie",
                    "speed: median latency 8.0 s vs 5.5 s, diff 2.5 s (threshold 2.0 s) -> b",
                    "decision: equivalent quality and reliability, speed -> b",
                ],
            ),
            "nothing crosses a threshold": Recommendation(
                choice="either",
                reasons=[
                    "quality: pass rate 70% vs 65%, diff 5 pp (threshold 10 pp) -> tie",
                    "reliability: success rate 97% [95%–98%] of 388/400 vs 100% [99%–100%] of 400/400, diff 3 pp (threshold 5 pp) -> tie",
                    "cost: $0.0100 vs $0.0100 per call, savings 0% (threshold 50%) -> tie",
                    "speed: median latency 6.0 s vs 5.0 s, diff 1.0 s (threshold 2.0 s) -> tie",
                    "decision: no difference crosses a threshold -> either",
                ],
            ),
            "reliability gap on 20 calls is noise": Recommendation(
                choice="no significant difference",
                reasons=[
                    "quality: no eval suite run by both -> not compared",
                    "reliability: success rate 90% [70%–97%] of 18/20 vs 100% [84%–100%] of 20/20, diff 10 pp (threshold 5 pp), 95% intervals overlap -> no significant difference",
                    "cost: $0.0100 vs $0.0010 per call, savings 90% (threshold 50%) -> b",
                    "speed: median latency 5.0 s vs 5.0 s, diff 0.0 s (threshold 2.0 s) -> tie",
                    "decision: the reliability difference is within the 95% intervals -> no significant difference (run more cases, or each case several times with --samples)",
                ],
            ),
            "quality gap on 10 cases is noise, cost does not decide": Recommendation(
                choice="no significant difference",
                reasons=[
                    "quality: pass rate 80% [49%–94%] of 8/10 vs 60% [31%–83%] of 6/10, diff 20 pp (threshold 10 pp), 95% intervals overlap -> no significant difference",
                    "reliability: success rate 100% [99%–100%] of 400/400 vs 100% [99%–100%] of 400/400, diff 0 pp (threshold 5 pp) -> tie",
                    "cost: $0.0100 vs $0.0010 per call, savings 90% (threshold 50%) -> b",
                    "speed: median latency 5.0 s vs 5.0 s, diff 0.0 s (threshold 2.0 s) -> tie",
                    "decision: the quality difference is within the 95% intervals -> no significant difference (run more cases, or each case several times with --samples)",
                ],
            ),
            "quality gap on 100 cases is significant": Recommendation(
                choice="a",
                reasons=[
                    "quality: pass rate 95% [89%–98%] of 95/100 vs 60% [50%–69%] of 60/100, diff 35 pp (threshold 10 pp) -> a",
                    "reliability: success rate 100% [99%–100%] of 400/400 vs 100% [99%–100%] of 400/400, diff 0 pp (threshold 5 pp) -> tie",
                    "cost: $0.0100 vs $0.0100 per call, savings 0% (threshold 50%) -> tie",
                    "speed: median latency 5.0 s vs 5.0 s, diff 0.0 s (threshold 2.0 s) -> tie",
                    "decision: better on quality/reliability -> a",
                ],
            ),
            "unknown cost and no successes": Recommendation(
                choice="neither", reasons=["neither model has a successful call (400 and 400 calls)"]
            ),
        }
    )


def test_recommend_thresholds_are_parameters() -> None:
    a, b = stats("a", calls=2), stats("b", calls=2, median=1.0)
    assert recommend(a, b, thresholds=Thresholds(min_calls=2)) == Recommendation(
        choice="b",
        reasons=snapshot(
            [
                "quality: no eval suite run by both -> not compared",
                "reliability: success rate 100% [34%–100%] of 2/2 vs 100% [34%–100%] of 2/2, diff 0 pp (threshold 5 pp) -> tie",
                "cost: $0.0100 vs $0.0100 per call, savings 0% (threshold 50%) -> tie",
                "speed: median latency 5.0 s vs 1.0 s, diff 4.0 s (threshold 2.0 s) -> b",
                "decision: equivalent quality and reliability, speed -> b",
            ]
        ),
    )


# -- the `list`, `show` and `compare` commands ---------------------------------------------


@pytest.fixture
def cli_history(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> History:
    path = tmp_path / "cli.sqlite"
    monkeypatch.setenv("CODECREW_HISTORY", str(path))
    return History(path)


def invoke(*args: str) -> Any:
    from typer.testing import CliRunner

    from agents.models.cli import app

    return CliRunner().invoke(app, list(args))


def record_calls(history: History, model: str, n: int, *, duration: float, cost: float, ok: int) -> None:
    for i in range(n):
        outcome = "ok" if i < ok else "error"
        history.record_call(
            CallRecord(model, "generator", "code_generation", T0, duration, 1, 100, 50, cost, outcome,
                       None if outcome == "ok" else "timeout")
        )  # fmt: skip


def test_cli_list(cli_history: History) -> None:
    record_calls(cli_history, "openai:gpt-4o", 4, duration=2.0, cost=0.01, ok=3)
    result = invoke("list")
    assert result.exit_code == 0, result.output
    assert "anthropic:claude-sonnet-4-5" in result.stdout
    assert "75% of 4" in result.stdout  # measured success rate
    local = invoke("list", "--tier", "local", "--json")
    models = {card["model"] for card in json.loads(local.stdout)}
    assert "local:qwen2.5-coder-1.5b" in models
    assert "openai:gpt-4o" not in models
    testing = invoke("list", "--task-type", "testing", "--json")
    assert all("testing" in card["task_types"] for card in json.loads(testing.stdout))


def test_cli_list_does_not_create_a_history(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CODECREW_HISTORY", str(tmp_path / "none.sqlite"))
    assert invoke("list").exit_code == 0
    assert not (tmp_path / "none.sqlite").exists()


def test_cli_show(cli_history: History) -> None:
    result = invoke("show", "anthropic:claude-sonnet-4-5")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[:3] == snapshot(
        ["anthropic:claude-sonnet-4-5", "  provider        anthropic", "  tier            workhorse"]
    )
    unknown = invoke("show", "ollama:my-own-model", "--json")  # a known provider: a card, empty
    card = json.loads(unknown.stdout)
    assert (card["in_catalog"], card["price_source"], card["measured"]) == (False, "local", None)


def test_cli_compare(cli_history: History) -> None:
    record_calls(cli_history, "a:cheap", 10, duration=3.0, cost=0.001, ok=10)
    record_calls(cli_history, "b:dear", 10, duration=3.5, cost=0.01, ok=10)
    result = invoke("compare", "a:cheap", "b:dear")
    assert result.exit_code == 0, result.output
    assert result.stdout.split("recommendation: ")[1] == snapshot("""\
a:cheap
  quality: no eval suite run by both -> not compared
  reliability: success rate 100% [72%–100%] of 10/10 vs 100% [72%–100%] of 10/10, diff 0 pp (threshold 5 pp) -> tie
  cost: $0.0010 vs $0.0100 per call, savings 90% (threshold 50%) -> a:cheap
  speed: median latency 3.0 s vs 3.5 s, diff 0.5 s (threshold 2.0 s) -> tie
  decision: equivalent quality and reliability, cost -> a:cheap
""")
    report = json.loads(invoke("compare", "a:cheap", "b:dear", "--json").stdout)
    assert report["recommendation"]["choice"] == "a:cheap"
    assert [m["cost_per_call"] for m in report["models"]] == [pytest.approx(0.001), pytest.approx(0.01)]
    filtered = invoke("compare", "a:cheap", "b:dear", "--task-type", "debugging")
    assert "a:cheap has 0 calls, b:dear has 0; need at least 5 each" in filtered.stdout


def test_cli_compare_not_enough_data(cli_history: History) -> None:
    record_calls(cli_history, "a:x", 2, duration=1.0, cost=0.0, ok=2)
    result = invoke("compare", "a:x", "b:y")
    assert result.exit_code == 0
    assert "recommendation: not enough data" in result.stdout
    assert "a:x has 2 calls, b:y has 0; need at least 5 each" in result.stdout


def test_cli_unknown_names_are_errors(cli_history: History) -> None:
    for name in ("bogus-model", "acme:coder-9000"):
        bogus = invoke("show", name)
        assert bogus.exit_code == 2
        assert bogus.stderr.startswith(f"error: unknown model '{name}'")
        assert len(bogus.stderr.strip().splitlines()) == 1
    tier = invoke("list", "--tier", "nosuch")
    assert (tier.exit_code, tier.stderr) == (
        2,
        "error: unknown tier 'nosuch': use premium, workhorse, budget, specialized or local\n",
    )
    kind = invoke("list", "--task-type", "nosuch")
    assert kind.exit_code == 2 and kind.stderr.startswith("error: unknown task type 'nosuch': use ")


def test_cli_show_tells_the_last_probe(cli_history: History) -> None:
    cli_history.record_probe(
        ProbeRecord("ollama:qwen2.5-coder:14b", True, 0.42, False, None, "answered without calling the tool")
    )
    cli_history.record_probe(ProbeRecord("openai-chat:flaky", False, None, None, "rate_limited", "HTTP 429"))
    shown = invoke("show", "ollama:qwen2.5-coder:14b")
    assert shown.exit_code == 0, shown.output
    assert "  last probe      reachable, 0.42s, no tool calls" in shown.stdout
    flaky = invoke("show", "openai-chat:flaky")  # known from its probe alone
    assert flaky.exit_code == 0, flaky.output
    assert "  last probe      not reachable (rate_limited): HTTP 429" in flaky.stdout


def record_evals(history: History, model: str, passed: int, total: int, run_id: str = "r1") -> None:
    for i in range(total):
        history.record_eval(
            EvalRecord(run_id, "bench", model, "generator", f"case{i}", i < passed, "ok" if i < passed else "wrong",
                       1.0, 10, 10, None, False, None, T0)
        )  # fmt: skip


def test_cli_compare_says_no_significant_difference_on_few_cases(cli_history: History) -> None:
    record_calls(cli_history, "a:x", 10, duration=3.0, cost=0.001, ok=10)
    record_calls(cli_history, "b:y", 10, duration=3.0, cost=0.01, ok=10)
    record_evals(cli_history, "a:x", 8, 10)
    record_evals(cli_history, "b:y", 6, 10)
    result = invoke("compare", "a:x", "b:y")
    assert "recommendation: no significant difference" in result.stdout
    assert "pass rate 80% [49%–94%] of 8/10 vs 60% [31%–83%] of 6/10" in result.stdout
    assert "95% intervals overlap" in result.stdout
    # the same gap on 100 cases each decides
    record_evals(cli_history, "a:x", 80, 100, run_id="r2")
    record_evals(cli_history, "b:y", 40, 100, run_id="r2")
    report = json.loads(invoke("compare", "a:x", "b:y", "--json").stdout)
    assert report["recommendation"]["choice"] == "a:x"
    assert report["models"][0]["pass_counts"] == {"bench": {"successes": 80, "total": 100}}
    assert report["thresholds"]["quality"] == 0.1
