"""One history row per pipeline run with its verdict: the v3 -> v4 migration, the per-generator
summary (verified rate, Wilson interval, median time, tokens per verified run), what a
scripted pipeline run records, and the `models history` table."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agents.models.cli import app
from tests.test_repair_loop import BROKEN, FIXED, Generator, run, settings
from tools.history import SCHEMA_VERSION, CallRecord, History, RunRecord
from tools.stats import wilson

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

V3_SCHEMA = """
CREATE TABLE calls (
    id INTEGER PRIMARY KEY, model TEXT NOT NULL, role TEXT NOT NULL, task_type TEXT,
    started TEXT NOT NULL, duration REAL NOT NULL, requests INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cost REAL,
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'error', 'lazy', 'interrupted')),
    error_class TEXT, run_id TEXT, source TEXT NOT NULL);
CREATE INDEX calls_model_started ON calls (model, started);
CREATE TABLE evals (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, suite TEXT NOT NULL, model TEXT NOT NULL,
    mode TEXT NOT NULL, case_name TEXT NOT NULL, passed INTEGER NOT NULL, reason TEXT NOT NULL,
    duration REAL NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cost REAL, lazy INTEGER NOT NULL, error_class TEXT, started TEXT NOT NULL,
    sample INTEGER NOT NULL DEFAULT 0);
CREATE INDEX evals_model_suite ON evals (model, suite, started);
CREATE TABLE probes (
    id INTEGER PRIMARY KEY, model TEXT NOT NULL, base_url TEXT, started TEXT NOT NULL,
    reachable INTEGER NOT NULL, latency REAL, supports_tools INTEGER, error_class TEXT,
    retry_after REAL, detail TEXT NOT NULL);
CREATE INDEX probes_model_started ON probes (model, started);
CREATE TABLE cooldowns (model TEXT PRIMARY KEY, until TEXT NOT NULL, reason TEXT NOT NULL,
                        set_at TEXT NOT NULL);
INSERT INTO calls VALUES (1, 'm', 'generator', NULL, '2026-01-01T00:00:00+00:00', 1.0, 1,
                          10, 20, NULL, 'interrupted', NULL, 'r1', 'run');
INSERT INTO evals VALUES (1, 'e1', 'bench', 'm', 'pipeline', 'c', 1, 'ok', 2.0, 1, 1, NULL, 0,
                          NULL, '2026-01-01T00:00:00+00:00', 2);
INSERT INTO cooldowns VALUES ('m', '2999-01-01T00:00:00+00:00', 'rate_limited',
                              '2026-01-01T00:00:00+00:00');
