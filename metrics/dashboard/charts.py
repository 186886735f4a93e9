"""Chart geometry for the server-rendered SVG charts: points, lines, the margin band, axes, and
the names of periods."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import dateformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

CHART_W, CHART_H = 640, 200
SPARK_W, SPARK_H = 160, 36
PER_PERIOD = "day"
PERIOD_AXIS = {
    PER_PERIOD: _("Reporting period"),
    "week": _("Week"),
    "month": _("Month"),
}


@dataclass(frozen=True)
class Window:
    """The period a page looks at."""

    date_from: dt.date | None
    date_to: dt.date
    days: int | None


def chart_points(
    values: list[float | None], *, low: float, high: float, w: int, h: int
) -> list[tuple[int, float, float]]:
    """(index, x, y) of each value on [low, high] in a w × h chart; gaps (None) are skipped."""
    step = w / max(len(values) - 1, 1)
    span = (high - low) or 1.0
    return [
        (i, round(i * step, 1), round(h - (v - low) / span * h, 1))
        for i, v in enumerate(values)
        if v is not None
    ]


def polyline(values: list[float | None], *, low: float, high: float, w: int, h: int) -> str:
    """SVG polyline points for values on [low, high]; gaps (None) are skipped."""
    points = chart_points(values, low=low, high=high, w=w, h=h)
    return " ".join(f"{x:.1f},{y:.1f}" for _i, x, y in points)


def _y(value: float, *, low: float, high: float, h: int) -> float:
    clipped = min(max(value, low), high)
    return round(h - (clipped - low) / ((high - low) or 1.0) * h, 1)


def margin_band(
    values: list[float | None],
    margins: list[float | None],
    *,
    low: float,
    high: float,
    w: int,
    h: int,
) -> tuple[list[str], list[dict[str, float]]]:
    """The 95 % margin around a line: SVG polygons (value + margin along the top, value −
    margin back along the bottom, clipped to [low, high]) for each run of two or more
    neighbouring points with a margin, and an error bar {x, y1, y2} for a lone one."""
    step = w / max(len(values) - 1, 1)
    runs: list[list[tuple[float, float, float]]] = [[]]
    for i, (v, m) in enumerate(zip(values, margins, strict=True)):
        if v is None or m is None:
            runs.append([])
            continue
        x = round(i * step, 1)
        runs[-1].append((x, _y(v + m, low=low, high=high, h=h), _y(v - m, low=low, high=high, h=h)))
    polygons, bars = [], []
    for run in runs:
        if len(run) == 1:
            x, top, bottom = run[0]
            bars.append({"x": x, "y1": top, "y2": bottom})
        elif run:
            upper = [f"{x:.1f},{top:.1f}" for x, top, _b in run]
            lower = [f"{x:.1f},{bottom:.1f}" for x, _t, bottom in reversed(run)]
            polygons.append(" ".join(upper + lower))
    return polygons, bars


def trend_chart(
    rows: list[dict[str, Any]], *, low: float, high: float, period: str
) -> dict[str, Any]:
    """The trend's drawing: line, dots, margin band, axis ticks and the x axis's name."""
    values = [r.get("score") for r in rows]
    margins = [r.get("margin") for r in rows]
    band, bars = margin_band(values, margins, low=low, high=high, w=CHART_W, h=CHART_H)
    mid = (low + high) / 2
    return {
        "rows": rows,
        "points": polyline(values, low=low, high=high, w=CHART_W, h=CHART_H),
        # A dot per shown point: a lone period (or one between gaps) draws no line.
        "dots": [
            {"x": x, "y": y, "row": rows[i]}
            for i, x, y in chart_points(values, low=low, high=high, w=CHART_W, h=CHART_H)
        ],
        "band": band,
        "bars": bars,
        "low": low,
        "high": high,
        "mid": mid,
        # Attributes as plain strings: a number in a template would follow the locale ("100,0").
        "mid_y": f"{CHART_H / 2:.1f}",
        "mid_label_y": f"{CHART_H / 2 + 4:.1f}",
        "period": period,
        "x_axis": PERIOD_AXIS.get(period, PERIOD_AXIS["month"]),
    }


def month_start(day: dt.date, months_back: int) -> dt.date:
    """The first day of the month `months_back` months before `day`'s (negative: after)."""
    month = day.month - months_back
    year = day.year + (month - 1) // 12
    return dt.date(year, (month - 1) % 12 + 1, 1)


def period_label(starts_on: dt.date, ends_on: dt.date) -> str:
    """A reporting period as people name it: "Oct 2026" for a calendar month, "Q4 2026" for a
    calendar quarter, else its first and last day ("28 Sep – 4 Oct 2026")."""
    if starts_on.day == 1 and ends_on == month_start(starts_on, -1) - dt.timedelta(days=1):
        return dateformat.format(starts_on, "M Y")
    if (
        starts_on.day == 1
        and starts_on.month % 3 == 1
        and ends_on == month_start(starts_on, -3) - dt.timedelta(days=1)
    ):
        return gettext("Q%(quarter)d %(year)d") % {
            "quarter": (starts_on.month - 1) // 3 + 1,
            "year": starts_on.year,
        }
    first = "j M" if starts_on.year == ends_on.year else "j M Y"
    return f"{dateformat.format(starts_on, first)} – {dateformat.format(ends_on, 'j M Y')}"


def trend_label(start: dt.date, period: str, ends: set[dt.date]) -> str:
    """A trend point's name: its week's Monday, its month, or its reporting period (`ends`:
    the ends of the reporting periods starting that day)."""
    if period == "month":
        return dateformat.format(start, "M Y")
    if period != PER_PERIOD or len(ends) != 1:
        return dateformat.format(start, "j M Y")
    return period_label(start, next(iter(ends)))
