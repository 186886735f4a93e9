"""The audience page's comments: named surveys' latest verbatims, anonymous surveys' per group
of at least k people (metrics.privacy, point 5)."""

import datetime as dt
from typing import Any

from django.db.models import Count, Q

from metrics import privacy
from metrics import selectors as s
from metrics.dashboard.charts import period_label
from metrics.models import Verbatim
from surveys.models import Answer

VERBATIMS = 8


def named_verbatims(filters: s.Filters) -> list[dict[str, Any]]:
    """Latest free-text answers of named surveys (their responses are seen one by one anyway).

    Walks the verbatims filed by the rollup task backwards along their (audience, day, answer)
    index, so the query stops after one page whatever the number of answers.
    """
    qs = (
        Verbatim.objects.filter(anonymous=False)
        .exclude(answer__text="")
        .select_related("answer__question", "touchpoint")
        .order_by("-day", "-answer_id")
    )
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
    return [
        {
            "text": v.answer.text,
            "day": v.day,
            "touchpoint": v.touchpoint,
            "question": v.answer.question.key,
        }
        for v in qs[:VERBATIMS]
    ]


def anonymous_verbatims(filters: s.Filters, scope: s.Scope) -> list[dict[str, Any]]:
    """Comments of anonymous surveys, per group of one survey × one published period × one
    question (× the segment filter's segment) where at least k people commented
    (metrics.privacy, point 5): a question with fewer than k answers shows nothing, as on the
    survey's summary page.

    Newest period first, each group in a keyed shuffle, with the period and question only (no
    day, segment, channel or touchpoint). Three queries at most: the groups' sizes, the ids of
    the groups shown (up to a page), and the page's texts.
    """
    published = {
        key: p
        for key, p in scope.periods.items()
        if p.published
        and scope.surveys[key[0]].anonymous
        # An anonymous answer's touchpoint is its survey's: whole groups stay whole.
        and (
            filters.touchpoint_id is None
            or scope.surveys[key[0]].touchpoint_id == filters.touchpoint_id
        )
        and (filters.date_from is None or p.starts_on >= filters.date_from)
        and (filters.date_to is None or p.starts_on <= filters.date_to)
    }
    if not published:
        return []
    comments = Verbatim.objects.filter(
        anonymous=True,
        survey_id__in=sorted({survey_id for survey_id, _ in published}),
        day__in=sorted({day for _, day in published}),
    ).exclude(answer__text="")
    # People, not comment rows: distinct responses per group and segment.
    counts = {
        (r["survey_id"], r["day"], r["answer__question_id"], r["segment"]): r["n"]
        for r in comments.values("survey_id", "day", "answer__question_id", "segment")
        .annotate(n=Count("answer__response_id", distinct=True))
        .order_by()
        if (r["survey_id"], r["day"]) in published
    }
    shown = privacy.comment_groups(
        counts,
        k_of={pk: info.k for pk, info in scope.surveys.items()},
        segment=filters.segment,
    )
    if not shown:
        return []
    # Newest period first; take the groups that fill a page.
    order = sorted(shown, key=lambda g: (g[1], g[0], g[2]), reverse=True)
    sizes: dict[tuple[int, dt.date, int], int] = {}
    for (survey_id, day, question_id, segment), n in counts.items():
        if filters.segment is None or segment == filters.segment:
            group = (survey_id, day, question_id)
            sizes[group] = sizes.get(group, 0) + n
    groups, room = [], VERBATIMS
    for group in order:
        if room <= 0:
            break
        groups.append(group)
        room -= sizes[group]
    picked = Q(pk__in=[])
    for survey_id, day, question_id in groups:
        picked |= Q(survey_id=survey_id, day=day, answer__question_id=question_id)
    if filters.segment is not None:
        picked &= Q(segment=filters.segment)
    ids: dict[tuple[int, dt.date, int], list[int]] = {}
    for survey_id, day, question_id, answer_id in comments.filter(picked).values_list(
        "survey_id", "day", "answer__question_id", "answer_id"
    ):
        ids.setdefault((survey_id, day, question_id), []).append(answer_id)
    page = [(group, a) for group in groups for a in privacy.shuffled(ids.get(group, []))]
    page = page[:VERBATIMS]
    texts = {
        a.pk: a
        for a in Answer.objects.filter(pk__in=[a for _, a in page]).select_related("question")
    }
    return [
        {
            "text": texts[a].text,
            "question": texts[a].question.key,
            "survey": scope.surveys[group[0]].name,
            "period": published[group[:2]],
            "period_label": period_label(
                published[group[:2]].starts_on, published[group[:2]].ends_on
            ),
        }
        for group, a in page
        if a in texts
    ]
