"""Reads: scores aggregated in SQL (raw answers or daily rollups), sliced, compared and guarded.

Every slice is one aggregate query: category counts with `Count(filter=Q(...))`, Σx and Σx²
(variance comes from sums because SQLite has no StdDev). Formulas live in `definitions`.
"""

import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    DateField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Trunc
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, AudienceKind, Membership
from journeys.models import TouchpointEvent, TouchpointRole
from metrics import definitions as d
from metrics.models import DailyOutcome, DailyRollup, EventDay
from surveys.models import Answer, Invitation, QuestionType, Survey, SurveyStatus

# metric name -> question type it is computed from
METRIC_QUESTION_TYPE: dict[str, str] = {
    "nps": QuestionType.NPS,
    "enps": QuestionType.NPS,
    "csat": QuestionType.CSAT,
    "csat_mean": QuestionType.CSAT,
    "ces": QuestionType.CES,
    "rating": QuestionType.RATING,
}
METRIC_LABELS: dict[str, Any] = {
    "nps": _("NPS"),
    "enps": _("eNPS"),
    "csat": _("CSAT"),
    "csat_mean": _("CSAT (mean)"),
    "ces": _("CES"),
    "rating": _("Rating"),
}
# Mean metrics are only comparable on one scale: their groups always carry the scale.
MEAN_METRICS = frozenset({"csat_mean", "ces", "rating"})

# by -> (path from Answer, path from DailyRollup)
DIMENSIONS: dict[str, tuple[str, str]] = {
    "audience": ("response__audience_id", "audience_id"),
    "journey": ("response__touchpoint__stage__journey_id", "touchpoint__stage__journey_id"),
    "stage": ("response__touchpoint__stage_id", "touchpoint__stage_id"),
    "touchpoint": ("response__touchpoint_id", "touchpoint_id"),
    "survey": ("response__survey_id", "survey_id"),
    "question": ("question_id", "question_id"),
    "segment": ("response__segment", "segment"),
    "channel": ("response__channel", "channel"),
    "language": ("response__language", "language"),
}
PERIODS = ("day", "week", "month", "quarter")
ATTRIBUTE_PREFIX = "attribute:"


class UnknownSlice(ValueError):
    """A metric or dimension name this module does not know."""


@dataclass(frozen=True)
class Agg:
    """Additive aggregates of one slice."""

    n: int = 0
    total: int = 0
    sumsq: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    top2: int = 0


@dataclass(frozen=True)
class Filters:
    """Restrictions common to every slice."""

    audience_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    survey_id: int | None = None
    segment: str | None = None
    touchpoint_id: int | None = None
    scale: int | None = None


def score_from(metric: str, agg: Agg) -> d.Score:
    """Turn a slice's aggregates into the metric's Score."""
    if metric in ("nps", "enps"):
        return d.nps(promoters=agg.promoters, passives=agg.passives, detractors=agg.detractors)
    if metric == "csat":
        return d.csat(top2=agg.top2, n=agg.n)
    if metric in MEAN_METRICS:
        return d.mean(n=agg.n, total=agg.total, sumsq=agg.sumsq)
    raise UnknownSlice(_("Unknown metric %(m)s.") % {"m": metric})


def _question_type(metric: str) -> str:
    try:
        return METRIC_QUESTION_TYPE[metric]
    except KeyError:
        raise UnknownSlice(_("Unknown metric %(m)s.") % {"m": metric}) from None


METRIC_FIELDS: dict[str, tuple[str, ...]] = {
    "nps": ("n", "promoters", "passives", "detractors"),
    "enps": ("n", "promoters", "passives", "detractors"),
    "csat": ("n", "top2"),
    "csat_mean": ("n", "total", "sumsq"),
    "ces": ("n", "total", "sumsq"),
    "rating": ("n", "total", "sumsq"),
}
ALL_FIELDS = ("n", "total", "sumsq", "promoters", "passives", "detractors", "top2")


