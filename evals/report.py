"""What an eval run found: per-case results, per-model summaries, JSON and HTML reports.

`CaseResult.from_report` turns a pydantic-evals EvaluationReport into flat rows: pass/fail
(every assertion passed), a reason (the first failing assertion, model errors first), the
error class, duration, requests, tokens, cost and scores. Summaries never mix units: cost is
a sum of the prices the providers' responses gave (None when no case had one, never 0 for
"unknown"); tokens are counted separately; latency is the median case duration.

The HTML report is one self-contained file: inline SVG charts, no script, no network;
Tetris screenshots embedded as data URIs (and linked to the files beside it).
"""

from __future__ import annotations

import base64
import html
import json
import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CHECK_FAILED = "check_failed"  # the code ran and was wrong (not an ErrorClass: no error)
HARNESS_ERROR = "harness_error"  # an evaluator itself crashed: our bug, not the model's
FIRST = ("Answered", "NotLazy")  # reasons of these come first: they explain the rest


@dataclass
class CaseResult:
    suite: str
    model: str
    mode: str
    case: str
    passed: bool
    reason: str
    error_class: str | None  # tools.errors.ErrorClass value; None when passed or just wrong
    failure: str | None  # error_class, or "check_failed" / "harness_error"; None when passed
    duration: float
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    lazy: bool = False
    skipped: bool = False  # not asked: the model had already failed for good
    scores: dict[str, float] = field(default_factory=dict)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)  # assertion -> passed, reason
    files: list[str] = field(default_factory=list)  # what the answer held
    work_dir: str | None = None  # relative to the report folder: answer.md, files/
    screenshot: str | None = None  # relative to the report folder
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)  # pipeline: usage per role
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @classmethod
    def from_report(
        cls, report: Any, *, suite: str, model: str, mode: str, run_dir: Path
    ) -> list[CaseResult]:
        """Rows of a whole EvaluationReport (cases, then task failures)."""
        return [
            cls.from_result(r, suite=suite, model=model, mode=mode, run_dir=run_dir)
            for r in [*report.cases, *report.failures]
        ]

    @classmethod
    def from_result(cls, result: Any, *, suite: str, model: str, mode: str, run_dir: Path) -> CaseResult:
        """The row of one ReportCase, or of a ReportCaseFailure (the task raised: a bug of ours,
        since tasks turn model failures into data)."""
        if hasattr(result, "output"):
            return cls._from_case(result, suite, model, mode, run_dir)
        return cls(
            suite=suite,
            model=model,
            mode=mode,
            case=result.name,
            passed=False,
            reason=f"the eval task crashed: {result.error_message}"[:500],
            error_class="unknown",
            failure=HARNESS_ERROR,
            duration=0.0,
        )

    @classmethod
    def _from_case(cls, case: Any, suite: str, model: str, mode: str, run_dir: Path) -> CaseResult:
        out = case.output
        checks = {
            name: {"passed": bool(r.value), "reason": r.reason or ""} for name, r in case.assertions.items()
        }
        scores = {name: float(r.value) for name, r in case.scores.items()}
        ordered = sorted(checks, key=lambda n: (n not in FIRST, FIRST.index(n) if n in FIRST else 0))
        failing = [n for n in ordered if not checks[n]["passed"]]
        crashed = [f"{f.name} crashed: {f.error_message}" for f in case.evaluator_failures]
        passed = bool(checks) and not failing and not crashed
        if passed:
            others = [checks[n]["reason"] for n in ordered if n not in FIRST and checks[n]["reason"]]
            reason = "; ".join(others) or "passed"
        elif failing:
            reason = f"{failing[0]}: {checks[failing[0]]['reason']}"
        elif crashed:
            reason = crashed[0]
        else:
            reason = "no checks ran"
        error_class = out.error_class if not passed else None
        if passed:
            failure = None
        elif out.error_class:
            failure = out.error_class
        elif crashed and not failing:
            failure = HARNESS_ERROR
        else:
            failure = CHECK_FAILED
        work = Path(out.work_dir) if out.work_dir else None
        shot = work.parent / "screenshot.png" if work else None
        return cls(
            suite=suite,
            model=model,
            mode=mode,
            case=case.name,
            passed=passed,
            reason=reason[:1000],
            error_class=error_class,
            failure=failure,
            duration=round(out.duration, 3),
            requests=out.requests,
            input_tokens=out.input_tokens,
            output_tokens=out.output_tokens,
            cost=out.cost,
            lazy=out.lazy,
            skipped=out.skipped,
            scores=scores,
            checks=checks,
            files=sorted(out.files),
            work_dir=_rel(work.parent, run_dir) if work else None,
            screenshot=_rel(shot, run_dir) if shot and shot.is_file() else None,
            agents=out.agents,
            started=out.started,
        )


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


