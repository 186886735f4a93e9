"""Response rates, operational metrics and Return on Experience, and what any figure may count
of an anonymous survey (its published periods only)."""

import datetime as dt
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
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
from django.db.models.functions import Cast, Coalesce, TruncDate

from audiences.models import Audience, Membership
from journeys.models import TouchpointEvent, TouchpointRole
from metrics import definitions as d
from metrics.models import DailyOutcome, EventDay
from metrics.selectors.slices import Filters, answers_scored
from surveys.models import Answer, Invitation, QuestionType, ReportingPeriod
from xmplatform.core.time import local_day_start

# --- Response rate, operations, Return on Experience -----------------------------------------


def _published_period(survey: str, **lookups: Any) -> Exists:
    """Whether the outer row's survey has a published reporting period matching `lookups`."""
    return Exists(
        ReportingPeriod.objects.filter(
            survey_id=OuterRef(survey), published_at__isnull=False, **lookups
        )
    )


def answers_counted(qs: QuerySet[Answer]) -> QuerySet[Answer]:
    """The answers of named surveys, and of anonymous surveys' published periods only (an
    anonymous response sits on its period's first day): what any figure may count."""
    return qs.filter(
        Q(response__survey__anonymous=False)
        | _published_period("response__survey_id", starts_on=OuterRef("response__completed_on"))
    )


def invitations_counted() -> tuple[Any, Any]:
    """(which sent invitations a response rate counts, which of them count as answered).

    Every invitation of a named survey. Of an anonymous survey, only those sent by the end of
    a published period, answered in a published period (its invitation says it was answered
    at midnight UTC of the period's first day): no rate moves while a period is open.
    """
    named = Q(survey__anonymous=False)
    sent_on = TruncDate(ExpressionWrapper(OuterRef("sent_at"), output_field=DateTimeField()))
    answered_on = TruncDate(
        ExpressionWrapper(OuterRef("responded_at"), output_field=DateTimeField()), tzinfo=dt.UTC
    )
    sent = named | _published_period("survey_id", ends_on__gte=sent_on)
    answered = named | _published_period("survey_id", starts_on=answered_on)
    return sent, Q(responded_at__isnull=False) & answered


def response_rates(
    *, audience_ids: list[int], date_from: dt.date | None = None
) -> dict[int, float | None]:
    """Responses / invitations sent per audience, in one grouped query (anonymous surveys:
    their published periods only, `invitations_counted`)."""
    sent, answered = invitations_counted()
    qs = Invitation.objects.filter(
        sent, survey__audience_id__in=audience_ids, sent_at__isnull=False
    )
    if date_from is not None:
        qs = qs.filter(sent_at__gte=local_day_start(date_from))
    rows = qs.values("survey__audience_id").annotate(
        sent=Count("id"), responded=Count("id", filter=answered)
    )
    return {
        r["survey__audience_id"]: d.response_rate(responses=r["responded"], sent=r["sent"])
        for r in rows.order_by()
    }


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
            occurred_at__gte=local_day_start(date_from),
            occurred_at__lt=local_day_start(date_to + dt.timedelta(days=1)),
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
    """`churned`, `spend` and `referred`: the person's churn, purchases and referred purchases
    at the audience's touchpoints after a moment, as expressions over the outer row's fields
    named by the arguments. The same role-tagged events as `operational_metrics` counts:
    CHURNED, PURCHASE (Σ attribute `value`) and REFERRAL."""
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
        "referred": Exists(events.filter(touchpoint__role=TouchpointRole.REFERRAL)),
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


def _outcome_sums(*, audience: Audience, filters: Filters, source: str) -> dict[str, Any]:
    """Per NPS category: answers, churned after, Σ spend, Σ spend², referred after."""
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
                spent_sq=Sum(F("spend") * F("spend")),
                referred_n=Count("id", filter=Q(referred=True)),
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
            .annotate(
                n=Sum("n"),
                lost=Sum("lost"),
                spent=Sum("spend"),
                spent_sq=Sum("spend_sumsq"),
                referred_n=Sum("referred"),
            )
            .order_by()
        )
    return {r["category"]: r for r in rows}