PRAGMA user_version = 3;
"""


def a_run(run_id: str, generator: str, verdict: str | None, duration: float, **kw: Any) -> RunRecord:
    fields: dict[str, Any] = dict(
        started=T0, task_type="code_generation", coordinator_model="c", extractor_model="x",
        status={"verified": "ok", "failed": "not_working", None: "error"}.get(verdict, "ok"),
        judge=None if verdict is None else "python", score=None if verdict is None else 1.0,
        repairs_used=0, samples=1, versions_judged=0 if verdict is None else 1,
        input_tokens=100, output_tokens=1000, cost=0.01, source="run",
    )  # fmt: skip
    fields.update(kw)
    return RunRecord(run_id=run_id, generator_model=generator, verdict=verdict, duration=duration, **fields)


def test_a_v3_history_is_migrated_in_place_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "v3.sqlite"
    db = sqlite3.connect(path)
    db.executescript(V3_SCHEMA)
    db.close()

    history = History(path)
    history.record_run(a_run("p1", "openai:g", "verified", 3.0))

    history.record_call(
        CallRecord(
            model="openrouter:a/b,ollama:c", role="generator", task_type=None, started=T0, duration=1.0,
            requests=2, input_tokens=1, output_tokens=1, cost=None, outcome="ok", error_class=None,
            answered_by="ollama:c",
        )
    )  # fmt: skip

    db = sqlite3.connect(path)
    assert SCHEMA_VERSION == 5
    assert db.execute("PRAGMA user_version").fetchone()[0] == 5
    assert db.execute("SELECT id, outcome, run_id, answered_by FROM calls").fetchall() == [
        (1, "interrupted", "r1", None),  # schema 5 added answered_by: old rows have none
        (2, "ok", None, "ollama:c"),
    ]
    assert db.execute("SELECT run_id, sample FROM evals").fetchall() == [("e1", 2)]
    assert db.execute("SELECT run_id, generator_model, verdict FROM runs").fetchall() == [
        ("p1", "openai:g", "verified")
    ]
    indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"calls_model_started", "runs_generator_started"} <= indexes
    db.close()
    assert list(history.cooldowns(now=T0)) == ["m"]
    History(path)  # opening it again changes nothing
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1


@pytest.fixture
def runs(tmp_path: Path) -> History:
    history = History(tmp_path / "h.sqlite")
    # openai:g: 2 verified, 1 failed, 1 infrastructure, 1 that ended before any verdict
    history.record_run(a_run("g1", "openai:g", "verified", 10.0, output_tokens=1000))
    history.record_run(a_run("g2", "openai:g", "verified", 30.0, output_tokens=3000))
    history.record_run(a_run("g3", "openai:g", "failed", 20.0, output_tokens=2000))
    history.record_run(a_run("g4", "openai:g", "infrastructure", 5.0, output_tokens=500, status="ok"))
    history.record_run(a_run("g5", "openai:g", None, 1.0, output_tokens=0, cost=None))
    # ollama:h: one not_verified run (eval), none verified
    history.record_run(
        a_run("h1", "ollama:h", "not_verified", 7.0, source="eval", cost=None, started=T0 + timedelta(days=1))
    )
    return history


def test_per_generator_counts_rate_median_and_tokens_per_verified(runs: History) -> None:
    h, g = runs.generator_run_stats()
    assert (g.generator_model, g.runs, g.verified, g.failed, g.not_verified) == ("openai:g", 5, 2, 1, 0)
    assert (g.infrastructure, g.no_verdict, g.judged) == (1, 1, 3)  # infrastructure is not a failure
    assert g.verified_rate == pytest.approx(2 / 3)
    assert g.verified_interval == wilson(2, 3)
    assert g.median_duration == 10.0  # of 1, 5, 10, 20, 30
    assert g.output_tokens == 6500
    assert g.tokens_per_verified == pytest.approx(6500 / 2)  # failures' tokens included
    assert g.cost_per_verified is None  # one run has no cost: the figure would be too low
    assert g.last_run == T0

    assert (h.generator_model, h.runs, h.not_verified, h.verified, h.judged) == ("ollama:h", 1, 1, 0, 1)
    assert h.verified_rate == 0.0 and h.tokens_per_verified is None and h.median_duration == 7.0


def test_filters_and_recording_a_run_again_replaces_it(runs: History) -> None:
    assert [s.generator_model for s in runs.generator_run_stats(sources=["eval"])] == ["ollama:h"]
    assert runs.generator_run_stats(sources=[]) == []
    assert [s.runs for s in runs.generator_run_stats(since=T0 + timedelta(hours=1))] == [1]
    (only,) = runs.generator_run_stats(generator_model="openai:g", task_type="code_generation")
    assert only.runs == 5
    runs.record_run(a_run("g5", "openai:g", "verified", 2.0, output_tokens=0))  # same run id
    (again,) = runs.generator_run_stats(generator_model="openai:g")
    assert (again.runs, again.verified, again.no_verdict) == (5, 3, 0)
    assert again.median_duration == 10.0  # 2, 5, 10, 20, 30
    assert again.cost_per_verified == pytest.approx(0.05 / 3)  # every run priced now


def test_no_verdict_at_all_gives_no_rate(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite")
    history.record_run(a_run("e1", "openai:g", None, 2.0))
    history.record_run(a_run("e2", "openai:g", "infrastructure", 4.0))
    (g,) = history.generator_run_stats()
    assert (g.runs, g.judged, g.verified_rate, g.verified_interval) == (2, 0, None, None)
    assert g.median_duration == 3.0  # even count: the mean of the middle two


# -- from a scripted pipeline run (tests/test_repair_loop.py's models; the judge is real) ---------


def run_rows(path: Path) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(
            "SELECT run_id, generator_model, coordinator_model, status, verdict, judge, score,"
            " repairs_used, versions_judged, source, output_tokens, duration FROM runs"
        ).fetchall()
    finally:
        db.close()


async def test_a_verified_pipeline_run_records_its_verdict(tmp_path: Path, private_history: Path) -> None:
    manifest = await run(Generator(FIXED), tmp_path / "out", repairs_asked=0)
    verdict = manifest.verification.verdict
    assert manifest.status == "ok" and verdict is not None and verdict.status == "verified"

    (row,) = run_rows(private_history)
    run_id, generator, coordinator, status, found, judge, score, repairs, judged, source, tokens, took = row
    assert (run_id, generator, coordinator, status) == (manifest.run_id, "test", "test", "ok")
    assert (found, judge, score) == ("verified", verdict.judge, verdict.score)
    assert (repairs, judged, source) == (0, 1, "run")
    assert tokens == sum(a.output_tokens for a in manifest.agents.values()) and tokens > 0
    assert took == pytest.approx(manifest.duration)
    # the calls are still recorded, one per role that worked
    calls = sqlite3.connect(private_history).execute("SELECT role FROM calls WHERE run_id = ?", (run_id,))
    assert {row[0] for row in calls} >= {"coordinator", "generator"}


async def test_a_broken_run_without_repairs_is_recorded_not_working(
    tmp_path: Path, private_history: Path
) -> None:
    manifest = await run(Generator(BROKEN), tmp_path / "out", repairs_asked=1, repairs=0)
    assert manifest.status == "not_working"
    ((run_id, _, _, status, verdict, _, score, repairs, judged, _, _, _),) = run_rows(private_history)
    assert (run_id, status, verdict, repairs, judged) == (manifest.run_id, "not_working", "failed", 0, 1)
    assert score is not None and score < 1.0
    (stats,) = History(private_history).generator_run_stats()
    assert (stats.generator_model, stats.failed, stats.verified_rate) == ("test", 1, 0.0)


def test_a_history_that_cannot_record_the_run_does_not_fail_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents.manifest import AgentUsage, Manifest
    from agents.pipeline import record_history

    def refuse(self: History, rec: RunRecord) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(History, "record_run", refuse)
    manifest = Manifest(request="x", agents={"generator": AgentUsage(model="m", requests=1)}, status="ok")
    with pytest.warns(UserWarning, match="history not recorded: database is locked"):
        record_history(manifest)


# -- `python -m agents.models history` --------------------------------------------------------


@pytest.fixture
def recorded(private_history: Path) -> History:
    history = History(private_history)
    for record in (
        a_run("g1", "openai:g", "verified", 10.0),
        a_run("g2", "openai:g", "verified", 30.0),
        a_run("g3", "openai:g", "failed", 20.0),
        a_run("g4", "openai:g", "infrastructure", 5.0),
        a_run("h1", "ollama:h", None, 7.0, source="eval", cost=None),
    ):
        history.record_run(record)
    history.record_call(
        CallRecord(model="openai:g", role="generator", task_type=None, started=T0, duration=1.0, requests=1,
                   input_tokens=1, output_tokens=2, cost=None, outcome="ok", error_class=None, run_id="g1")
    )  # fmt: skip
    return history


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["history", *args])


def test_cli_shows_pipeline_runs_per_generator(recorded: History) -> None:
    shown = invoke()
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert "1 call(s), newest first" in shown.stdout and "pipeline runs, per generator model" in shown.stdout
    (g,) = [line for line in lines if "openai:g" in line and "%" in line]
    # runs, verified, failed, not verified, infrastructure, no verdict
    assert g.replace("│", " ").split()[1:7] == ["4", "2", "1", "0", "1", "0"]
    assert f"67% {wilson(2, 3)}" in g and "15.0s" in g and "2000" in g and "$0.0200" in g
    (h,) = [line for line in lines if "ollama:h" in line]
    assert h.count("n/a") == 3 and "7.0s" in h  # no rate, no tokens or cost per verified run

    only = invoke("--runs", "--source", "eval")
    assert only.exit_code == 0 and "ollama:h" in only.stdout and "openai:g" not in only.stdout
    assert "call(s)" not in only.stdout


def test_cli_runs_json_and_empty(recorded: History) -> None:
    rows = json.loads(invoke("--runs", "--json", "--model", "openai:g").stdout)
    assert [r["generator_model"] for r in rows] == ["openai:g"]
    (g,) = rows
    assert (g["runs"], g["verified"], g["judged"], g["infrastructure"]) == (4, 2, 3, 1)
    assert g["verified_rate"] == pytest.approx(2 / 3)
    assert g["verified_interval"]["low"] == pytest.approx(wilson(2, 3).low)
    # the calls JSON keeps its shape (a list of calls)
    assert [c["run_id"] for c in json.loads(invoke("--json").stdout)] == ["g1"]
    assert invoke("--runs", "--model", "nobody").stdout.strip() == "no pipeline runs recorded that match"


def test_cli_without_a_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODECREW_HISTORY", str(tmp_path / "none.sqlite"))
    shown = invoke("--runs")
    assert shown.exit_code == 0 and shown.stdout.strip() == "no pipeline runs recorded yet"
    assert not (tmp_path / "none.sqlite").exists()


# -- the dashboard's metrics API (httpx through FastAPI's TestClient) ----------------------------


def test_metrics_api_gives_pipeline_runs_per_generator(recorded: History, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from evals.serve.app import create_app

    client = TestClient(create_app(reports_dir=tmp_path / "reports"), base_url="http://127.0.0.1:8321")
    body = client.get("/api/performance/metrics").json()
    h, g = body["pipeline_runs"]
    assert (g["generator_model"], g["runs"], g["verified"], g["failed"]) == ("openai:g", 4, 2, 1)
    assert (g["infrastructure"], g["no_verdict"], g["judged"]) == (1, 0, 3)
    assert g["verified_rate"] == pytest.approx(2 / 3)
    assert g["verified_interval"] == pytest.approx({"low": wilson(2, 3).low, "high": wilson(2, 3).high})
    assert (g["median_duration"], g["tokens_per_verified"]) == (15.0, 2000.0)
    assert (h["generator_model"], h["no_verdict"], h["verified_rate"], h["verified_interval"]) == (
        "ollama:h", 1, None, None,
    )  # fmt: skip
    runs = client.get("/api/performance/metrics", params={"source": "run", "model": "openai:g"}).json()
    assert [r["generator_model"] for r in runs["pipeline_runs"]] == ["openai:g"]
    assert client.get("/api/performance/metrics", params={"source": "probe"}).json()["pipeline_runs"] == []


async def test_an_eval_pipeline_case_records_its_run_as_eval(tmp_path: Path) -> None:
    from evals.tasks import CaseInputs, TaskFactory

    asked: list[dict[str, Any]] = []

    async def pipeline(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs)
        raise ConnectionError("scripted: no pipeline here")

    factory = TaskFactory(tmp_path, settings=settings(), pipeline_fn=pipeline)
    await factory.pipeline_task("test", suite="bench")(CaseInputs(prompt="x"))
    assert [kw.get("source") for kw in asked] == ["eval"]


def test_an_eval_records_generator_calls_once_and_leaves_pipeline_calls_to_the_pipeline(
    private_history: Path,
) -> None:
    from evals.history import record_history as record_eval_run
    from evals.report import RunReport
    from evals.results import CaseResult

    def case(mode: str, **usage: Any) -> CaseResult:
        return CaseResult(
            suite="bench", model="m", mode=mode, case="c1", passed=True, reason="ok", error_class=None,
            failure=None, duration=2.0, started=datetime.now(UTC).isoformat(), **usage,
        )  # fmt: skip

    pipeline = case("pipeline", requests=3, output_tokens=90)
    pipeline.agents = {"generator": {"model": "m", "requests": 1, "output_tokens": 80}}
    report = RunReport("eval-1", "2026-12-07T00:00:00", None, ["bench"], ["m"], ["generator", "pipeline"], {})
    report.cases = [case("generator", requests=1, output_tokens=40), pipeline]
    record_eval_run(report)
    calls = (
        sqlite3.connect(private_history).execute("SELECT role, output_tokens, source FROM calls").fetchall()
    )
    assert calls == [("generator", 40, "eval")]  # the pipeline case's calls: recorded by run_pipeline
    modes = sqlite3.connect(private_history).execute("SELECT mode FROM evals ORDER BY mode").fetchall()
    assert modes == [("generator",), ("pipeline",)]
