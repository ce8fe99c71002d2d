"""tools.history_queries and `python -m agents.models history`: filters, metrics, pass@k, runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agents.models.cli import app
from tools.history import CallRecord, EvalRecord, History
from tools.history_queries import (
    QueryError,
    call_metrics,
    calls,
    eval_runs,
    model_runs,
    parse_since,
    suite_results,
)

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def record(history: History, model: str, minutes_ago: int, duration: float, **kw: Any) -> None:
    fields: dict[str, Any] = dict(
        role="generator", task_type="bench", requests=1, input_tokens=100, output_tokens=50, cost=None,
        outcome="ok", error_class=None, run_id=None, source="run",
    )  # fmt: skip
    fields.update(kw)
    history.record_call(
        CallRecord(model=model, started=NOW - timedelta(minutes=minutes_ago), duration=duration, **fields)
    )


def case(
    history: History, run_id: str, model: str, name: str, passed: bool, minute: int = 0, **kw: Any
) -> None:
    history.record_eval(
        EvalRecord(run_id=run_id, suite=kw.get("suite", "bench"), model=model, mode=kw.get("mode", "generator"),
                   case=name, passed=passed, reason="ok" if passed else "AssertionError: wrong", duration=2.0,
                   input_tokens=10, output_tokens=20, cost=kw.get("cost"), lazy=False, error_class=None,
                   started=NOW + timedelta(minutes=minute))
    )  # fmt: skip


@pytest.fixture
def history(private_history: Path) -> History:
    h = History(private_history)
    for i, d in enumerate([1.0, 2.0, 3.0, 4.0, 10.0]):
        record(h, "openai:a", i, d, cost=0.01, output_tokens=100)
    record(h, "openai:a", 6, 30.0, outcome="error", error_class="timeout")
    record(h, "openai:a", 7, 1.0, role="coordinator", source="eval", run_id="r1")
    record(h, "openai:b", 60 * 24 * 10, 5.0, source="probe")  # ten days ago
    return h


def test_parse_since() -> None:
    assert parse_since("7d", NOW) == NOW - timedelta(days=7)
    assert parse_since("90m", NOW) == NOW - timedelta(minutes=90)
    assert parse_since("2026-01-01") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_since(None) is None
    with pytest.raises(QueryError, match="7d, 12h"):
        parse_since("last week")


def test_calls_newest_first_and_filtered(history: History) -> None:
    rows = calls(history)
    assert [r.started for r in rows] == sorted((r.started for r in rows), reverse=True)
    assert {r.model for r in calls(history, model="openai:b")} == {"openai:b"}
    assert [r.role for r in calls(history, role="coordinator")] == ["coordinator"]
    assert len(calls(history, source="run")) == 6
    assert len(calls(history, since=NOW - timedelta(days=1))) == 7
    assert len(calls(history, limit=2)) == 2


def test_call_metrics_match_hand_computed_values(history: History) -> None:
    [a] = call_metrics(history, model="openai:a", sources=["run"])
    assert (a.calls, a.successes) == (6, 5)
    assert a.median_latency == 3.0  # successful calls only: 1 2 3 4 10
    assert a.p90_latency == pytest.approx(7.6)  # 4 + 0.6 * (10 - 4)
    assert a.tokens_per_second == pytest.approx(500 / 20)
    assert (
        a.total_cost == pytest.approx(0.05) and a.cost_per_call == pytest.approx(0.01) and a.priced_calls == 5
    )
    assert a.error_classes == {"timeout": 1}
    assert a.success_interval.low < 5 / 6 < a.success_interval.high
    by_role = call_metrics(history, group_by=("model", "role"), model="openai:a")
    assert [(m.role, m.calls) for m in by_role] == [("coordinator", 1), ("generator", 6)]


def test_suite_results_take_the_latest_run_and_pass_at_k_from_samples(history: History) -> None:
    for i in range(4):  # an old run: everything failed
        case(history, "old", "openai:a", f"c{i}", False, minute=-60)
    # the latest run sampled each of 2 cases 3 times: c0 passes 3/3, c1 passes 1/3
    for sample, (p0, p1) in enumerate([(True, False), (True, True), (True, False)]):
        case(history, "new", "openai:a", "c0", p0, minute=sample)
        case(history, "new", "openai:a", "c1", p1, minute=sample)
    [result] = suite_results(history, model="openai:a")
    assert result.run_id == "new"
    rate = result.result
    assert (rate.passed, rate.total, rate.cases, rate.samples) == (4, 6, 2, 3)
    assert rate.pass_at_k[1] == pytest.approx((1 + 1 / 3) / 2)
    assert rate.pass_at_k[3] == pytest.approx(1.0)  # c0 always passes; c1 passes once in 3
    assert rate.interval.low < 4 / 6 < rate.interval.high


def test_runs_and_model_over_time(history: History) -> None:
    case(history, "r1", "openai:a", "c0", True, minute=0)
    case(history, "r1", "openai:b", "c0", False, minute=1)
    case(history, "r2", "openai:a", "c0", False, minute=10)
    runs = eval_runs(history)
    assert [r.run_id for r in runs] == ["r2", "r1"]
    assert runs[1].models == ["openai:a", "openai:b"] and runs[1].passed == 1
    assert [(r.run_id, r.pass_rate.rate) for r in model_runs(history, "openai:a")] == [
        ("r1", 1.0),
        ("r2", 0.0),
    ]


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["history", *args])


def test_cli_history_table_json_and_filters(history: History) -> None:
    result = invoke("--model", "openai:a", "--limit", "3")
    assert result.exit_code == 0, result.output
    assert "3 call(s), newest first" in result.stdout and "openai:b" not in result.stdout
    rows = json.loads(invoke("--json", "--source", "probe").stdout)
    assert [r["model"] for r in rows] == ["openai:b"]
    assert json.loads(invoke("--json", "--role", "coordinator").stdout)[0]["run_id"] == "r1"
    assert json.loads(invoke("--json", "--since", "2026-01-09", "--model", "openai:b").stdout) == []


def test_cli_history_bad_input_is_one_line_and_exit_2(history: History) -> None:
    bad = invoke("--source", "nope")
    assert bad.exit_code == 2 and "use one of run, eval, probe, ab" in bad.output
    bad = invoke("--since", "yesterday")
    assert bad.exit_code == 2 and "7d, 12h" in bad.output
    bad = invoke("--run", "no-such-run")
    assert bad.exit_code == 2 and "no run 'no-such-run'" in bad.output


def test_cli_history_opens_a_run(history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reports = tmp_path / "reports"
    (reports / "r9").mkdir(parents=True)
    (reports / "r9" / "report.json").write_text(json.dumps({
        "suites": ["bench"], "started": "2026-01-10T12:00:00",
        "models_summary": [{"model": "openai:a", "passed": 3, "cases": 4, "pass_rate": 0.75, "median_latency": 2.0, "cost": None}],
    }))  # fmt: skip
    shown = invoke("--run", "r9", "--reports-dir", str(reports))
    assert (
        shown.exit_code == 0
        and "openai:a: 3/4 passed (75%)" in shown.stdout
        and "report.html" in shown.stdout
    )
    out = tmp_path / "output"
    (out / "build-x").mkdir(parents=True)
    (out / "build-x" / "manifest.json").write_text(json.dumps({"run_id": "p1", "status": "ok", "request": "build x",
                                                                "agents": {"generator": {"model": "openai:a", "requests": 2, "input_tokens": 5, "output_tokens": 6}}}))  # fmt: skip
    monkeypatch.setenv("CODECREW_OUT_DIR", str(out))
    shown = invoke("--run", "p1", "--reports-dir", str(reports))
    assert shown.exit_code == 0 and "pipeline run p1: ok" in shown.stdout and "manifest.json" in shown.stdout
    shown = invoke("--run", "r1", "--reports-dir", str(reports))  # only the history knows it
    assert shown.exit_code == 0 and "coordinator openai:a ok" in shown.stdout


def test_a_chain_run_records_and_shows_the_member_that_answered(private_history: Path) -> None:
    from agents.manifest import AgentUsage, Manifest
    from agents.pipeline import record_history

    manifest = Manifest(request="build it", status="ok", out_dir="out")
    manifest.agents = {
        "coordinator": AgentUsage(model="ollama:llama3.1", requests=2, answered_by=["llama3.1"]),
        "generator": AgentUsage(model="openrouter:a/b,ollama:c", requests=1, answered_by=["c"]),
    }
    record_history(manifest)

    rows = {r.role: r for r in calls(History(private_history))}
    assert rows["generator"].model == "openrouter:a/b,ollama:c"  # what was configured stays the key
    assert rows["generator"].answered_by == "ollama:c"
    assert rows["coordinator"].answered_by is None  # one model: nothing else to say
    result = invoke("--limit", "5")
    assert result.exit_code == 0, result.output
    assert "→ ollama:c" in result.stdout
    assert json.loads(invoke("--json", "--role", "generator").stdout)[0]["answered_by"] == "ollama:c"
