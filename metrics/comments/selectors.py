"""Reads of the text pipeline: topic figures of one free-text question, the weekly report's top
topics, and the sentiment models' state. Reads never write.

Anonymous surveys (metrics.privacy, DESIGN.md "Anonymity"). The unit is a block: one published
reporting period × the question (comments of an anonymous response sit on their period's
first day). A window holds the published periods that start in it, and only blocks where at
least k people commented count at all. A topic's figures are shown only when, in every block
of the window, the people mentioning it are none or at least k and so are those who do not:
then every figure shown (n, share, means, the NPS of mentioning and not mentioning, the
trend) is a sum over whole blocks of groups of 0 or ≥ k, and no two windows, filters or
moments differ by fewer than k people. Otherwise the topic shows "not enough responses" and
no n, share or mean (a share would give n away). The language filter is refused for anonymous
surveys (a person slice inside a block). Named surveys are exact and fresh.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from metrics import privacy
from metrics.comments.models import Comment, CommentTopic, SentimentModel, Topic
from surveys.models import Question, QuestionType, ReportingPeriod, Survey

TOP_TOPICS_DAYS = 30


@dataclass
class TopicRow:
    """One topic's figures over a window (None where hidden or undefined)."""

    topic: int
    label: str
    terms: list[str]
    source: str
    shown: bool
    n: int | None = None
    share: float | None = None
    sentiment: float | None = None
    score: float | None = None
    nps_effect: float | None = None
    trend: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TopicReport:
    """The topics of one question over a window, as of a moment."""

    survey: Survey
    question: Question
    n: int
    as_of: dt.datetime
    rows: list[TopicRow]
    anonymous: bool
    k: int
    reason: str = ""
    months: list[dt.date] = field(default_factory=list)
    blocks: list[dt.date] = field(default_factory=list)


def _ok(part: int, whole: int, k: int) -> bool:
    """A group of `part` of `whole`: it and its complement are each none or at least k."""
    return (part == 0 or part >= k) and (whole - part == 0 or whole - part >= k)


def anonymous_blocks(
    *, survey: Survey, question_id: int, date_from: dt.date | None, date_to: dt.date | None, k: int
) -> dict[dt.date, int]:
    """{period start: commenters} of the published periods starting in the window whose
    question has at least k commenters (privacy.comment_groups). Two queries."""
    periods = ReportingPeriod.objects.filter(survey=survey, published_at__isnull=False)
    if date_from is not None:
        periods = periods.filter(starts_on__gte=date_from)
    if date_to is not None:
        periods = periods.filter(starts_on__lte=date_to)
    days = list(periods.values_list("starts_on", flat=True))
    if not days:
        return {}
    counts = {
        (survey.pk, day, question_id, ""): n
        for day, n in Comment.objects.filter(question_id=question_id, day__in=days)
        .values_list("day")
        .annotate(n=Count("response_id", distinct=True))
        .order_by()
    }
    shown = privacy.comment_groups(counts, k_of={survey.pk: k}, segment=None)
    return {day: counts[(s, day, q, "")] for s, day, q in shown}


def base_filter(
    *,
    survey: Survey,
    question_id: int,
    language: str | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    k: int,
) -> tuple[dict[str, Any], dict[dt.date, int] | None]:
    """The conditions on comments (lookups) a window shows figures of, and (anonymous
    surveys) its blocks."""
    conditions: dict[str, Any] = {"survey_id": survey.pk, "question_id": question_id}
    blocks = None
    if survey.anonymous:
        blocks = anonymous_blocks(
            survey=survey, question_id=question_id, date_from=date_from, date_to=date_to, k=k
        )
        conditions["day__in"] = sorted(blocks)
    else:
        if language:
            conditions["language"] = language
        if date_from is not None:
            conditions["day__gte"] = date_from
        if date_to is not None:
            conditions["day__lte"] = date_to
    return conditions, blocks


def _through(conditions: Mapping[str, Any], prefix: str = "") -> Q:
    return Q(**{f"{prefix}{key}": value for key, value in conditions.items()})


def base_comments(
    *,
    survey: Survey,
    question_id: int,
    language: str | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    k: int,
) -> tuple[QuerySet[Comment], dict[dt.date, int] | None]:
    """The comments a window shows figures of, and (anonymous surveys) its blocks."""
    condition, blocks = base_filter(
        survey=survey,
        question_id=question_id,
        language=language,
        date_from=date_from,
        date_to=date_to,
        k=k,
    )
    return Comment.objects.filter(_through(condition)), blocks


SUMS = ("n", "sentiment_sum", "score_sum", "scored", "promoters", "detractors", "nps_n")


