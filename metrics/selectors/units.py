"""EX ↔ CX: each unit's employee eNPS beside its customers' NPS and CSAT, and their correlation.

A *unit* is what people of two audiences share through their memberships: a membership
attribute (`Membership.attributes`, e.g. "store", "branch", "region") or the membership
segment. Both sides are read through `figures` (the one read), so:

- Customers (named surveys) are exact and fresh: answers joined to the respondent's
  membership in the customer audience.
- Employees follow `metrics.privacy`: named surveys exact; anonymous surveys only over whole
  published reporting periods, a unit shown only when each of its blocks holds at least k
  answers and the rest of the block (its hidden units) is none or at least k (complements).
  An anonymous response keeps no person, hence no membership attribute, but it keeps the
  member's segment: anonymous answers are split by unit when the unit is the segment, or an
  attribute every employee's segment equals (`segment_is_attribute`: then the employees are
  read by segment), and are left out otherwise (`ExCx.anonymous_left_out` names the surveys).

The correlation is the plain (unweighted: one point per unit) Pearson r of unit eNPS against
unit customer NPS over the units where both are shown, with its 95 % interval from Fisher's z
(needs at least MIN_UNITS units).
"""

import datetime as dt
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from django.db.models import Count, F, FilteredRelation, Q
from django.db.models.fields.json import KeyTextTransform
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, Membership
from metrics import definitions as d
from metrics.selectors.reads import Figures, Scope, read_scope
from metrics.selectors.scores import figures
from metrics.selectors.slices import (
    METRIC_FIELDS,
    METRIC_QUESTION_TYPE,
    Agg,
    Filters,
    answers_scored,
    raw_aggregates,
    score_from,
)

SEGMENT = "segment"
MIN_UNITS = 4
# Attribute keys are read from each audience's newest memberships: enough to find the keys an
# import writes on every row, and a bounded read however large the audience.
KEY_SAMPLE = 500
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The two-sided 95 % normal quantile to full precision, as scipy's Fisher interval uses it.
Z_95_EXACT = 1.959963984540054


@dataclass(frozen=True)
class UnitRow:
    """One unit: its employees' eNPS (None with `employees_suppressed`: withheld) and its
    customers' NPS and CSAT (top-2-box); a Score with n 0 means no answers."""

    unit: str
    employees: d.Score
    employees_suppressed: bool
    nps: d.Score
    csat: d.Score

    @property
    def paired(self) -> bool:
        """Both eNPS and customer NPS shown: the unit is a point of the correlation."""
        return (
            not self.employees_suppressed
            and self.employees.value is not None
            and self.nps.value is not None
        )


@dataclass(frozen=True)
class Correlation:
    """Pearson r across units with its 95 % Fisher interval."""

    r: float
    low: float
    high: float
    units: int


@dataclass(frozen=True)
class ExCx:
    """What the EX ↔ CX page and API show."""

    unit: str
    rows: list[UnitRow]
    correlation: Correlation | None
    reason: str | None  # why there is no correlation, when there is none
    as_of: dt.datetime
    date_from: dt.date | None
    date_to: dt.date | None
    anonymous_left_out: list[str] = field(default_factory=list)
    # The employees' unit is their membership segment (segment_is_attribute).
    employees_by_segment: bool = False
    # The days the employees' figures cover: anonymous periods count whole, so these may reach
    # past the window asked for (see metrics.selectors.reads).
    employees_from: dt.date | None = None
    employees_to: dt.date | None = None

    @property
    def employees_window_differs(self) -> bool:
        return (self.employees_from, self.employees_to) != (self.date_from, self.date_to)


def unit_keys(*, employees: Audience, customers: Audience) -> list[str]:
    """The units both audiences can be split by: attribute keys found on memberships of both
    (sorted), then the segment. Two queries (one per audience, newest KEY_SAMPLE memberships)."""
    found = []
    for audience in (employees, customers):
        keys: set[str] = set()
        rows = (
            Membership.objects.filter(audience=audience)
            .exclude(Q(attributes={}) | Q(attributes__isnull=True))
            .order_by("-id")
            .values_list("attributes", flat=True)[:KEY_SAMPLE]
        )
        for attributes in rows:
            if isinstance(attributes, dict):
                keys.update(k for k in attributes if KEY_PATTERN.match(k))
        found.append(keys)
    return [*sorted(found[0] & found[1]), SEGMENT]


def segment_is_attribute(*, audience: Audience, key: str) -> bool:
    """Whether every member's segment in the audience is their `key` attribute (none without
    it), and someone has it: then answers, anonymous ones included, are split by the segment
    they kept. One aggregate query over the audience's memberships."""
    value = KeyTextTransform(key, "attributes")
    found = (
        Membership.objects.filter(audience=audience)
        .annotate(v=value)
        .aggregate(
            with_key=Count("id", filter=Q(v__isnull=False)),
            mismatched=Count(
                "id",
                filter=(Q(v__isnull=False) & ~Q(segment=F("v")))
                | (Q(v__isnull=True) & ~Q(segment="")),
            ),
        )
    )
    return bool(found["with_key"]) and not found["mismatched"]