def _raw_aggregates(fields: tuple[str, ...] = ALL_FIELDS) -> dict[str, Any]:
    """The additive aggregates over Answer.number (only those a metric needs)."""
    number = F("number")
    every = {
        "n": lambda: Count("number"),
        "total": lambda: Coalesce(Sum("number", output_field=BigIntegerField()), 0),
        "sumsq": lambda: Coalesce(Sum(number * number, output_field=BigIntegerField()), 0),
        "promoters": lambda: Count("id", filter=Q(number__gte=d.PROMOTER_MIN)),
        "passives": lambda: Count(
            "id", filter=Q(number__gte=d.PASSIVE_MIN, number__lt=d.PROMOTER_MIN)
        ),
        "detractors": lambda: Count("id", filter=Q(number__lt=d.PASSIVE_MIN)),
        "top2": lambda: Count("id", filter=Q(number__gte=d.CSAT_TOP2_MIN)),
    }
    return {name: every[name]() for name in fields}


def _rollup_aggregates(fields: tuple[str, ...] = ALL_FIELDS) -> dict[str, Any]:
    return {name: Coalesce(Sum(name), 0) for name in fields}


def answers_scored(*, question_type: str, filters: Filters) -> QuerySet[Answer]:
    """Scored answers of completed responses, restricted by the filters."""
    qs = Answer.objects.filter(
        response__completed_on__isnull=False,
        number__isnull=False,
        question__type=question_type,
    )
    if filters.audience_id is not None:
        qs = qs.filter(response__audience_id=filters.audience_id)
    if filters.date_from is not None:
        qs = qs.filter(response__completed_on__gte=filters.date_from)
    if filters.date_to is not None:
        qs = qs.filter(response__completed_on__lte=filters.date_to)
    if filters.survey_id is not None:
        qs = qs.filter(response__survey_id=filters.survey_id)
    if filters.segment is not None:
        qs = qs.filter(response__segment=filters.segment)
    if filters.touchpoint_id is not None:
        qs = qs.filter(response__touchpoint_id=filters.touchpoint_id)
    if filters.scale is not None:
        qs = qs.filter(question__scale_max=filters.scale)
    return qs


def rollups(*, question_type: str, filters: Filters) -> QuerySet[DailyRollup]:
    """Rollup rows for one question type, restricted by the same filters as the raw path."""
    qs = DailyRollup.objects.filter(question_type=question_type)
    if filters.audience_id is not None:
        qs = qs.filter(audience_id=filters.audience_id)
    if filters.date_from is not None:
        qs = qs.filter(day__gte=filters.date_from)
    if filters.date_to is not None:
        qs = qs.filter(day__lte=filters.date_to)
    if filters.survey_id is not None:
        qs = qs.filter(survey_id=filters.survey_id)
    if filters.segment is not None:
        qs = qs.filter(segment=filters.segment)
    if filters.touchpoint_id is not None:
        qs = qs.filter(touchpoint_id=filters.touchpoint_id)
    if filters.scale is not None:
        qs = qs.filter(scale_max=filters.scale)
    return qs


def _group_expression(by: str, *, raw: bool, filters: Filters) -> Any:
    if by in DIMENSIONS:
        return F(DIMENSIONS[by][0 if raw else 1])
    if by in PERIODS:
        field = "response__completed_on" if raw else "day"
        return Trunc(field, by, output_field=DateField())
    if by.startswith(ATTRIBUTE_PREFIX):
        if not raw:
            raise UnknownSlice(_("Membership attributes are sliced from raw answers only."))
        # The member's attribute in the response's audience (anonymous responses have none).
        member = Membership.objects.filter(
            person_id=OuterRef("response__person_id"),
            audience_id=OuterRef("response__audience_id"),
        ).annotate(v=KeyTextTransform(by[len(ATTRIBUTE_PREFIX) :], "attributes"))
        return Subquery(member.values("v")[:1], output_field=CharField())
    raise UnknownSlice(_("Unknown dimension %(by)s.") % {"by": by})


