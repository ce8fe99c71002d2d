"""How the eval numbers read, in the terminal and in the HTML report alike.

Unknown is "n/a", never 0: a model without a price or a run without an answer is not free
or instant.
"""

from __future__ import annotations

import html
from typing import Any


def fmt_cost(cost: float | None) -> str:
    if cost is None:
        return "n/a"
    return f"${cost:.4f}" if cost < 1 else f"${cost:.2f}"


def fmt_seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}s"


def fmt_tokens(value: int) -> str:
    return f"{value / 1000:.1f}k" if value >= 10_000 else str(value)


def esc(value: Any) -> str:
    """Any value as HTML text, safe inside attributes too."""
    return html.escape(str(value), quote=True)
