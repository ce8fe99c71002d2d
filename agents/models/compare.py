"""Comparing two models: cost, speed, reliability and quality, with decision thresholds.

`recommend()` turns two models' measured figures (tools/history.py) into a choice by
explicit thresholds, and says which numbers decided it; `comparison_table`
renders the figures side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tools.formatting import fmt_cost, fmt_money, fmt_pct, fmt_seconds, fmt_tps
from tools.history import WORK_SOURCES, History, ModelStats
from tools.stats import Interval, Rate, overlap


@dataclass(frozen=True)
class Thresholds:
    """Smallest differences that count."""

    quality: float = 0.10  # pass rate: 1 point on a 0-10 scale
    cost_savings: float = 0.50  # fraction of the dearer model's cost per call
    latency: float = 2.0  # seconds of median latency
    success_rate: float = 0.05
    min_calls: int = 5  # fewer calls than this on either side: not enough data


@dataclass
class Dimension:
    """One compared dimension: the two values, their 95 % intervals (rates), the threshold
    and the verdict ("tie", "no significant difference", "not compared" or a model)."""

    name: str
    a: float | None
    b: float | None
    threshold: float
    verdict: str
    a_interval: Interval | None = None
    b_interval: Interval | None = None
    a_count: str | None = None  # "8/10": what a rate was measured on
    b_count: str | None = None


@dataclass
class Recommendation:
    """`choice`: a model, "either", "neither", "no clear winner", "no significant
    difference" or "not enough data"; `reasons` says which numbers decided, one line each;
    `dimensions` holds the same numbers as data (not part of equality)."""

    choice: str
    reasons: list[str]
    dimensions: list[Dimension] = field(default_factory=list, compare=False, repr=False)


NOISE = "no significant difference"


def quality(pass_rates: dict[str, float], suites: set[str]) -> float | None:
    """Mean pass rate over `suites` (the suites both models ran), None if there are none."""
    rates = [pass_rates[s] for s in sorted(suites) if s in pass_rates]
    return sum(rates) / len(rates) if rates else None


def pooled_quality(pass_counts: dict[str, Rate], suites: set[str]) -> Rate | None:
    """Passed and total case results over `suites` pooled (the suites both models ran)."""
    picked = [pass_counts[s] for s in sorted(suites) if s in pass_counts]
    if not picked:
        return None
    return Rate(sum(r.successes for r in picked), sum(r.total for r in picked))


def _crosses(diff: float, threshold: float) -> bool:
    """|diff| reaches the threshold (with a little slack for float rounding: 0.75 - 0.7)."""
    return abs(diff) >= threshold - 1e-9


def _value(rate: float | Rate) -> float:
    return rate.value if isinstance(rate, Rate) else rate


def _rate_text(rate: float | Rate) -> str:
    """ "80%", or with a count "80% [49%–94%] of 8/10"."""
    if isinstance(rate, Rate):
        return f"{fmt_pct(rate.value)} {rate.interval} of {rate.successes}/{rate.total}"
    return fmt_pct(rate)


def rate_verdict(ra: float | Rate, rb: float | Rate, threshold: float) -> str:
    """How two rates differ: "a" or "b" (the higher), "tie" (the difference is below the
    threshold) or "no significant difference" (it reaches the threshold, but the two 95 %
    Wilson intervals overlap). Rates given as bare floats have no interval: only the
    threshold applies."""
    diff = _value(ra) - _value(rb)
    if not _crosses(diff, threshold):
        return "tie"
    if isinstance(ra, Rate) and isinstance(rb, Rate) and overlap(ra.interval, rb.interval):
        return NOISE
    return "a" if diff > 0 else "b"


def recommend(
    a: ModelStats,
    b: ModelStats,
    *,
    quality_a: float | Rate | None = None,
    quality_b: float | Rate | None = None,
    thresholds: Thresholds = Thresholds(),
) -> Recommendation:
    """Pick between two models by explicit thresholds, showing the numbers that decided it.

    Quality (eval pass rate) and reliability (success rate) come first: a model that wins
    on either, while the other wins on neither, is chosen. When they split, there is no
    clear winner. A rate difference counts only when it reaches the threshold and the two
    95 % Wilson intervals do not overlap; when they overlap, the difference is noise and
    the answer is "no significant difference" (cost and speed do not decide then: the
    cheaper model may be the worse one). When both are equivalent, the one at least
    `cost_savings` cheaper per call wins, else the one at least `latency` seconds faster.
    Quality given as a bare float has no interval: only its threshold applies.
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
    dimensions: list[Dimension] = []
    wins: dict[str, str | None] = {}
    noise: list[str] = []

    def judge(dimension: str, winner: str | None, line: str) -> None:
        wins[dimension] = winner
        reasons.append(f"{line} -> {winner or 'tie'}")

    def judge_rates(name: str, label: str, ra: float | Rate, rb: float | Rate, threshold: float) -> None:
        diff = _value(ra) - _value(rb)
        line = (
            f"{name}: {label} {_rate_text(ra)} vs {_rate_text(rb)}"
            f", diff {abs(diff) * 100:.0f} pp (threshold {threshold * 100:.0f} pp)"
        )
        both_counted = isinstance(ra, Rate) and isinstance(rb, Rate)
        intervals = (ra.interval, rb.interval) if isinstance(ra, Rate) and isinstance(rb, Rate) else None
        verdict = rate_verdict(ra, rb, threshold)
        if verdict == NOISE:
            wins[name] = None
            noise.append(name)
            reasons.append(f"{line}, 95% intervals overlap -> {NOISE}")
        else:
            judge(name, {"a": a.model, "b": b.model}.get(verdict), line)
            verdict = wins[name] or "tie"
        dimensions.append(
            Dimension(
                name,
                _value(ra),
                _value(rb),
                threshold,
                verdict,
                a_interval=intervals[0] if intervals else None,
                b_interval=intervals[1] if intervals else None,
                a_count=f"{ra.successes}/{ra.total}" if both_counted and isinstance(ra, Rate) else None,
                b_count=f"{rb.successes}/{rb.total}" if both_counted and isinstance(rb, Rate) else None,
            )
        )

    if quality_a is None or quality_b is None:
        reasons.append("quality: no eval suite run by both -> not compared")
        wins["quality"] = None
        dimensions.append(Dimension("quality", None, None, t.quality, "not compared"))
    else:
        judge_rates("quality", "pass rate", quality_a, quality_b, t.quality)
    judge_rates(
        "reliability", "success rate", Rate(a.successes, a.calls), Rate(b.successes, b.calls), t.success_rate
    )
    if a.cost_per_call is None or b.cost_per_call is None:
        reasons.append("cost: cost per call unknown for one side -> not compared")
        wins["cost"] = None
        dimensions.append(Dimension("cost", a.cost_per_call, b.cost_per_call, t.cost_savings, "not compared"))
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
        dimensions.append(
            Dimension("cost", a.cost_per_call, b.cost_per_call, t.cost_savings, wins["cost"] or "tie")
        )
    if a.median_latency is None or b.median_latency is None:
        reasons.append("speed: no successful call on one side -> not compared")
        wins["speed"] = None
        dimensions.append(Dimension("speed", a.median_latency, b.median_latency, t.latency, "not compared"))
    else:
        diff = a.median_latency - b.median_latency
        judge(
            "speed",
            (b.model if diff > 0 else a.model) if _crosses(diff, t.latency) else None,
            f"speed: median latency {a.median_latency:.1f} s vs {b.median_latency:.1f} s"
            f", diff {abs(diff):.1f} s (threshold {t.latency:.1f} s)",
        )
        dimensions.append(
            Dimension("speed", a.median_latency, b.median_latency, t.latency, wins["speed"] or "tie")
        )
    return Recommendation(_decide(wins, noise, reasons), reasons, dimensions)