def aggregate(
    *, metric: str, by: str | None, filters: Filters, source: str = "rollup"
) -> dict[Any, Agg]:
    """One aggregate query: {group: Agg} (group None when `by` is None).

    Mean metrics group by (group, scale) so a 1–5 and a 1–7 scale are never pooled.
    """
    question_type = _question_type(metric)
    raw = source == "raw"
    if by is not None and by.startswith(ATTRIBUTE_PREFIX):
        raw = True
    qs: QuerySet[Any] = (
        answers_scored(question_type=question_type, filters=filters)
        if raw
        else rollups(question_type=question_type, filters=filters)
    )
    fields = METRIC_FIELDS[metric]
    aggs = _raw_aggregates(fields) if raw else _rollup_aggregates(fields)
    keys: list[str] = []
    if by is not None:
        qs = qs.annotate(g=_group_expression(by, raw=raw, filters=filters))
        keys.append("g")
    if metric in MEAN_METRICS:
        qs = qs.annotate(s=F("question__scale_max") if raw else F("scale_max"))
        keys.append("s")
    if not keys:
        row = qs.aggregate(**aggs)
        return {None: Agg(**row)} if row["n"] else {}
    result: dict[Any, Agg] = {}
    for row in qs.values(*keys).annotate(**aggs).order_by():
        if not row["n"]:
            continue
        group = tuple(row[k] for k in keys) if len(keys) > 1 else row[keys[0]]
        if by is None:
            group = (None, row["s"])
        result[group] = Agg(**{k: row[k] for k in fields})
    return result


# --- Anonymity ---------------------------------------------------------------------------


def suppress_siblings(rows: list[dict[str, Any]], *, threshold: int) -> list[dict[str, Any]]:
    """Hide slices under the threshold, and their complement so no subtraction reveals them.

    Sibling slices add up to the total shown elsewhere, so a lone hidden slice equals "total
    minus the others". While the hidden ones are fewer than two or hold fewer than `threshold`
    answers together, the next-smallest visible sibling is hidden too.
    """
    hidden = {i for i, r in enumerate(rows) if r["n"] < threshold}
    if hidden:
        visible = sorted(
            (i for i in range(len(rows)) if i not in hidden), key=lambda i: rows[i]["n"]
        )
        while visible and (len(hidden) < 2 or sum(rows[i]["n"] for i in hidden) < threshold):
            hidden.add(visible.pop(0))
    out = []
    for i, row in enumerate(rows):
        if i in hidden:
            out.append({"group": row["group"], "suppressed": True, **_extra(row)})
        else:
            out.append(row)
    return out


def _extra(row: dict[str, Any]) -> dict[str, Any]:
    return {"scale": row["scale"]} if "scale" in row else {}


def slice_key(
    *, audience_id: int, metric: str, by: str | None, group: Any, filters: Filters
) -> str:
    """A stable, short key naming one shown slice (for published-score stability)."""
    raw = "|".join(
        str(x)
        for x in (
            audience_id,
            metric,
            by,
            group,
            filters.date_from,
            filters.date_to,
            filters.survey_id,
            filters.segment,
            filters.touchpoint_id,
            filters.scale,
        )
    )
    return hashlib.sha256(raw.encode()).hexdigest()


def score_rows(
    *, audience: Audience, metric: str, by: str | None, filters: Filters, source: str = "rollup"
) -> list[dict[str, Any]]:
    """Unguarded rows {"group","score","n","margin"[,"scale"]} sorted by group."""
    return score_rows_of(metric, aggregate(metric=metric, by=by, filters=filters, source=source))


def score_rows_of(metric: str, aggs: dict[Any, Agg]) -> list[dict[str, Any]]:
    """score_rows from aggregates already read ({group: Agg}, as `aggregate` returns them)."""
    result = []
    for group, agg in aggs.items():
        scale = None
        if metric in MEAN_METRICS:
            group, scale = group
        s = score_from(metric, agg)
        row: dict[str, Any] = {"group": group, "score": s.value, "n": s.n, "margin": s.margin}
        if metric in MEAN_METRICS:
            row["scale"] = scale
        result.append(row)
    result.sort(key=lambda r: (r["group"] is None, str(r["group"]), r.get("scale") or 0))
    return result


