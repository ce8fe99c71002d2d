"""Read-only queries over the history (tools/history.py) for the dashboard and `models history`.

The history module writes and keeps the schema; this one only reads, through a read-only
SQLite connection, so looking never creates or changes a database. Grouped counts and sums
are SQL; the latency percentiles and pass@k come from tools.stats over the rows SQL picked.

- `calls(...)`: one row per model call, newest first (`python -m agents.models history`).
- `call_metrics(...)`: per model (and role, task type) calls, success rate, median and p90
  latency, tokens, tokens/s, cost, the error classes seen.
- `suite_results(...)`: per model, suite and mode, the latest run's pass rate with its
  Wilson interval and pass@k when cases were sampled several times.
- `eval_runs(...)`, `eval_rows(...)`, `model_runs(...)`: eval runs, their case rows, and a
  model over time.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tools.history import CallRecord, EvalRecord, History, Where, record_from_row
from tools.stats import Interval, SampledRate, percentile, sampled_rate, wilson

GROUP_COLUMNS = ("model", "role", "task_type")
_SINCE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class QueryError(ValueError):
    """A filter the user gave cannot be read; the message says what to write instead."""


def parse_since(value: str | None, now: datetime | None = None) -> datetime | None:
    """`7d`, `12h`, `30m`, `2w` (ago) or an ISO date/datetime, as an aware UTC datetime."""
    if value is None or not value.strip():
        return None
    if match := _SINCE.match(value):
        amount, unit = int(match.group(1)), match.group(2)
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise QueryError(
            f"cannot read since={value!r}: write a duration like 7d, 12h, 30m or a date like 2026-01-31"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@contextmanager
def _reader(history: History) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(f"file:{history.path}?mode=ro", uri=True, timeout=30.0)
    db.row_factory = sqlite3.Row
    try:
        yield db
    finally:
        db.close()


def _read(history: History, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
    with _reader(history) as db:
        return db.execute(sql, params).fetchall()


# -- calls ---------------------------------------------------------------------------------


@dataclass
class CallRow(CallRecord):
    """One recorded model call, with its row id."""

    id: int = 0


def calls(
    history: History,
    *,
    model: str | None = None,
    role: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
    run_id: str | None = None,
    limit: int | None = 50,
) -> list[CallRow]:
    """The recorded calls, newest first, filtered; `limit` None or 0 for all."""
    where = (
        Where()
        .equal("model", model)
        .equal("role", role)
        .equal("source", source)
        .equal("run_id", run_id)
        .since("started", since)
    )
    sql = f"SELECT * FROM calls WHERE {where.sql} ORDER BY started DESC, id DESC"
    params = list(where.params)
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return [
        record_from_row(CallRow, row, started=datetime.fromisoformat(row["started"]))
        for row in _read(history, sql, params)
    ]


@dataclass
class CallMetrics:
    """Aggregates of one group of calls (a model, or a model in a role / task type).

    Latencies and tokens/s are over successful calls only; cost per call is over the
    calls that have a price (`priced_calls`), None when none has one.
    """

    model: str
    role: str | None
    task_type: str | None
    calls: int
    successes: int
    success_rate: float
    success_interval: Interval
    median_latency: float | None
    p90_latency: float | None
    input_tokens: int
    output_tokens: int
    tokens_per_second: float | None
    total_cost: float | None
    cost_per_call: float | None
    priced_calls: int
    error_classes: dict[str, int]
    last_used: datetime | None


_METRICS_SQL = """
SELECT {keys},
       COUNT(*) AS calls,
       SUM(outcome = 'ok') AS successes,
       SUM(input_tokens) AS input_tokens,
       SUM(output_tokens) AS output_tokens,
       SUM(CASE WHEN outcome = 'ok' THEN output_tokens END)
           / NULLIF(SUM(CASE WHEN outcome = 'ok' THEN duration END), 0) AS tokens_per_second,
       SUM(cost) AS total_cost,
       COUNT(cost) AS priced_calls,
       MAX(started) AS last_used
