"""Durable eval runs on real DBOS: resume after a kill, workers sharing a run, provider limits.

The subprocess tests run `python -m evals.run` / `python -m evals.worker` against a scripted
OpenAI-compatible server on 127.0.0.1 (bench/scripted_model.py) that answers HumanEval
tasks with their canonical solutions after a fixed latency. The Postgres tests need
CODECREW_TEST_POSTGRES_URL (`.ci/run` starts a server); in CI they must run, locally they
skip without it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai.messages import ModelMessage
from pydantic_ai.models.function import AgentInfo, FunctionModel

from agents.config import ConfigError, DurableSettings
from agents.models.catalog import CatalogError, ProviderLimit, limit_provider, parse_limits, provider_limits
from bench.scripted_model import ScriptedModelServer
from evals import run
from evals.tasks import TaskFactory

REPO = Path(__file__).resolve().parent.parent
MODELS = "openai-chat:m1,openai-chat:m2"


# --- helpers ---------------------------------------------------------------------------------


def evals_env(tmp_path: Path, server: ScriptedModelServer, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODECREW_", "OPENAI_"))}
    env.update(server.env())
    env.update(
        PYTHONPATH=str(REPO),
        CODECREW_DATABASE_URL=database_url,
        CODECREW_HISTORY=str(tmp_path / "history.sqlite"),
        CODECREW_CACHE_DIR=str(tmp_path / "cache"),
        CODECREW_WORKER_TIMEOUT="20",
        **extra,
    )
    return env


def python_module(module: str, env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def evals_run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[str]:
    return python_module("evals.run", env, cwd, *args)


def humaneval_args(limit: int, models: str = MODELS) -> list[str]:
    return ["--suite", "humaneval", "--mode", "generator", "--limit", str(limit), "--models", models]


@contextmanager
def running_workers(env: dict[str, str], cwd: Path, count: int) -> Iterator[list[subprocess.Popen[str]]]:
    """`count` evals.worker processes, each past its "taking cases" line; stopped at the end."""
    workers = [python_module("evals.worker", env, cwd) for _ in range(count)]
    try:
        for w in workers:
            assert w.stdout is not None and "taking cases" in w.stdout.readline()
        yield workers
    finally:
        for w in workers:
            stop(w)


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"{proc.args!r} did not finish in {timeout:g}s:\n{out[-3000:]}") from None
    return proc.returncode, out


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def report_of(report_dir: Path) -> dict[str, Any]:
    [path] = report_dir.glob("*/report.json")
    return json.loads(path.read_text())


def keys(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(c["model"], c["suite"], c["mode"], c["case"], c["sample"]) for c in report["cases"]]


def content(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What a report found, without times and paths."""
    return sorted(
        (c["model"], c["case"], c["sample"], c["passed"], c["reason"], c["failure"], c["requests"])
        for c in report["cases"]
    )


def case_statuses(database_url: str, run_id: str) -> list[Any]:
    from dbos import DBOSClient

    client = DBOSClient(system_database_url=database_url)
    try:
        return client.list_workflows(workflow_id_prefix=run_id + "|", load_input=False, load_output=False)
    finally:
        client.destroy()


