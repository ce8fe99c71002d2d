"""evals.charts (matplotlib SVG) and the report's intervals and pass@k."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from evals.charts import PALETTE, bar_chart, grouped_bars, line_chart, scatter
from evals.report import RunReport
from evals.report_html import render_html
from evals.results import CaseResult


def fills(svg: str) -> set[str]:
    return {c.lower() for c in re.findall(r"fill:\s*(#[0-9a-fA-F]{6})", svg)} & {c.lower() for c in PALETTE}


def test_bar_chart_is_one_svg_with_text_labels_and_one_colour() -> None:
    svg = bar_chart(
        "Pass rate", [("openrouter:qwen/qwen3-coder · bench/generator", 80.0), ("b", None), ("c", 50.0)], "%"
    )
    assert svg.startswith("<svg") and svg.count("<svg") == 1 and "<?xml" not in svg
    assert "<title>Pass rate</title>" in svg
    assert "80.0%" in svg and "n/a" in svg  # text stays text (svg.fonttype none)
    assert "openrouter:qwen/qwen3-coder" in svg  # the long label is drawn, not cut at a fixed width
    assert fills(svg) == {PALETTE[0]}  # a single series: a single colour


def test_grouped_bars_and_scatter_give_each_series_its_colour() -> None:
    svg = grouped_bars("Tokens", [("a", 100, 20), ("b", 50, 10)], ("input", "output"))
    assert fills(svg) == {PALETTE[0], PALETTE[1]} and "input" in svg and "output" in svg
    svg = scatter("Quality vs cost", [("a", 0.1, 80.0), ("b", 0.2, 40.0), ("c", 0.3, 60.0)], "cost")
    assert fills(svg) == set(PALETTE[:3])
    assert "no data" in scatter("empty", [], "x")


def test_line_chart_has_several_date_ticks() -> None:
    days = [datetime(2026, 1, d, tzinfo=UTC) for d in (1, 3, 5, 8)]
    svg = line_chart(
        "Pass rate per run", {"a": list(zip(days, [50, 60, 70, 90], strict=True))}, "%", percent=True
    )
    ticks = re.findall(r'<g id="xtick_\d+">', svg)
    assert len(ticks) >= 3  # proper x ticks, not one


def row(model: str, case: str, passed: bool) -> CaseResult:
    return CaseResult(suite="bench", model=model, mode="generator", case=case, passed=passed,
                      reason="ok" if passed else "wrong", error_class=None,
                      failure=None if passed else "check_failed", duration=1.0)  # fmt: skip


def test_report_shows_wilson_interval_and_pass_at_k_from_samples(tmp_path: Path) -> None:
    run = RunReport("r1", "2026-01-01T00:00:00", "2026-01-01T00:01:00", ["bench"], ["m"], ["generator"], {})
    # two cases, three samples each: c0 passes 3/3, c1 1/3
    run.cases = [row("m", "c0", True)] * 3 + [row("m", "c1", p) for p in (True, False, False)]
    html = render_html(run, tmp_path)
    assert html.count("<svg") == 6
    assert "[30%–90%]" in html  # Wilson 95% of 4/6
    assert "pass@1 67%, pass@3 100%" in html