FROM calls WHERE {where}
GROUP BY {keys}
ORDER BY {keys}
"""


def call_metrics(
    history: History,
    *,
    group_by: Sequence[str] = ("model",),
    model: str | None = None,
    role: str | None = None,
    task_type: str | None = None,
    since: datetime | None = None,
    sources: Sequence[str] | None = None,
) -> list[CallMetrics]:
    """Per group (`group_by` ⊆ model, role, task_type; model always) aggregates of the calls."""
    keys = ["model", *[c for c in GROUP_COLUMNS[1:] if c in group_by]]
    where = (
        Where()
        .equal("model", model)
        .equal("role", role)
        .equal("task_type", task_type)
        .since("started", since)
        .within("source", sources)
    )
    key_sql = ", ".join(keys)
    rows = _read(history, _METRICS_SQL.format(keys=key_sql, where=where.sql), where.params)
    durations: dict[tuple, list[float]] = {}
    for row in _read(
        history,
        f"SELECT {key_sql}, duration FROM calls WHERE {where.sql} AND outcome = 'ok' ORDER BY duration",
        where.params,
    ):
        durations.setdefault(tuple(row[k] for k in keys), []).append(row["duration"])
    errors: dict[tuple, dict[str, int]] = {}
    for row in _read(
        history,
        f"SELECT {key_sql}, error_class, COUNT(*) AS n FROM calls WHERE {where.sql}"
        f" AND error_class IS NOT NULL GROUP BY {key_sql}, error_class ORDER BY n DESC, error_class",
        where.params,
    ):
        errors.setdefault(tuple(row[k] for k in keys), {})[row["error_class"]] = row["n"]
    result = []
    for row in rows:
        key = tuple(row[k] for k in keys)
        times = durations.get(key, [])
        priced = row["priced_calls"]
        result.append(
            CallMetrics(
                model=row["model"],
                role=row["role"] if "role" in keys else None,
                task_type=row["task_type"] if "task_type" in keys else None,
                calls=row["calls"],
                successes=row["successes"],
                success_rate=row["successes"] / row["calls"],
                success_interval=wilson(row["successes"], row["calls"]),
                median_latency=percentile(times, 50),
                p90_latency=percentile(times, 90),
                input_tokens=row["input_tokens"],
                output_tokens=row["output_tokens"],
                tokens_per_second=row["tokens_per_second"],
                total_cost=row["total_cost"],
                cost_per_call=row["total_cost"] / priced if priced else None,
                priced_calls=priced,
                error_classes=errors.get(key, {}),
                last_used=datetime.fromisoformat(row["last_used"]) if row["last_used"] else None,
            )
        )
    return result


# -- evals ---------------------------------------------------------------------------------


def eval_rows(
    history: History,
    *,
    run_id: str | None = None,
    model: str | None = None,
    suite: str | None = None,
    since: datetime | None = None,
) -> list[EvalRecord]:
    """Eval case rows in the order they were recorded."""
    where = Where().equal("run_id", run_id).equal("model", model).equal("suite", suite)
    where.since("started", since)
    return [
        record_from_row(
            EvalRecord,
            row,
            case=row["case_name"],
            passed=bool(row["passed"]),
            lazy=bool(row["lazy"]),
            started=datetime.fromisoformat(row["started"]),
        )
        for row in _read(history, f"SELECT * FROM evals WHERE {where.sql} ORDER BY id", where.params)
    ]


def pass_rate(rows: Sequence[EvalRecord]) -> SampledRate:
    """The pass rate of case rows; the samples of a case are the rows of the same
    (run, model, suite, mode, case)."""
    per_case: dict[tuple[str, str, str, str, str], list[bool]] = {}
    for r in rows:
        per_case.setdefault((r.run_id, r.model, r.suite, r.mode, r.case), []).append(r.passed)
    return sampled_rate(per_case.values())


@dataclass
class SuiteResult:
    """A model's result on one suite and mode, from the latest run that had them."""

    model: str
    suite: str
    mode: str
    run_id: str
    started: datetime
    result: SampledRate
    median_latency: float | None


