"""Reads for the survey admin: estimated completion time (and the sentence respondents are told),
changelist figures, and the state an invitation is shown in."""

import datetime
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.utils.translation import ngettext

from surveys.models import (
    Invitation,
    InvitationState,
    Question,
    QuestionType,
    ReportingPeriod,
    Response,
    Survey,
)
from surveys.periods import anonymity_threshold
from surveys.versions.selectors import VersionSummary as VersionSummary
from surveys.versions.selectors import version_summary as version_summary
from xmplatform.core.counts import CappedCount
from xmplatform.core.suppression import suppress_siblings

# Seconds a typical respondent spends per question type, and per page turn.
TYPE_SECONDS: dict[str, int] = {
    QuestionType.NPS: 5,
    QuestionType.CSAT: 5,
    QuestionType.CES: 5,
    QuestionType.RATING: 5,
    QuestionType.SINGLE_CHOICE: 6,
    QuestionType.MULTIPLE_CHOICE: 9,
}
SHORT_TEXT_SECONDS = 20
LONG_TEXT_SECONDS = 45
PAGE_SECONDS = 5
# Beyond three minutes completion drops and the fatigue budget suffers.
FATIGUE_SECONDS = 180


def question_seconds(*, type: str, multiline: bool) -> int:  # noqa: A002
    """Estimated seconds to answer one question of `type`."""
    if type == QuestionType.TEXT:
        return LONG_TEXT_SECONDS if multiline else SHORT_TEXT_SECONDS
    return TYPE_SECONDS.get(type, SHORT_TEXT_SECONDS)


def _referenced_keys(show_if: Any) -> frozenset[str]:
    """The question keys a display condition looks at."""
    if isinstance(show_if, Mapping):
        if "all" in show_if or "any" in show_if:
            inner = show_if.get("all", show_if.get("any"))
            parts = inner if isinstance(inner, list) else []
            return frozenset(key for part in parts for key in _referenced_keys(part))
        if "question" in show_if:
            return frozenset({str(show_if["question"])})
    return frozenset()


def estimated_seconds(questions: Iterable[Any]) -> int:
    """Estimated completion time of `questions` (objects with type, multiline, page, show_if).

    Conditional questions on one page that look at the same earlier answers are alternatives
    (e.g. "what should we improve?" for detractors, "what did you like?" for promoters): a
    respondent sees one branch, so only the longest branch counts. Questions sharing one
    identical condition form one branch.
    """
    total, pages = 0, set()
    branches: dict[tuple[int, frozenset[str]], dict[str, int]] = defaultdict(dict)
    for q in questions:
        seconds = question_seconds(type=q.type, multiline=q.multiline)
        pages.add(q.page)
        refs = _referenced_keys(q.show_if)
        if not refs:
            total += seconds
            continue
        condition = json.dumps(q.show_if, sort_keys=True)
        group = branches[(q.page, refs)]
        group[condition] = group.get(condition, 0) + seconds
    total += sum(max(group.values()) for group in branches.values())
    return total + PAGE_SECONDS * len(pages)


def survey_estimated_seconds(*, survey: Survey) -> int:
    """Estimated completion time of `survey`'s live questions (uses prefetched questions when
    present)."""
    return estimated_seconds(q for q in survey.questions.all() if q.retired_in is None)


def surveys_with_figures(queryset: QuerySet[Survey]) -> QuerySet[Survey]:
    """`queryset` with `response_count` (released completed responses: an anonymous survey's
    count moves in batches, see surveys.periods) and its questions prefetched.

    The count is a correlated subquery that stops past BOUNDED_COUNT_CAP (a survey with
    millions of responses costs no more than one with ten thousand; show it with
    `capped_display`), and the questions one extra query for the whole page,
    so a page of surveys costs two queries however many rows it has; `survey_estimated_seconds`
    then reads the prefetched questions.
    """
    responses = Response.objects.filter(
        survey=OuterRef("pk"), completed_on__isnull=False, released=True
    )
    questions = Question.objects.filter(retired_in__isnull=True).only(
        "survey_id", "type", "multiline", "page", "show_if", "retired_in"
    )
    return queryset.annotate(
        response_count=CappedCount(responses),
    ).prefetch_related(Prefetch("questions", queryset=questions))


def survey_response_slices(*, survey: Survey) -> list[dict[str, Any]]:
    """Completed responses per segment, with the audience's anonymity threshold applied.

    Each row is {"group": segment, "n": count}, or {"group": segment, "suppressed": True} for
    a slice under the threshold and for the sibling that would reveal it by subtraction. One
    grouped query (plus the audience when it is not loaded).

    An anonymous survey is sliced over its published periods only (released responses; see
    surveys.periods), period by period: each period's slices are suppressed on their own, and a
    segment shows the sum of the periods where it was shown (suppressed when it was shown in
    none). So no two periods' figures subtract to fewer than k respondents.
    """
    k = anonymity_threshold(survey.audience.anonymity_threshold)
    completed = Response.objects.filter(survey=survey, completed_on__isnull=False, released=True)
    if not survey.anonymous:
        rows = [
            {"group": r["segment"], "n": r["n"]}
            for r in completed.values("segment").annotate(n=Count("pk")).order_by("segment")
        ]
        return suppress_siblings(rows, threshold=k)
    published = ReportingPeriod.objects.filter(
        survey_id=survey.pk, published_at__isnull=False
    ).values("starts_on")
    by_period: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in (
        completed.filter(completed_on__in=published)
        .values("completed_on", "segment")
        .annotate(n=Count("pk"))
        .order_by("completed_on", "segment")
    ):
        by_period[r["completed_on"]].append({"group": r["segment"], "n": r["n"]})
    shown: dict[str, int | None] = {}
    for rows in by_period.values():
        for row in suppress_siblings(rows, threshold=k):
            earlier = shown.get(row["group"])
            if row.get("suppressed"):
                shown.setdefault(row["group"], None)
            else:
                shown[row["group"]] = (earlier or 0) + row["n"]
    return [
        {"group": group, "suppressed": True} if n is None else {"group": group, "n": n}
        for group, n in sorted(shown.items())
    ]


