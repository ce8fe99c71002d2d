"""Comparing two models: cost, speed, reliability and quality, with decision thresholds.

`recommend()` turns two models' measured figures (tools/history.py) into a choice by
explicit thresholds, and says which numbers decided it; `comparison_table`
renders the figures side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tools.formatting import fmt_cost, fmt_money, fmt_pct, fmt_seconds, fmt_tps
from tools.history import ModelStats


@dataclass(frozen=True)
class Thresholds:
    """Smallest differences that count ."""

    quality: float = 0.10  # pass rate: 1 point on a 0-10 scale
    cost_savings: float = 0.50  # fraction of the dearer model's cost per call
    latency: float = 2.0  # seconds of median latency
    success_rate: float = 0.05
    min_calls: int = 5  # fewer calls than this on either side: not enough data


@dataclass
class Recommendation:
    """`choice`: a model, "either", "neither", "no clear winner" or "not enough data"."""

    choice: str
    reasons: list[str]


def quality(pass_rates: dict[str, float], suites: set[str]) -> float | None:
    """Mean pass rate over `suites` (the suites both models ran), None if there are none."""
    rates = [pass_rates[s] for s in sorted(suites) if s in pass_rates]
    return sum(rates) / len(rates) if rates else None


def _crosses(diff: float, threshold: float) -> bool:
    """|diff| reaches the threshold (with a little slack for float rounding: 0.75 - 0.7)."""
    return abs(diff) >= threshold - 1e-9


def recommend(
    a: ModelStats,
    b: ModelStats,
    *,
    quality_a: float | None = None,
    quality_b: float | None = None,
    thresholds: Thresholds = Thresholds(),
) -> Recommendation:
    """Pick between two models by explicit thresholds, showing the numbers that decided it.

    Quality (eval pass rate) and reliability (success rate) come first: a model that wins
    on either, while the other wins on neither, is chosen. When they split, there is no
    clear winner. When both are equivalent, the one at least `cost_savings` cheaper per
    call wins, else the one at least `latency` seconds faster. Differences under a
    threshold count as ties.
    """
    t = thresholds
    if a.calls < t.min_calls or b.calls < t.min_calls:
        return Recommendation(
            "not enough data",
            [f"{a.model} has {a.calls} calls, {b.model} has {b.calls}; need at least {t.min_calls} each"],
        )
    if a.successes == 0 and b.successes == 0:
        return Recommendation(
            "neither", [f"neither model has a successful call ({a.calls} and {b.calls} calls)"]
        )
    reasons: list[str] = []
    wins: dict[str, str | None] = {}

    def judge(dimension: str, winner: str | None, line: str) -> None:
        wins[dimension] = winner
        reasons.append(f"{line} -> {winner or 'tie'}")

    if quality_a is None or quality_b is None:
        reasons.append("quality: no eval suite run by both -> not compared")
        wins["quality"] = None
    else:
        diff = quality_a - quality_b
        judge(
            "quality",
            (a.model if diff > 0 else b.model) if _crosses(diff, t.quality) else None,
            f"quality: pass rate {fmt_pct(quality_a)} vs {fmt_pct(quality_b)}"
            f", diff {abs(diff) * 100:.0f} pp (threshold {t.quality * 100:.0f} pp)",
        )
    diff = a.success_rate - b.success_rate
    judge(
        "reliability",
        (a.model if diff > 0 else b.model) if _crosses(diff, t.success_rate) else None,
        f"reliability: success rate {fmt_pct(a.success_rate)} vs {fmt_pct(b.success_rate)}"
        f", diff {abs(diff) * 100:.0f} pp (threshold {t.success_rate * 100:.0f} pp)",
    )
    if a.cost_per_call is None or b.cost_per_call is None:
        reasons.append("cost: cost per call unknown for one side -> not compared")
        wins["cost"] = None
    else:
        dear, cheap = max(a.cost_per_call, b.cost_per_call), min(a.cost_per_call, b.cost_per_call)
        savings = (dear - cheap) / dear if dear > 0 else 0.0
        cheaper = a.model if a.cost_per_call < b.cost_per_call else b.model
        judge(
            "cost",
            cheaper if _crosses(savings, t.cost_savings) else None,
            f"cost: {fmt_money(a.cost_per_call)} vs {fmt_money(b.cost_per_call)} per call"
            f", savings {fmt_pct(savings)} (threshold {fmt_pct(t.cost_savings)})",
        )
    if a.median_latency is None or b.median_latency is None:
        reasons.append("speed: no successful call on one side -> not compared")
        wins["speed"] = None
    else:
        diff = a.median_latency - b.median_latency
        judge(
            "speed",
            (b.model if diff > 0 else a.model) if _crosses(diff, t.latency) else None,
            f"speed: median latency {a.median_latency:.1f} s vs {b.median_latency:.1f} s"
            f", diff {abs(diff):.1f} s (threshold {t.latency:.1f} s)",
        )
    return Recommendation(_decide(a.model, b.model, wins, reasons), reasons)


def _decide(a: str, b: str, wins: dict[str, str | None], reasons: list[str]) -> str:
    """The decision rule over the per-dimension winners; appends the deciding line."""
    must = {w for w in (wins["quality"], wins["reliability"]) if w}
    if len(must) == 2:
        reasons.append("decision: each wins on quality or reliability -> no clear winner")
        return "no clear winner"
    if len(must) == 1:
        (winner,) = must
        reasons.append(f"decision: better on quality/reliability -> {winner}")
        return winner
    for dimension in ("cost", "speed"):
        if best := wins[dimension]:
            reasons.append(f"decision: equivalent quality and reliability, {dimension} -> {best}")
            return best
    reasons.append("decision: no difference crosses a threshold -> either")
    return "either"


def comparison_table(a: ModelStats, b: ModelStats, rates_a: dict, rates_b: dict) -> Any:
    """The comparison report (cost, speed, reliability, quality) as a rich Table."""
    from rich.table import Table

    table = Table(title="comparison")
    table.add_column("")
    table.add_column(a.model)
    table.add_column(b.model)
    rows = [
        ("calls", str(a.calls), str(b.calls)),
        ("cost per call", fmt_cost(a.cost_per_call), fmt_cost(b.cost_per_call)),
        ("total cost", fmt_cost(a.total_cost), fmt_cost(b.total_cost)),
        ("median latency", fmt_seconds(a.median_latency), fmt_seconds(b.median_latency)),
        ("tokens/s", fmt_tps(a.tokens_per_second), fmt_tps(b.tokens_per_second)),
        ("success rate", fmt_pct(a.success_rate), fmt_pct(b.success_rate)),
    ]
    for suite in sorted(rates_a.keys() | rates_b.keys()):
        rows.append(
            (
                f"pass rate {suite}",
                fmt_pct(rates_a[suite]) if suite in rates_a else "-",
                fmt_pct(rates_b[suite]) if suite in rates_b else "-",
            )
        )
    for row in rows:
        table.add_row(*row)
    return table


def empty_stats(model: str) -> ModelStats:
    """Stats of a model with no recorded calls."""
    return ModelStats(model, 0, 0, 0.0, None, None, None, None, None, 0, 0, None, None)
