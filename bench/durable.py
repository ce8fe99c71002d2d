"""What durable eval runs cost and how they scale, with scripted models of fixed latency.

    .venv/bin/python -m bench.durable                                 # SQLite in a temp dir
    .venv/bin/python -m bench.durable --database-url postgresql://user@host/db

1. Overhead per case: the same HumanEval cases answered by a scripted OpenAI-compatible
   server (bench/scripted_model.py) after a fixed latency, run (a) in-process with plain
   asyncio (evals.jobs.run_jobs, no durable state) and (b) durably (evals.durable: each case
   a DBOS workflow on its provider's queue), against the ideal (the model's latency alone).
   Both include judging (each answer runs against HumanEval's tests in the sandbox).
2. Sweep: one run of N cases with 1, 2 and 4 processes taking cases (the starting process
   plus `python -m evals.worker` processes), each at the same per-model concurrency; the
   wall time from the run's start to its last case, against the ideal
   ceil(N / (processes × concurrency)) × latency. Needs a database several processes
   can share: SQLite on one machine, Postgres anywhere.

Only scripted servers on 127.0.0.1 are asked; nothing reaches a real model.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.scripted_model import ScriptedModelServer

REPO = Path(__file__).resolve().parent.parent
MODEL = "openai-chat:bench"


def overhead(database_url: str, cases: int, concurrency: int, latency: float, work: Path) -> dict[str, float]:
    """Seconds for `cases` cases at `concurrency`: ideal, plain asyncio, durable."""
    from agents.config import DurableSettings
    from evals import durable
    from evals.jobs import plan, run_jobs
    from evals.tasks import TaskFactory

    ideal = math.ceil(cases / concurrency) * latency
    with ScriptedModelServer(latency=latency) as server:
        os.environ.update(server.env())
        jobs = plan([MODEL], ["humaneval"], ["generator"], cases)
        asyncio.run(
            run_jobs(jobs, TaskFactory(work / "warm", concurrency=concurrency), work, concurrency=concurrency)
        )
        started = time.perf_counter()
        rows = asyncio.run(
            run_jobs(
                jobs, TaskFactory(work / "plain", concurrency=concurrency), work, concurrency=concurrency
            )
        )
        plain = time.perf_counter() - started
        assert len(rows) == cases and all(r.passed for r in rows), [r.reason for r in rows if not r.passed]
        spec = durable.RunSpec(
            run_id=f"bench-{os.getpid()}-{time.time_ns()}",
            started="",
            models=[MODEL],
            suites=["humaneval"],
            modes=["generator"],
            limit=cases,
            concurrency=concurrency,
            report_dir=str(work),
        )
        with durable.session("run", DurableSettings(database_url=database_url)) as session:
            session.register_queues(spec)
            started = time.perf_counter()
            session.start(spec)
            asyncio.run(session.wait(spec, poll=0.05))
            durable_s = time.perf_counter() - started
            rows = session.results(spec)
        assert len(rows) == cases and all(r.passed for r in rows), [r.reason for r in rows if not r.passed]
    return {"ideal": ideal, "plain": plain, "durable": durable_s}


def sweep_point(
    database_url: str, processes: int, cases: int, concurrency: int, latency: float, work: Path
) -> dict[str, Any]:
    """One run with `processes` processes taking cases; its wall time from the run's
    workflow starting to its last case finishing (DBOS's clock)."""
    from dbos import DBOSClient

    with ScriptedModelServer(latency=latency) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CODECREW_", "OPENAI_"))}
        env.update(server.env())
        env.update(
            PYTHONPATH=str(REPO),
            CODECREW_DATABASE_URL=database_url,
            CODECREW_HISTORY=str(work / "history.sqlite"),
        )
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "evals.worker"],
                cwd=work,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(processes - 1)
        ]
        try:
            for w in workers:
                assert w.stdout is not None and "taking cases" in w.stdout.readline()
            report_dir = work / f"sweep-{processes}"
            args = ["--suite", "humaneval", "--mode", "generator", "--limit", str(cases), "--models", MODEL]
            args += ["--concurrency", str(concurrency), "--report-dir", str(report_dir), "--no-history"]
            done = subprocess.run(
                [sys.executable, "-m", "evals.run", *args], cwd=work, env=env, capture_output=True, text=True
            )
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
            for w in workers:
                w.wait(timeout=60)
    [run_dir] = report_dir.iterdir()
    client = DBOSClient(system_database_url=database_url)
    try:
        [run] = client.list_workflows(workflow_ids=[run_dir.name], load_input=False, load_output=False)
        found = client.list_workflows(
            workflow_id_prefix=run_dir.name + "|", load_input=False, load_output=False
        )
    finally:
        client.destroy()
    assert len(found) == cases and {s.status for s in found} == {"SUCCESS"}
    wall = (max(s.completed_at or 0 for s in found) - (run.created_at or 0)) / 1000
    by = {s.executor_id.split(":")[0] + ":" + s.executor_id.split(":")[-1] for s in found if s.executor_id}
    return {
        "processes": processes,
        "ideal": math.ceil(cases / (processes * concurrency)) * latency,
        "wall": wall,
        "executors": len(by),
        "peak": server.most_in_flight,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="default: a SQLite file in a temp dir")
    parser.add_argument("--cases", type=int, default=16, help="HumanEval cases (overhead test)")
    parser.add_argument("--sweep-cases", type=int, default=24, help="HumanEval cases per sweep run")
    parser.add_argument("--concurrency", type=int, default=2, help="cases at a time per model and process")
    parser.add_argument("--latency", type=float, default=1.0, help="the scripted model's seconds per answer")
    parser.add_argument("--processes", default="1,2,4", help="sweep points")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="codecrew-bench-durable-"))
    os.environ["CODECREW_HISTORY"] = str(work / "history.sqlite")
    url = args.database_url or f"sqlite:///{work / 'evals.sqlite'}"
    where = "Postgres" if url.startswith("postgres") else "SQLite"
    print(f"# durable eval runs, {where}, scripted model latency {args.latency:g} s\n")

    o = overhead(url, args.cases, args.concurrency, args.latency, work)
    rounds = math.ceil(args.cases / args.concurrency)
    print(f"{args.cases} HumanEval cases, {args.concurrency} at a time, one process:\n")
    print("| path | wall | over the ideal, per case |")
    print("| --- | --- | --- |")
    for name in ("ideal", "plain", "durable"):
        extra = (o[name] - o["ideal"]) / rounds
        print(f"| {name} | {o[name]:.2f} s | {extra:+.3f} s |")
    print(f"\ndurable over plain asyncio: {(o['durable'] - o['plain']) / rounds:+.3f} s per case\n")

    print(f"sweep: {args.sweep_cases} cases, {args.concurrency} per model and process:\n")
    print("| processes | wall | ideal | wall / ideal | processes that took cases | most requests at once |")
    print("| --- | --- | --- | --- | --- | --- |")
    for n in (int(p) for p in args.processes.split(",")):
        point = sweep_point(url, n, args.sweep_cases, args.concurrency, args.latency, work)
        print(
            f"| {n} | {point['wall']:.1f} s | {point['ideal']:.1f} s | {point['wall'] / point['ideal']:.2f}"
            f" | {point['executors']} | {point['peak']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
