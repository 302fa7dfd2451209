"""Charts drawn on the server as SVG: no script, no build step, nothing from elsewhere.

Each chart is a picture of numbers its page also shows in a table, so the SVG is marked as an
image with a title and a screen reader reads the table. The palette is the Okabe-Ito set, told
apart with any colour vision.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000")
WIDTH = 480
HEIGHT = 220
LEFT = 76
BOTTOM = 28
TOP = 12


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Mapping[date, int]


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2 or 5 times a power of ten that is at least `value` (1 for none)."""
    if value <= 0:
        return 1
    scale = 1
    while True:
        for step in (1, 2, 5, 10):
            if value <= step * scale:
                return step * scale
        scale *= 10


def _steps(top: int) -> int:
    """Gridlines for an axis up to `top`: each at a whole value, evenly apart (20 in fives,
    10 in twos, 5 in ones, 2 in ones, 1 alone), so no line is labelled a value it is not at."""
    for steps in (4, 5, 2) if str(top).startswith("2") else (5, 4, 2):
        if top % steps == 0:
            return steps
    return 1


def daily_bars(
    title: str,
    days: Sequence[date],
    series: Sequence[Series],
    *,
    label: Callable[[int], str] | None = None,
) -> Markup:
    """Bars per day, stacked by series, with a y axis and a legend; `label` writes a value
    (money in minor units as money, say)."""
    label = label or _short
    totals = [sum(s.values.get(day, 0) for s in series) for day in days]
    top = nice_ceiling(max(totals, default=0))
    plot_w = WIDTH - LEFT - 8
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.7, 1.0)
    parts: list[str] = []
    steps = _steps(top)
    for tick in range(steps + 1):
        value = top * tick // steps
        y = TOP + plot_h - plot_h * tick / steps
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
            f"{escape(label(value))}</text>"
        )
    for index, day in enumerate(days):
        x = LEFT + index * slot + (slot - bar) / 2
        base = float(TOP + plot_h)
        for colour, item in zip(PALETTE, series, strict=False):
            value = item.values.get(day, 0)
            if value <= 0:
                continue
            height = plot_h * value / top
            base -= height
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'fill="{colour}"><title>{escape(item.name)} {day:%-d %b}: '
                f"{escape(label(value))}</title></rect>"
            )
        if index % max(len(days) // 6, 1) == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - 8}" class="tick" '
                f'text-anchor="middle">{day:%-d %b}</text>'
            )
    legend = [(item.name, colour) for colour, item in zip(PALETTE, series, strict=False)]
    return _figure(title, parts, legend)


def bars(title: str, rows: Sequence[tuple[str, int]]) -> Markup:
    """One horizontal bar per row, its count at its end (a count of 0 has no bar, only the 0)."""
    top = nice_ceiling(max((n for _, n in rows), default=0))
    height = max(len(rows), 1) * 30 + 8
    label_w = 150
    plot_w = WIDTH - label_w - 60
    parts: list[str] = []
    for index, (label, count) in enumerate(rows):
        y = 6 + index * 30
        width = plot_w * count / top
        bar = (
            f'<rect x="{label_w}" y="{y + 4}" width="{max(width, 1):.1f}" height="18" '
            f'fill="{PALETTE[0]}"/>'
            if count > 0
            else ""
        )
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" class="label" text-anchor="end">'
            f"{escape(label)}</text>{bar}"
            f'<text x="{label_w + width + 6:.1f}" y="{y + 17}" class="label">{count:,}</text>'
        )
    return _figure(title, parts, [], height=height)


def _figure(
    title: str, parts: list[str], legend: list[tuple[str, str]], *, height: int = HEIGHT
) -> Markup:
    key = "".join(
        f'<span><svg class="swatch" viewBox="0 0 10 10"><rect width="10" height="10" '
        f'fill="{colour}"/></svg>{escape(name)}</span>'
        for name, colour in legend
    )
    svg = (
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        f'class="chart" preserveAspectRatio="xMinYMin meet">{"".join(parts)}</svg>'
    )
    legend_html = f'<p class="legend" aria-hidden="true">{key}</p>' if legend else ""
    return Markup(svg + legend_html)


def _short(value: int) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:,}"
