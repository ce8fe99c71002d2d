"""How long each command takes to print its `--help`, against a bare interpreter.

    .venv/bin/python -m bench.startup [--runs 7]

Runs each command `--runs` times in a fresh interpreter (wall clock, subprocess start
included) and prints the minimum and the median, with `python -c pass` as the baseline.
Run it on a quiet machine: the minimum is the figure to quote.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import typer

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "python -m agents.run --help": ["-m", "agents.run", "--help"],
    "python -m agents.models --help": ["-m", "agents.models", "--help"],
    "python -m evals.run --help": ["-m", "evals.run", "--help"],
    "python -m tools.extract --help": ["-m", "tools.extract", "--help"],
    "codecrew --help": ["-m", "agents.cli", "--help"],
    "codecrew run --help": ["-m", "agents.cli", "run", "--help"],
}


def timings(args: list[str], runs: int) -> list[float]:
    result = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, check=True)
        result.append(time.perf_counter() - started)
    return result


def main(runs: int = typer.Option(7, min=1, help="Runs per command.")) -> None:
    """Print min and median wall time of each command's --help."""
    rows = [(name, timings(args, runs)) for name, args in COMMANDS.items()]
    base = min(rows[0][1])
    width = max(len(name) for name in COMMANDS)
    print(f"{'command':<{width}}  {'min s':>6}  {'median s':>8}  {'min - baseline':>14}")
    for name, times in rows:
        fastest, median = min(times), statistics.median(times)
        print(f"{name:<{width}}  {fastest:6.3f}  {median:8.3f}  {fastest - base:14.3f}")


if __name__ == "__main__":
    typer.run(main)