def scores(
    audience: Audience,
    metric: str,
    by: str | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    *,
    survey_id: int | None = None,
    segment: str | None = None,
    source: str = "rollup",
    publish: bool = True,
) -> list[dict[str, Any]]:
    """Guarded scores for the admin, API and exports.

    Each row is {"group","score","n","margin"} or {"group","suppressed": True}. Slices under the
    audience's anonymity threshold and their complements are suppressed; a shown score stays
    at its last published value until n has moved by at least the threshold (or the survey
    given by `survey_id` has closed). Showing a score
    publishes it, so `publish=True` records what was shown (one read, at most two writes).
    """
    from metrics.services import Shown, published_scores_stabilise

    filters = Filters(
        audience_id=audience.pk,
        date_from=date_from,
        date_to=date_to,
        survey_id=survey_id,
        segment=segment,
    )
    rows = score_rows(audience=audience, metric=metric, by=by, filters=filters, source=source)
    threshold = audience.anonymity_threshold
    if by is None:
        rows = [
            r if r["n"] >= threshold else {"group": None, "suppressed": True, **_extra(r)}
            for r in rows
        ]
    else:
        rows = suppress_siblings(rows, threshold=threshold)
    if publish:
        # A closed survey's scores are final: show them as they are.
        final = (
            survey_id is not None
            and Survey.objects.filter(pk=survey_id, status=SurveyStatus.CLOSED).exists()
        )
        published_scores_stabilise(
            shown=[
                Shown(
                    key=slice_key(
                        audience_id=audience.pk,
                        metric=metric,
                        by=by,
                        group=(r["group"], r["scale"]) if "scale" in r else r["group"],
                        filters=filters,
                    ),
                    audience_id=audience.pk,
                    threshold=threshold,
                    row=r,
                    final=final,
                )
                for r in rows
            ]
        )
    return rows


# --- Comparisons and trends -----------------------------------------------------------


def compare_periods(
    *, audience: Audience, metric: str, date_from: dt.date, date_to: dt.date, filters: Filters
) -> dict[str, Any]:
    """This period vs the one of equal length before it, in one query; flags real changes."""
    question_type = _question_type(metric)
    scoped = Filters(
        audience_id=audience.pk,
        date_from=previous_period_start(date_from, date_to),
        date_to=date_to,
        survey_id=filters.survey_id,
        segment=filters.segment,
        scale=filters.scale,
    )
    qs = rollups(question_type=question_type, filters=scoped).annotate(p=_period_side(date_from))
    aggs = _rollup_aggregates(METRIC_FIELDS[metric])
    found = {
        rec["p"]: Agg(**{k: rec[k] for k in METRIC_FIELDS[metric]})  # type: ignore[literal-required]
        for rec in qs.values("p").annotate(**aggs)
    }
    return comparison_of(
        metric,
        current=found.get("current", Agg()),
        previous=found.get("previous", Agg()),
        threshold=audience.anonymity_threshold,
    )


def previous_period_start(date_from: dt.date, date_to: dt.date) -> dt.date:
    """The first day of the period of equal length just before [date_from, date_to]."""
    return date_from - dt.timedelta(days=(date_to - date_from).days + 1)


def _period_side(date_from: dt.date) -> Case:
    return Case(
        When(day__gte=date_from, then=Value("current")),
        default=Value("previous"),
        output_field=CharField(),
    )


def comparison_of(metric: str, *, current: Agg, previous: Agg, threshold: int) -> dict[str, Any]:
    """compare_periods from the two periods' aggregates already read."""
    now, before = (_guard(score_from(metric, a), threshold) for a in (current, previous))
    delta = None
    if now.value is not None and before.value is not None:
        delta = now.value - before.value
    return {
        "current": now,
        "previous": before,
        "delta": delta,
        "significant": d.change_is_significant(now, before),
    }


