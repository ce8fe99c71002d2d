"""The history store: records round-trip, and the SQL aggregates match hand-computed values."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tools.history import (
    SCHEMA_VERSION,
    CallRecord,
    EvalRecord,
    History,
    ProbeRecord,
)

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def call(
    model: str,
    minute: int,
    duration: float,
    *,
    outcome: str = "ok",
    output_tokens: int = 10,
    input_tokens: int = 100,
    cost: float | None = None,
    error_class: str | None = None,
    role: str = "generator",
    task_type: str | None = "code_generation",
    source: str = "run",
) -> CallRecord:
    return CallRecord(
        model=model,
        role=role,
        task_type=task_type,
        started=T0 + timedelta(minutes=minute),
        duration=duration,
        requests=1,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost=cost,
        outcome=outcome,
        error_class=error_class,
        source=source,
    )


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path / "h.sqlite")


@pytest.fixture
def filled(history: History) -> History:
    # m-a: 3 ok (1 s, 3 s, 2 s), one error, one lazy; costs on 3 of the 5 calls.
    history.record_call(call("m-a", 0, 1.0, output_tokens=10, cost=0.01))
    history.record_call(call("m-a", 1, 3.0, output_tokens=30, cost=None))
    history.record_call(call("m-a", 2, 2.0, output_tokens=20, cost=0.03))
    history.record_call(
        call(
            "m-a",
            3,
            0.5,
            outcome="error",
            output_tokens=0,
            input_tokens=50,
            error_class="rate_limited",
        )
    )
    history.record_call(
        call("m-a", 4, 4.0, outcome="lazy", output_tokens=40, cost=0.02, error_class="lazy_output")
    )
    # m-b: 4 ok calls (even count), no cost known.
    for minute, duration in enumerate([10.0, 1.0, 3.0, 2.0]):
        history.record_call(call("m-b", minute, duration, output_tokens=8, role="extractor"))
    return history


def test_schema_version_and_wal(history: History) -> None:
    db = sqlite3.connect(history.path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    History(history.path)  # reopening an existing store is fine


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(RuntimeError, match="newer"):
        History(path)


def test_stats_with_partial_costs_and_odd_median(filled: History) -> None:
    (a,) = filled.model_stats(model="m-a")
    assert a.calls == 5
    assert a.successes == 3
    assert a.success_rate == pytest.approx(0.6)
    assert a.median_latency == pytest.approx(2.0)  # ok durations 1, 2, 3
    assert a.mean_latency == pytest.approx(2.0)
    assert a.tokens_per_second == pytest.approx(60 / 6.0)  # ok calls only
    assert a.total_cost == pytest.approx(0.06)
    assert a.cost_per_call == pytest.approx(0.06 / 3)  # over the 3 calls with a cost
    assert a.input_tokens == 450
    assert a.output_tokens == 100
    assert a.last_error_class == "lazy_output"
    assert a.last_used == T0 + timedelta(minutes=4)


def test_stats_even_median_and_unknown_cost(filled: History) -> None:
    (b,) = filled.model_stats(model="m-b")
    assert b.calls == 4
    assert b.success_rate == 1.0
    assert b.median_latency == pytest.approx(2.5)  # 1, 2, 3, 10
    assert b.mean_latency == pytest.approx(4.0)
    assert b.tokens_per_second == pytest.approx(32 / 16.0)
    assert b.total_cost is None
    assert b.cost_per_call is None
    assert b.last_error_class is None


def test_stats_filters(filled: History) -> None:
    assert [s.model for s in filled.model_stats()] == ["m-a", "m-b"]
    assert [s.model for s in filled.model_stats(role="extractor")] == ["m-b"]
    assert filled.model_stats(task_type="debugging") == []
    (recent,) = filled.model_stats(model="m-a", since=T0 + timedelta(minutes=3))
    assert recent.calls == 2
    assert recent.median_latency is None  # no ok call since then
    assert recent.tokens_per_second is None
    assert recent.success_rate == 0.0
    filled.record_call(call("m-a", 9, 0.1, source="probe"))
    (work,) = filled.model_stats(model="m-a", sources=("run", "eval"))
    assert work.calls == 5
    (everything,) = filled.model_stats(model="m-a")
    assert everything.calls == 6


def test_single_call_median(history: History) -> None:
    history.record_call(call("solo", 0, 7.0))
    (solo,) = history.model_stats()
    assert solo.median_latency == 7.0


def evaluation(run_id: str, suite: str, case: str, passed: bool, minute: int, model: str = "m-a"):
    return EvalRecord(
        run_id=run_id,
        suite=suite,
        model=model,
        mode="generator",
        case=case,
        passed=passed,
        reason="ok" if passed else "failed",
        duration=1.0,
        input_tokens=10,
        output_tokens=10,
        cost=None,
        lazy=False,
        error_class=None,
        started=T0 + timedelta(minutes=minute),
    )


def test_eval_pass_rates_use_latest_run(history: History) -> None:
    history.record_eval(evaluation("r1", "humaneval", "c1", True, 0))
    history.record_eval(evaluation("r1", "humaneval", "c2", False, 0))
    history.record_eval(evaluation("r2", "humaneval", "c1", True, 10))
    history.record_eval(evaluation("r2", "humaneval", "c2", True, 10))
    history.record_eval(evaluation("r2", "humaneval", "c3", True, 11))
    history.record_eval(evaluation("r2", "humaneval", "c4", False, 11))
    history.record_eval(evaluation("r1", "apps", "c1", False, 0))
    history.record_eval(evaluation("r3", "humaneval", "c1", False, 20, model="other"))
    assert history.eval_pass_rates("m-a") == {"apps": 0.0, "humaneval": 0.75}
    assert history.eval_pass_rates("other") == {"humaneval": 0.0}
    assert history.eval_pass_rates("nobody") == {}
    assert history.eval_pass_rates("m-a", mode="pipeline") == {}


def test_cooldowns(history: History) -> None:
    now = T0
    history.set_cooldown("old", now - timedelta(seconds=1), "rate_limited")
    history.set_cooldown("hot", now + timedelta(seconds=30), "rate_limited")
    assert history.cooldowns(now) == {"hot": now + timedelta(seconds=30)}
    history.set_cooldown("hot", now + timedelta(seconds=90), "server_error")  # replaces
    assert history.cooldowns(now) == {"hot": now + timedelta(seconds=90)}
    history.clear_cooldown("hot")
    assert history.cooldowns(now) == {}


def test_probes_round_trip(history: History) -> None:
    history.record_probe(ProbeRecord("m", False, None, None, "rate_limited", "429", started=T0))
    later = T0 + timedelta(minutes=1)
    ok = ProbeRecord("m", True, 0.5, True, None, "pong", "http://x/v1", None, later)
    history.record_probe(ok)
    assert history.latest_probes() == [ok]
    assert history.latest_probes("missing") == []


def test_naive_datetimes_are_utc(history: History) -> None:
    history.record_call(call("n", 0, 1.0))
    naive = datetime(2025, 1, 1, 12, 0)
    (stats,) = history.model_stats(since=naive)
    assert stats.last_used == naive.replace(tzinfo=UTC)


@pytest.mark.asyncio
async def test_concurrent_writers_tasks_and_processes(history: History) -> None:
    script = (
        "import sys; from datetime import datetime, UTC; "
        "from tools.history import History, CallRecord; h = History(sys.argv[1]); "
        "[h.record_call(CallRecord('proc', 'r', None, datetime.now(UTC), 1.0, 1, 1, 1, None,"
        " 'ok', None)) for _ in range(40)]"
    )
    root = Path(__file__).resolve().parent.parent
    procs = [subprocess.Popen([sys.executable, "-c", script, str(history.path)], cwd=root) for _ in range(2)]
    await asyncio.gather(*(asyncio.to_thread(history.record_call, call("task", i, 1.0)) for i in range(60)))
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    counts = {s.model: s.calls for s in history.model_stats()}
    assert counts == {"proc": 80, "task": 60}
