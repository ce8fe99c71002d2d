"""What `python -m agents.models history` prints: the calls as a table or JSON, the pipeline
runs per generator model, and one run.

Like `llm logs`: one row per call, newest first. The pipeline runs table says, per generator
model, how often its code was verified (tools.history.GeneratorRunStats). A run id opens
what that run left on disk: an eval run's report (`<reports>/<run id>/report.json`,
`report.html`), a pipeline run's `manifest.json` (found under the output folder), else what
the history holds of it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.markup import escape

from tools.formatting import UNKNOWN, fmt_cost, fmt_pct, fmt_seconds, fmt_tokens
from tools.history import GeneratorRunStats, History
from tools.history_queries import CallRow, calls, eval_runs


def _money(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


def calls_table(rows: list[CallRow]) -> Any:
    """A rich Table of calls, newest first as given."""
    from rich.table import Table

    table = Table(title=f"{len(rows)} call(s), newest first", title_justify="left")
    for name, justify in [
        ("started (UTC)", "left"),
        ("model", "left"),
        ("role", "left"),
        ("source", "left"),
        ("task", "left"),
        ("outcome", "left"),
        ("time", "right"),
        ("tok in", "right"),
        ("tok out", "right"),
        ("cost", "right"),
        ("run", "left"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        outcome = r.outcome if not r.error_class else f"{r.outcome}: {r.error_class}"
        colour = "green" if r.outcome == "ok" else "red"
        table.add_row(
            r.started.strftime("%Y-%m-%d %H:%M:%S"),
            escape(r.model) + (f" [dim]→ {escape(r.answered_by)}[/]" if r.answered_by else ""),
            r.role,
            r.source,
            r.task_type or "-",
            f"[{colour}]{outcome}[/]",
            f"{r.duration:.1f}s",
            str(r.input_tokens),
            str(r.output_tokens),
            _money(r.cost),
            r.run_id or "-",
        )
    return table


def calls_json(rows: list[CallRow]) -> str:
    """The calls as a JSON list (timestamps as ISO text)."""
    return json.dumps([asdict(r) for r in rows], indent=2, default=str)


def runs_table(stats: list[GeneratorRunStats]) -> Any:
    """A rich Table "pipeline runs": per generator model, how its runs were judged."""
    from rich.table import Table

    table = Table(title="pipeline runs, per generator model", title_justify="left")
    for name, justify in [
        ("generator", "left"),
        ("runs", "right"),
        ("verified", "right"),
        ("failed", "right"),
        ("not verified", "right"),
        ("infra", "right"),
        ("no verdict", "right"),
        ("verified rate [95%]", "right"),
        ("median time", "right"),
        ("tok/verified", "right"),
        ("cost/verified", "right"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for s in stats:
        rate = UNKNOWN
        if s.verified_rate is not None and s.verified_interval is not None:
            rate = f"{fmt_pct(s.verified_rate)} {s.verified_interval}"
        per_verified = s.tokens_per_verified
        table.add_row(
            s.generator_model,
            str(s.runs),
            f"[green]{s.verified}[/]" if s.verified else "0",
            f"[red]{s.failed}[/]" if s.failed else "0",
            str(s.not_verified),
            str(s.infrastructure),
            str(s.no_verdict),
            rate,
            fmt_seconds(s.median_duration),
            UNKNOWN if per_verified is None else fmt_tokens(round(per_verified)),
            fmt_cost(s.cost_per_verified),
        )
    return table


def runs_json(stats: list[GeneratorRunStats]) -> str:
    """The per-generator summary as a JSON list (rate and interval included; null: unknown)."""
    rows = []
    for s in stats:
        interval = s.verified_interval
        bounds = None if interval is None else {"low": interval.low, "high": interval.high}
        rows.append(
            {
                **asdict(s),
                "judged": s.judged,
                "verified_rate": s.verified_rate,
                "verified_interval": bounds,
            }
        )
    return json.dumps(rows, indent=2, default=str)


def find_manifest(run_id: str, out_dir: Path) -> Path | None:
    """The manifest.json of pipeline run `run_id` under `out_dir` (one folder per run)."""
    if not out_dir.is_dir():
        return None
    for path in sorted(out_dir.glob("*/manifest.json")):
        try:
            if json.loads(path.read_text(encoding="utf-8")).get("run_id") == run_id:
                return path
        except (OSError, ValueError):
            continue
    return None


def run_overview(history: History | None, run_id: str, *, reports_dir: Path, out_dir: Path) -> str | None:
    """A few lines about run `run_id` and where its report or manifest is; None if unknown."""
    report = reports_dir / run_id / "report.json"
    if report.is_file():
        data = json.loads(report.read_text(encoding="utf-8"))
        lines = [
            f"eval run {run_id}: {', '.join(data.get('suites', []))}, started {data.get('started')}",
            f"  report: {report}  {report.with_name('report.html')}",
        ]
        for s in data.get("models_summary", []):
            lines.append(
                f"  {s['model']}: {s['passed']}/{s['cases']} passed ({s['pass_rate']:.0%}),"
                f" median {s['median_latency']}s, cost {_money(s['cost'])}"
            )
        return "\n".join(lines)
    if manifest := find_manifest(run_id, out_dir):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        lines = [
            f"pipeline run {run_id}: {data.get('status')} — {data.get('request', '')[:100]}",
            f"  manifest: {manifest}",
        ]
        for role, agent in (data.get("agents") or {}).items():
            lines.append(
                f"  {role}: {agent.get('model')}, {agent.get('requests')} request(s),"
                f" {agent.get('input_tokens')}/{agent.get('output_tokens')} tokens"
            )
        return "\n".join(lines)
    if history is None:
        return None
    rows = calls(history, run_id=run_id, limit=None)
    runs = [r for r in eval_runs(history) if r.run_id == run_id]
    if not rows and not runs:
        return None
    lines = [f"run {run_id}: no report under {reports_dir} and no manifest under {out_dir}; the history has:"]
    for summary in runs:
        lines.append(
            f"  eval: {', '.join(summary.models)} on {', '.join(summary.suites)},"
            f" {summary.passed}/{summary.results} passed"
        )
    for row in rows:
        lines.append(
            f"  {row.started:%Y-%m-%d %H:%M:%S} {row.role} {row.model} {row.outcome}"
            f" {row.duration:.1f}s {row.input_tokens}/{row.output_tokens} tokens"
        )
    return "\n".join(lines)
