"""Server-drawn SVG bar charts for the reports page: no script, no inline style (the CSP forbids both), only
coordinates already scaled to the viewBox and CSS classes for colour (web/static/reports.css).

`columns` draws categories along the bottom (the months of a fiscal year), `bars` draws them down the
side (channels, reasons, bands); either shows several series side by side or stacked.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

WIDTH = 480
SERIES_CLASSES = 8  # reports.css colours series s0..s7; more series reuse them


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str  # shown on hover and read by screen readers


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"
    css: str = "tick"


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    css: str = "grid"


@dataclass
class BarChart:
    """What the `bar_chart` macro draws."""

    title: str
    summary: str
    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)


Series = tuple[str, list[int]]  # (label, one value per category)


def text_width(text: str, size: float = 11) -> float:
    """Roughly how wide `text` is drawn: full-width (Japanese) characters take a whole em, others about half."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.6 for c in text)


def _css(index: int) -> str:
    return f"bar s{index % SERIES_CLASSES}"


def _step(top: int) -> int:
    """A round grid step giving at most five lines up to `top`."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if top / step <= 5:
            return step
    return max(1, top // 5)


def _highest(series: list[Series], stacked: bool) -> int:
    """The tallest bar (or stack) to draw."""
    if stacked:
        return max((sum(v) for v in zip(*(values for _label, values in series), strict=True)), default=0)
    return max((max(values, default=0) for _label, values in series), default=0)


def _legend(chart: BarChart, series: list[Series], y: float, left: float) -> float:
    """Draw the series' keys in rows from `y`; returns the y below the legend."""
    if len(series) < 2:
        return y
    x = left
    for index, (label, _values) in enumerate(series):
        needed = 14 + text_width(label) + 14
        if x + needed > chart.width - 8 and x > left:
            x, y = left, y + 16
        chart.rects.append(Rect(x, y - 9, 10, 10, _css(index), label))
        chart.texts.append(Text(x + 14, y, label, css="legend"))
        x += needed
    return y + 16


def _summary(title: str, categories: list[str], series: list[Series]) -> str:
    parts = []
    for index, category in enumerate(categories):
        values = "・".join(f"{label} {values[index]}" if len(series) > 1 else str(values[index])
                          for label, values in series)
        parts.append(f"{category}: {values}")
    return f"{title} — " + "、".join(parts)


def columns(title: str, categories: list[str], series: list[Series], stacked: bool = False) -> BarChart:
    """Vertical bars, one group (or stack) per category along the bottom."""
    chart = BarChart(title, _summary(title, categories, series), WIDTH, 0)
    left, right = 36.0, WIDTH - 10.0
    top = _legend(chart, series, 16, left) + 4
    plot_h = 150.0
    bottom = top + plot_h
    chart.height = int(bottom + 26)
    highest = _highest(series, stacked)
    step = _step(max(highest, 1))
    ceiling = max(step, -(-max(highest, 1) // step) * step)
    for tick in range(0, ceiling + 1, step):
        y = bottom - tick / ceiling * plot_h
        chart.lines.append(Line(left, y, right, y))
        chart.texts.append(Text(left - 6, y + 4, str(tick), "end"))
    slot = (right - left) / max(len(categories), 1)
    width = slot * 0.7 if stacked else slot * 0.8 / max(len(series), 1)
    for i, category in enumerate(categories):
        x0 = left + i * slot + slot * (0.15 if stacked else 0.1)
        base = bottom
        for s, (label, values) in enumerate(series):
            height = values[i] / ceiling * plot_h
            x = x0 if stacked else x0 + s * width
            y = base - height if stacked else bottom - height
            if values[i]:
                chart.rects.append(Rect(x, y, width, height, _css(s), f"{category} {label}: {values[i]}"))
            if stacked:
                base -= height
        chart.texts.append(Text(left + (i + 0.5) * slot, bottom + 16, category, "middle"))
    chart.lines.append(Line(left, bottom, right, bottom, "axis"))
    return chart


def bars(title: str, categories: list[str], series: list[Series], stacked: bool = False) -> BarChart:
    """Horizontal bars, one row per category, its name on the left and its value at the end of the bar."""
    chart = BarChart(title, _summary(title, categories, series), WIDTH, 0)
    label_w = min(max([text_width(c) for c in categories] or [0]) + 12, WIDTH * 0.42)
    left, right = label_w, WIDTH - 44.0
    top = _legend(chart, series, 16, 8) + 2
    row_h = 14.0 if stacked or len(series) == 1 else 10.0 * len(series) + 4
    gap = 8.0
    highest = _highest(series, stacked)
    scale = (right - left) / max(highest, 1)
    y = top
    for i, category in enumerate(categories):
        chart.texts.append(Text(left - 6, y + row_h / 2 + 4, category, "end", "tick"))
        x = left
        for s, (label, values) in enumerate(series):
            width = values[i] * scale
            thickness = row_h if stacked or len(series) == 1 else 10.0
            offset = 0.0 if stacked or len(series) == 1 else 2 + s * 10.0
            if values[i]:
                chart.rects.append(Rect(x if stacked else left, y + offset, width, thickness - 1, _css(s),
                                        f"{category} {label}: {values[i]}"))
            if not stacked and len(series) > 1:
                chart.texts.append(Text(left + width + 4, y + offset + 8.5, str(values[i]), css="value small"))
            if stacked:
                x += width
        if stacked or len(series) == 1:
            total = sum(values[i] for _l, values in series)
            chart.texts.append(Text((x if stacked else left + total * scale) + 4, y + row_h / 2 + 4, str(total),
                                    css="value"))
        y += row_h + gap
    chart.lines.append(Line(left, top - 2, left, y - gap + 2, "axis"))
    chart.height = int(y + 6)
    return chart
