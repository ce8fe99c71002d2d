"""`python -m tools.sandbox`: which mechanism is in force here, and what each costs per run."""

from __future__ import annotations

import shlex
import subprocess
import time

from tools.sandbox.records import DEFAULT_PATH
from tools.sandbox.run import available_isolations, isolation_available, run_sandboxed


def _timed(cmd: list[str], isolation: str | None) -> float:
    start = time.perf_counter()
    if isolation is None:
        subprocess.run(cmd, env={"PATH": DEFAULT_PATH}, check=True)
    else:
        run_sandboxed(cmd, isolation=isolation)
    return time.perf_counter() - start


def main() -> None:
    """Print the mechanism in force and the per-run overhead of each available one."""
    cmd, rounds = ["python3", "-c", "pass"], 20
    print(f"isolation in force: {isolation_available()}")
    ways: list[str | None] = [None, *available_isolations()]
    times: dict[str | None, list[float]] = {way: [] for way in ways}
    for _ in range(rounds):  # interleaved, so a busy machine slows every way alike
        for way in ways:
            times[way].append(_timed(cmd, way))
    med = {way: sorted(spent)[rounds // 2] * 1000 for way, spent in times.items()}
    low = {way: min(spent) * 1000 for way, spent in times.items()}
    print(f"`{shlex.join(cmd)}`, {rounds} rounds: median / fastest wall time per run")
    print(f"{'unsandboxed':>13}: {med[None]:6.1f} / {low[None]:6.1f} ms")
    for way in ways[1:]:
        extra = f"overhead +{med[way] - med[None]:.1f} / +{low[way] - low[None]:.1f} ms"
        print(f"{way:>13}: {med[way]:6.1f} / {low[way]:6.1f} ms, {extra}")