def _figures(sums: dict[str, float]) -> dict[str, Any]:
    """One column of Return on Experience from its sums (n, lost, spent, spent_sq, referred):
    rates in percent and mean spend, each with its 95 % margin (binomial for the rates, of the
    mean for spend)."""
    n, lost, referred = int(sums["n"]), int(sums["lost"]), int(sums["referred"])
    spent, spent_sq = sums["spent"], sums["spent_sq"]
    churn = d.proportion(hits=lost, n=n)
    referral = d.proportion(hits=referred, n=n)
    spend = d.mean(n=n, total=spent, sumsq=spent_sq)
    return {
        "n": n,
        "suppressed": False,
        "churned": lost,
        "churn_rate": churn.value,
        "churn_margin": churn.margin,
        "retention_rate": None if churn.value is None else 100 - churn.value,
        "retention_margin": churn.margin,
        "mean_spend": spend.value,
        "spend_margin": spend.margin,
        "referred": referred,
        "referral_rate": referral.value,
        "referral_margin": referral.margin,
    }


# The figures compared between promoters and detractors: (name, value key, margin key).
ROX_DIFFERENCES = (
    ("retention", "retention_rate", "retention_margin"),
    ("spend", "mean_spend", "spend_margin"),
    ("referral", "referral_rate", "referral_margin"),
)


def _difference(high: dict[str, Any], low: dict[str, Any]) -> dict[str, Any] | None:
    """Promoters minus detractors per figure, with the combined margin; `significant` only
    when the difference exceeds it (`definitions.change_is_significant`)."""
    if high["suppressed"] or low["suppressed"]:
        return None
    out: dict[str, Any] = {}
    for name, value, margin in ROX_DIFFERENCES:
        a = d.Score(value=high[value], n=high["n"], margin=high[margin])
        b = d.Score(value=low[value], n=low["n"], margin=low[margin])
        if a.value is None or b.value is None:
            out[name] = None
            continue
        out[name] = {
            "value": a.value - b.value,
            "margin": d.combined_margin(a, b),
            "significant": d.change_is_significant(a, b),
        }
    return out


def return_on_experience(
    *, audience: Audience, filters: Filters, source: str = "rollup"
) -> dict[str, Any]:
    """What followed the answers, per NPS category, with 95 % margins, in one query.

    Counted per NPS answer of a known person (named surveys only: an anonymous response has
    none) completed in the filters' window, followed until now: churn is a churn event (an
    event at one of this audience's CHURNED-role touchpoints, as the operations panel counts
    churn) after the answer, retention its complement, spend the Σ `value` of purchase events
    after it, referral an event at a REFERRAL-role touchpoint after it. The rollup source sums
    the daily outcomes kept by the rollup task (`DailyOutcome`); the raw source, also used for
    touchpoint and scale slices, follows each answer's events.

    Returns {"promoter"|"passive"|"detractor"|"all": figures (`_figures`), or {"n", "suppressed":
    True} under the audience's anonymity threshold; "difference": promoters minus detractors
    (`_difference`) or None; "currency": settings.XM_CURRENCY}. "all" is withheld when a
    category with answers is, so no withheld category is the total minus the shown ones.
    """
    filters = replace(filters, audience_id=audience.pk)
    found = _outcome_sums(audience=audience, filters=filters, source=source)
    threshold = audience.anonymity_threshold
    result: dict[str, Any] = {}
    totals: dict[str, float] = {"n": 0, "lost": 0, "spent": 0.0, "spent_sq": 0.0, "referred": 0}
    for category in NPS_CATEGORIES:
        r = found.get(category)
        sums: dict[str, float] = {
            "n": r["n"] if r else 0,
            "lost": r["lost"] if r else 0,
            "spent": float(r["spent"] or 0) if r else 0.0,
            "spent_sq": float(r["spent_sq"] or 0) if r else 0.0,
            "referred": r["referred_n"] if r else 0,
        }
        for key, value in sums.items():
            totals[key] += value
        if sums["n"] < threshold:
            result[category] = {"n": int(sums["n"]), "suppressed": True}
            continue
        result[category] = _figures(sums)
    # An empty category adds nothing to the total; a withheld one with answers would be the
    # total minus the shown ones.
    withheld = any(result[c]["suppressed"] and result[c]["n"] for c in NPS_CATEGORIES)
    if withheld or totals["n"] < threshold:
        result["all"] = {"n": int(totals["n"]), "suppressed": True}
    else:
        result["all"] = _figures(totals)
    result["difference"] = _difference(result["promoter"], result["detractor"])
    result["currency"] = settings.XM_CURRENCY
    return result