def _guard(score: d.Score, threshold: int) -> d.Score:
    if score.n < threshold:
        return d.Score(value=None, n=score.n, margin=None, suppressed=True)
    return score


def trend(
    *, audience: Audience, metric: str, period: str, filters: Filters
) -> list[dict[str, Any]]:
    """Score per period, oldest first; periods under the threshold are suppressed."""
    if period not in PERIODS:
        raise UnknownSlice(_("Unknown period %(p)s.") % {"p": period})
    rows = score_rows(audience=audience, metric=metric, by=period, filters=filters)
    return trend_guard(rows, threshold=audience.anonymity_threshold)


def trend_guard(rows: list[dict[str, Any]], *, threshold: int) -> list[dict[str, Any]]:
    """Trend rows with the periods under the threshold suppressed."""
    return [
        r if r["n"] >= threshold else {"group": r["group"], "suppressed": True, "n": r["n"]}
        for r in rows
    ]


def page_grid(
    *, metric: str, period: str, filters: Filters, compare_from: dt.date | None
) -> dict[tuple[str, Any, Any], Agg]:
    """One rollup query for a page's headline, trend, touchpoints and period comparison.

    {(side, period start, touchpoint id): Agg} over the filters' days, where side is
    "current"; with `compare_from`, also over the days from it to the filters' start, as
    "previous". Every slice of the page is a sum of these cells, so the numbers are those of
    the separate queries. Not for mean metrics (their scales are not kept apart here).
    """
    if metric in MEAN_METRICS:
        raise UnknownSlice(_("Mean metrics are not read as a page grid."))
    if period not in PERIODS:
        raise UnknownSlice(_("Unknown period %(p)s.") % {"p": period})
    scoped = filters if compare_from is None else replace(filters, date_from=compare_from)
    qs = rollups(question_type=_question_type(metric), filters=scoped)
    side = _period_side(filters.date_from) if filters.date_from is not None else Value("current")
    fields = METRIC_FIELDS[metric]
    rows: Any = (
        qs.annotate(
            side=side,
            g=_group_expression(period, raw=False, filters=filters),
            tp=F("touchpoint_id"),
        )
        .values("side", "g", "tp")
        .annotate(**_rollup_aggregates(fields))
        .order_by()
    )
    return {(r["side"], r["g"], r["tp"]): Agg(**{k: r[k] for k in fields}) for r in rows if r["n"]}


# --- Response rate, operations, Return on Experience -----------------------------------------


def response_rates(
    *, audience_ids: list[int], date_from: dt.date | None = None
) -> dict[int, float | None]:
    """Responses / invitations sent per audience, in one grouped query."""
    qs = Invitation.objects.filter(survey__audience_id__in=audience_ids, sent_at__isnull=False)
    if date_from is not None:
        qs = qs.filter(sent_at__gte=day_start(date_from))
    rows = qs.values("survey__audience_id").annotate(
        sent=Count("id"), responded=Count("id", filter=Q(responded_at__isnull=False))
    )
    return {
        r["survey__audience_id"]: d.response_rate(responses=r["responded"], sent=r["sent"])
        for r in rows.order_by()
    }


def day_start(day: dt.date) -> dt.datetime:
    """The first moment of `day` in the current time zone, as `__date` lookups count days.

    Comparing the moment itself, not its date, lets an index on the datetime column serve
    a range of days.
    """
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def _number(key: str) -> Any:
    return Cast(KeyTextTransform(key, "attributes"), FloatField())


def event_sums() -> dict[str, Any]:
    """Per group of events: their count, Σ value, Σ handling seconds, first-contact resolved."""
    return {
        "events": Count("id"),
        "value": Sum(_number("value")),
        "handling": Sum(_number("handling_seconds")),
        "resolved": Count("id", filter=Q(attributes__first_contact_resolved=True)),
    }