def _decide(wins: dict[str, str | None], noise: list[str], reasons: list[str]) -> str:
    """The decision rule over the per-dimension winners; appends the deciding line."""
    must = {w for w in (wins["quality"], wins["reliability"]) if w}
    if len(must) == 2:
        reasons.append("decision: each wins on quality or reliability -> no clear winner")
        return "no clear winner"
    if len(must) == 1:
        (winner,) = must
        reasons.append(f"decision: better on quality/reliability -> {winner}")
        return winner
    if noise:
        reasons.append(
            f"decision: the {' and '.join(noise)} difference is within the 95% intervals"
            f" -> {NOISE} (run more cases, or each case several times with --samples)"
        )
        return NOISE
    for dimension in ("cost", "speed"):
        if better := wins[dimension]:
            reasons.append(f"decision: equivalent quality and reliability, {dimension} -> {better}")
            return better
    reasons.append("decision: no difference crosses a threshold -> either")
    return "either"


@dataclass
class Comparison:
    """The comparison report of two models from the history, and the pick."""

    task_type: str | None
    stats: tuple[ModelStats, ModelStats]
    pass_counts: tuple[dict[str, Rate], dict[str, Rate]]  # suite -> latest run's passed/total
    thresholds: Thresholds
    recommendation: Recommendation

    @property
    def pass_rates(self) -> tuple[dict[str, float], dict[str, float]]:
        a, b = self.pass_counts
        return {s: r.value for s, r in a.items()}, {s: r.value for s, r in b.items()}


