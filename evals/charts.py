"""Charts as inline SVG strings, drawn by matplotlib (Agg, no pyplot, no display).

Used by the HTML report (evals.report_html) and the dashboard (evals.serve). Every chart:
text stays text (`svg.fonttype: none`, small and searchable), labels are never clipped
(`bbox_inches="tight"`), a single series has a single colour, several series get one
colour each with a legend, and None values are shown as "n/a" (unknown is not zero).
matplotlib is imported on first use: importing this module costs nothing.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tools.formatting import bounded, esc

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Points = Sequence[tuple[datetime | str, float | None]] | Sequence[tuple[datetime, float | None]]
PALETTE = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#4d7c0f", "#be185d"]
_WIDTH_IN = 6.4
_STYLE: Any = {  # matplotlib rcParams
    "svg.fonttype": "none",
    "svg.hashsalt": "codecrew",  # stable ids: the same data draws the same file
    "font.size": 9,
    "font.family": "sans-serif",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
}


def _figure(height_in: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(_WIDTH_IN, height_in), dpi=96)


def _svg(fig: Figure, title: str) -> str:
    """The figure as an inline <svg> element (no XML prolog), titled for screen readers."""
    from matplotlib import rc_context

    buf = io.StringIO()
    with rc_context(_STYLE):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<svg ", '<svg role="img" ', text, count=1)
    return text.replace(">", f"><title>{esc(title)}</title>", 1)


def _short(text: str, limit: int = 40) -> str:
    return bounded(text, limit)


def _shown(value: float, unit: str) -> str:
    return f"{value:.1f}%" if unit == "%" else f"{value:.4g}{unit}"


def _bar_height(n: int) -> float:
    return 0.9 + 0.32 * max(n, 1)


def bar_chart(title: str, items: Sequence[tuple[str, float | None]], unit: str = "") -> str:
    """Horizontal bars, one colour; a None value is written "n/a" where its bar would be."""
    from matplotlib import rc_context

    with rc_context(_STYLE):
        fig = _figure(_bar_height(len(items)))
        ax = fig.add_subplot()
        ax.set_title(title)
        labels = [_short(name) for name, _ in items]
        values = [v if v is not None else 0.0 for _, v in items]
        positions = list(range(len(items)))
        ax.barh(positions, values, color=PALETTE[0], height=0.6)
        ax.set_yticks(positions, labels)
        ax.invert_yaxis()
        top = max([v for _, v in items if v is not None] or [0.0])
        ax.set_xlim(0, (top or 1.0) * 1.25)
        for y, (_, value) in enumerate(items):
            text = "n/a" if value is None else _shown(value, unit)
            ax.annotate(text, (value or 0.0, y), xytext=(4, 0), textcoords="offset points", va="center")
        if unit == "%":
            ax.set_xlim(0, 115)
            ax.set_xticks([0, 25, 50, 75, 100])
        if not items:
            _no_data(ax)
        return _svg(fig, title)


def grouped_bars(title: str, items: list[tuple[str, int, int]], legend: tuple[str, str]) -> str:
    """Two horizontal bars per item (e.g. input and output tokens), one colour per series."""
    from matplotlib import rc_context

    with rc_context(_STYLE):
        fig = _figure(_bar_height(len(items)) + 0.3)
        ax = fig.add_subplot()
        ax.set_title(title)
        positions = list(range(len(items)))
        for offset, (series, color, index) in zip(
            (-0.18, 0.18), ((legend[0], PALETTE[0], 1), (legend[1], PALETTE[1], 2)), strict=True
        ):
            values = [item[index] for item in items]
            bars = ax.barh([p + offset for p in positions], values, height=0.34, color=color, label=series)
            ax.bar_label(bars, padding=3, fontsize=8)
        ax.set_yticks(positions, [_short(name) for name, _, _ in items])
        ax.invert_yaxis()
        top = max([max(a, b) for _, a, b in items] or [0])
        ax.set_xlim(0, (top or 1) * 1.2)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        if not items:
            _no_data(ax)
        return _svg(fig, title)


def scatter(title: str, points: list[tuple[str, float, float]], x_label: str) -> str:
    """Pass rate (y, 0-100 %) against x; one colour and a legend entry per model."""
    from matplotlib import rc_context

    with rc_context(_STYLE):
        fig = _figure(3.4)
        ax = fig.add_subplot()
        ax.set_title(title)
        ax.set_xlabel(x_label)
        ax.set_ylabel("pass rate %")
        ax.set_ylim(-5, 105)
        for i, (name, x, y) in enumerate(points):
            ax.scatter([x], [y], s=48, color=PALETTE[i % len(PALETTE)], label=_short(name, 36), zorder=3)
        ax.grid(True, alpha=0.3)
        if points:
            ax.set_xlim(left=0)
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        else:
            _no_data(ax)
        return _svg(fig, title)


def line_chart(
    title: str,
    series: Mapping[str, Points],
    y_label: str,
    *,
    percent: bool = False,
) -> str:
    """One line per series over time (x: datetimes or run labels), one colour each."""
    from matplotlib import rc_context

    with rc_context(_STYLE):
        fig = _figure(3.2)
        ax = fig.add_subplot()
        ax.set_title(title)
        ax.set_ylabel(y_label)
        for i, (name, points) in enumerate(series.items()):
            shown = [(x, y) for x, y in points if y is not None]
            if not shown:
                continue
            xs: list[Any] = [x for x, _ in shown]
            ys = [y for _, y in shown]
            ax.plot(xs, ys, marker="o", color=PALETTE[i % len(PALETTE)], label=_short(name, 36))
        if percent:
            ax.set_ylim(-5, 105)
        else:
            ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        if any(series.values()):
            if any(isinstance(x, datetime) for points in series.values() for x, _ in points):
                from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

                locator = AutoDateLocator(maxticks=6)
                ax.xaxis.set_major_locator(locator)
                ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        else:
            _no_data(ax)
        return _svg(fig, title)


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#777")
    ax.set_xticks([])
    ax.set_yticks([])
