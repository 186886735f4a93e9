"""Processing free-text answers into comments: the periodic, incremental run.

What is new: free-text answers of completed, released responses that have no comment yet (an
anti-join on the comment's primary key, the answer id). Not an id watermark: answers are saved
page by page before their response completes, and anonymous responses are released in batches
later, so a new comment's answer id can be older than any already processed. Per batch, in one
transaction: the responses' outcome answers (one query), stems and sentiment in Python, the
comments (one bulk insert), their topics under the current topic models (one bulk insert), and
the topic alert rules on them (named surveys only). After the batches: questions whose comments
grew by a fifth are refitted, and a language whose labelled comments grew by a fifth gets its
sentiment model trained again, its comments rescored in one set-based update.

Re-running is harmless: inserts skip rows that exist (ON CONFLICT DO NOTHING), a refit holds
its question's lock, and alerts are unique per rule and response.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from metrics.closedloop.response_rules import topic_alerts_open
from metrics.comments import sentiment, text, topics
from metrics.comments.models import (
    Comment,
    CommentTopic,
    SentimentKind,
    SentimentModel,
    TopicFit,
)
from surveys.models import Answer, QuestionType

BATCH = 5000
MAX_BATCHES = 40
OUTCOME_TYPES = (QuestionType.NPS, QuestionType.CSAT)
RETRAIN_GROWTH = 0.2


@dataclass
class Run:
    """What one processing run did."""

    comments: int = 0
    links: int = 0
    alerts: list[int] = field(default_factory=list)
    refitted: list[int] = field(default_factory=list)
    retrained: list[str] = field(default_factory=list)


def pending() -> Any:
    """Free-text answers of completed, released responses with no comment yet."""
    return (
        Answer.objects.filter(
            question__type=QuestionType.TEXT,
            response__completed_on__isnull=False,
            response__released=True,
            comment__isnull=True,
        )
        .exclude(text="")
        .order_by("pk")
    )


def comments_process(*, now: dt.datetime | None = None, batch: int = BATCH) -> Run:
    """Process what is new (module docstring); returns what was done."""
    now = now or timezone.now()
    run = Run()
    questions: set[int] = set()
    for _ in range(MAX_BATCHES):
        rows = list(
            pending().values(
                "pk",
                "text",
                "question_id",
                "response_id",
                "response__survey_id",
                "response__survey__anonymous",
                "response__language",
                "response__completed_on",
            )[:batch]
        )
        if not rows:
            break
        made = _batch(rows, now=now, run=run)
        questions |= {c.question_id for c in made}
        if len(rows) < batch:
            break
    _refits(questions, now=now, run=run)
    _retrain(now=now, run=run)
    return run


@transaction.atomic
def _batch(rows: Sequence[dict[str, Any]], *, now: dt.datetime, run: Run) -> list[Comment]:
    outcomes = _outcomes([r["response_id"] for r in rows])
    languages = {r["pk"]: text.language_of(r["response__language"]) for r in rows}
    stems = {r["pk"]: text.stems(r["text"], languages[r["pk"]]) for r in rows}
    models = {m.language: m for m in SentimentModel.objects.all()}
    scores: dict[int, float] = {}
    for language in text.LANGUAGES:
        ids = [pk for pk, lang in languages.items() if lang == language]
        values = sentiment.sentiments(
            model=models.get(language),
            language=language,
            docs=[" ".join(stems[pk]) for pk in ids],
        )
        scores.update(zip(ids, values, strict=True))
    comments = [
        Comment(
            answer_id=r["pk"],
            survey_id=r["response__survey_id"],
            question_id=r["question_id"],
            response_id=r["response_id"],
            language=languages[r["pk"]],
            day=r["response__completed_on"],
            anonymous=r["response__survey__anonymous"],
            score=outcomes.get(r["response_id"], (None, ""))[0],
            score_type=outcomes.get(r["response_id"], (None, ""))[1],
            sentiment=scores[r["pk"]],
            stems=text.joined(stems[r["pk"]]),
            processed_at=now,
        )
        for r in rows
    ]
    Comment.objects.bulk_create(comments, ignore_conflicts=True, batch_size=2000)
    run.comments += len(comments)
    run.links += topics.comments_assign(comments=comments)
    run.alerts += _alerts([c for c in comments if not c.anonymous], now=now)
    return comments


def _outcomes(response_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """{response id: (score, "nps" | "csat")}: the response's first NPS answer by question
    order, else its first CSAT answer (one query)."""
    best: dict[int, tuple[tuple[int, int, int], int, str]] = {}
    for response_id, number, qtype, order, question_id in (
        Answer.objects.filter(
            response_id__in=list(set(response_ids)),
            question__type__in=OUTCOME_TYPES,
            number__isnull=False,
        )
        .values_list("response_id", "number", "question__type", "question__order", "question_id")
        .order_by()
    ):
        rank = (0 if qtype == QuestionType.NPS else 1, order, question_id)
        if response_id not in best or rank < best[response_id][0]:
            best[response_id] = (rank, number, qtype)
    return {rid: (number, qtype) for rid, (_rank, number, qtype) in best.items()}


def _alerts(comments: Sequence[Comment], *, now: dt.datetime) -> list[int]:
    """Topic alert rules on new comments of named surveys (one query for their topics)."""
    if not comments:
        return []
    pairs = list(
        CommentTopic.objects.filter(comment_id__in=[c.pk for c in comments])
        .values_list("comment__response_id", "topic_id")
        .order_by("comment__response_id", "topic_id")
    )
    return topic_alerts_open(pairs=pairs, now=now)


def _refits(questions: set[int], *, now: dt.datetime, run: Run) -> None:
    """Refit the questions whose comments (those topics learn from) grew by a fifth since their
    last fit: the questions with new comments, and those of anonymous surveys (a period that
    was published gives them comments to learn from without any new one)."""
    questions = questions | set(
        Comment.objects.filter(anonymous=True).values_list("question_id", flat=True).distinct()
    )
    if not questions:
        return
    fitted = dict(
        TopicFit.objects.filter(question_id__in=questions).values_list("question_id", "comments")
    )
    for question_id in sorted(questions):
        learnt = topics.fit_comments(question_id).count()
        if topics.refit_due(comments=learnt, fitted=fitted.get(question_id)):
            if topics.topics_refit(question_id=question_id, now=now) is not None:
                run.refitted.append(question_id)


# Comments whose score labels them (sentiment.label_of, in SQL).
LABELLED = (
    Q(score_type="nps", score__lte=6)
    | Q(score_type="nps", score__gte=9)
    | Q(score_type="csat", score__lte=2)
    | Q(score_type="csat", score__gte=4)
)


def _retrain(*, now: dt.datetime, run: Run) -> None:
    """Train a language's sentiment model again once its labelled comments grew by a fifth (or
    for the first time), and rescore that language's comments when a trained model is new or
    replaced (the lexicon never changes)."""
    trained = {m.language: m for m in SentimentModel.objects.all()}
    counts = dict(
        Comment.objects.filter(LABELLED, anonymous=False)
        .values_list("language")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for language in text.LANGUAGES:
        before = trained.get(language)
        n = counts.get(language, 0)
        if before is not None and n < max(1, before.labelled) * (1 + RETRAIN_GROWTH):
            continue
        if before is None and not Comment.objects.filter(language=language).exists():
            continue
        labelled = [
            (stems, sentiment.label_of(score, score_type))
            for stems, score, score_type in Comment.objects.filter(
                LABELLED, language=language, anonymous=False
            )
            .order_by("pk")
            .values_list("stems", "score", "score_type")
        ]
        with transaction.atomic():
            model = sentiment.sentiment_train(
                language=language,
                docs=[" ".join(s.split()) for s, _ in labelled],
                labels=[int(label or 0) for _, label in labelled],
                now=now,
            )
            if model.kind == SentimentKind.MODEL or (
                before is not None and before.kind == SentimentKind.MODEL
            ):
                _rescore(language, model)
        run.retrained.append(language)


def _rescore(language: str, model: SentimentModel) -> None:
    """Every comment of `language` scored again by its model, in one UPDATE per 50,000."""
    rows = list(Comment.objects.filter(language=language).order_by("pk").values_list("pk", "stems"))
    for start in range(0, len(rows), 50_000):
        chunk = rows[start : start + 50_000]
        values = sentiment.sentiments(
            model=model, language=language, docs=[" ".join(s.split()) for _, s in chunk]
        )
        sentiments_write([pk for pk, _ in chunk], values)


def sentiments_write(ids: Sequence[int], values: Sequence[float]) -> None:
    """Set many comments' sentiment: one UPDATE … FROM unnest(…) on PostgreSQL, batched
    bulk_update elsewhere."""
    if not ids:
        return
    if connection.vendor == "postgresql":
        table = Comment._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS c SET sentiment = v.s "  # noqa: S608 - our own table name
                "FROM unnest(%s::bigint[], %s::float8[]) AS v(id, s) WHERE c.answer_id = v.id",
                [list(ids), list(values)],
            )
        return
    Comment.objects.bulk_update(
        [Comment(pk=pk, sentiment=v) for pk, v in zip(ids, values, strict=True)],
        ["sentiment"],
        batch_size=500,
    )
