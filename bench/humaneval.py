"""Full HumanEval pass@1 of the embedded models through our harness, with wall time.

    .venv/bin/python -m bench.humaneval [--models M1,M2] [--limit N]

Runs `python -m evals.run --suite humaneval` once per model (one model at a time, so each
has the machine to itself) and prints pass@1 next to the published figure for the
unquantized instruct model. Not a test: it takes tens of minutes on 2 cores.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import typer

# Qwen2.5-Coder technical report, HumanEval pass@1 of the instruct models (bf16).
PUBLISHED = {"local:qwen2.5-coder-0.5b": 61.6, "local:qwen2.5-coder-1.5b": 70.7}


def run_one(model: str, limit: int | None, concurrency: int, report_dir: Path) -> tuple[dict, float]:
    args = [sys.executable, "-m", "evals.run", "--suite", "humaneval", "--models", model]
    args += ["--report-dir", str(report_dir), "--concurrency", str(concurrency)]
    if limit:
        args += ["--limit", str(limit)]
    before = set(report_dir.glob("*/report.json"))
    started = time.perf_counter()
    subprocess.run(args, check=False, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    [report] = set(report_dir.glob("*/report.json")) - before
    return json.loads(report.read_text()), wall


def main(
    models: str = typer.Option(",".join(PUBLISHED), help="Comma-separated model strings."),
    limit: int | None = typer.Option(None, help="First N tasks only."),
    concurrency: int = typer.Option(2, help="Cases at a time per model (the server has 2 slots)."),
    report_dir: Path | None = typer.Option(None, help="Keep the eval reports here (default: a temp dir)."),
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        reports = report_dir or Path(tmp)
        reports.mkdir(parents=True, exist_ok=True)
        print("| model | pass@1 (ours) | published | tasks | requests | wall time | output tokens |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for model in [m.strip() for m in models.split(",") if m.strip()]:
            report, wall = run_one(model, limit, concurrency, reports)
            [summary] = report["models_summary"]
            published = PUBLISHED.get(model)
            print(
                f"| {model} | {100 * summary['pass_rate']:.1f} | {published if published else '-'} "
                f"| {summary['cases']} | {summary['requests']} | {wall / 60:.1f} min "
                f"| {summary['output_tokens']:,} |",
                flush=True,
            )


if __name__ == "__main__":
    typer.run(main)
