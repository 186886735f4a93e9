"""Operational metrics and response rates per group (period, side of a comparison, touchpoint),
each with its n (the denominator) and 95 % margin: what the metric picker of the dashboard and
the scores API show for metrics that are not survey answers.

Operational metrics are read from the event days the rollup task keeps (`EventDay`, as
`operations.operational_metrics(source="rollup")` does) with the same formulas
(`metrics.definitions`); rates carry the binomial margin, the average handling time the ratio
estimator's, the lifetime value none. Response rates count invitations as
`operations.invitations_counted` says (anonymous surveys: their published periods only), and a
group with fewer invitations than the audience's anonymity threshold shows nothing.
"""

import datetime as dt
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    F,
    FloatField,
    Min,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Trunc
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, Membership
from journeys.models import TouchpointRole
from metrics import definitions as d
from metrics.models import EventDay
from metrics.selectors.operations import invitations_counted
from metrics.selectors.slices import PERIODS, SIDE, Agg
from surveys.models import Invitation
from xmplatform.core.time import local_day_start

RESPONSE_RATE = "response_rate"
OPERATION_METRICS: dict[str, Any] = {
    "churn_rate": _("Churn rate"),
    "retention_rate": _("Customer retention rate (CRR)"),
    "clv": _("Customer lifetime value (gross)"),
    "aht": _("Average handling time"),
    "fcr": _("First-contact resolution"),
    "referral_rate": _("Referral rate"),
    "trial_to_paid": _("Trial-to-paid conversion"),
}
# The event roles an operational metric needs to say anything.
OPERATION_ROLES: dict[str, tuple[str, ...]] = {
    "churn_rate": (TouchpointRole.CHURNED, TouchpointRole.SIGNUP),
    "retention_rate": (TouchpointRole.CHURNED, TouchpointRole.SIGNUP),
    "clv": (TouchpointRole.PURCHASE,),
    "aht": (TouchpointRole.SUPPORT_REQUEST,),
    "fcr": (TouchpointRole.SUPPORT_REQUEST,),
    "referral_rate": (TouchpointRole.REFERRAL,),
    "trial_to_paid": (TouchpointRole.TRIAL_STARTED,),
}


