"""The written report: report.json, and report.html as one self-contained file.

Inline SVG charts (evals.charts, drawn by matplotlib), no script, no network; Tetris screenshots embedded as
data URIs (and linked to the files beside it).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING

from evals.charts import bar_chart, grouped_bars, scatter
from evals.report import RunReport, Summary
from tools.formatting import esc, fmt_cost, fmt_seconds
from tools.stats import sampled_rate, wilson

if TYPE_CHECKING:
    from evals.results import CaseResult

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#111;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#555;margin-bottom:16px}
table{border-collapse:collapse;margin:8px 0;width:100%}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#15803d;font-weight:600}.fail{color:#b91c1c;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{border:1px solid #eee;padding:8px}
.reason{max-width:640px;word-break:break-word;font-size:12.5px}
.shots{display:flex;flex-wrap:wrap;gap:16px}.shots figure{margin:0}
.shots img{width:320px;border:1px solid #ccc}.shots figcaption{font-size:12px;color:#444}
code{background:#f3f3f3;padding:0 3px}
"""


def label(summary: Summary) -> str:
    parts = [summary.model]
    if summary.suite != "all":
        parts.append(f"{summary.suite}/{summary.mode}")
    return " · ".join(parts)


def _screenshot_tag(run_dir: Path, rel: str, caption: str) -> str:
    path = run_dir / rel
    try:
        data = base64.b64encode(path.read_bytes()).decode()
    except OSError:
        return ""
    return (
        f'<figure><a href="{esc(rel)}"><img alt="{esc(caption)}" src="data:image/png;base64,{data}"></a>'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def render_html(run: RunReport, run_dir: Path) -> str:
    per_model = run.per_model()
    groups = run.groups()
    bars = groups if len(groups) > len(per_model) else per_model
    charts = [
        bar_chart("Pass rate", [(label(s), s.pass_rate * 100) for s in bars], "%"),
        bar_chart("Median latency per case", [(label(s), s.median_latency) for s in bars], " s"),
        grouped_bars(
            "Tokens", [(label(s), s.input_tokens, s.output_tokens) for s in bars], ("input", "output")
        ),
        bar_chart("Cost (from the providers' prices)", [(label(s), s.cost) for s in bars], " $"),
        scatter(
            "Quality vs cost",
            [(s.model, s.cost, s.pass_rate * 100) for s in per_model if s.cost is not None],
            "cost in $ (models without a price are left out)",
        ),
        scatter(
            "Quality vs latency",
            [(s.model, s.median_latency, s.pass_rate * 100) for s in per_model if s.median_latency],
            "median latency per case (s)",
        ),
    ]
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>codecrew eval {esc(run.run_id)}</title><style>{_CSS}</style></head><body>",
        f"<h1>codecrew eval {esc(run.run_id)}</h1>",
        f'<div class="meta">suites: {esc(", ".join(run.suites))} · modes: {esc(", ".join(run.modes))}'
        f" · started {esc(run.started)} · finished {esc(run.finished or '')}</div>",
    ]
    out += [f"<p>{esc(note)}</p>" for note in run.notes]
    out.append("<h2>Models</h2>")
    out.append(_summary_table(per_model + ([] if len(groups) == len(per_model) else groups), run.cases))
    out.append('<h2>Charts</h2><div class="charts">')
    out += [f'<div class="chart">{c}</div>' for c in charts]
    out.append("</div>")
    shots = [r for r in run.cases if r.screenshot]
    if shots:
        out.append('<h2>Screenshots</h2><div class="shots">')
        for r in shots:
            verdict = "pass" if r.passed else "fail"
            out.append(_screenshot_tag(run_dir, r.screenshot or "", f"{r.model} · {r.mode} · {verdict}"))
        out.append("</div>")
    out.append("<h2>Cases</h2>")
    out.append(_cases_table(run.cases))
    out.append("</body></html>")
    return "\n".join(out)


