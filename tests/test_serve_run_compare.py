"""Two eval runs compared on the dashboard: GET /api/runs/compare and the /runs/compare page,
over two hand-made report folders (and the filled history's runs r0 and r1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agents.models.compare import rate_verdict
from evals.serve.app import create_app
from tests.dashboard_fixtures import fill_history
from tools.history import History
from tools.stats import Rate, wilson

BASE = "http://127.0.0.1:8321"
TETRIS_CASES = 12  # 0/12 before, 12/12 after: intervals far apart


def case(suite: str, model: str, name: str, passed: bool, *, mode: str = "generator", **extra: Any) -> dict:
    return {
        "suite": suite, "model": model, "mode": mode, "case": name, "passed": passed,
        "reason": "passed" if passed else f"AssertionError: {name} wrong", "failure": None if passed else "check_failed",
        "duration": extra.pop("duration", 1.0), "checks": {}, "work_dir": None, "screenshot": None, **extra,
    }  # fmt: skip


def write_report(reports: Path, run_id: str, cases: list[dict], started: str | None = None) -> None:
    (reports / run_id).mkdir(parents=True)
    report: dict[str, Any] = {"run_id": run_id, "cases": cases}
    if started:
        report["started"] = started
    (reports / run_id / "report.json").write_text(json.dumps(report), encoding="utf-8")


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    """`before` and `after`: the same model before and after a prompt change.

    bench (openai:a): case0 pass/pass, case1 fail/pass (fixed), case2 pass/fail (broken),
    case3 only before (pass), case4 only after (fail); humaneval (openai:a) HumanEval_0 run
    twice: pass+fail, then pass+pass (sample 1 fixed); tetris pipeline (openai:c) 0/12 then
    12/12; openai:d only after.
    """
    reports = tmp_path / "reports"
    before = [
        case("bench", "openai:a", "case0", True, duration=2.0),
        case("bench", "openai:a", "case1", False, duration=3.0),
        case("bench", "openai:a", "case2", True),
        case("bench", "openai:a", "case3", True),
        case("humaneval", "openai:a", "HumanEval_0", True, sample=0),
        case("humaneval", "openai:a", "HumanEval_0", False, sample=1),
        *[case("tetris", "openai:c", f"game{i:02}", False, mode="pipeline") for i in range(TETRIS_CASES)],
    ]
    after = [
        case("bench", "openai:a", "case0", True, duration=2.5),
        case("bench", "openai:a", "case1", True, duration=4.0),
        case("bench", "openai:a", "case2", False),
        case("bench", "openai:a", "case4", False),
        case("humaneval", "openai:a", "HumanEval_0", True, sample=0),
        case("humaneval", "openai:a", "HumanEval_0", True, sample=1),
        *[case("tetris", "openai:c", f"game{i:02}", True, mode="pipeline") for i in range(TETRIS_CASES)],
        case("bench", "openai:d", "case0", True),
    ]
    write_report(reports, "before", before, started="2026-12-06T10:00:00+00:00")
    write_report(reports, "after", after)
    return reports


@pytest.fixture
def client(reports: Path) -> TestClient:
    return TestClient(create_app(reports_dir=reports, check_setup=False), base_url=BASE)


def compare(client: TestClient, a: str, b: str) -> dict[str, Any]:
    response = client.get("/api/runs/compare", params={"a": a, "b": b})
    assert response.status_code == 200, response.text
    return response.json()


def test_every_case_of_either_run_with_how_it_ended_in_each(client: TestClient) -> None:
    body = compare(client, "before", "after")
    assert (body["a"]["id"], body["b"]["id"]) == ("before", "after")
    assert (body["a"]["passed"], body["a"]["total"]) == (4, 18)
    assert (body["b"]["passed"], body["b"]["total"]) == (17, 19)
    assert body["a"]["started"].startswith("2026-12-06T10:00") and body["b"]["started"] is None
    cases = {(c["suite"], c["model"], c["case"], c["sample"]): c for c in body["cases"]}
    assert len(cases) == len(body["cases"]) == 5 + 2 + TETRIS_CASES + 1
    fixed = cases[("bench", "openai:a", "case1", 0)]
    assert fixed["change"] == "fixed"
    assert fixed["a"] == {
        "passed": False, "reason": "AssertionError: case1 wrong", "failure": "check_failed", "duration": 3.0
    }  # fmt: skip
    assert fixed["b"] == {"passed": True, "reason": "passed", "failure": None, "duration": 4.0}
    assert cases[("bench", "openai:a", "case2", 0)]["change"] == "broken"
    same = cases[("bench", "openai:a", "case0", 0)]
    assert same["change"] == "unchanged" and (same["a"]["duration"], same["b"]["duration"]) == (2.0, 2.5)
    only_a, only_b = cases[("bench", "openai:a", "case3", 0)], cases[("bench", "openai:a", "case4", 0)]
    assert (only_a["change"], only_a["b"]) == ("only in a", None) and only_a["a"]["passed"] is True
    assert (only_b["change"], only_b["a"]) == ("only in b", None) and only_b["b"]["passed"] is False
    assert cases[("humaneval", "openai:a", "HumanEval_0", 0)]["change"] == "unchanged"
    assert cases[("humaneval", "openai:a", "HumanEval_0", 1)]["change"] == "fixed"
    assert cases[("bench", "openai:d", "case0", 0)]["change"] == "only in b"
    # changed cases first: fixed, broken, only in a, only in b, then the unchanged
    order = [c["change"] for c in body["cases"]]
    assert order == sorted(order, key=["fixed", "broken", "only in a", "only in b", "unchanged"].index)
    assert order[0] == "fixed" and order[-1] == "unchanged"


def test_fixed_and_broken_lists(client: TestClient) -> None:
    body = compare(client, "before", "after")
    fixed = {(c["suite"], c["case"], c["sample"]) for c in body["fixed"]}
    assert fixed == {("bench", "case1", 0), ("humaneval", "HumanEval_0", 1)} | {
        ("tetris", f"game{i:02}", 0) for i in range(TETRIS_CASES)
    }
    assert [(c["suite"], c["model"], c["case"]) for c in body["broken"]] == [("bench", "openai:a", "case2")]
    assert all(c["a"]["passed"] and not c["b"]["passed"] for c in body["broken"])
    # b against a: what a fixed, b broke
    backwards = compare(client, "after", "before")
    assert {(c["suite"], c["case"], c["sample"]) for c in backwards["broken"]} == fixed
    assert [c["case"] for c in backwards["fixed"]] == ["case2"]


def test_pass_rates_per_model_suite_mode_with_intervals_and_verdicts(client: TestClient) -> None:
    body = compare(client, "before", "after")
    groups = {(g["model"], g["suite"], g["mode"]): g for g in body["groups"]}
    assert set(groups) == {
        ("openai:a", "bench", "generator"), ("openai:a", "humaneval", "generator"),
        ("openai:c", "tetris", "pipeline"), ("openai:d", "bench", "generator"),
    }  # fmt: skip
    bench = groups[("openai:a", "bench", "generator")]
    assert (bench["a"]["successes"], bench["a"]["total"], bench["a"]["rate"]) == (3, 4, 0.75)
    assert (bench["b"]["successes"], bench["b"]["total"], bench["b"]["rate"]) == (2, 4, 0.5)
    low, high = wilson(3, 4).low, wilson(3, 4).high
    assert bench["a"]["interval"] == {"low": pytest.approx(low), "high": pytest.approx(high)}
    assert bench["difference"] == pytest.approx(-0.25)
    # 25 points apart, but on four cases the 95% intervals overlap: the model comparison's noise
    assert bench["verdict"] == "no significant difference"
    assert rate_verdict(Rate(3, 4), Rate(2, 4), body["threshold"]) == bench["verdict"]
    humaneval = groups[("openai:a", "humaneval", "generator")]
    assert (humaneval["a"]["successes"], humaneval["b"]["successes"], humaneval["b"]["total"]) == (1, 2, 2)
    assert humaneval["verdict"] == "no significant difference"
    tetris = groups[("openai:c", "tetris", "pipeline")]
    assert (tetris["a"]["rate"], tetris["b"]["rate"], tetris["difference"]) == (0.0, 1.0, 1.0)
    assert tetris["a"]["interval"]["high"] < tetris["b"]["interval"]["low"]
    assert tetris["verdict"] == "after"  # the better run, by its id
    only_b = groups[("openai:d", "bench", "generator")]
    assert (only_b["a"], only_b["difference"], only_b["verdict"]) == (None, None, "not compared")
    assert only_b["b"]["successes"] == 1
    assert body["threshold"] == 0.1


def test_unknown_run_is_404_and_the_same_run_twice_422(client: TestClient) -> None:
    missing = client.get("/api/runs/compare", params={"a": "before", "b": "nope"})
    assert missing.status_code == 404
    detail = missing.json()["detail"]
    assert detail.startswith("no run 'nope'") and "\n" not in detail
    same = client.get("/api/runs/compare", params={"a": "before", "b": "before"})
    assert same.status_code == 422
    assert same.json() == {"detail": "b: a and b are the same run 'before': pick two different runs"}
    assert client.get("/api/runs/compare", params={"a": "before"}).json() == {"detail": "b: Field required"}
    # the page says the same, as a page
    page = client.get("/runs/compare", params={"a": "before", "b": "nope"})
    assert page.status_code == 404 and "no run &#39;nope&#39;" in page.text and "<html" in page.text
    assert client.get("/runs/compare", params={"a": "after", "b": "after"}).status_code == 422


def test_compare_page_shows_changed_cases_first(client: TestClient) -> None:
    page = client.get("/runs/compare", params={"a": "before", "b": "after"})
    assert page.status_code == 200
    text = page.text
    assert "http" not in text.split("<nav>")[0]  # nothing from a CDN
    assert "case1" in text and "case2" in text and "case3" in text and "case4" in text
    assert 'id="changes"' in text and f"{TETRIS_CASES + 2} fixed" in text and "1 broken" in text
    cases = text.split('id="cases"')[1]
    # case1 (fixed) and case2 (broken) come before case0 (unchanged)
    assert cases.index(">case1<") < cases.index(">case2<") < cases.index(">case0<")
    assert cases.count('class="change-fixed"') == TETRIS_CASES + 2
    assert cases.count('class="change-broken"') == 1
    assert "AssertionError: case2 wrong" in cases  # a changed case's failure reason is shown
    assert "/runs/before/case?suite=bench&amp;model=openai%3Aa&amp;mode=generator&amp;case=case1" in cases
    assert "no significant difference" in text
    # the pickers keep the two runs selected though they are not in the history
    assert '<option value="before" selected>' in text and '<option value="after" selected>' in text
    assert client.get("/runs/compare").status_code == 200  # only the pickers


def test_runs_page_picks_two_history_runs_to_compare(private_history: Path, reports: Path) -> None:
    fill_history(History(private_history))
    client = TestClient(create_app(reports_dir=reports, check_setup=False), base_url=BASE)
    runs = client.get("/runs").text
    assert '<form method="get" action="/runs/compare"' in runs
    assert (
        '<input type="radio" name="a" value="r0"' in runs
        and '<input type="radio" name="b" value="r1"' in runs
    )
    body = compare(client, "r0", "r1")  # runs only the history has: the same bench results twice
    bench_a = next(g for g in body["groups"] if g["model"] == "openai:a" and g["suite"] == "bench")
    assert (bench_a["a"]["successes"], bench_a["b"]["successes"], bench_a["verdict"]) == (3, 3, "tie")
    assert body["fixed"] == [] and body["broken"] == []
    humaneval = [c for c in body["cases"] if c["suite"] == "humaneval"]
    assert humaneval and all(c["change"] == "only in b" for c in humaneval)