def operational_metrics(
    *,
    audience: Audience,
    date_from: dt.date,
    date_to: dt.date,
    profit_margin: float = 1.0,
    source: str = "raw",
) -> dict[str, float | None]:
    """Churn, CRR, CLV, AHT, FCR, referral rate and trial-to-paid from role-tagged events.

    Two queries: the period's events by role (raw, or summed per person and day by the
    rollup task: `EventDay`), and the members at its start. Trial-to-paid takes the trials
    started in the period as the trials that ended in it (no end events).
    """
    if source == "raw":
        role = "touchpoint__role"
        events: QuerySet[Any] = TouchpointEvent.objects.filter(
            touchpoint__stage__journey__audience=audience,
            occurred_at__gte=day_start(date_from),
            occurred_at__lt=day_start(date_to + dt.timedelta(days=1)),
        )
        value, handling = _number("value"), _number("handling_seconds")

        def count(of: Q) -> Any:
            return Count("id", filter=of)

        def resolved(of: Q) -> Any:
            return Count("id", filter=of & Q(attributes__first_contact_resolved=True))

    else:
        role = "role"
        events = EventDay.objects.filter(
            audience_id=audience.pk, day__gte=date_from, day__lte=date_to
        )
        value, handling = F("value"), F("handling")

        def count(of: Q) -> Any:
            return Coalesce(Sum("events", filter=of), 0)

        def resolved(of: Q) -> Any:
            return Coalesce(Sum("resolved", filter=of), 0)

    purchase = Q(**{role: TouchpointRole.PURCHASE})
    support = Q(**{role: TouchpointRole.SUPPORT_REQUEST})
    e = events.aggregate(
        purchases=count(purchase),
        purchasers=Count("person_id", filter=purchase, distinct=True),
        purchase_value=Sum(value, filter=purchase),
        signups=count(Q(**{role: TouchpointRole.SIGNUP})),
        trials=count(Q(**{role: TouchpointRole.TRIAL_STARTED})),
        conversions=count(Q(**{role: TouchpointRole.TRIAL_CONVERTED})),
        churned=count(Q(**{role: TouchpointRole.CHURNED})),
        referrals=count(Q(**{role: TouchpointRole.REFERRAL})),
        support=count(support),
        handling=Sum(handling, filter=support),
        resolved=resolved(support),
    )
    at_start = Membership.objects.filter(
        Q(joined_on__isnull=True) | Q(joined_on__lt=date_from),
        Q(left_on__isnull=True) | Q(left_on__gte=date_from),
        audience=audience,
    ).count()
    churn = d.churn_rate(lost=e["churned"], at_start=at_start)
    at_end = at_start + e["signups"] - e["churned"]
    mean_order = d.ratio(e["purchase_value"] or 0, e["purchases"])
    per_customer = d.ratio(e["purchases"], e["purchasers"])
    return {
        "customers_at_start": at_start,
        "customers_at_end": at_end,
        "churn_rate": churn,
        "retention_rate": d.customer_retention_rate(
            at_end=at_end, new=e["signups"], at_start=at_start
        ),
        "clv": d.customer_lifetime_value(
            mean_order_value=mean_order,
            purchases_per_period=per_customer,
            retention_periods=d.retention_periods(churn_percent=churn),
            profit_margin=profit_margin,
        ),
        "aht": d.average_handling_time(total_seconds=e["handling"] or 0, requests=e["support"]),
        "fcr": d.first_contact_resolution(resolved=e["resolved"], requests=e["support"]),
        "referral_rate": d.referral_rate(referred=e["referrals"], purchases=e["purchases"]),
        "trial_to_paid": d.trial_to_paid(conversions=e["conversions"], trials_ended=e["trials"]),
    }


NPS_CATEGORIES = ("promoter", "passive", "detractor")