def event_roles(
    *, audience: Audience, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> dict[str, dt.date]:
    """The event roles found at the audience's touchpoints in the window, with the first day
    of each (one query)."""
    qs = EventDay.objects.filter(audience_id=audience.pk)
    if date_from is not None:
        qs = qs.filter(day__gte=date_from)
    if date_to is not None:
        qs = qs.filter(day__lte=date_to)
    return dict(
        qs.values("role").annotate(first=Min("day")).values_list("role", "first").order_by()
    )


def first_event_day(audience: Audience) -> dt.date | None:
    """The day of the audience's first recorded event (one query along its (audience, day)
    index), None without events."""
    return EventDay.objects.filter(audience_id=audience.pk).aggregate(first=Min("day"))["first"]


def operations_supported(roles: dict[str, dt.date] | set[str]) -> list[str]:
    """The operational metrics the roles found can measure, in their usual order."""
    return [m for m, needs in OPERATION_ROLES.items() if any(r in roles for r in needs)]


# --- Operational metrics per group --------------------------------------------------------


# What each operational metric reads of the event days: its sums and the roles they count,
# and whether it needs the members at the start (one more query).
SUMS_OF: dict[str, tuple[str, ...]] = {
    "churn_rate": ("churned",),
    "retention_rate": ("churned",),
    "clv": ("purchases", "purchasers", "purchase_value", "churned"),
    "aht": ("support", "handled", "rows", "hh", "ee", "he"),
    "fcr": ("support", "solved"),
    "referral_rate": ("referrals", "purchases"),
    "trial_to_paid": ("trials", "conversions"),
}
ROLES_OF: dict[str, tuple[str, ...]] = {
    "churn_rate": (TouchpointRole.CHURNED,),
    "retention_rate": (TouchpointRole.CHURNED,),
    "clv": (TouchpointRole.PURCHASE, TouchpointRole.CHURNED),
    "aht": (TouchpointRole.SUPPORT_REQUEST,),
    "fcr": (TouchpointRole.SUPPORT_REQUEST,),
    "referral_rate": (TouchpointRole.REFERRAL, TouchpointRole.PURCHASE),
    "trial_to_paid": (TouchpointRole.TRIAL_STARTED, TouchpointRole.TRIAL_CONVERTED),
}
NEEDS_MEMBERS = frozenset({"churn_rate", "retention_rate", "clv"})


def _sums(metric: str | None = None) -> dict[str, Any]:
    """Additive sums of one group of event days, plus its distinct buyers (only what `metric`
    needs when one is named: a distinct count sorts every row)."""
    every = _all_sums()
    return every if metric is None else {name: every[name] for name in SUMS_OF[metric]}


def _all_sums() -> dict[str, Any]:

    def of(role: str) -> Q:
        return Q(role=role)

    support = of(TouchpointRole.SUPPORT_REQUEST)
    purchase = of(TouchpointRole.PURCHASE)

    def events(q: Q) -> Any:
        return Coalesce(Sum("events", filter=q), 0)

    return {
        "purchases": events(purchase),
        "purchasers": Count("person_id", filter=purchase, distinct=True),
        "purchase_value": Coalesce(Sum("value", filter=purchase), 0.0, output_field=FloatField()),
        "signups": events(of(TouchpointRole.SIGNUP)),
        "trials": events(of(TouchpointRole.TRIAL_STARTED)),
        "conversions": events(of(TouchpointRole.TRIAL_CONVERTED)),
        "churned": events(of(TouchpointRole.CHURNED)),
        "referrals": events(of(TouchpointRole.REFERRAL)),
        "support": events(support),
        "solved": Coalesce(Sum("resolved", filter=support), 0),
        "handled": Coalesce(Sum("handling", filter=support), 0.0, output_field=FloatField()),
        # Per (person, day) row of support requests, for the handling time's margin.
        "rows": Count("id", filter=support),
        "hh": Coalesce(
            Sum(F("handling") * F("handling"), filter=support), 0.0, output_field=FloatField()
        ),
        "ee": Coalesce(
            Sum(F("events") * F("events"), filter=support), 0.0, output_field=FloatField()
        ),
        "he": Coalesce(
            Sum(F("handling") * F("events"), filter=support), 0.0, output_field=FloatField()
        ),
    }


def operation_score(metric: str, sums: dict[str, Any] | None, at_start: int) -> d.Score:
    """One operational metric of one group's sums (`_sums`) and its members at the start."""
    if sums is None:
        sums = {}
    g = {k: sums.get(k) or 0 for k in _all_sums()}
    if metric == "churn_rate":
        return d.share(hits=g["churned"], n=at_start)
    if metric == "retention_rate":
        return d.share(hits=max(at_start - g["churned"], 0), n=at_start)
    if metric == "fcr":
        return d.share(hits=g["solved"], n=g["support"])
    if metric == "referral_rate":
        return d.share(hits=g["referrals"], n=g["purchases"])
    if metric == "trial_to_paid":
        return d.share(hits=g["conversions"], n=g["trials"])
    if metric == "aht":
        return d.ratio_of_sums(
            clusters=g["rows"],
            x=g["handled"],
            y=g["support"],
            xx=g["hh"],
            yy=g["ee"],
            xy=g["he"],
            n=g["support"],
        )
    if metric == "clv":
        churn = d.churn_rate(lost=g["churned"], at_start=at_start)
        value = d.customer_lifetime_value(
            mean_order_value=d.ratio(g["purchase_value"], g["purchases"]),
            purchases_per_period=d.ratio(g["purchases"], g["purchasers"]),
            retention_periods=d.retention_periods(churn_percent=churn),
            profit_margin=1.0,
        )
        return d.Score(value=value, n=g["purchasers"], margin=None)
    raise ValueError(metric)


def members_at(
    *, audience: Audience, days: list[dt.date], metric: str | None = None
) -> dict[dt.date, int]:
    """Members of the audience at the start of each day (joined before it, not left before
    it), in one query whatever the number of days; none (zeros) for a `metric` that does not
    count them."""
    days = sorted(set(days))
    if not days or (metric is not None and metric not in NEEDS_MEMBERS):
        return dict.fromkeys(days, 0)
    aggs = {
        f"d{i}": Count(
            "id",
            filter=(Q(joined_on__isnull=True) | Q(joined_on__lt=day))
            & (Q(left_on__isnull=True) | Q(left_on__gte=day)),
        )
        for i, day in enumerate(days)
    }
    row = Membership.objects.filter(audience=audience).aggregate(**aggs)
    return {day: row[f"d{i}"] for i, day in enumerate(days)}


def operation_groups(
    *,
    audience: Audience,
    date_from: dt.date,
    date_to: dt.date,
    key: str | tuple[str, ...] | None,
    side_from: dt.date | None = None,
    metric: str | None = None,
) -> dict[Any, dict[str, Any]]:
    """The event days' sums per group: None (the whole window), a period's start (`key` one
    of PERIODS), a side ("current" from `side_from` on, else "previous"), or a tuple of those
    (keyed by tuples); only the sums and event roles `metric` needs when one is named. One
    query."""
    qs = EventDay.objects.filter(audience_id=audience.pk, day__gte=date_from, day__lte=date_to)
    if metric is not None:
        qs = qs.filter(role__in=list(ROLES_OF[metric]))
    if key is None:
        return {None: qs.aggregate(**_sums(metric))}
    keys = (key,) if isinstance(key, str) else key
    exprs: dict[str, Any] = {}
    for i, part in enumerate(keys):
        if part in PERIODS:
            exprs[f"g{i}"] = Trunc("day", part, output_field=DateField())
        elif part == SIDE:
            exprs[f"g{i}"] = Case(
                When(day__gte=side_from, then=Value("current")),
                default=Value("previous"),
                output_field=CharField(),
            )
        else:
            raise ValueError(part)
    rows = qs.annotate(**exprs).values(*exprs).annotate(**_sums(metric)).order_by()
    found = {}
    for r in rows:
        group = tuple(r[g].date() if isinstance(r[g], dt.datetime) else r[g] for g in exprs)
        found[group[0] if isinstance(key, str) else group] = r
    return found


def sum_groups(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The additive sums of several groups together (not their distinct buyers: None)."""
    total: dict[str, Any] = {name: 0 for name in _all_sums()}
    for group in groups:
        for name in total:
            total[name] += group.get(name) or 0
    total["purchasers"] = None
    return total


def operation_rows(
    *, audience: Audience, metric: str, by: str | None, date_from: dt.date, date_to: dt.date
) -> list[dict[str, Any]]:
    """Score rows {"group","score","n","margin"} of an operational metric over the window,
    ungrouped or per period (the period's first day, its members counted at the later of that
    day and the window's start). Two queries."""
    groups = operation_groups(
        audience=audience, date_from=date_from, date_to=date_to, key=by, metric=metric
    )
    starts = {g: max(g, date_from) if g is not None else date_from for g in groups}
    members = members_at(audience=audience, days=[*starts.values(), date_from], metric=metric)
    rows = []
    for group in sorted(groups, key=lambda g: (g is None, g)):
        score = operation_score(metric, groups[group], members[starts[group]])
        rows.append({"group": group, "score": score.value, "n": score.n, "margin": score.margin})
    if by is None and not rows:
        score = operation_score(metric, None, members[date_from])
        rows.append({"group": None, "score": score.value, "n": score.n, "margin": score.margin})
    return rows


# --- Response rates per group ---------------------------------------------------------------


def invitation_groups(
    *,
    audience: Audience,
    keys: tuple[str, ...],
    date_from: dt.date | None,
    date_to: dt.date | None,
    survey_id: int | None = None,
    side_from: dt.date | None = None,
) -> dict[tuple[Any, ...], Agg]:
    """Invitations sent and answered per group as Agg(n=sent, top2=answered), one query.

    Keys: SIDE, PERIODS (of the day sent) and "touchpoint" (the triggering event's, else the
    survey's). Unguarded: callers hide groups under the audience's threshold (`rate_score`).
    """
    sent, answered = invitations_counted()
    qs = Invitation.objects.filter(sent, survey__audience=audience, sent_at__isnull=False)
    if date_from is not None:
        qs = qs.filter(sent_at__gte=local_day_start(date_from))
    if date_to is not None:
        qs = qs.filter(sent_at__lt=local_day_start(date_to + dt.timedelta(days=1)))
    if survey_id is not None:
        qs = qs.filter(survey_id=survey_id)
    exprs: dict[str, Any] = {}
    for i, key in enumerate(keys):
        if key == SIDE:
            exprs[f"k{i}"] = (
                Value("current")
                if side_from is None
                else Case(
                    When(sent_at__gte=local_day_start(side_from), then=Value("current")),
                    default=Value("previous"),
                    output_field=CharField(),
                )
            )
        elif key in PERIODS:
            exprs[f"k{i}"] = Trunc("sent_at", key, output_field=DateField())
        elif key == "touchpoint":
            exprs[f"k{i}"] = Coalesce("event__touchpoint_id", "survey__touchpoint_id")
        else:
            raise ValueError(key)
    aggs = {"sent": Count("id"), "answered": Count("id", filter=answered)}
    if not keys:
        row = qs.aggregate(**aggs)
        return {(): Agg(n=row["sent"], top2=row["answered"])} if row["sent"] else {}
    names = list(exprs)
    found: dict[tuple[Any, ...], Agg] = {}
    for row in qs.annotate(**exprs).values(*names).annotate(**aggs).order_by():
        key = tuple(row[n].date() if isinstance(row[n], dt.datetime) else row[n] for n in names)
        found[key] = found.get(key, Agg()) + Agg(n=row["sent"], top2=row["answered"])
    return found


def rate_score(agg: Agg, *, k: int) -> d.Score:
    """A response rate of Agg(n=sent, top2=answered): hidden (suppressed) under k invitations."""
    if not agg.n:
        return d.EMPTY
    if agg.n < k:
        return d.Score(value=None, n=0, suppressed=True)
    return d.share(hits=agg.top2, n=agg.n)