def format_duration(seconds: int) -> str:
    """`m:ss` for a duration in seconds."""
    return f"{seconds // 60}:{seconds % 60:02d}"


def estimated_minutes(seconds: int) -> int:
    """Whole minutes a respondent is told a survey takes: the estimate rounded, at least 1."""
    return max(1, (seconds + 30) // 60)


def duration_sentence(seconds: int) -> str:
    """“It takes about N minutes.” in the active language, from the builder's estimate: the one
    sentence the invitation e-mail, the hosted survey's first page and the builder all show,
    so what people are told is what the builder estimates."""
    minutes = estimated_minutes(seconds)
    return ngettext(
        "It takes about %(count)d minute.", "It takes about %(count)d minutes.", minutes
    ) % {"count": minutes}


# --- The state an invitation is shown in --------------------------------------------------
#
# Privacy (README, "Privacy model"): an anonymous survey's invitation that turned `opened` or
# `responded` would, polled, give each person's time of answering to the polling interval, and
# so tell who is in the next released batch. Below superuser (and to every API key) such an
# invitation is shown as `sent` until the reporting period it was answered in is published,
# then as `responded`; `opened` is never shown for an anonymous survey. Only what is shown
# changes: reminders, the fatigue guard and dispatch read the stored state.

# The stored states an invitation shown in a state can have (an index-friendly prefilter).
_MASKED = (InvitationState.OPENED, InvitationState.RESPONDED)
_STORED_FOR_SHOWN: dict[str, tuple[str, ...]] = {
    InvitationState.SENT: (InvitationState.SENT, *_MASKED),
    InvitationState.DELIVERY_UNKNOWN: (InvitationState.DELIVERY_UNKNOWN, *_MASKED),
    InvitationState.PLANNED: (InvitationState.PLANNED, *_MASKED),
}


def answer_published() -> Exists:
    """Whether the outer invitation was answered in a published period of its survey.

    An anonymous answer's `responded_at` is midnight UTC of its period's first day; the range
    also covers invitations answered before periods existed (their period is the one holding
    the day).
    """
    responded_at = ExpressionWrapper(OuterRef("responded_at"), output_field=DateTimeField())
    day = TruncDate(responded_at, tzinfo=datetime.UTC)
    return Exists(
        ReportingPeriod.objects.filter(
            survey_id=OuterRef("survey_id"),
            published_at__isnull=False,
            starts_on__lte=day,
            ends_on__gte=day,
        )
    )


def shown_state() -> Case:
    """The state an invitation is shown in below superuser, as an SQL expression."""
    # An invitation whose delivery was never recorded (no sent_at: delivery unknown, or planned
    # again after one) keeps showing as it stood when it is opened or answered: jumping to
    # `sent` would date the opening.
    hidden = Q(
        survey__anonymous=True, state__in=[InvitationState.OPENED, InvitationState.RESPONDED]
    )
    return Case(
        When(
            Q(survey__anonymous=True, state=InvitationState.RESPONDED) & answer_published(),
            then=Value(InvitationState.RESPONDED),
        ),
        When(
            hidden & Q(sent_at__isnull=True, claimed_at__isnull=False),
            then=Value(InvitationState.DELIVERY_UNKNOWN),
        ),
        When(hidden & Q(sent_at__isnull=True), then=Value(InvitationState.PLANNED)),
        When(hidden, then=Value(InvitationState.SENT)),
        default=F("state"),
        output_field=CharField(),
    )


def invitations_shown(
    queryset: QuerySet[Invitation], *, real: bool = False
) -> QuerySet[Invitation]:
    """`queryset` annotated with `shown_state`: the stored state when `real` (superusers),
    else the state shown below superuser and to API keys (see above). No extra query."""
    if real:
        return queryset.annotate(shown_state=F("state"))
    return queryset.annotate(shown_state=shown_state())


def invitations_in_shown_state(
    queryset: QuerySet[Invitation], *, state: str, real: bool = False
) -> QuerySet[Invitation]:
    """The invitations of `queryset` shown in `state` (annotated with `shown_state`).

    A filter on what is shown, never on the stored state: below superuser `state=responded`
    gives only answers of published periods, and `state=sent` also the masked ones. The stored
    states that can show as `state` are filtered first, so the state index still serves.
    """
    if "shown_state" not in queryset.query.annotations:
        queryset = invitations_shown(queryset, real=real)
    if real:
        return queryset.filter(state=state)
    stored = _STORED_FOR_SHOWN.get(state, (state,))
    return queryset.filter(state__in=stored, shown_state=state)