def outcomes_after(*, person: str, audience: str, after: str) -> dict[str, Any]:
    """`churned` and `spend`: the person's churn and purchases at the audience's touchpoints
    after a moment, as expressions over the outer row's fields named by the arguments."""
    events = TouchpointEvent.objects.filter(
        person_id=OuterRef(person),
        touchpoint__stage__journey__audience_id=OuterRef(audience),
        occurred_at__gt=OuterRef(after),
    )
    spend = (
        events.filter(touchpoint__role=TouchpointRole.PURCHASE)
        .order_by()
        .values("person_id")
        .annotate(total=Sum(_number("value")))
        .values("total")
    )
    return {
        "churned": Exists(events.filter(touchpoint__role=TouchpointRole.CHURNED)),
        "spend": Coalesce(Subquery(spend, output_field=FloatField()), Value(0.0)),
    }


def nps_answers_named(*, filters: Filters) -> QuerySet[Answer]:
    """NPS answers of known people (the answers Return on Experience follows)."""
    return answers_scored(question_type=QuestionType.NPS, filters=filters).filter(
        response__person__isnull=False, response__completed_at__isnull=False
    )


def nps_category() -> Case:
    """promoter / passive / detractor of an NPS answer's number."""
    return Case(
        When(number__gte=d.PROMOTER_MIN, then=Value("promoter")),
        When(number__gte=d.PASSIVE_MIN, then=Value("passive")),
        default=Value("detractor"),
        output_field=CharField(),
    )


def return_on_experience(
    *, audience: Audience, filters: Filters, source: str = "rollup"
) -> dict[str, dict[str, float | int | None]]:
    """Retention, churn and mean spend after answering, per NPS category, in one query.

    Counted per answered NPS question of a known person; outcomes are the person's purchase
    and churn events at this audience's touchpoints after the response was completed. The
    rollup source sums the daily outcomes kept by the rollup task (`DailyOutcome`); the raw
    source, also used for touchpoint and scale slices, follows each answer's events.
    """
    filters = replace(filters, audience_id=audience.pk)
    rows: Any
    if source == "raw" or filters.scale is not None or filters.touchpoint_id is not None:
        rows = (
            nps_answers_named(filters=filters)
            .annotate(
                **outcomes_after(
                    person="response__person_id",
                    audience="response__audience_id",
                    after="response__completed_at",
                ),
                category=nps_category(),
            )
            .values("category")
            .annotate(
                n=Count("id"),
                lost=Count("id", filter=Q(churned=True)),
                spent=Sum("spend"),
            )
            .order_by()
        )
    else:
        qs = DailyOutcome.objects.filter(audience_id=audience.pk)
        if filters.date_from is not None:
            qs = qs.filter(day__gte=filters.date_from)
        if filters.date_to is not None:
            qs = qs.filter(day__lte=filters.date_to)
        if filters.survey_id is not None:
            qs = qs.filter(survey_id=filters.survey_id)
        if filters.segment is not None:
            qs = qs.filter(segment=filters.segment)
        rows = (
            qs.values("category")
            .annotate(n=Sum("n"), lost=Sum("lost"), spent=Sum("spend"))
            .order_by()
        )
    found = {r["category"]: r for r in rows}
    threshold = audience.anonymity_threshold
    result: dict[str, dict[str, float | int | None]] = {}
    for category in NPS_CATEGORIES:
        r = found.get(category)
        n = r["n"] if r else 0
        if n < threshold:
            result[category] = {"n": n, "suppressed": True}
            continue
        assert r is not None  # noqa: S101  (n > 0 implies a row)
        churn = d.churn_rate(lost=r["lost"], at_start=n)
        result[category] = {
            "n": n,
            "suppressed": False,
            "churn_rate": churn,
            "retention_rate": None if churn is None else 100 - churn,
            "mean_spend": d.ratio(r["spent"] or 0, n),
        }
    return result


def headline_metric(audience: Audience, available: set[str]) -> str | None:
    """NPS for customers and fans, eNPS for employees, otherwise NPS or CSAT as available."""
    if audience.kind == AudienceKind.EMPLOYEE:
        return "enps" if "nps" in available else ("csat" if "csat" in available else None)
    if "nps" in available:
        return "nps"
    if "csat" in available:
        return "csat"
    return None


