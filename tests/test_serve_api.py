"""The dashboard's API and pages over a filled history (httpx through FastAPI's TestClient)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from agents.cli import app as codecrew
from evals.serve.app import create_app
from evals.serve.cli import app as serve_cli
from evals.serve.security import InsecureBind, ServeConfig
from tests.dashboard_fixtures import fill_history, scripted_builder
from tools.history import History

BASE = "http://127.0.0.1:8321"


@pytest.fixture
def history(private_history: Path) -> History:
    h = History(private_history)
    fill_history(h)
    return h


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    return tmp_path / "reports"


@pytest.fixture
def client(history: History, reports: Path) -> TestClient:
    return TestClient(create_app(reports_dir=reports, builder=scripted_builder), base_url=BASE)


def wait_for(client: TestClient, run_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s")


# -- metrics ---------------------------------------------------------------------------------


def test_metrics_per_model(client: TestClient) -> None:
    body = client.get("/api/performance/metrics").json()
    models = {m["model"]: m for m in body["models"]}
    assert set(models) == {"openai:a", "openai:b"}  # the probe-only model is not work
    a = models["openai:a"]
    assert (a["calls"], a["successes"]) == (9, 8)  # 8 eval calls + 1 run call
    assert a["median_latency"] == 3.5  # ok calls only: 0.5 1 2 3 4 5 6 7
    assert a["p90_latency"] == pytest.approx(6.3)
    assert a["error_classes"] == {"timeout": 1}
    assert a["cost_per_call"] == pytest.approx(0.01) and a["total_cost"] == pytest.approx(0.08)
    assert a["priced_calls"] == 8
    assert a["success_interval"]["low"] < 8 / 9 < a["success_interval"]["high"]
    [bench] = a["pass_rates"]
    assert (bench["suite"], bench["run_id"], bench["passed"], bench["total"]) == ("bench", "r1", 3, 4)
    assert bench["pass_at_k"] == {"pass@1": 0.75}
    he = next(r for r in models["openai:b"]["pass_rates"] if r["suite"] == "humaneval")
    assert he["samples"] == 3 and he["pass_at_k"]["pass@1"] == pytest.approx((1 + 1 / 3) / 2)
    assert he["pass_at_k"]["pass@3"] == pytest.approx(1.0)


def test_metrics_filters(client: TestClient) -> None:
    only = client.get("/api/performance/metrics", params={"model": "openai:b"}).json()["models"]
    assert [m["model"] for m in only] == ["openai:b"]
    probes = client.get("/api/performance/metrics", params={"source": "probe"}).json()["models"]
    assert [m["model"] for m in probes] == ["openai:old"]
    recent = client.get("/api/performance/metrics", params={"since": "150m"}).json()["models"]
    assert {m["model"]: m["calls"] for m in recent} == {"openai:a": 4, "openai:b": 3}
    roles = client.get("/api/performance/metrics", params={"model": "openai:a", "group_by": "role"}).json()
    assert [(m["role"], m["calls"]) for m in roles["models"]] == [("coordinator", 1), ("generator", 8)]


def test_bad_filters_are_422_with_one_clear_line(client: TestClient) -> None:
    bad = client.get("/api/performance/metrics", params={"since": "last week"})
    assert bad.status_code == 422
    assert bad.json() == {
        "detail": "since: cannot read since='last week': write a duration like 7d, 12h, 30m or a date like 2026-01-31"
    }
    bad = client.get("/api/performance/metrics", params={"source": "nope"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("source: Input should be 'run'")


# -- comparison ------------------------------------------------------------------------------


def test_comparison_says_no_significant_difference_on_four_cases(client: TestClient) -> None:
    body = client.get("/api/performance/comparison", params={"a": "openai:a", "b": "openai:b"}).json()
    assert body["choice"] == "no significant difference"
    quality = next(d for d in body["dimensions"] if d["name"] == "quality")
    assert quality["verdict"] == "no significant difference"
    assert (quality["a_count"], quality["b_count"]) == ("3/4", "2/4")  # bench: the suite both ran
    assert quality["a_interval"]["high"] > quality["b_interval"]["low"]
    assert body["thresholds"] == {
        "quality": 0.1, "cost_savings": 0.5, "latency": 2.0, "success_rate": 0.05, "min_calls": 5
    }  # fmt: skip
    assert any("95% intervals overlap" in r for r in body["reasons"])
    assert body["a"]["pass_rates"]["bench"] == {
        "successes": 3, "total": 4, "rate": 0.75, "interval": quality["a_interval"]
    }  # fmt: skip


def test_comparison_errors_are_json(client: TestClient) -> None:
    missing = client.get("/api/performance/comparison", params={"a": "openai:a", "b": "openai:zzz"})
    assert missing.status_code == 404
    assert missing.json() == {
        "detail": "nothing recorded for openai:zzz: run it (evals.run or agents.run) first"
    }
    bad = client.get("/api/performance/comparison", params={"a": "openai:a"})
    assert bad.status_code == 422 and bad.json() == {"detail": "b: Field required"}
    assert client.get("/api/nothing-here").json() == {"detail": "Not Found"}


# -- benchmark runs --------------------------------------------------------------------------


def test_benchmark_runs_the_eval_and_reports_progress_and_results(client: TestClient, reports: Path) -> None:
    started = client.post(
        "/api/performance/benchmark",
        json={"suite": "humaneval", "models": ["openai:good", "openai:bad"], "limit": 2},
    )
    assert started.status_code == 202, started.text
    accepted = started.json()
    assert accepted["total"] == 4 and accepted["status_url"] == f"/api/runs/{accepted['id']}"
    run = wait_for(client, accepted["id"])
    assert run["status"] == "done" and run["exit_code"] == 0
    assert (run["done"], run["total"]) == (4, 4)
    groups = {g["model"]: g for g in run["results"]["groups"]}
    assert groups["openai:good"]["rate"] == 1.0 and groups["openai:bad"]["rate"] == 0.0
    assert groups["openai:good"]["pass_at_k"] == {"pass@1": 1.0}
    eval_id = run["eval_run_id"]
    assert (reports / eval_id / "report.json").is_file()
    assert run["results"]["report_html"] == f"/files/{eval_id}/report.html"
    # the same run as evals.run makes: in the history, by its own id too
    assert client.get(f"/api/runs/{eval_id}").json()["results"]["groups"] == run["results"]["groups"]
    models = {m["model"] for m in client.get("/api/performance/metrics").json()["models"]}
    assert {"openai:good", "openai:bad"} <= models
    # a failing case: its reason, the answer and its files
    failing = next(c for c in run["results"]["cases"] if not c["passed"])
    detail = client.get(
        f"/api/runs/{accepted['id']}/case",
        params={k: failing[k] for k in ("suite", "model", "mode", "case")},
    ).json()
    assert "check() failed" in detail["reason"] and detail["failure"] == "check_failed"
    assert "return None" in detail["answer"]
    [file] = detail["files"]
    source = client.get(file["url"])
    assert source.status_code == 200 and "return None" in source.text
    assert source.headers["content-type"].startswith("text/plain")
    # pages: the run's matrix links each cell to its case page, which shows the reason
    page = client.get(f"/runs/{accepted['id']}").text
    assert 'class="cell fail"' in page and 'class="cell pass"' in page
    case_page = client.get(
        f"/runs/{accepted['id']}/case", params={k: failing[k] for k in ("suite", "model", "mode", "case")}
    )
    assert case_page.status_code == 200 and "check() failed" in case_page.text


def test_benchmark_refusals(history: History, reports: Path) -> None:
    release = threading.Event()

    def slow_runner(models: list[str], suites: list[str], modes: list[str], **kwargs: Any) -> int:
        release.wait(10)
        return 0

    client = TestClient(
        create_app(reports_dir=reports, run_eval=slow_runner, check_setup=False), base_url=BASE
    )
    post = lambda body: client.post("/api/performance/benchmark", json=body)  # noqa: E731
    bad = post({"suite": "bench", "models": ["nope"]})
    assert bad.status_code == 422 and "unknown model string 'nope'" in bad.json()["detail"]
    assert post({"models": ["local:qwen9-giant"]}).status_code == 422
    assert post({"models": ["openai:x", "openai:x"]}).json() == {"detail": "each model may be listed once"}
    assert post({"models": []}).json()["detail"].startswith("models: List should have at least 1 item")
    no_samples = post({"models": ["openai:x"], "samples": 3})
    assert no_samples.status_code == 422 and "no --samples yet" in no_samples.json()["detail"]
    first = post({"suite": "bench", "models": ["openai:x"], "limit": 1})
    assert first.status_code == 202
    busy = post({"suite": "bench", "models": ["openai:y"], "limit": 1})
    assert busy.status_code == 409 and "still running" in busy.json()["detail"]
    release.set()
    assert wait_for(client, first.json()["id"])["status"] == "done"
    assert client.get("/api/runs/bench-unknown").status_code == 404


def test_samples_reach_a_runner_that_takes_them(history: History, reports: Path) -> None:
    seen: dict[str, Any] = {}

    def runner(models: list[str], suites: list[str], modes: list[str], *, samples: int = 1, **kw: Any) -> int:
        seen.update(models=models, suites=suites, modes=modes, samples=samples, limit=kw["limit"])
        return 0

    client = TestClient(create_app(reports_dir=reports, run_eval=runner, check_setup=False), base_url=BASE)
    started = client.post("/api/performance/benchmark", json={"models": ["test"], "limit": 2, "samples": 3})
    assert started.status_code == 202 and started.json()["total"] == 6
    wait_for(client, started.json()["id"])
    assert seen == {"models": ["test"], "suites": ["bench"], "modes": ["generator"], "samples": 3, "limit": 2}


# -- files of a run --------------------------------------------------------------------------


def test_files_are_served_only_from_inside_the_run_folder(
    client: TestClient, reports: Path, tmp_path: Path
) -> None:
    run = reports / "r9"
    (run / "work").mkdir(parents=True)
    (run / "work" / "index.html").write_text("<script>alert(1)</script>")
    (tmp_path / "secret.txt").write_text("TOP-SECRET")
    (run / "work" / "link.txt").symlink_to(tmp_path / "secret.txt")
    page = client.get("/files/r9/work/index.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")  # never run here
    assert "sandbox" in page.headers["content-security-policy"]
    for path in ("/files/r9/work/link.txt", "/files/r9/../secret.txt", "/files/r9/%2e%2e/secret.txt",
                 "/files/..%2Fsecret.txt/x", "/files/r9/work", "/files/r9/%2Fetc%2Fpasswd"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 404, path
        assert "TOP-SECRET" not in response.text


def test_case_page_shows_the_screenshot(client: TestClient, reports: Path) -> None:
    run = reports / "r7"
    work = run / "work" / "tetris" / "m" / "generator" / "game"
    (work / "files").mkdir(parents=True)
    (work / "answer.md").write_text("```html\n<canvas></canvas>\n```")
    (work / "files" / "index.html").write_text("<canvas></canvas>")
    (work / "screenshot.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    rel = "work/tetris/m/generator/game"
    case = {"suite": "tetris", "model": "m", "mode": "generator", "case": "game", "passed": False,
            "reason": "BoardDrawn: the canvas stayed empty", "failure": "check_failed", "duration": 3.0,
            "checks": {"BoardDrawn": {"passed": False, "reason": "the canvas stayed empty"}},
            "work_dir": rel, "screenshot": f"{rel}/screenshot.png"}  # fmt: skip
    (run / "report.json").write_text(json.dumps({"run_id": "r7", "cases": [case]}))
    params = {"suite": "tetris", "model": "m", "mode": "generator", "case": "game"}
    detail = client.get("/api/runs/r7/case", params=params).json()
    assert detail["screenshot_url"] == f"/files/r7/{rel}/screenshot.png"
    assert detail["files"] == [{"path": "index.html", "url": f"/files/r7/{rel}/files/index.html"}]
    shot = client.get(detail["screenshot_url"])
    assert shot.headers["content-type"] == "image/png"
    page = client.get("/runs/r7/case", params=params).text
    assert "the canvas stayed empty" in page and f'src="/files/r7/{rel}/screenshot.png"' in page


def test_runs_only_a_report_folder_holds_are_listed_too(client: TestClient, reports: Path) -> None:
    """A run made with --no-history, or a report copied from another machine."""
    from datetime import timedelta

    from tests.dashboard_fixtures import NOW

    def report(run_id: str, **fields: Any) -> None:
        (reports / run_id).mkdir(parents=True)
        (reports / run_id / "report.json").write_text(json.dumps({"run_id": run_id, **fields}))

    cases = [{"suite": "bench", "model": "m", "mode": "generator", "case": f"c{i}", "passed": i == 0}
             for i in range(2)]  # fmt: skip
    started = (NOW - timedelta(hours=2)).isoformat()
    report("r5", started=started, models=["m"], suites=["bench"], cases=cases)
    report("r1", started=NOW.isoformat(), models=["x"], suites=["bench"], cases=[])  # the history has r1
    report("r8", cases=cases)  # no start time: listed last
    (reports / "junk").mkdir()  # no report.json
    report("r2", started="not a time", cases=None, models=None)  # a damaged report: listed as it can be
    runs = client.get("/api/runs").json()
    assert [r["id"] for r in runs] == ["r1", "r5", "r0", "r8", "r2"]
    assert runs[4]["total"] == 0 and runs[4]["started"] is None
    r5 = runs[1]
    assert (r5["models"], r5["suites"], r5["passed"], r5["total"]) == (["m"], ["bench"], 1, 2)
    assert runs[0]["models"] == ["openai:a", "openai:b"]  # the history's r1, not the folder's
    assert [r["id"] for r in client.get("/api/runs", params={"limit": 2}).json()] == ["r1", "r5"]
    assert 'href="/runs/r5"' in client.get("/runs").text


# -- pages -----------------------------------------------------------------------------------


def test_pages_render(client: TestClient) -> None:
    board = client.get("/").text
    assert 'class="sortable"' in board and "openai:a" in board and "75%" in board and "30–95%" in board
    assert board.count("<svg") == 2 and "/static/app.js" in board and "http" not in board.split("<nav>")[0]
    assert "pass@3 100%" in board  # openai:b's sampled humaneval
    compare = client.get("/compare", params={"a": "openai:a", "b": "openai:b"}).text
    assert "no significant difference" in compare and "95% intervals overlap" in compare
    model = client.get("/model", params={"name": "openai:a"}).text
    assert model.count("<svg") == 2 and "r0" in model and "r1" in model and "coordinator" in model
    matrix = client.get("/runs/r1").text
    assert matrix.count('class="cell fail"') == 3  # a: case3; b: case2, case3
    assert "/runs/r1/case?suite=bench&amp;model=openai%3Ab&amp;mode=generator&amp;case=case2" in matrix
    assert client.get("/runs").status_code == 200
    missing = client.get("/runs/nope")
    assert missing.status_code == 404 and "no run &#39;nope&#39;" in missing.text and "<html" in missing.text
    assert client.get("/static/app.css").status_code == 200


def test_empty_history_still_renders(private_history: Path, reports: Path) -> None:
    client = TestClient(create_app(reports_dir=reports), base_url=BASE)
    assert "Nothing recorded yet" in client.get("/").text
    assert client.get("/api/performance/metrics").json()["models"] == []
    assert client.get("/api/runs").json() == []
    assert not private_history.exists()  # looking never creates the history


# -- security --------------------------------------------------------------------------------


def test_binding_beyond_loopback_needs_a_token(reports: Path) -> None:
    with pytest.raises(InsecureBind, match="pass --token TOKEN or set CODECREW_SERVE_TOKEN"):
        create_app(reports_dir=reports, config=ServeConfig(host="0.0.0.0"))
    result = CliRunner().invoke(serve_cli, ["--host", "0.0.0.0"], env={"CODECREW_SERVE_TOKEN": ""})
    assert result.exit_code == 2 and "CODECREW_SERVE_TOKEN" in result.output
    # `codecrew serve` is the same command
    result = CliRunner().invoke(codecrew, ["serve", "--host", "0.0.0.0"], env={"CODECREW_SERVE_TOKEN": ""})
    assert result.exit_code == 2 and "CODECREW_SERVE_TOKEN" in result.output


def test_token_is_checked_on_every_api_call_and_page(history: History, reports: Path) -> None:
    config = ServeConfig(host="0.0.0.0", token="s3cret")
    client = TestClient(create_app(reports_dir=reports, config=config), base_url="http://192.168.1.5:8321")
    refused = client.get("/api/performance/metrics")
    assert refused.status_code == 401 and "needs its token" in refused.json()["detail"]
    assert client.get("/").status_code == 401
    assert client.get("/openapi.json").status_code == 401
    wrong = client.get("/api/performance/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = client.get("/api/performance/metrics", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200
    assert client.get("/api/runs", headers={"X-Codecrew-Token": "s3cret"}).status_code == 200
    assert client.get("/api/runs", params={"token": "s3cret"}).status_code == 401  # not in API URLs
    # a page opened once with ?token= keeps it in a cookie and drops it from the URL
    first = client.get("/runs", params={"token": "s3cret"}, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/runs"
    assert (
        "httponly" in first.headers["set-cookie"].lower()
        and "samesite=strict" in first.headers["set-cookie"].lower()
    )
    assert client.get("/runs").status_code == 200  # the cookie now
    assert client.post("/api/performance/benchmark", json={"models": ["nope"]}).status_code == 422


def test_post_checks_origin_and_host(history: History, reports: Path) -> None:
    client = TestClient(create_app(reports_dir=reports), base_url=BASE)
    body = {"models": ["nope"]}
    foreign = client.post("/api/performance/benchmark", json=body, headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403 and "cross-origin POST refused" in foreign.json()["detail"]
    cross = client.post("/api/performance/benchmark", json=body, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    same = client.post("/api/performance/benchmark", json=body, headers={"Origin": BASE})
    assert same.status_code == 422  # through the checks, refused for the model string only
    rebound = client.get("/api/performance/metrics", headers={"Host": "evil.example"})
    assert rebound.status_code == 403 and "not this dashboard's address" in rebound.json()["detail"]


def test_serve_command_binds_loopback_and_prints_the_url(private_history: Path, tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "evals.serve", "--port", "0", "--reports-dir", str(tmp_path / "reports")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CODECREW_SERVE_TOKEN": ""},
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("codecrew dashboard: http://127.0.0.1:"), line
        url = line.split()[2]
        assert httpx.get(url + "api/runs", timeout=10).json() == []
    finally:
        server.terminate()
        server.wait(10)


def test_a_run_going_on_elsewhere_shows_its_progress(client: TestClient, reports: Path) -> None:
    """A run started from the command line (or on another machine sharing the reports folder)
    is listed from its progress.json while it goes, and one that died says so."""
    from evals.progress import STALE_SECONDS, ProgressFile, RunProgress

    def going(run_id: str, **fields: Any) -> None:
        (reports / run_id).mkdir(parents=True)
        progress = RunProgress(run_id=run_id, started="2026-12-07T07:00:00+00:00", models=["m"],
                               suites=["bench"], total=4, **fields)  # fmt: skip
        ProgressFile(reports / run_id, progress).update(done=1)

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    going("r20261207-070000-live")  # this very process: alive
    going("r20261207-070000-dead", pid=int(dead.stdout))
    going("r20261207-070000-away", host="another-machine")  # written just now: running
    going("r20261207-070000-gone", host="another-machine")
    gone = reports / "r20261207-070000-gone" / "progress.json"
    data = json.loads(gone.read_text())
    gone.write_text(json.dumps({**data, "updated": data["updated"] - STALE_SECONDS - 1}))
    listed = {r["id"]: r for r in client.get("/api/runs").json()}
    states = {
        k.rsplit("-", 1)[1]: (v["status"], v["total"]) for k, v in listed.items() if k.startswith("r2026")
    }
    assert states == {"live": ("running", 4), "dead": ("interrupted", 4), "away": ("running", 4),
                      "gone": ("interrupted", 4)}  # fmt: skip
    live = client.get("/api/runs/r20261207-070000-live").json()
    assert (live["status"], live["done"], live["total"], live["models"]) == ("running", 1, 4, ["m"])
    assert live["results"] is None
    assert 'data-status="running"' in client.get("/runs/r20261207-070000-live").text
    assert client.get("/api/runs/r20261207-070000-dead").json()["status"] == "interrupted"


def test_a_report_is_parsed_once_until_it_changes(client: TestClient, reports: Path, monkeypatch) -> None:
    from evals.serve import data

    parsed: list[str | bytes] = []
    loads = json.loads
    monkeypatch.setattr(data.json, "loads", lambda text, **kw: parsed.append(text) or loads(text, **kw))
    case = {"suite": "bench", "model": "m", "mode": "generator", "case": "c0", "passed": True}
    (reports / "r9").mkdir(parents=True)
    report = reports / "r9" / "report.json"
    report.write_text(json.dumps({"run_id": "r9", "cases": [case]}))

    def r9_total() -> int:
        return next(r["total"] for r in client.get("/api/runs").json() if r["id"] == "r9")

    assert r9_total() == 1 and r9_total() == 1
    assert sum(isinstance(text, str) and '"r9"' in text for text in parsed) == 1
    report.write_text(json.dumps({"run_id": "r9", "cases": [case, {**case, "case": "c1"}]}))
    assert r9_total() == 2
    assert sum(isinstance(text, str) and '"r9"' in text for text in parsed) == 2
