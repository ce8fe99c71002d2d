"""How numbers, costs and durations read, on the terminal and in the HTML report alike.

Unknown is "n/a" everywhere, never 0: a model without a price or a run without an answer is
neither free nor instant.
"""

from __future__ import annotations

import html
import inspect
import re
import textwrap
from typing import Any

UNKNOWN = "n/a"


def bounded(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def fmt_money(value: float) -> str:
    """US dollars: four decimals under $1, two above."""
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"


def fmt_cost(cost: float | None) -> str:
    """A cost in US dollars; n/a when it is not known (local models, unpriced models)."""
    return UNKNOWN if cost is None else fmt_money(cost)


def fmt_price(value: float | None) -> str:
    """A price per million tokens: 0 for free, n/a when unknown."""
    if value is None:
        return UNKNOWN
    return "0" if value == 0 else f"{value:g}"


def fmt_seconds(value: float | None) -> str:
    """A duration: two decimals under a second, one above."""
    if value is None:
        return UNKNOWN
    return f"{value:.2f}s" if value < 1 else f"{value:.1f}s"


def fmt_tps(value: float | None) -> str:
    """Tokens per second."""
    return f"{UNKNOWN} tok/s" if value is None else f"{value:.1f} tok/s"


def fmt_tokens(value: int) -> str:
    """A token count; thousands as 12.3k from ten thousand on."""
    return f"{value / 1000:.1f}k" if value >= 10_000 else str(value)


def fmt_context(value: int | None) -> str:
    """A context window: 32K, 1M."""
    if value is None:
        return UNKNOWN
    return f"{value // 1000}K" if value < 1_000_000 else f"{value / 1e6:g}M"


def fmt_pct(value: float) -> str:
    """A rate in [0, 1] as a whole percentage."""
    return f"{value * 100:.0f}%"


def esc(value: Any) -> str:
    """Any value as HTML text, safe inside attributes too."""
    return html.escape(str(value), quote=True)


_PREFORMATTED = re.compile(r"^(?:\s|- |\d+\s)")  # indented, a list item, an exit code


def cli_help(text: str | None) -> str:
    """A docstring as typer's --help should show it: each prose paragraph on one line, for
    the terminal to wrap (typer keeps a paragraph's line breaks, so the source's wrapping
    came out ragged); examples and lists keep their lines, dedented."""
    paragraphs = inspect.cleandoc(text or "").split("\n\n")
    shown = []
    for paragraph in paragraphs:
        lines = paragraph.splitlines()
        if any(_PREFORMATTED.match(line) for line in lines):
            shown.append(textwrap.dedent(paragraph))
        else:
            shown.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(shown)
