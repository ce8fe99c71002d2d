"""The inline SVG charts of the HTML report: no script, no network, one string each."""

from __future__ import annotations

from tools.formatting import esc

_PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4d7c0f", "#be185d"]


def bar_chart(title: str, items: list[tuple[str, float | None]], unit: str = "") -> str:
    """Horizontal bars; None values are drawn as 'n/a' (unknown is not zero)."""
    width, row, left = 560, 26, 230
    height = 34 + row * max(len(items), 1)
    known = [v for _, v in items if v is not None]
    top = max(known) if known and max(known) > 0 else 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<title>{esc(title)}</title><text x="0" y="16" font-weight="600">{esc(title)}</text>',
    ]
    for i, (name, value) in enumerate(items):
        y = 28 + i * row
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{esc(_short(name, 34))}</text>')
        if value is None:
            parts.append(f'<text x="{left}" y="{y + 15}" font-size="12" fill="#777">n/a</text>')
            continue
        w = max(1.0, (width - left - 90) * value / top)
        color = _PALETTE[i % len(_PALETTE)]
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{color}"/>')
        shown = f"{value:.4g}{unit}" if unit != "%" else f"{value:.1f}%"
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 15}" font-size="12">{esc(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def grouped_bars(title: str, items: list[tuple[str, int, int]], legend: tuple[str, str]) -> str:
    width, row, left = 560, 34, 230
    height = 50 + row * max(len(items), 1)
    top = max([max(a, b) for _, a, b in items] or [1]) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<title>{esc(title)}</title><text x="0" y="16" font-weight="600">{esc(title)}</text>',
        f'<rect x="{left}" y="24" width="10" height="10" fill="{_PALETTE[0]}"/>'
        f'<text x="{left + 14}" y="33" font-size="12">{esc(legend[0])}</text>'
        f'<rect x="{left + 110}" y="24" width="10" height="10" fill="{_PALETTE[4]}"/>'
        f'<text x="{left + 124}" y="33" font-size="12">{esc(legend[1])}</text>',
    ]
    for i, (name, a, b) in enumerate(items):
        y = 44 + i * row
        parts.append(f'<text x="0" y="{y + 18}" font-size="12">{esc(_short(name, 34))}</text>')
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
        f'<title>{esc(title)}</title><text x="0" y="16" font-weight="600">{esc(title)}</text>',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - 20}" y2="{height - pad}" stroke="#999"/>',
        f'<line x1="{pad}" y1="30" x2="{pad}" y2="{height - pad}" stroke="#999"/>',
        f'<text x="{width / 2}" y="{height - 12}" font-size="12" text-anchor="middle">{esc(x_label)}</text>',
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
        f"{esc(f'{top_x:.4g}')}</text>"
    )
    for i, (name, x, y) in enumerate(points):
        cx = pad + plot_w * (x / top_x)
        cy = height - pad - plot_h * y / 100
        color = _PALETTE[i % len(_PALETTE)]
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="{color}"><title>{esc(name)}</title></circle>'
        )
        parts.append(f'<text x="{cx + 8:.1f}" y="{cy - 6:.1f}" font-size="11">{esc(_short(name, 30))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