def case_running_in(
    proc: subprocess.Popen[str], database_url: str, report_dir: Path, server: ScriptedModelServer
) -> str | None:
    """The workflow id of a case `proc` is running in the run under `report_dir`, with its
    request at the server for less than half the server's latency (so the case cannot finish
    before the caller acts on it, even on a loaded machine), else None."""
    runs = list(report_dir.glob("*"))
    if not runs:
        return None
    pending = [
        s.workflow_id
        for s in case_statuses(database_url, runs[0].name)
        if s.status == "PENDING" and (s.executor_id or "").endswith(f":{proc.pid}")
    ]
    now = time.time()  # after the query: its time counts against the window
    with server.lock:
        asked = {
            a.task_id.replace("/", "_")
            for a in server.arrivals
            if a.task_id and now - a.at < server.latency / 2
        }
    busy = [wid for wid in pending if wid.split("|")[4] in asked]
    return busy[0] if busy else None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database on the test Postgres server (CODECREW_TEST_POSTGRES_URL)."""
    base = os.environ.get("CODECREW_TEST_POSTGRES_URL")
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "CI runs the Postgres tests: CODECREW_TEST_POSTGRES_URL is unset (.ci/run starts a server)"
            )
        pytest.skip("no Postgres: set CODECREW_TEST_POSTGRES_URL=postgresql://... (.ci/run starts one)")
    import psycopg

    name = f"codecrew_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")
    yield base.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(base, autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- configuration -----------------------------------------------------------------------------


def test_the_state_defaults_to_a_sqlite_file_in_the_cache_folder(tmp_path: Path) -> None:
    settings = DurableSettings.load({"CODECREW_CACHE_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path.resolve()}/evals.sqlite"
    pg = DurableSettings.load(
        {"CODECREW_DATABASE_URL": "postgresql://u@db/x", "CODECREW_WORKER_TIMEOUT": "5"}
    )
    assert (pg.database_url, pg.worker_timeout) == ("postgresql://u@db/x", 5.0)
    with pytest.raises(ConfigError, match="CODECREW_DATABASE_URL must be postgresql://"):
        DurableSettings.load({"CODECREW_DATABASE_URL": "mysql://db/x"})


def test_provider_limits_come_from_the_catalog_and_overrides_win() -> None:
    limits = provider_limits()
    assert limits["openrouter-free"] == ProviderLimit(rate=20, period=60.0)
    limits = provider_limits("openrouter-free: rate=10/30 concurrency=2; openai: concurrency=8")
    assert limits["openrouter-free"] == ProviderLimit(rate=10, period=30.0, concurrency=2)
    assert limits["openai"] == ProviderLimit(concurrency=8)
    assert limit_provider("openrouter:qwen/qwen3-coder:free") == "openrouter-free"
    assert limit_provider("openrouter:deepseek/deepseek-chat") == "openrouter"
    assert limit_provider("openai-chat:gpt-4o-mini") == "openai"
    with pytest.raises(CatalogError, match="rate=N/SECONDS"):
        parse_limits("openai: speed=3")
    with pytest.raises(CatalogError, match="positive"):
        parse_limits("openai: rate=0/60")


def test_a_lost_worker_is_told_by_its_pid_here_and_by_its_heartbeat_elsewhere() -> None:
    from dbos import WorkflowStatus

    from evals.durable import is_lost

    def status(executor: str, heartbeat: float | None) -> WorkflowStatus:
        s = WorkflowStatus.__new__(WorkflowStatus)
        s.executor_id, s.attributes = executor, {"heartbeat": heartbeat}
        s.dequeued_at = s.updated_at = s.created_at = 1_000
        return s

    now = 60_000.0
    alive = {42}.__contains__
    # same host: a dead pid is lost at once, a live one only when its heartbeat stopped
    assert is_lost(status("worker:here:7", now - 1_000), now, 30, host="here", alive=alive)
    assert not is_lost(status("worker:here:42", now - 1_000), now, 30, host="here", alive=alive)
    assert is_lost(status("worker:here:42", now - 31_000), now, 30, host="here", alive=alive)
    # another host: the heartbeat alone decides
    assert not is_lost(status("worker:there:7", now - 29_000), now, 30, host="here", alive=alive)
    assert is_lost(status("worker:there:7", None), now, 30, host="here", alive=alive)


def test_history_of_schema_1_gains_the_sample_column(tmp_path: Path) -> None:
    from tools.history import EvalRecord, History

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE evals (id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, suite TEXT NOT NULL,"
        " model TEXT NOT NULL, mode TEXT NOT NULL, case_name TEXT NOT NULL, passed INTEGER NOT NULL,"
        " reason TEXT NOT NULL, duration REAL NOT NULL, input_tokens INTEGER NOT NULL,"
        " output_tokens INTEGER NOT NULL, cost REAL, lazy INTEGER NOT NULL, error_class TEXT,"
        " started TEXT NOT NULL);"
        "INSERT INTO evals VALUES (1, 'r', 's', 'm', 'generator', 'c', 1, 'ok', 1, 1, 1, NULL, 0, NULL, '2026');"
        "PRAGMA user_version = 1;"
    )
    db.close()
    history = History(path)
    history.record_eval(
        EvalRecord("r2", "s", "m", "generator", "c", True, "ok", 1, 1, 1, None, False, None, _now(), sample=3)
    )
    rows = sqlite3.connect(path).execute("SELECT run_id, sample FROM evals ORDER BY id").fetchall()
    assert rows == [("r", 0), ("r2", 3)]


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


# --- in-process runs (SQLite) -----------------------------------------------------------------


def test_samples_ask_each_case_with_its_own_seed(tmp_path: Path, private_history: Path) -> None:
    from tests.test_evals_run import solver

    seen: list[int] = []
    answer = solver().function
    assert answer is not None

    def record(messages: list[ModelMessage], info: AgentInfo) -> Any:
        seen.append((info.model_settings or {}).get("seed", -1))
        return answer(messages, info)

    from agents.config import Settings

    settings = Settings.load({})  # the generator's configured seed: 7
    factory = TaskFactory(tmp_path, builder=lambda spec: FunctionModel(record), settings=settings)
    code = run.run_eval(
        ["m"], ["humaneval"], ["generator"], limit=2, samples=3, report_dir=tmp_path / "r", factory=factory
    )
    assert code == 0
    assert sorted(seen) == [7, 7, 8, 8, 9, 9]  # the configured seed 7, then one more per sample
    report = report_of(tmp_path / "r")
    assert sorted(keys(report)) == [
        ("m", "humaneval", "generator", f"HumanEval_{i}", s) for i in range(2) for s in range(3)
    ]
    assert report["options"]["samples"] == 3 and all(c["passed"] for c in report["cases"])
    rows = sqlite3.connect(private_history).execute("SELECT case_name, sample FROM evals").fetchall()
    assert sorted(rows) == [(f"HumanEval_{i}", s) for i in range(2) for s in range(3)]
    work = tmp_path / "r" / report["run_id"] / "work" / "humaneval" / "m" / "generator"
    assert sorted(p.name for p in work.iterdir()) == [
        "HumanEval_0",
        "HumanEval_0.s1",
        "HumanEval_0.s2",
        "HumanEval_1",
        "HumanEval_1.s1",
        "HumanEval_1.s2",
    ]


def test_a_run_stopped_by_ctrl_c_resumes_with_the_cases_left(tmp_path: Path, private_history: Path) -> None:
    from tests.test_evals_run import solver

    calls: list[str] = []
    answer = solver().function
    assert answer is not None

    def interrupt_on_third(messages: list[ModelMessage], info: AgentInfo) -> Any:
        calls.append("x")
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return answer(messages, info)

    factory = TaskFactory(tmp_path, concurrency=1, builder=lambda spec: FunctionModel(interrupt_on_third))
    args: dict[str, Any] = {"limit": 6, "concurrency": 1, "report_dir": tmp_path / "r"}
    assert run.run_eval(["m"], ["humaneval"], ["generator"], factory=factory, **args) == 130
    first = report_of(tmp_path / "r")
    assert 2 <= len(first["cases"]) < 6
    asked_before = len(calls)

    factory = TaskFactory(tmp_path, concurrency=1, builder=lambda spec: FunctionModel(answer))
    assert run.run_eval([], [], [], resume=first["run_id"], factory=factory, report_dir=tmp_path / "r") == 0
    whole = report_of(tmp_path / "r")  # the same folder: one report for the whole run
    assert whole["run_id"] == first["run_id"]
    assert keys(whole) == [("m", "humaneval", "generator", f"HumanEval_{i}", 0) for i in range(6)]
    assert all(c["passed"] for c in whole["cases"])
    # the cases reported before were not asked again
    assert {c["case"] for c in first["cases"]} <= {c["case"] for c in whole["cases"]}
    assert asked_before <= 4
    rows = sqlite3.connect(private_history).execute("SELECT case_name FROM evals").fetchall()
    assert sorted(rows) == [(f"HumanEval_{i}",) for i in range(6)]  # recorded once each


def test_resume_of_an_unknown_run_is_a_config_error(tmp_path: Path) -> None:
    code = run.run_eval([], [], [], resume="20990101-000000-nope", report_dir=tmp_path)
    assert code == 2


# --- subprocesses: a killed run (SQLite) -----------------------------------------------------


def test_a_killed_run_resumes_and_reports_every_case_once(tmp_path: Path) -> None:
    """SIGKILL halfway, then --resume: every case exactly once, and the same report content
    as a run that was never interrupted."""
    args = [*humaneval_args(3), "--concurrency", "1"]
    with ScriptedModelServer(latency=0.4) as server:
        env = evals_env(tmp_path, server, f"sqlite:///{tmp_path / 'evals.sqlite'}")
        code, out = finish(evals_run(env, tmp_path, *args, "--report-dir", str(tmp_path / "whole")))
        assert code == 0, out
        reference = report_of(tmp_path / "whole")
        server.arrivals.clear()

        killed = evals_run(env, tmp_path, *args, "--report-dir", str(tmp_path / "killed"))
        wait_until(lambda: len(server.arrivals) >= 3, 60, "half the cases to be asked")
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        [run_dir] = (tmp_path / "killed").iterdir()
        assert not (run_dir / "report.json").exists()
        asked_before_kill = len(server.arrivals)

        code, out = finish(evals_run(env, tmp_path, "--resume", run_dir.name))
        assert code == 0, out
    resumed = report_of(tmp_path / "killed")
    assert resumed["run_id"] == run_dir.name
    assert sorted(keys(resumed)) == sorted(keys(reference)) and len(set(keys(resumed))) == 6
    assert content(resumed) == content(reference)
    assert all(c["passed"] for c in resumed["cases"])
    # only the cases without a result were asked again (at most the two in flight twice)
    assert len(server.arrivals) <= 6 + 2 and asked_before_kill < 6
    statuses = case_statuses(env["CODECREW_DATABASE_URL"], run_dir.name)
    assert len(statuses) == 6 and {s.status for s in statuses} == {"SUCCESS"}
    history = sqlite3.connect(tmp_path / "history.sqlite")
    rows = history.execute("SELECT model, case_name FROM evals WHERE run_id = ?", (run_dir.name,)).fetchall()
    assert len(rows) == 6 == len(set(rows))


# --- subprocesses: workers on Postgres ---------------------------------------------------------


def test_workers_share_a_run_and_a_killed_workers_case_runs_once(tmp_path: Path, postgres_url: str) -> None:
    with ScriptedModelServer(latency=1.0) as server:
        env = evals_env(tmp_path, server, postgres_url)
        with running_workers(env, tmp_path, 2) as workers:
            args = humaneval_args(4)
            starter = evals_run(
                env, tmp_path, *args, "--concurrency", "1", "--report-dir", str(tmp_path / "r")
            )
            victim = f":{workers[0].pid}"
            lost = wait_until(
                lambda: case_running_in(workers[0], postgres_url, tmp_path / "r", server),
                60,
                "the first worker to be mid-case",
            )
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait()
            code, out = finish(starter)
            assert code == 0, out
    report = report_of(tmp_path / "r")
    assert len(keys(report)) == 8 == len(set(keys(report)))  # none lost, none twice
    assert all(c["passed"] for c in report["cases"])
    statuses = {s.workflow_id: s for s in case_statuses(postgres_url, report["run_id"])}
    assert len(statuses) == 8 and {s.status for s in statuses.values()} == {"SUCCESS"}
    # the killed worker's case went back on the queue and another process finished it
    assert statuses[lost].attributes["requeued"] >= 1
    assert not statuses[lost].executor_id.endswith(victim)
    executors = {s.executor_id.split(":")[0] for s in statuses.values()}
    assert executors == {"run", "worker"}  # the starter and the workers shared the cases


def test_a_provider_rate_limit_holds_across_workers(tmp_path: Path, postgres_url: str) -> None:
    """3 cases per 3 s for the provider, whatever the number of processes asking."""
    with ScriptedModelServer(latency=0.3) as server:
        env = evals_env(tmp_path, server, postgres_url)
        with running_workers(env, tmp_path, 2):
            args = humaneval_args(9, "openai-chat:m1")
            args += ["--concurrency", "1", "--provider-limit", "openai: rate=3/3"]
            code, out = finish(evals_run(env, tmp_path, *args, "--report-dir", str(tmp_path / "r")))
            assert code == 0, out
    report = report_of(tmp_path / "r")
    assert len(set(keys(report))) == 9 and all(c["passed"] for c in report["cases"])
    statuses = case_statuses(postgres_url, report["run_id"])
    assert len({s.executor_id for s in statuses}) >= 2  # several processes took cases
    # DBOS's own start times (database clock): never more than 3 in any 3 s
    started = sorted(s.dequeued_at for s in statuses)
    assert all(started[i + 3] - started[i] >= 3000 for i in range(len(started) - 3)), started
    # and at the server, less the spread of the time a process takes from starting a case to
    # asking (a process's first case builds the model client): without the limit, 3 processes
    # would ask at once and again 0.3 s later
    start_of = {s.workflow_id.split("|")[4]: s.dequeued_at / 1000 for s in statuses}
    delays = [a.at - start_of[str(a.task_id).replace("/", "_")] for a in server.arrivals]
    jitter = max(delays) - min(delays)
    assert jitter < 1.5, delays
    arrived = sorted(a.at for a in server.arrivals)
    assert len(arrived) == 9
    assert all(arrived[i + 3] - arrived[i] >= 3 - jitter for i in range(len(arrived) - 3)), (arrived, jitter)


def test_a_stopped_worker_hands_its_case_back_at_once(tmp_path: Path) -> None:
    """SIGTERM: the worker puts the case it was running back on the queue before it exits
    (SQLite, several processes on one machine)."""
    with ScriptedModelServer(latency=1.5) as server:
        env = evals_env(tmp_path, server, f"sqlite:///{tmp_path / 'evals.sqlite'}")
        with running_workers(env, tmp_path, 1) as [helper]:
            args = humaneval_args(3, "openai-chat:m1")
            starter = evals_run(
                env, tmp_path, *args, "--concurrency", "1", "--report-dir", str(tmp_path / "r")
            )
            handed_back = wait_until(
                lambda: case_running_in(helper, env["CODECREW_DATABASE_URL"], tmp_path / "r", server),
                60,
                "the worker to be mid-case",
            )
            helper.send_signal(signal.SIGTERM)
            assert helper.wait(timeout=30) == 0
            code, out = finish(starter)
            assert code == 0, out
    report = report_of(tmp_path / "r")
    assert len(keys(report)) == 3 == len(set(keys(report))) and all(c["passed"] for c in report["cases"])
    statuses = {s.workflow_id: s for s in case_statuses(env["CODECREW_DATABASE_URL"], report["run_id"])}
    assert statuses[handed_back].status == "SUCCESS"
    assert statuses[handed_back].executor_id.startswith("run:")  # the starter finished it
    assert "requeued" not in (statuses[handed_back].attributes or {})  # handed back, not found dead


def test_finished_runs_are_pruned_from_the_state_database(tmp_path: Path, private_eval_database: str) -> None:
    from evals import durable
    from tests.test_evals_run import solver

    factory = TaskFactory(tmp_path, builder=lambda spec: FunctionModel(solver().function))
    args: dict[str, Any] = {"limit": 2, "report_dir": tmp_path / "r", "factory": factory}
    assert run.run_eval(["m"], ["humaneval"], ["generator"], **args) == 0
    run_id = report_of(tmp_path / "r")["run_id"]
    assert len(case_statuses(private_eval_database, run_id)) == 2

    with durable.session("test") as session:
        assert session.prune() == 0  # finished minutes ago: kept for KEEP_FINISHED_DAYS
        assert len(case_statuses(private_eval_database, run_id)) == 2
        assert session.prune(days=0) == 1
    assert case_statuses(private_eval_database, run_id) == []  # its cases went with it
    assert report_of(tmp_path / "r")["run_id"] == run_id  # the report stays


def test_a_failed_prune_does_not_stop_the_new_run(
    tmp_path: Path, private_eval_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evals import durable
    from tests.test_evals_run import solver

    def locked(self: durable.Session, days: float = durable.KEEP_FINISHED_DAYS) -> int:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(durable.Session, "prune", locked)
    factory = TaskFactory(tmp_path, builder=lambda spec: FunctionModel(solver().function))
    assert (
        run.run_eval(["m"], ["humaneval"], ["generator"], limit=2, report_dir=tmp_path / "r", factory=factory)
        == 0
    )
    report = report_of(tmp_path / "r")
    assert len(report["cases"]) == 2 and all(c["passed"] for c in report["cases"])
    assert any("not pruned" in note and "database is locked" in note for note in report["notes"])
