"""The eval harness on the real embedded model: HumanEval (10 tasks) and the Tetris suite.

Slow: marked e2e. Judged by execution (sandbox) and by a headless browser; these tests
check that the reports hold real per-case results, not what the model scored.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
MODEL = "local:qwen2.5-coder-1.5b"


def run_evals(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    env = dict(os.environ, CODECREW_HISTORY=str(tmp_path / "history.sqlite"))
    proc = subprocess.run(
        [sys.executable, "-m", "evals.run", "--models", MODEL, "--report-dir", str(tmp_path), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    print(proc.stdout[-3000:], proc.stderr[-3000:])
    [report_json] = tmp_path.glob("*/report.json")
    assert (report_json.parent / "report.html").stat().st_size > 1000
    return proc, json.loads(report_json.read_text())


def test_humaneval_ten_tasks(tmp_path: Path) -> None:
    proc, report = run_evals(tmp_path, "--suite", "humaneval", "--limit", "10")

    assert proc.returncode == 0
    cases = report["cases"]
    assert len(cases) == 10 and {c["suite"] for c in cases} == {"humaneval"}
    assert all(c["model"] == MODEL and c["requests"] >= 1 and c["output_tokens"] > 0 for c in cases)
    assert all(c["cost"] is None for c in cases)  # a local model has no price, and none is invented
    passed = sum(c["passed"] for c in cases)
    # The first ten HumanEval tasks are easy; a working harness passes some and explains the rest.
    assert passed >= 3, [c["reason"] for c in cases]
    assert all(c["reason"] for c in cases if not c["passed"])
    [summary] = report["models_summary"]
    assert summary["model"] == MODEL and abs(summary["pass_rate"] - passed / 10) < 1e-9


def test_tetris_suite_in_the_browser(tmp_path: Path) -> None:
    proc, report = run_evals(tmp_path, "--suite", "tetris", "--mode", "both", "--repairs", "0")

    cases = report["cases"]
    assert {c["mode"] for c in cases} == {"generator", "pipeline"}
    for case in cases:
        assert case["requests"] >= 1
        if case["error_class"] is None:
            # The pass verdict comes from playing the page in chromium, with the reason.
            assert case["checks"]["plays"]["reason"], case["checks"]
            assert case["passed"] == all(c["passed"] for c in case["checks"].values())
            if "browser_loads" in case["scores"]:
                browser = {"browser_loads", "browser_draws", "browser_responds_to_keys", "browser_advances"}
                assert browser <= set(case["scores"])
                assert case["screenshot"] and list(tmp_path.glob(f"*/{case['screenshot']}"))
    pipeline = next(c for c in cases if c["mode"] == "pipeline")
    assert set(pipeline["agents"]) == {"coordinator", "generator", "extractor"}
