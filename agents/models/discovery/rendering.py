"""Showing what discovery found: a rich table for people, JSON for scripts."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from agents.models.discovery.records import DiscoveredModel, ProbeResult


def _fmt_price(value: float | None) -> str:
    return "?" if value is None else ("0" if value == 0 else f"{value:g}")


def discovery_table(models: list[DiscoveredModel], probes: list[ProbeResult] | None = None) -> Any:
    """The discovered models (and probe results) as a rich Table."""
    from rich.table import Table

    by_model = {p.model: p for p in probes or []}
    table = Table(title=f"{len(models)} models ($ per million tokens)")
    for column in ("model", "context", "$/M in", "$/M out", "free", "tools?"):
        table.add_column(column, no_wrap=column == "model")
    if probes is not None:
        for column in ("reachable", "latency s", "tools", "error", "detail"):
            table.add_column(column)
    for m in models:
        row = [
            m.model,
            str(m.context_length or "?"),
            _fmt_price(m.input_price),
            _fmt_price(m.output_price),
            "yes" if m.free else "",
            {True: "listed", False: "no", None: "?"}[m.advertises_tools],
        ]
        if probes is not None and (p := by_model.get(m.model)):
            retry = f" (retry after {p.retry_after:g} s)" if p.retry_after is not None else ""
            row += [
                "yes" if p.reachable else "no",
                f"{p.latency:.2f}" if p.latency is not None else "-",
                {True: "yes", False: "no", None: "?"}[p.supports_tools],
                (p.error_class or "") + retry,
                p.detail,
            ]
        table.add_row(*row)
    return table


def to_json(models: list[DiscoveredModel], probes: list[ProbeResult] | None = None) -> str:
    """Models (with their probe results under "probe") as a JSON list."""
    by_model = {p.model: asdict(p) for p in probes or []}
    rows = []
    for m in models:
        row = asdict(m)
        if probes is not None:
            row["probe"] = by_model.get(m.model)
        rows.append(row)
    return json.dumps(rows, indent=2)