@dataclass
class Summary:
    model: str
    suite: str  # "all" for the model's total
    mode: str  # "all" for the model's total
    cases: int
    passed: int
    pass_rate: float
    median_latency: float | None
    requests: int
    input_tokens: int
    output_tokens: int
    cost: float | None  # sum over the cases that had a price; None when none had one
    priced_cases: int
    lazy: int
    failures: dict[str, int]

    @classmethod
    def of(cls, model: str, suite: str, mode: str, rows: list[CaseResult]) -> Summary:
        costs = [r.cost for r in rows if r.cost is not None]
        # latency of answers only: a skipped case (model already down) took no time
        durations = [r.duration for r in rows if not r.skipped]
        failures: dict[str, int] = {}
        for r in rows:
            if r.failure:
                failures[r.failure] = failures.get(r.failure, 0) + 1
        passed = sum(r.passed for r in rows)
        return cls(
            model=model,
            suite=suite,
            mode=mode,
            cases=len(rows),
            passed=passed,
            pass_rate=passed / len(rows) if rows else 0.0,
            median_latency=round(statistics.median(durations), 3) if durations else None,
            requests=sum(r.requests for r in rows),
            input_tokens=sum(r.input_tokens for r in rows),
            output_tokens=sum(r.output_tokens for r in rows),
            cost=round(sum(costs), 6) if costs else None,
            priced_cases=len(costs),
            lazy=sum(r.lazy for r in rows),
            failures=dict(sorted(failures.items(), key=lambda kv: -kv[1])),
        )


@dataclass
class RunReport:
    run_id: str
    started: str
    finished: str | None
    suites: list[str]
    models: list[str]
    modes: list[str]
    options: dict[str, Any]
    cases: list[CaseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def groups(self) -> list[Summary]:
        """One summary per (model, suite, mode), in the order the models were given."""
        keys = dict.fromkeys((r.model, r.suite, r.mode) for r in self.cases)
        order = {m: i for i, m in enumerate(self.models)}
        return [
            Summary.of(m, s, mo, [r for r in self.cases if (r.model, r.suite, r.mode) == (m, s, mo)])
            for m, s, mo in sorted(keys, key=lambda k: (order.get(k[0], 99), k[1], k[2]))
        ]

    def per_model(self) -> list[Summary]:
        """One summary per model over everything it ran (what --min-pass-rate looks at)."""
        return [
            Summary.of(m, "all", "all", rows)
            for m in self.models
            if (rows := [r for r in self.cases if r.model == m])
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started": self.started,
            "finished": self.finished,
            "suites": self.suites,
            "models": self.models,
            "modes": self.modes,
            "options": self.options,
            "notes": self.notes,
            "models_summary": [asdict(s) for s in self.per_model()],
            "groups": [asdict(s) for s in self.groups()],
            "cases": [asdict(c) for c in self.cases],
        }

    def write(self, run_dir: Path) -> tuple[Path, Path]:
        run_dir.mkdir(parents=True, exist_ok=True)
        json_path = run_dir / "report.json"
        json_path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        html_path = run_dir / "report.html"
        html_path.write_text(render_html(self, run_dir), encoding="utf-8")
        return json_path, html_path


# --- formatting ---------------------------------------------------------------------


def fmt_cost(cost: float | None) -> str:
    if cost is None:
        return "n/a"
    return f"${cost:.4f}" if cost < 1 else f"${cost:.2f}"


def fmt_seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}s"