_LATEST_RUNS_SQL = """
SELECT model, suite, mode, run_id, started FROM (
    SELECT model, suite, mode, run_id, MAX(started) AS started,
           ROW_NUMBER() OVER (PARTITION BY model, suite, mode
                              ORDER BY MAX(started) DESC, MAX(id) DESC) AS rn
    FROM evals WHERE {where}
    GROUP BY model, suite, mode, run_id
) WHERE rn = 1 ORDER BY model, suite, mode
"""


def suite_results(
    history: History, *, model: str | None = None, since: datetime | None = None
) -> list[SuiteResult]:
    """Per model, suite and mode: the pass rate of the latest run (Wilson interval, pass@k)."""
    where = Where().equal("model", model).since("started", since)
    latest = _read(history, _LATEST_RUNS_SQL.format(where=where.sql), where.params)
    results = []
    for row in latest:
        rows = [
            r
            for r in eval_rows(history, run_id=row["run_id"], model=row["model"], suite=row["suite"])
            if r.mode == row["mode"]
        ]
        results.append(
            SuiteResult(
                model=row["model"],
                suite=row["suite"],
                mode=row["mode"],
                run_id=row["run_id"],
                started=datetime.fromisoformat(row["started"]),
                result=pass_rate(rows),
                median_latency=percentile([r.duration for r in rows], 50),
            )
        )
    return results


@dataclass
class RunSummary:
    """One eval run as the history holds it (a model's share of it when `model` is given)."""

    run_id: str
    started: datetime
    finished: datetime
    models: list[str]
    suites: list[str]
    results: int
    passed: int
    pass_rate: SampledRate
    median_latency: float | None
    cost: float | None


def eval_runs(
    history: History, *, model: str | None = None, since: datetime | None = None, limit: int | None = None
) -> list[RunSummary]:
    """Eval runs, newest first (only `model`'s rows of each when given)."""
    where = Where().equal("model", model).since("started", since)
    sql = (
        f"SELECT run_id, MIN(started) AS first, MAX(started) AS last FROM evals WHERE {where.sql}"
        " GROUP BY run_id ORDER BY MIN(started) DESC, run_id DESC"
    )
    params = list(where.params)
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    summaries = []
    for row in _read(history, sql, params):
        rows = eval_rows(history, run_id=row["run_id"], model=model)
        costs = [r.cost for r in rows if r.cost is not None]
        summaries.append(
            RunSummary(
                run_id=row["run_id"],
                started=datetime.fromisoformat(row["first"]),
                finished=datetime.fromisoformat(row["last"]),
                models=list(dict.fromkeys(r.model for r in rows)),
                suites=list(dict.fromkeys(r.suite for r in rows)),
                results=len(rows),
                passed=sum(r.passed for r in rows),
                pass_rate=pass_rate(rows),
                median_latency=percentile([r.duration for r in rows], 50),
                cost=sum(costs) if costs else None,
            )
        )
    return summaries


def model_runs(history: History, model: str) -> list[RunSummary]:
    """`model` over time: its share of each eval run, oldest first."""
    return list(reversed(eval_runs(history, model=model)))


def models_seen(history: History) -> list[str]:
    """Every model string the history has calls or eval rows of, sorted."""
    rows = _read(history, "SELECT model FROM calls UNION SELECT model FROM evals ORDER BY model")
    return [row["model"] for row in rows]


def existing_history(path: Path | None = None) -> History | None:
    """The history at `path` (default: tools.history's) if it exists; looking never creates one."""
    from agents.config import history_path

    target = path if path is not None else history_path()
    return History(target) if target.exists() else None
