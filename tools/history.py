"""One SQLite store of every model call, eval result and discovery probe.

Like simonw/llm's log, the history is a plain SQLite file you can query yourself
(`sqlite3 ~/.cache/codecrew/history.sqlite 'select * from calls'`). Aggregates (success
rate, median latency, tokens per second, cost per call) are computed in SQL.

Tables: `calls` (one row per agent role of a run, eval case or A/B run), `runs` (one row per
pipeline run with its final verdict: does the code the generator wrote really work?),
`evals` (one row per eval case), `probes` and `cooldowns`.

Where it lives: `CODECREW_HISTORY`, else `<cache dir>/history.sqlite` (agents.config.history_path).

Concurrency: the database is in WAL mode and every operation opens a short-lived
connection with a busy timeout, and writes take the write lock up front
(`BEGIN IMMEDIATE`), so asyncio tasks, threads and several processes can record at once.

Timestamps are stored as ISO-8601 text in UTC (naive datetimes are taken as UTC).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agents.config import history_path
from tools.stats import Interval, wilson

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")

# 2: evals.sample (a case run several times); 3: outcome "interrupted"; 4: the runs table
SCHEMA_VERSION = 5
BUSY_TIMEOUT_S = 30.0
# Calls that did real work; probes are tiny requests that would skew latency and cost.
WORK_SOURCES: tuple[str, ...] = ("run", "eval", "ab", "bench")

# The calls columns up to schema 4 (5 added answered_by), for rebuilding an old table.
_OLD_CALLS = (
    "id, model, role, task_type, started, duration, requests, input_tokens, output_tokens, cost,"
    " outcome, error_class, run_id, source"
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY,
    model TEXT NOT NULL,
    role TEXT NOT NULL,
    task_type TEXT,
    started TEXT NOT NULL,
    duration REAL NOT NULL,
    requests INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost REAL,
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'error', 'lazy', 'interrupted')),
    error_class TEXT,
    run_id TEXT,
    source TEXT NOT NULL,
    answered_by TEXT
);
CREATE INDEX IF NOT EXISTS calls_model_started ON calls (model, started);
CREATE TABLE IF NOT EXISTS evals (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    suite TEXT NOT NULL,
    model TEXT NOT NULL,
    mode TEXT NOT NULL,
    case_name TEXT NOT NULL,
    passed INTEGER NOT NULL,
    reason TEXT NOT NULL,
    duration REAL NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost REAL,
    lazy INTEGER NOT NULL,
    error_class TEXT,
    started TEXT NOT NULL,
    sample INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS evals_model_suite ON evals (model, suite, started);
CREATE TABLE IF NOT EXISTS probes (
    id INTEGER PRIMARY KEY,
    model TEXT NOT NULL,
    base_url TEXT,
    started TEXT NOT NULL,
    reachable INTEGER NOT NULL,
    latency REAL,
    supports_tools INTEGER,
    error_class TEXT,
    retry_after REAL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS probes_model_started ON probes (model, started);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    started TEXT NOT NULL,
    task_type TEXT,
    coordinator_model TEXT,
    generator_model TEXT NOT NULL,
    extractor_model TEXT,
    status TEXT NOT NULL,
    verdict TEXT,
    judge TEXT,
    score REAL,
    repairs_used INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    versions_judged INTEGER NOT NULL,
    duration REAL NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost REAL,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_generator_started ON runs (generator_model, started);
CREATE TABLE IF NOT EXISTS cooldowns (
    model TEXT PRIMARY KEY,
    until TEXT NOT NULL,
    reason TEXT NOT NULL,
    set_at TEXT NOT NULL
);
"""