def suite_pass_counts(history: History, model: str) -> dict[str, Rate]:
    """Suite -> passed/total case results of `model` in that suite's latest run (modes pooled)."""
    from tools.history_queries import suite_results

    counts: dict[str, Rate] = {}
    for result in suite_results(history, model=model):
        seen = counts.get(result.suite, Rate(0, 0))
        counts[result.suite] = Rate(seen.successes + result.result.passed, seen.total + result.result.total)
    return counts


def compare_models(
    history: History | None,
    model_a: str,
    model_b: str,
    *,
    task_type: str | None = None,
    thresholds: Thresholds = Thresholds(),
) -> Comparison:
    """Both models' measured figures (work calls only, no probes) and the recommendation."""
    stats: list[ModelStats] = []
    counts: list[dict[str, Rate]] = []
    for model in (model_a, model_b):
        found = history.model_stats(model=model, task_type=task_type, sources=WORK_SOURCES) if history else []
        stats.append(found[0] if found else empty_stats(model))
        counts.append(suite_pass_counts(history, model) if history else {})
    common = counts[0].keys() & counts[1].keys()
    rec = recommend(
        stats[0],
        stats[1],
        quality_a=pooled_quality(counts[0], common),
        quality_b=pooled_quality(counts[1], common),
        thresholds=thresholds,
    )
    return Comparison(task_type, (stats[0], stats[1]), (counts[0], counts[1]), thresholds, rec)


def comparison_table(
    a: ModelStats, b: ModelStats, rates_a: Mapping[str, float | Rate], rates_b: Mapping[str, float | Rate]
) -> Any:
    """The comparison report (cost, speed, reliability, quality) as a rich Table;
    pass rates given as Rate show their 95 % interval and count."""
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
        (
            "success rate",
            _rate_text(Rate(a.successes, a.calls)) if a.calls else "-",
            _rate_text(Rate(b.successes, b.calls)) if b.calls else "-",
        ),
    ]
    for suite in sorted(rates_a.keys() | rates_b.keys()):
        rows.append(
            (
                f"pass rate {suite}",
                _rate_text(rates_a[suite]) if suite in rates_a else "-",
                _rate_text(rates_b[suite]) if suite in rates_b else "-",
            )
        )
    for row in rows:
        table.add_row(*row)
    return table


def empty_stats(model: str) -> ModelStats:
    """Stats of a model with no recorded calls."""
    return ModelStats(model, 0, 0, 0.0, None, None, None, None, None, 0, 0, None, None)