def _sums(rows: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    total = dict.fromkeys(SUMS, 0.0)
    for row in rows:
        for key in SUMS:
            total[key] += row.get(key) or 0
    return total


def _aggregates(prefix: str = "") -> dict[str, Any]:
    """The sums behind a topic's figures, over comments (or over links: "comment__")."""
    p = prefix
    nps = {f"{p}score_type": QuestionType.NPS}
    return {
        "n": Count(f"{p}pk"),
        "sentiment_sum": Sum(f"{p}sentiment"),
        "score_sum": Sum(f"{p}score"),
        "scored": Count(f"{p}score"),
        "promoters": Count(f"{p}pk", filter=Q(**nps, **{f"{p}score__gte": 9})),
        "detractors": Count(f"{p}pk", filter=Q(**nps, **{f"{p}score__lte": 6})),
        "nps_n": Count(f"{p}pk", filter=Q(**nps, **{f"{p}score__isnull": False})),
    }


def _nps(s: Mapping[str, float]) -> float | None:
    return 100.0 * (s["promoters"] - s["detractors"]) / s["nps_n"] if s["nps_n"] else None


def topic_report(
    *,
    survey: Survey,
    question: Question,
    language: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    now: dt.datetime | None = None,
) -> TopicReport:
    """Every active topic of the question with n, share, mean sentiment, mean outcome score,
    effect on NPS and a monthly trend (module docstring for anonymous surveys). Five queries
    (six for an anonymous survey): the topics, the totals and the topics' sums per month, per
    block or month the totals again for the trend, and (anonymous) the periods.
    """
    as_of = now or timezone.now()
    k = privacy.threshold(survey.audience.anonymity_threshold)
    report = TopicReport(
        survey=survey, question=question, n=0, as_of=as_of, rows=[], anonymous=survey.anonymous, k=k
    )
    if survey.anonymous and language:
        report.reason = _("Anonymous surveys show topics for all languages together only.")
        return report
    conditions, blocks = base_filter(
        survey=survey,
        question_id=question.pk,
        language=language,
        date_from=date_from,
        date_to=date_to,
        k=k,
    )
    comments = Comment.objects.filter(_through(conditions))
    topics = list(Topic.objects.filter(question_id=question.pk, active=True).order_by("pk"))
    if survey.anonymous and not blocks:
        report.reason = _("Not enough responses in the published periods of this window.")
        return report
    # Per topic and day bucket (a block's day, or a named comment's month).
    bucket = "comment__day" if survey.anonymous else "month"
    # A join on the comment (its own conditions), not "comment IN (…)": one pass over links.
    links = CommentTopic.objects.filter(_through(conditions, "comment__"), topic__active=True)
    if not survey.anonymous:
        links = links.annotate(month=TruncMonth("comment__day"))
    per_topic = list(
        links.values("topic_id", bucket).annotate(**_aggregates("comment__")).order_by()
    )
    totals_q = comments if survey.anonymous else comments.annotate(month=TruncMonth("day"))
    per_bucket = {
        row["day" if survey.anonymous else "month"]: row
        for row in totals_q.values("day" if survey.anonymous else "month")
        .annotate(**_aggregates())
        .order_by()
    }
    all_of = _sums(per_bucket.values())
    report.n = int(all_of["n"])
    report.months = sorted(per_bucket)
    report.blocks = sorted(blocks or [])
    by_topic: dict[int, dict[Any, Mapping[str, Any]]] = defaultdict(dict)
    for row in per_topic:
        by_topic[row["topic_id"]][row[bucket]] = row
    for topic in topics:
        buckets = by_topic.get(topic.pk, {})
        shown = not survey.anonymous or all(
            _ok(int(buckets.get(day, {}).get("n") or 0), int(per_bucket[day]["n"]), k)
            for day in per_bucket
        )
        row = TopicRow(
            topic=topic.pk,
            label=topic.label,
            terms=list(topic.words[:10]),
            source=topic.source,
            shown=shown,
        )
        if shown:
            _fill(row, _sums(buckets.values()), all_of, buckets, per_bucket)
        report.rows.append(row)
    report.rows.sort(key=lambda r: (not r.shown, -(r.n or 0), r.topic))
    return report


def _fill(
    row: TopicRow,
    mine: Mapping[str, float],
    all_of: Mapping[str, float],
    buckets: Mapping[Any, Mapping[str, Any]],
    per_bucket: Mapping[Any, Mapping[str, Any]],
) -> None:
    row.n = int(mine["n"])
    row.share = round(mine["n"] / all_of["n"], 4) if all_of["n"] else None
    row.sentiment = round(mine["sentiment_sum"] / mine["n"], 3) if mine["n"] else None
    row.score = round(mine["score_sum"] / mine["scored"], 2) if mine["scored"] else None
    rest = {key: all_of[key] - mine.get(key, 0) for key in all_of}
    with_topic, without = _nps(mine), _nps(rest)
    if with_topic is not None and without is not None:
        row.nps_effect = round(with_topic - without, 1)
    row.trend = [
        {
            "start": start,
            "n": int(buckets.get(start, {}).get("n") or 0),
            "share": round(int(buckets.get(start, {}).get("n") or 0) / total["n"], 4)
            if total["n"]
            else 0.0,
        }
        for start, total in sorted(per_bucket.items())
    ]


def sentiment_models() -> list[SentimentModel]:
    """Each language's sentiment model (trained, or the lexicon) with its held-out accuracy."""
    return list(SentimentModel.objects.defer("vocabulary", "idf", "coef").order_by("language"))


def text_questions(survey: Survey) -> list[Question]:
    return list(survey.questions.filter(type=QuestionType.TEXT).order_by("order", "pk"))


def top_topics(survey_id: int, limit: int = 3) -> list[dict[str, Any]]:
    """The survey's most mentioned topics over the last TOP_TOPICS_DAYS days (anonymous
    surveys: the published periods starting in them, under the same rules as the page), for
    the weekly report: [{"topic", "label", "question", "n", "share", "sentiment", "score",
    "nps_effect"}], topics with a shown n only, most comments first."""
    survey = Survey.objects.select_related("audience").filter(pk=survey_id).first()
    if survey is None:
        return []
    today = timezone.localdate()
    found: list[dict[str, Any]] = []
    for question in text_questions(survey):
        report = topic_report(
            survey=survey,
            question=question,
            date_from=today - dt.timedelta(days=TOP_TOPICS_DAYS - 1),
            date_to=today,
        )
        found += [
            {
                "topic": row.topic,
                "label": row.label,
                "question": question.key,
                "n": row.n,
                "share": row.share,
                "sentiment": row.sentiment,
                "score": row.score,
                "nps_effect": row.nps_effect,
            }
            for row in report.rows
            if row.shown and row.n
        ]
    found.sort(key=lambda r: (-r["n"], r["topic"]))
    return found[:limit]


def topics_of(comment_ids: Sequence[int]) -> dict[int, list[str]]:
    """{comment id: labels of its active topics} (one query)."""
    labels: dict[int, list[str]] = defaultdict(list)
    for comment_id, label in (
        CommentTopic.objects.filter(comment_id__in=list(comment_ids), topic__active=True)
        .order_by("topic_id")
        .values_list("comment_id", "topic__label")
    ):
        labels[comment_id].append(label)
    return labels


SEARCH_LIMIT = 50


@dataclass
class Found:
    """Comments matching a search, as the page lists them (texts only for analysts)."""

    total: int
    rows: list[dict[str, Any]]
    reason: str = ""


def comments_found(
    *,
    report: TopicReport,
    query: str,
    language: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    limit: int = SEARCH_LIMIT,
) -> Found:
    """The question's comments matching `query` (metrics.comments.search) within what the
    report may show: named surveys newest first with their day and language; anonymous surveys
    only inside the shown blocks, only when at least k comments match, in a keyed shuffle and
    without day or language. Four queries: the matches' ids, the texts and the topics (and,
    anonymous, the periods)."""
    from metrics.comments.search import comments_matching

    if report.reason:
        return Found(total=0, rows=[], reason=report.reason)
    comments, _blocks = base_comments(
        survey=report.survey,
        question_id=report.question.pk,
        language=language,
        date_from=date_from,
        date_to=date_to,
        k=report.k,
    )
    matching = comments_matching(comments, query)
    if report.anonymous:
        ids = privacy.shuffled(list(matching.values_list("pk", flat=True)))
        if len(ids) < report.k:
            return Found(
                total=0,
                rows=[],
                reason=_("Fewer than %(k)d comments match: nothing is listed.") % {"k": report.k},
            )
    else:
        ids = list(matching.order_by("-day", "-pk").values_list("pk", flat=True))
    total, ids = len(ids), ids[:limit]
    facts = {
        c["pk"]: c
        for c in Comment.objects.filter(pk__in=ids).values(
            "pk", "language", "sentiment", "day", "answer__text"
        )
    }
    labels = topics_of(ids)
    rows = []
    for pk in ids:
        fact = facts[pk]
        row = {
            "text": fact["answer__text"],
            "sentiment": fact["sentiment"],
            "topics": labels.get(pk, []),
        }
        if not report.anonymous:
            row |= {"language": fact["language"], "day": fact["day"]}
        rows.append(row)
    return Found(total=total, rows=rows)