# --- The closed loop: cases on the audience page ---------------------------------------------


def closed_loop(
    *, audience: Audience, date_from: dt.date | None, date_to: dt.date
) -> dict[str, Any]:
    """Cases opened in the period: closed-loop rate, median time to close, detractor recovery.

    The closed-loop rate is resolved cases / cases opened, in percent (won't-fix does not close
    the loop with the respondent). Recovery follows the detractors (NPS ≤ 6) whose case was
    resolved to their first NPS answer in this audience completed after the case was closed;
    it is shown only when at least the anonymity threshold of them answered again.
    Three queries at most, whatever the number of cases.
    """
    from metrics.models import CLOSED_STATUSES, Case, CaseStatus

    cases = Case.objects.filter(
        audience_id=audience.pk, opened_at__lt=day_start(date_to + dt.timedelta(days=1))
    )
    if date_from is not None:
        cases = cases.filter(opened_at__gte=day_start(date_from))
    counts = cases.aggregate(
        opened=Count("id"),
        closed=Count("id", filter=Q(status__in=CLOSED_STATUSES)),
        resolved=Count("id", filter=Q(status=CaseStatus.RESOLVED)),
    )
    result: dict[str, Any] = {
        **counts,
        "rate": None if not counts["opened"] else counts["resolved"] * 100 / counts["opened"],
        "median_hours": None,
        "recovery": None,
    }
    if counts["closed"]:
        # The median from the ordered durations: the middle one, or the mean of the two.
        k = counts["closed"]
        durations = list(
            cases.filter(status__in=CLOSED_STATUSES)
            .annotate(took=ExpressionWrapper(F("closed_at") - F("opened_at"), DurationField()))
            .order_by("took")
            .values_list("took", flat=True)[(k - 1) // 2 : k // 2 + 1]
        )
        seconds = sum(t.total_seconds() for t in durations) / len(durations)
        result["median_hours"] = seconds / 3600
    if counts["resolved"]:
        result["recovery"] = _detractor_recovery(audience, cases)
    return result


def _detractor_recovery(audience: Audience, cases: QuerySet[Any]) -> dict[str, Any]:
    from metrics.models import CaseStatus

    detractor = Answer.objects.filter(
        response_id=OuterRef("response_id"),
        question__type=QuestionType.NPS,
        number__lt=d.PASSIVE_MIN,
    )
    later = (
        Answer.objects.filter(
            response__person_id=OuterRef("person_id"),
            response__audience_id=audience.pk,
            response__completed_at__gt=OuterRef("closed_at"),
            question__type=QuestionType.NPS,
            number__isnull=False,
        )
        .order_by("response__completed_at", "response_id")
        .values("number")[:1]
    )
    # Counted per next score (at most 12 groups), so each case's next answer is looked up
    # once rather than once per count.
    by_score = (
        cases.filter(status=CaseStatus.RESOLVED, person__isnull=False)
        .filter(Exists(detractor))
        .annotate(next_score=Subquery(later))
        .values("next_score")
        .annotate(cases=Count("id"))
        .order_by()
    )
    row = dict.fromkeys(("followed", "answered", "promoters", "passives", "detractors"), 0)
    for group in by_score:
        score, count = group["next_score"], group["cases"]
        row["followed"] += count
        if score is None:
            continue
        row["answered"] += count
        if score >= d.PROMOTER_MIN:
            row["promoters"] += count
        elif score >= d.PASSIVE_MIN:
            row["passives"] += count
        else:
            row["detractors"] += count
    shown = row["answered"] >= audience.anonymity_threshold
    score = d.nps(
        promoters=row["promoters"], passives=row["passives"], detractors=row["detractors"]
    )
    return {
        "followed": row["followed"],
        "answered": row["answered"],
        "suppressed": not shown,
        "promoters": row["promoters"] if shown else None,
        "passives": row["passives"] if shown else None,
        "detractors": row["detractors"] if shown else None,
        "nps": score.value if shown else None,
    }
