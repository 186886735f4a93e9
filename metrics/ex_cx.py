"""The EX ↔ CX page: each unit's employee eNPS beside its customers' NPS and CSAT, the
scatter of the two, and their correlation (reads in metrics.selectors.units)."""

import csv
import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, AudienceKind
from metrics.access import viewable_audiences
from metrics.selectors.units import SEGMENT, ExCx, UnitRow, ex_cx, unit_keys
from surveys.exports import neutralise

DEFAULT_DAYS = 90


class ExCxForm(forms.Form):
    """The page's choices; a bad value is reported and its default used instead."""

    employees = forms.SlugField(label=_("Employees"), required=False)
    customers = forms.SlugField(label=_("Customers"), required=False)
    unit = forms.CharField(label=_("Unit"), max_length=64, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # "from" and "to" are Python keywords: declared here, as the API names them.
        self.fields["from"] = forms.DateField(label=_("From"), required=False)
        self.fields["to"] = forms.DateField(label=_("To"), required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            self.add_error("from", _("from must not be after to."))
        return cleaned


def window(start: dt.date | None, end: dt.date | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The days asked for: from/to as given, else the last DEFAULT_DAYS days up to today."""
    end = end or today
    return start or end - dt.timedelta(days=DEFAULT_DAYS - 1), end


def pick_audience(audiences: list[Audience], slug: str | None) -> Audience | None:
    """The audience named by slug (404 if it is not among those offered), else the first."""
    if not slug:
        return audiences[0] if audiences else None
    for audience in audiences:
        if audience.slug == slug:
            return audience
    raise Http404(gettext("No such audience among those you may see."))


def page(request: HttpRequest) -> HttpResponse:
    """/admin/metrics/ex-cx/: VIEWER on both audiences; `?format=csv` gives the units table."""
    visible = list(viewable_audiences(request).order_by("priority", "name", "pk"))
    staff_choices = [a for a in visible if a.kind == AudienceKind.EMPLOYEE]
    client_choices = sorted(
        (a for a in visible if a.kind != AudienceKind.EMPLOYEE),
        key=lambda a: a.kind != AudienceKind.CUSTOMER,  # customers first, then the rest
    )
    form = ExCxForm(request.GET)
    form.is_valid()
    cleaned = {k: v for k, v in form.cleaned_data.items() if k not in form.errors}
    employees = pick_audience(staff_choices, cleaned.get("employees"))
    customers = pick_audience(client_choices, cleaned.get("customers"))
    today = timezone.localdate()
    date_from, date_to = window(cleaned.get("from"), cleaned.get("to"), today)
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": _("Employee and customer experience"),
        "form": form,
        "staff_choices": staff_choices,
        "client_choices": client_choices,
        "employees": employees,
        "customers": customers,
        "date_from": date_from,
        "date_to": date_to,
        "result": None,
    }
    if employees is None or customers is None:
        return render(request, "admin/metrics/ex_cx.html", context)
    keys = unit_keys(employees=employees, customers=customers)
    unit = cleaned.get("unit") or keys[0]
    if unit not in keys:
        form.add_error("unit", _("Choose one of the units both audiences share."))
        unit = keys[0]
    result = ex_cx(
        employees=employees,
        customers=customers,
        unit=unit,
        date_from=date_from,
        date_to=date_to,
    )
    if request.GET.get("format") == "csv":
        return csv_response(result, name=f"ex-cx-{employees.slug}-{customers.slug}-{unit}")
    context.update(
        unit=unit,
        unit_keys=keys,
        unit_label=unit_label(unit),
        result=result,
        scatter=scatter(result.rows),
        csv_query=_query(request, format="csv"),
        charts_js=finders.find("metrics/charts.js") is not None,
    )
    return render(request, "admin/metrics/ex_cx.html", context)


def unit_label(unit: str) -> str:
    return gettext("Segment") if unit == SEGMENT else unit


def _query(request: HttpRequest, **extra: str) -> str:
    params = request.GET.copy()
    for key, value in extra.items():
        params[key] = value
    return params.urlencode()


CSV_COLUMNS = (
    "unit",
    "enps",
    "enps_margin",
    "enps_n",
    "employees_suppressed",
    "nps",
    "nps_margin",
    "nps_n",
    "csat",
    "csat_margin",
    "csat_n",
)


def csv_rows(result: ExCx) -> list[list[Any]]:
    """The units table as CSV rows: a withheld unit carries no eNPS and no n."""

    def num(value: float | None) -> str:
        return "" if value is None else f"{value:.1f}"

    rows: list[list[Any]] = [list(CSV_COLUMNS)]
    for row in result.rows:
        staff = row.employees
        rows.append(
            [
                neutralise(row.unit),
                "" if row.employees_suppressed else num(staff.value),
                "" if row.employees_suppressed else num(staff.margin),
                "" if row.employees_suppressed else staff.n,
                "yes" if row.employees_suppressed else "",
                num(row.nps.value),
                num(row.nps.margin),
                row.nps.n,
                num(row.csat.value),
                num(row.csat.margin),
                row.csat.n,
            ]
        )
    return rows


def csv_response(result: ExCx, *, name: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    writer = csv.writer(response)
    writer.writerows(csv_rows(result))
    return response


# --- The scatter plot --------------------------------------------------------------------------


@dataclass
class Point:
    unit: str
    x: float
    y: float
    x_low: float
    x_high: float
    y_low: float
    y_high: float
    row: UnitRow
    # Where the unit's name goes: right of the point, or left of it in the right half.
    label_x: float = 0.0
    label_y: float = 0.0
    anchor: str = "start"


def _place_labels(points: list[Point]) -> None:
    """Name each point beside it, towards the plot's middle; a name that would sit on one
    already placed moves below its point, then further down."""
    placed: list[tuple[float, float, float]] = []  # (left, right, baseline) of names
    middle = (LEFT + WIDTH - RIGHT) / 2
    for p in sorted(points, key=lambda p: (p.y, p.x)):
        width = 6.5 * min(len(p.unit), LABEL_CHARS)
        if p.x > middle:
            p.anchor, p.label_x, left = "end", p.x - 8, p.x - 8 - width
        else:
            p.anchor, p.label_x, left = "start", p.x + 8, p.x + 8
        baseline = p.y - 8
        while any(abs(baseline - y) < 13 and left < r and left + width > q for q, r, y in placed):
            baseline += 14
        p.label_y = min(baseline, HEIGHT - BOTTOM - 4)
        placed.append((left, left + width, p.label_y))


LABEL_CHARS = 16
# The plot's box in SVG units: NPS and eNPS both run from -100 to 100.
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 420.0, 320.0, 48.0, 16.0, 16.0, 44.0


@dataclass(frozen=True)
class Axis:
    """One axis of the scatter: the scores it spans and the pixels it takes."""

    low: float
    high: float
    start: float  # pixel of `low`
    end: float  # pixel of `high`

    def at(self, value: float) -> float:
        value = max(self.low, min(self.high, value))
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)

    def ticks(self) -> list[float]:
        span = self.high - self.low
        step = next(s for s in (5, 10, 20, 25, 50, 100) if span / s <= 6)
        first = math.ceil(self.low / step) * step
        return [float(v) for v in range(int(first), int(self.high) + 1, step)]


def axis_range(values: list[float]) -> tuple[float, float]:
    """Scores' span rounded out to tens, at least 40 points wide, within -100…100."""
    low, high = min(values), max(values)
    low, high = math.floor((low - 5) / 10) * 10, math.ceil((high + 5) / 10) * 10
    while high - low < 40:
        low, high = low - 5, high + 5
    return max(-100.0, low), min(100.0, high)


def scatter(rows: list[UnitRow]) -> dict[str, Any]:
    """SVG geometry: one point per paired unit with its two margins as error bars (cut at the
    plot's edge), on axes that span the units' scores, with their grid lines."""
    paired = [row for row in rows if row.paired]
    if not paired:
        return {"points": []}
    sx = Axis(*axis_range([r.employees.value or 0.0 for r in paired]), LEFT, WIDTH - RIGHT)
    sy = Axis(*axis_range([r.nps.value or 0.0 for r in paired]), HEIGHT - BOTTOM, TOP)
    points = []
    for row in paired:
        x, y = row.employees.value or 0.0, row.nps.value or 0.0
        mx, my = row.employees.margin or 0.0, row.nps.margin or 0.0
        points.append(
            Point(
                unit=row.unit,
                x=sx.at(x),
                y=sy.at(y),
                x_low=sx.at(x - mx),
                x_high=sx.at(x + mx),
                y_low=sy.at(y - my),
                y_high=sy.at(y + my),
                row=row,
            )
        )
    _place_labels(points)
    return {
        "points": points,
        "x_ticks": [{"value": v, "at": sx.at(v), "zero": v == 0} for v in sx.ticks()],
        "y_ticks": [
            {"value": v, "at": sy.at(v), "text": sy.at(v) + 4, "zero": v == 0} for v in sy.ticks()
        ],
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "tick_x": LEFT - 6,
        "tick_y": HEIGHT - BOTTOM + 14,
        "bottom": HEIGHT - BOTTOM,
        "x_label_y": HEIGHT - 6,
        "mid_x": (LEFT + WIDTH - RIGHT) / 2,
        "mid_y": (TOP + HEIGHT - BOTTOM) / 2,
    }
