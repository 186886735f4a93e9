"""Reads of the closed loop: the cases of an audience's page (closed-loop rate, time to close,
detractor recovery)."""

import datetime as dt
from typing import Any

from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)

from audiences.models import Audience
from metrics import definitions as d
from metrics.closedloop.models import CLOSED_STATUSES, Case, CaseStatus
from surveys.models import Answer, QuestionType
from xmplatform.core.time import local_day_start


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
    cases = Case.objects.filter(
        audience_id=audience.pk, opened_at__lt=local_day_start(date_to + dt.timedelta(days=1))
    )
    if date_from is not None:
        cases = cases.filter(opened_at__gte=local_day_start(date_from))
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