def pass_at_k_text(summary: Summary, cases: list[CaseResult]) -> str:
    """pass@1 (and pass@k when every case ran k > 1 times) over the summary's cases."""
    samples: dict[tuple[str, str, str], list[bool]] = {}
    for r in cases:
        if r.model == summary.model and summary.suite in ("all", r.suite) and summary.mode in ("all", r.mode):
            samples.setdefault((r.suite, r.mode, r.case), []).append(r.passed)
    at_k = sampled_rate(samples.values()).pass_at_k
    return ", ".join(f"pass@{k} {v:.0%}" for k, v in at_k.items()) or "-"


def _summary_table(summaries: list[Summary], cases: list[CaseResult]) -> str:
    head = (
        "<table><tr><th>model</th><th>suite</th><th>mode</th><th>passed</th><th>pass rate</th>"
        "<th>95% interval</th><th>pass@k</th>"
        "<th>median latency</th><th>requests</th><th>tokens in</th><th>tokens out</th>"
        "<th>cost</th><th>failures</th></tr>"
    )
    rows = []
    for s in summaries:
        failures = ", ".join(f"{k}: {v}" for k, v in s.failures.items()) or "-"
        cost = fmt_cost(s.cost)
        if s.cost is not None and s.priced_cases < s.cases:
            cost += f" ({s.priced_cases}/{s.cases} priced)"
        rows.append(
            f"<tr><td>{esc(s.model)}</td><td>{esc(s.suite)}</td><td>{esc(s.mode)}</td>"
            f'<td class="num">{s.passed}/{s.cases}</td><td class="num">{s.pass_rate:.0%}</td>'
            f'<td class="num">{wilson(s.passed, s.cases)}</td><td>{esc(pass_at_k_text(s, cases))}</td>'
            f'<td class="num">{fmt_seconds(s.median_latency)}</td><td class="num">{s.requests}</td>'
            f'<td class="num">{s.input_tokens}</td><td class="num">{s.output_tokens}</td>'
            f'<td class="num">{esc(cost)}</td><td>{esc(failures)}</td></tr>'
        )
    return head + "".join(rows) + "</table>"


def _cases_table(cases: list[CaseResult]) -> str:
    head = (
        "<table><tr><th>suite</th><th>case</th><th>model</th><th>mode</th><th>result</th>"
        "<th>reason</th><th>time</th><th>tokens in/out</th><th>cost</th><th>scores</th></tr>"
    )
    rows = []
    for r in sorted(cases, key=lambda r: (r.suite, r.case, r.model, r.mode)):
        verdict = (
            '<span class="pass">pass</span>' if r.passed else f'<span class="fail">{esc(r.failure)}</span>'
        )
        scores = ", ".join(f"{k} {v:g}" for k, v in r.scores.items()) or ""
        files = f' <a href="{esc(r.work_dir)}">files</a>' if r.work_dir else ""
        rows.append(
            f"<tr><td>{esc(r.suite)}</td><td>{esc(r.case)}{files}</td><td>{esc(r.model)}</td>"
            f"<td>{esc(r.mode)}</td><td>{verdict}{' (lazy)' if r.lazy else ''}</td>"
            f'<td class="reason">{esc(r.reason)}</td><td class="num">{r.duration:.1f}s</td>'
            f'<td class="num">{r.input_tokens}/{r.output_tokens}</td>'
            f'<td class="num">{esc(fmt_cost(r.cost))}</td><td class="reason">{esc(scores)}</td></tr>'
        )
    return head + "".join(rows) + "</table>"


def write_reports(run: RunReport, run_dir: Path) -> tuple[Path, Path]:
    """Write report.json and report.html into `run_dir`; their paths."""
    run_dir.mkdir(parents=True, exist_ok=True)
    json_path = run_dir / "report.json"
    json_path.write_text(json.dumps(run.to_dict(), indent=2) + "\n", encoding="utf-8")
    html_path = run_dir / "report.html"
    html_path.write_text(render_html(run, run_dir), encoding="utf-8")
    return json_path, html_path