def fmt_tokens(value: int) -> str:
    return f"{value / 1000:.1f}k" if value >= 10_000 else str(value)


def label(summary: Summary) -> str:
    parts = [summary.model]
    if summary.suite != "all":
        parts.append(f"{summary.suite}/{summary.mode}")
    return " · ".join(parts)


# --- HTML ---------------------------------------------------------------------------

_PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4d7c0f", "#be185d"]
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


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def bar_chart(title: str, items: list[tuple[str, float | None]], unit: str = "") -> str:
    """Horizontal bars; None values are drawn as 'n/a' (unknown is not zero)."""
    width, row, left = 560, 26, 230
    height = 34 + row * max(len(items), 1)
    known = [v for _, v in items if v is not None]
    top = max(known) if known and max(known) > 0 else 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<title>{_e(title)}</title><text x="0" y="16" font-weight="600">{_e(title)}</text>',
    ]
    for i, (name, value) in enumerate(items):
        y = 28 + i * row
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{_e(_short(name, 34))}</text>')
        if value is None:
            parts.append(f'<text x="{left}" y="{y + 15}" font-size="12" fill="#777">n/a</text>')
            continue
        w = max(1.0, (width - left - 90) * value / top)
        color = _PALETTE[i % len(_PALETTE)]
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{color}"/>')
        shown = f"{value:.4g}{unit}" if unit != "%" else f"{value:.1f}%"
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 15}" font-size="12">{_e(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def grouped_bars(title: str, items: list[tuple[str, int, int]], legend: tuple[str, str]) -> str:
    width, row, left = 560, 34, 230
    height = 50 + row * max(len(items), 1)
    top = max([max(a, b) for _, a, b in items] or [1]) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<title>{_e(title)}</title><text x="0" y="16" font-weight="600">{_e(title)}</text>',
        f'<rect x="{left}" y="24" width="10" height="10" fill="{_PALETTE[0]}"/>'
        f'<text x="{left + 14}" y="33" font-size="12">{_e(legend[0])}</text>'
        f'<rect x="{left + 110}" y="24" width="10" height="10" fill="{_PALETTE[4]}"/>'
        f'<text x="{left + 124}" y="33" font-size="12">{_e(legend[1])}</text>',
    ]
    for i, (name, a, b) in enumerate(items):
        y = 44 + i * row
        parts.append(f'<text x="0" y="{y + 18}" font-size="12">{_e(_short(name, 34))}</text>')
        for j, (value, color) in enumerate(((a, _PALETTE[0]), (b, _PALETTE[4]))):
            w = max(1.0, (width - left - 80) * value / top)
            yy = y + 3 + j * 13
            parts.append(f'<rect x="{left}" y="{yy}" width="{w:.1f}" height="11" fill="{color}"/>')
            parts.append(f'<text x="{left + w + 5:.1f}" y="{yy + 10}" font-size="11">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


def scatter(title: str, points: list[tuple[str, float, float]], x_label: str) -> str:
    """Pass rate (y, 0-100 %) against x; each point labelled with its model."""
    width, height, pad = 560, 340, 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<title>{_e(title)}</title><text x="0" y="16" font-weight="600">{_e(title)}</text>',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - 20}" y2="{height - pad}" stroke="#999"/>',
        f'<line x1="{pad}" y1="30" x2="{pad}" y2="{height - pad}" stroke="#999"/>',
        f'<text x="{width / 2}" y="{height - 12}" font-size="12" text-anchor="middle">{_e(x_label)}</text>',
        f'<text x="12" y="{height / 2}" font-size="12" transform="rotate(-90 12 {height / 2})" '
        'text-anchor="middle">pass rate %</text>',
    ]
    if not points:
        parts.append(f'<text x="{pad + 10}" y="{height / 2}" fill="#777">no data</text></svg>')
        return "".join(parts)
    top_x = max(x for _, x, _ in points) or 1.0
    plot_w, plot_h = width - pad - 40, height - pad - 40
    for tick in (0, 50, 100):
        y = height - pad - plot_h * tick / 100
        parts.append(f'<text x="{pad - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{tick}</text>')
    parts.append(
        f'<text x="{width - 20}" y="{height - pad + 16}" font-size="11" text-anchor="end">'
        f"{_e(f'{top_x:.4g}')}</text>"
    )
    for i, (name, x, y) in enumerate(points):
        cx = pad + plot_w * (x / top_x)
        cy = height - pad - plot_h * y / 100
        color = _PALETTE[i % len(_PALETTE)]
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="{color}"><title>{_e(name)}</title></circle>'
        )
        parts.append(f'<text x="{cx + 8:.1f}" y="{cy - 6:.1f}" font-size="11">{_e(_short(name, 30))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _screenshot_tag(run_dir: Path, rel: str, caption: str) -> str:
    path = run_dir / rel
    try:
        data = base64.b64encode(path.read_bytes()).decode()
    except OSError:
        return ""
    return (
        f'<figure><a href="{_e(rel)}"><img alt="{_e(caption)}" src="data:image/png;base64,{data}"></a>'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
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
        f"<title>codecrew eval {_e(run.run_id)}</title><style>{_CSS}</style></head><body>",
        f"<h1>codecrew eval {_e(run.run_id)}</h1>",
        f'<div class="meta">suites: {_e(", ".join(run.suites))} · modes: {_e(", ".join(run.modes))}'
        f" · started {_e(run.started)} · finished {_e(run.finished or '')}</div>",
    ]
    out += [f"<p>{_e(note)}</p>" for note in run.notes]
    out.append("<h2>Models</h2>")
    out.append(_summary_table(per_model + ([] if len(groups) == len(per_model) else groups)))
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


def _summary_table(summaries: list[Summary]) -> str:
    head = (
        "<table><tr><th>model</th><th>suite</th><th>mode</th><th>passed</th><th>pass rate</th>"
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
            f"<tr><td>{_e(s.model)}</td><td>{_e(s.suite)}</td><td>{_e(s.mode)}</td>"
            f'<td class="num">{s.passed}/{s.cases}</td><td class="num">{s.pass_rate:.0%}</td>'
            f'<td class="num">{fmt_seconds(s.median_latency)}</td><td class="num">{s.requests}</td>'
            f'<td class="num">{s.input_tokens}</td><td class="num">{s.output_tokens}</td>'
            f'<td class="num">{_e(cost)}</td><td>{_e(failures)}</td></tr>'
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
            '<span class="pass">pass</span>' if r.passed else f'<span class="fail">{_e(r.failure)}</span>'
        )
        scores = ", ".join(f"{k} {v:g}" for k, v in r.scores.items()) or ""
        files = f' <a href="{_e(r.work_dir)}">files</a>' if r.work_dir else ""
        rows.append(
            f"<tr><td>{_e(r.suite)}</td><td>{_e(r.case)}{files}</td><td>{_e(r.model)}</td>"
            f"<td>{_e(r.mode)}</td><td>{verdict}{' (lazy)' if r.lazy else ''}</td>"
            f'<td class="reason">{_e(r.reason)}</td><td class="num">{r.duration:.1f}s</td>'
            f'<td class="num">{r.input_tokens}/{r.output_tokens}</td>'
            f'<td class="num">{_e(fmt_cost(r.cost))}</td><td class="reason">{_e(scores)}</td></tr>'
        )
    return head + "".join(rows) + "</table>"