def _ts(value: datetime) -> str:
    """A datetime as sortable UTC ISO text (naive means UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Where:
    """A WHERE clause built from the filters that are set (None: no filter), and its params."""

    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def equal(self, column: str, value: Any) -> Where:
        if value is not None:
            self.clauses.append(f"{column} = ?")
            self.params.append(value)
        return self

    def since(self, column: str, value: datetime | None) -> Where:
        if value is not None:
            self.clauses.append(f"{column} >= ?")
            self.params.append(_ts(value))
        return self

    def within(self, column: str, values: Sequence[str] | None) -> Where:
        if values is not None:
            self.clauses.append(f"{column} IN ({', '.join('?' * len(values))})" if values else "0")
            self.params.extend(values)
        return self

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses) or "1"


def record_from_row(record: type[R], row: sqlite3.Row, **converted: Any) -> R:
    """A `record` dataclass from a row whose columns are named as its fields; `converted`
    gives the fields whose column needs converting (or has another name)."""
    columns = set(row.keys())
    plain = {f.name: row[f.name] for f in fields(record) if f.name in columns and f.name not in converted}
    return record(**plain, **converted)


@dataclass
class CallRecord:
    """One model call (or one agent run) the product made."""

    model: str
    role: str
    task_type: str | None
    started: datetime
    duration: float
    requests: int
    input_tokens: int
    output_tokens: int
    cost: float | None
    outcome: str  # "ok" | "error" | "lazy" | "interrupted"
    error_class: str | None
    run_id: str | None = None
    source: str = "run"  # "run" | "eval" | "probe" | "ab" | "bench"
    # For a fallback chain: the member(s) that really answered; None when `model` did.
    answered_by: str | None = None


@dataclass
class EvalRecord:
    """One eval case result."""

    run_id: str
    suite: str
    model: str
    mode: str  # "generator" | "pipeline"
    case: str
    passed: bool
    reason: str
    duration: float
    input_tokens: int
    output_tokens: int
    cost: float | None
    lazy: bool
    error_class: str | None
    started: datetime
    sample: int = 0  # which of the case's samples (evals.run --samples)


@dataclass
class ProbeRecord:
    """One discovery probe: did the model answer, how fast, did it call a tool."""

    model: str
    reachable: bool
    latency: float | None
    supports_tools: bool | None
    error_class: str | None
    detail: str = ""
    base_url: str | None = None
    retry_after: float | None = None
    started: datetime | None = None  # None: now


@dataclass
class RunRecord:
    """One pipeline run and its final verdict (the manifest's `verification.verdict`)."""

    run_id: str
    started: datetime
    task_type: str | None
    coordinator_model: str | None
    generator_model: str
    extractor_model: str | None
    status: str  # the manifest's: "ok" | "not_working" | "lazy" | "error" | "interrupted"
    verdict: str | None  # "verified" | "failed" | "not_verified" | "infrastructure"; None: never judged
    judge: str | None
    score: float | None  # fraction of the judge's checks that passed
    repairs_used: int
    samples: int
    versions_judged: int
    duration: float  # wall time of the whole run
    input_tokens: int
    output_tokens: int
    cost: float | None
    source: str = "run"  # "run" | "eval" | "ab" | "bench": who ran the pipeline


@dataclass
class GeneratorRunStats:
    """What one generator model's pipeline runs came to.

    The verified rate is over the runs whose code was judged: verified, failed or
    not_verified. A judge that could not run (infrastructure) says nothing about the code and
    a run that ended before any version was judged (`no_verdict`: an error, lazy output, an
    interrupt) has no verdict; both are counted in `runs` but not in the rate.
    `tokens_per_verified` is every run's output tokens over the verified runs (what one
    working program costs in tokens, failures included); `cost_per_verified` likewise, and
    None unless every run has a cost.
    """

    generator_model: str
    runs: int
    verified: int
    failed: int
    not_verified: int
    infrastructure: int
    no_verdict: int
    median_duration: float | None
    output_tokens: int
    tokens_per_verified: float | None
    cost_per_verified: float | None
    last_run: datetime | None

    @property
    def judged(self) -> int:
        return self.verified + self.failed + self.not_verified

    @property
    def verified_rate(self) -> float | None:
        return self.verified / self.judged if self.judged else None

    @property
    def verified_interval(self) -> Interval | None:
        return wilson(self.verified, self.judged) if self.judged else None


@dataclass
class ModelStats:
    """Aggregates of a model's calls.

    Latency and tokens per second are over successful calls (outcome "ok") only;
    `cost_per_call` is the total cost over the calls that have a cost.
    """

    model: str
    calls: int
    successes: int
    success_rate: float
    median_latency: float | None
    mean_latency: float | None
    tokens_per_second: float | None
    total_cost: float | None
    cost_per_call: float | None
    input_tokens: int
    output_tokens: int
    last_error_class: str | None
    last_used: datetime | None


_STATS_SQL = """
WITH picked AS (
    SELECT * FROM calls WHERE {where}
),
ok_ranked AS (
    SELECT model, duration,
           ROW_NUMBER() OVER (PARTITION BY model ORDER BY duration) AS rn,
           COUNT(*) OVER (PARTITION BY model) AS n
    FROM picked WHERE outcome = 'ok'
),
medians AS (
    SELECT model, AVG(duration) AS median_latency
    FROM ok_ranked
    WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
    GROUP BY model
),
last_errors AS (
    SELECT model, error_class FROM (
        SELECT model, error_class,
               ROW_NUMBER() OVER (PARTITION BY model ORDER BY started DESC, id DESC) AS rn
        FROM picked WHERE error_class IS NOT NULL
    ) WHERE rn = 1
)
SELECT p.model,
       COUNT(*) AS calls,
       SUM(p.outcome = 'ok') AS successes,
       AVG(p.outcome = 'ok') AS success_rate,
       m.median_latency,
       AVG(CASE WHEN p.outcome = 'ok' THEN p.duration END) AS mean_latency,
       SUM(CASE WHEN p.outcome = 'ok' THEN p.output_tokens END)
           / NULLIF(SUM(CASE WHEN p.outcome = 'ok' THEN p.duration END), 0) AS tokens_per_second,
       SUM(p.cost) AS total_cost,
       SUM(p.cost) / COUNT(p.cost) AS cost_per_call,
       SUM(p.input_tokens) AS input_tokens,
       SUM(p.output_tokens) AS output_tokens,
       e.error_class AS last_error_class,
       MAX(p.started) AS last_used
FROM picked AS p
LEFT JOIN medians AS m ON m.model = p.model
LEFT JOIN last_errors AS e ON e.model = p.model
GROUP BY p.model
ORDER BY p.model
"""

_RUN_STATS_SQL = """
WITH picked AS (
    SELECT * FROM runs WHERE {where}
),
ranked AS (
    SELECT generator_model, duration,
           ROW_NUMBER() OVER (PARTITION BY generator_model ORDER BY duration) AS rn,
           COUNT(*) OVER (PARTITION BY generator_model) AS n
    FROM picked
),
medians AS (
    SELECT generator_model, AVG(duration) AS median_duration
    FROM ranked
    WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
    GROUP BY generator_model
),
counted AS (
    SELECT generator_model,
           COUNT(*) AS runs,
           COUNT(CASE WHEN verdict = 'verified' THEN 1 END) AS verified,
           COUNT(CASE WHEN verdict = 'failed' THEN 1 END) AS failed,
           COUNT(CASE WHEN verdict = 'not_verified' THEN 1 END) AS not_verified,
           COUNT(CASE WHEN verdict = 'infrastructure' THEN 1 END) AS infrastructure,
           COUNT(CASE WHEN verdict IS NULL THEN 1 END) AS no_verdict,
           SUM(output_tokens) AS output_tokens,
           SUM(cost) AS cost,
           COUNT(cost) AS priced,
           MAX(started) AS last_run
    FROM picked
    GROUP BY generator_model
)
SELECT c.*, m.median_duration,
       CAST(c.output_tokens AS REAL) / NULLIF(c.verified, 0) AS tokens_per_verified,
       CASE WHEN c.priced = c.runs THEN c.cost / NULLIF(c.verified, 0) END AS cost_per_verified
FROM counted AS c
LEFT JOIN medians AS m ON m.generator_model = c.generator_model
ORDER BY c.generator_model
"""

_PASS_RATES_SQL = """
WITH runs AS (
    SELECT suite, run_id,
           ROW_NUMBER() OVER (PARTITION BY suite ORDER BY MAX(started) DESC, MAX(id) DESC) AS rn
    FROM evals WHERE {where} AND COALESCE(error_class, '') != 'infrastructure'
    GROUP BY suite, run_id
)
SELECT e.suite, AVG(e.passed) AS pass_rate
FROM evals AS e JOIN runs AS r ON r.suite = e.suite AND r.run_id = e.run_id AND r.rn = 1
WHERE {where_e} AND COALESCE(e.error_class, '') != 'infrastructure'  -- not judged
GROUP BY e.suite
ORDER BY e.suite
"""


class History:
    """The SQLite store; cheap to create, safe to share between tasks and processes."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else history_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} has history schema {version}, newer than this codecrew's"
                    f" {SCHEMA_VERSION}: upgrade codecrew or point CODECREW_HISTORY elsewhere"
                )
            if version < SCHEMA_VERSION:
                db.execute("BEGIN IMMEDIATE")
                version = db.execute("PRAGMA user_version").fetchone()[0]  # another process?
                has_evals = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'evals'").fetchone()
                if has_evals and version < 2:
                    db.execute("ALTER TABLE evals ADD COLUMN sample INTEGER NOT NULL DEFAULT 0")
                has_calls = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'calls'").fetchone()
                rebuild_calls = bool(has_calls) and version < 3
                if rebuild_calls:  # SQLite cannot alter a CHECK: rebuild calls with the new one
                    db.execute("ALTER TABLE calls RENAME TO calls_old")
                    db.execute("DROP INDEX IF EXISTS calls_model_started")
                elif has_calls and version < 5:
                    db.execute("ALTER TABLE calls ADD COLUMN answered_by TEXT")
                # new tables (4: runs) and indexes: the schema's CREATE ... IF NOT EXISTS
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                if rebuild_calls:
                    db.execute(f"INSERT INTO calls ({_OLD_CALLS}) SELECT {_OLD_CALLS} FROM calls_old")
                    db.execute("DROP TABLE calls_old")
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                db.execute("COMMIT")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            yield db
        finally:
            db.close()

    def _write(self, sql: str, params: Sequence[Any]) -> None:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(sql, params)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            return db.execute(sql, params).fetchall()

    # -- writing -------------------------------------------------------------

    def _insert(
        self, table: str, rec: Any, *, replace: bool = False, skip: tuple[str, ...] = (), **columns: Any
    ) -> None:
        """Store a record dataclass as one row: a column per field, named as the field, but
        for the `skip`ped fields and the `columns` given (converted, or named otherwise)."""
        values = {f.name: getattr(rec, f.name) for f in fields(rec) if f.name not in skip}
        values.update(columns)
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        self._write(
            f"{verb} INTO {table} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
            tuple(values.values()),
        )

    def record_call(self, rec: CallRecord) -> None:
        """Store one model call."""
        self._insert("calls", rec, started=_ts(rec.started))

    def record_eval(self, rec: EvalRecord) -> None:
        """Store one eval case result."""
        self._insert("evals", rec, skip=("case",), case_name=rec.case, started=_ts(rec.started))

    def record_run(self, rec: RunRecord) -> None:
        """Store one pipeline run; recording the same run id again replaces its row."""
        self._insert("runs", rec, replace=True, started=_ts(rec.started))

    def forget_eval_run(self, run_id: str) -> None:
        """Drop what an eval run recorded (its cases and their calls), so that recording the
        run again (a resumed run's whole report) leaves each case once."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM evals WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM calls WHERE run_id = ? AND source = 'eval'", (run_id,))
            db.execute("COMMIT")

    def record_probe(self, rec: ProbeRecord) -> None:
        """Store one discovery probe result."""
        self._insert("probes", rec, started=_ts(rec.started or _now()))

    def set_cooldown(self, model: str, until: datetime, reason: str) -> None:
        """Keep `model` out of use until `until` (replaces any earlier cooldown)."""
        self._write(
            "INSERT INTO cooldowns (model, until, reason, set_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (model) DO UPDATE SET until = excluded.until,"
            " reason = excluded.reason, set_at = excluded.set_at",
            (model, _ts(until), reason, _ts(_now())),
        )

    def clear_cooldown(self, model: str) -> None:
        """End `model`'s cooldown now."""
        self._write("DELETE FROM cooldowns WHERE model = ?", (model,))

    # -- reading -------------------------------------------------------------

    def model_stats(
        self,
        *,
        model: str | None = None,
        task_type: str | None = None,
        role: str | None = None,
        since: datetime | None = None,
        sources: Sequence[str] | None = None,
    ) -> list[ModelStats]:
        """Per-model aggregates of the recorded calls, filtered; sorted by model."""
        where = (
            Where()
            .equal("model", model)
            .equal("task_type", task_type)
            .equal("role", role)
            .since("started", since)
            .within("source", sources)
        )
        rows = self._read(_STATS_SQL.format(where=where.sql), where.params)
        return [record_from_row(ModelStats, row, last_used=_dt(row["last_used"])) for row in rows]

    def generator_run_stats(
        self,
        *,
        generator_model: str | None = None,
        task_type: str | None = None,
        since: datetime | None = None,
        sources: Sequence[str] | None = None,
    ) -> list[GeneratorRunStats]:
        """Per generator model: how its pipeline runs ended (see GeneratorRunStats); sorted."""
        where = (
            Where()
            .equal("generator_model", generator_model)
            .equal("task_type", task_type)
            .since("started", since)
            .within("source", sources)
        )
        rows = self._read(_RUN_STATS_SQL.format(where=where.sql), where.params)
        return [record_from_row(GeneratorRunStats, row, last_run=_dt(row["last_run"])) for row in rows]

    def eval_pass_rates(self, model: str, *, mode: str | None = None) -> dict[str, float]:
        """Suite -> pass rate of `model` over that suite's latest run (optionally one mode)."""
        where, where_e, params = "model = ?", "e.model = ?", [model]
        if mode is not None:
            where, where_e = where + " AND mode = ?", where_e + " AND e.mode = ?"
            params.append(mode)
        rows = self._read(_PASS_RATES_SQL.format(where=where, where_e=where_e), params + params)
        return {row["suite"]: row["pass_rate"] for row in rows}

    def cooldowns(self, now: datetime | None = None) -> dict[str, datetime]:
        """Models still cooling down at `now` -> when their cooldown ends."""
        rows = self._read(
            "SELECT model, until FROM cooldowns WHERE until > ? ORDER BY model",
            (_ts(now or _now()),),
        )
        return {row["model"]: datetime.fromisoformat(row["until"]) for row in rows}

    def latest_probes(self, model: str | None = None) -> list[ProbeRecord]:
        """The most recent probe of each model (or of one model)."""
        where, params = ("WHERE model = ?", [model]) if model else ("", [])
        rows = self._read(
            "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY model"
            f" ORDER BY started DESC, id DESC) AS rn FROM probes {where}) WHERE rn = 1"
            " ORDER BY model",
            params,
        )
        return [
            record_from_row(
                ProbeRecord,
                row,
                reachable=bool(row["reachable"]),
                supports_tools=_bool(row["supports_tools"]),
                started=_dt(row["started"]),
            )
            for row in rows
        ]