def attribute_figures(*, metric: str, key: str, filters: Filters, scope: Scope) -> Figures:
    """A metric's figures by the respondents' membership attribute `key` (in the answer's
    audience): named surveys only, exact, as `figures` gives them for `attribute:<key>`
    (anonymous answers keep no person and take no part). One aggregate query that joins each
    answer to its membership, where the shared read runs a subquery per answer."""
    found = Figures(
        shown={}, as_of=scope.as_of, date_from=filters.date_from, date_to=filters.date_to
    )
    if not scope.has_named:
        return found
    fields = METRIC_FIELDS[metric]
    member = FilteredRelation(
        "response__person__memberships",
        condition=Q(response__person__memberships__audience_id=F("response__audience_id")),
    )
    rows = (
        answers_scored(question_type=METRIC_QUESTION_TYPE[metric], filters=filters)
        .filter(response__survey__anonymous=False)
        .annotate(member=member)
        .annotate(unit=KeyTextTransform(key, "member__attributes"))
        .values("unit")
        .annotate(**raw_aggregates(fields))
        .order_by()
    )
    shown = {row["unit"]: Agg(**{f: row[f] for f in fields}) for row in rows if row["n"]}
    return replace(found, shown=shown)


def _figures(
    *, metric: str, unit: str, filters: Filters, scope: Scope, now: dt.datetime | None
) -> Figures:
    """A side's figures by unit: the shared read by segment, the join above by attribute."""
    if unit == SEGMENT:
        return figures(metric=metric, by=SEGMENT, filters=filters, scope=scope, now=now)
    return attribute_figures(metric=metric, key=unit, filters=filters, scope=scope)


def ex_cx(
    *,
    employees: Audience,
    customers: Audience,
    unit: str,
    date_from: dt.date | None,
    date_to: dt.date | None,
    now: dt.datetime | None = None,
) -> ExCx:
    """Each unit's employee eNPS beside its customers' NPS and CSAT, and their correlation.

    Reads only; about eight queries (each audience's scope, then per figure its named and
    anonymous parts).
    """
    staff_by = unit
    if unit != SEGMENT and segment_is_attribute(audience=employees, key=unit):
        staff_by = SEGMENT
    staff_filters = Filters(audience_id=employees.pk, date_from=date_from, date_to=date_to)
    staff_scope = read_scope(filters=staff_filters, now=now)
    staff = _figures(
        metric="enps", unit=staff_by, filters=staff_filters, scope=staff_scope, now=now
    )
    client_filters = Filters(audience_id=customers.pk, date_from=date_from, date_to=date_to)
    client_scope = read_scope(filters=client_filters, now=now)
    nps = _figures(metric="nps", unit=unit, filters=client_filters, scope=client_scope, now=now)
    csat = _figures(metric="csat", unit=unit, filters=client_filters, scope=client_scope, now=now)
    rows = unit_rows(staff=staff, nps=nps, csat=csat)
    correlation, reason = correlate(rows)
    left_out = []
    if staff_by != SEGMENT:
        left_out = [s.name for s in staff_scope.surveys.values() if s.anonymous]
    return ExCx(
        unit=unit,
        rows=rows,
        correlation=correlation,
        reason=reason,
        as_of=staff.as_of,
        date_from=date_from,
        date_to=date_to,
        employees_from=staff.date_from,
        employees_to=staff.date_to,
        anonymous_left_out=left_out,
        employees_by_segment=staff_by == SEGMENT and unit != SEGMENT,
    )


def _unit_name(value: Any) -> str | None:
    """A group's unit as text; no unit (no membership, no attribute, no segment) is None."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def unit_rows(*, staff: Figures, nps: Figures, csat: Figures) -> list[UnitRow]:
    """Rows per unit from the three reads, sorted by unit: every unit seen on either side (a
    unit whose employee answers were withheld shows as suppressed, never with a figure)."""
    names: set[str] = set()
    for found in (staff, nps, csat):
        for group in (*found.shown, *found.hidden):
            name = _unit_name(group)
            if name is not None:
                names.add(name)

    def by_name(found: Figures) -> dict[str, Agg]:
        result: dict[str, Agg] = {}
        for group, agg in found.shown.items():
            name = _unit_name(group)
            if name is not None:
                result[name] = result.get(name, Agg()) + agg
        return result

    staff_shown, nps_shown, csat_shown = by_name(staff), by_name(nps), by_name(csat)
    staff_hidden = {_unit_name(g) for g in staff.hidden}
    rows = []
    for name in sorted(names, key=str.casefold):
        shown = staff_shown.get(name)
        # A unit with some anonymous blocks withheld shows only if others were shown; one
        # with nothing shown but something withheld is suppressed as a whole.
        suppressed = shown is None and name in staff_hidden
        rows.append(
            UnitRow(
                unit=name,
                employees=d.EMPTY if shown is None else score_from("enps", shown),
                employees_suppressed=suppressed,
                nps=score_from("nps", nps_shown.get(name, Agg())),
                csat=score_from("csat", csat_shown.get(name, Agg())),
            )
        )
    return rows


def correlate(rows: list[UnitRow]) -> tuple[Correlation | None, str | None]:
    """Pearson r of unit eNPS vs unit customer NPS (unweighted), with its 95 % Fisher
    interval; or None and the reason (too few units, or no spread on one side)."""
    points = [(r.employees.value, r.nps.value) for r in rows if r.paired]
    if len(points) < MIN_UNITS:
        return None, str(
            _(
                "A correlation needs at least %(min)d units with both an eNPS and a customer "
                "NPS shown; there are %(n)d."
            )
            % {"min": MIN_UNITS, "n": len(points)}
        )
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return None, str(_("Every unit has the same score on one side: no correlation to show."))
    r = float(np.corrcoef(x, y)[0, 1])
    r = max(-1.0, min(1.0, r))
    low, high = fisher_interval(r, len(points))
    return Correlation(r=r, low=low, high=high, units=len(points)), None


def fisher_interval(r: float, n: int) -> tuple[float, float]:
    """The 95 % interval of a Pearson r over n points, from Fisher's z (n > 3)."""
    if abs(r) >= 1.0:
        return r, r
    z = math.atanh(r)
    half = Z_95_EXACT / math.sqrt(n - 3)
    return math.tanh(z - half), math.tanh(z + half)
