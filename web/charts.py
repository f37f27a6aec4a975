"""Assessment scores over time: one table and one small server-drawn SVG line chart per instrument."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext

# Scores of different instruments are never mixed: each has its own range and its own chart.
INSTRUMENTS = {
    "direct_loneliness_jp": (lazy_gettext("Loneliness, direct question (1-5)"), 1, 5,
                             lazy_gettext("Higher means the person feels lonely more often.")),
    "ucla3_jp": (lazy_gettext("UCLA Loneliness Scale, 3 items (3-12)"), 3, 12,
                 lazy_gettext("Higher means stronger loneliness.")),
    "isolation_indicators": (lazy_gettext("Isolation indicators (0-4)"), 0, 4,
                             lazy_gettext("How many of the four isolation indicators apply.")),
}

WIDTH, HEIGHT = 360, 160
LEFT, RIGHT, TOP, BOTTOM = 34, 20, 22, 30


@dataclass
class Point:
    x: float
    y: float
    value: int
    label: str
    anchor: str = "middle"  # where the date under the point is anchored, so edge labels stay inside
    proxy: bool = False  # answered by a supporter for the person: drawn hollow, not comparable with surveys


@dataclass
class Chart:
    """What the `score_chart` macro draws; coordinates are already scaled to the viewBox."""

    title: str
    summary: str
    width: int
    height: int
    points: list[Point]
    ticks: list[tuple[float, int]]  # (y, value) for the horizontal grid lines
    axis_left: float
    axis_right: float
    axis_bottom: float

    @property
    def path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass
class InstrumentScores:
    """One instrument's administrations of one person, oldest first, with its chart."""

    code: str
    title: str
    note: str
    low: int | None
    high: int | None
    rows: list = field(default_factory=list)  # (AssessmentRecord, episode number)
    chart: Chart | None = None


def line_chart(title: str, values: list[tuple], low: int, high: int, proxy_note: str = "") -> Chart:
    """Scale (label, value[, proxy]) tuples into a chart whose vertical axis runs from `low` to `high`."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = max(high - low, 1)

    def y_of(value: float) -> float:
        clamped = min(max(value, low), high)
        return TOP + (high - clamped) / span * plot_h

    count = len(values)
    points = [
        Point(x=LEFT + (plot_w / 2 if count == 1 else i * plot_w / (count - 1)), y=y_of(v), value=v, label=label,
              anchor="middle" if count == 1 else "start" if i == 0 else "end" if i == count - 1 else "middle",
              proxy=bool(rest and rest[0]))
        for i, (label, v, *rest) in enumerate(values)
    ]
    middle = low + span // 2
    ticks = [(y_of(t), t) for t in sorted({low, middle, high}, reverse=True)]
    summary = "、".join(f"{p.label}: {p.value}{proxy_note if p.proxy else ''}" for p in points)
    return Chart(title=title, summary=f"{title} — {summary}", width=WIDTH, height=HEIGHT, points=points,
                 ticks=ticks, axis_left=LEFT, axis_right=WIDTH - RIGHT, axis_bottom=TOP + plot_h)


def scores_by_instrument(assessments: list, episodes: dict[int, int], date_label,
                         proxy_note: str = "") -> list[InstrumentScores]:
    """Group a person's assessments by instrument, known instruments first, each with a chart."""
    groups: dict[str, InstrumentScores] = {}
    for code, (title, low, high, note) in INSTRUMENTS.items():
        groups[code] = InstrumentScores(code, str(title), str(note), low, high)
    for record in assessments:
        group = groups.setdefault(record.instrument, InstrumentScores(record.instrument, record.instrument, "",
                                                                      None, None))
        group.rows.append((record, episodes.get(record.case_id)))
    shown = [g for g in groups.values() if g.rows]
    for group in shown:
        scored = [(date_label(r.recorded_at), r.score, r.respondent == "proxy")
                  for r, _episode in group.rows if r.score is not None]
        if scored and group.low is not None:
            group.chart = line_chart(group.title, scored, group.low, group.high, proxy_note=proxy_note)
    return shown
