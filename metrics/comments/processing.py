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
from django.db.models import Case, Count, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

from metrics.closedloop.response_rules import topic_alerts_open
from metrics.comments import sentiment, text, topics
from metrics.comments.bulk import rows_insert
from metrics.comments.models import (
    Comment,
    CommentTopic,
    SentimentKind,
    SentimentModel,
    TopicFit,
)
from surveys.models import Answer, Question, QuestionType

BATCH = 20_000
MAX_BATCHES = 25
OUTCOME_TYPES = (QuestionType.NPS, QuestionType.CSAT)
RETRAIN_GROWTH = 0.2


@dataclass
class Run:
    """What one processing run did."""

    comments: int = 0
    # Topic links written: of new comments, and all of each refitted question's.
    links: int = 0
    alerts: list[int] = field(default_factory=list)
    refitted: list[int] = field(default_factory=list)
    retrained: list[str] = field(default_factory=list)


def pending() -> Any:
    """Free-text answers of completed, released responses with no comment yet, with their
    response's outcome answer (the first NPS answer by question order, else the first CSAT)."""
    outcome = Answer.objects.filter(
        response_id=OuterRef("response_id"),
        question__type__in=OUTCOME_TYPES,
        number__isnull=False,
    ).order_by(
        Case(When(question__type=QuestionType.NPS, then=Value(0)), default=Value(1)),
        "question__order",
        "question_id",
    )
    return (
        Answer.objects.filter(
            # A literal list from the small questions table: the answers' question index
            # then visits free-text answers only, not every scored one.
            question_id__in=list(
                Question.objects.filter(type=QuestionType.TEXT).values_list("pk", flat=True)
            ),
            response__completed_on__isnull=False,
            response__released=True,
            comment__isnull=True,
        )
        .exclude(text="")
        .annotate(
            outcome=Subquery(outcome.values("number")[:1]),
            outcome_type=Subquery(outcome.values("question__type")[:1]),
        )
        .order_by("pk")
    )


COLUMNS = (
    "answer_id",
    "survey_id",
    "question_id",
    "response_id",
    "language",
    "day",
    "anonymous",
    "score",
    "score_type",
    "sentiment",
    "stems",
    "processed_at",
)


def comments_process(*, now: dt.datetime | None = None, batch: int = BATCH) -> Run:
    """Process what is new (module docstring); returns what was done."""
    now = now or timezone.now()
    run = Run()
    questions: set[int] = set()
    last = 0
    for _ in range(MAX_BATCHES):
        # Keyset: each batch starts after the last, so a run reads the answers once.
        rows = list(
            pending()
            .filter(pk__gt=last)
            .values(
                "pk",
                "text",
                "question_id",
                "response_id",
                "outcome",
                "outcome_type",
                "response__survey_id",
                "response__survey__anonymous",
                "response__language",
                "response__completed_on",
            )[:batch]
        )
        if not rows:
            break
        last = rows[-1]["pk"]
        questions |= _batch(rows, now=now, run=run)
        if len(rows) < batch:
            break
    _refits(questions, now=now, run=run)
    _retrain(now=now, run=run)
    return run


@transaction.atomic
def _batch(rows: Sequence[dict[str, Any]], *, now: dt.datetime, run: Run) -> set[int]:
    """Insert one batch's comments, file them under topics and run the topic alert rules;
    returns the questions they belong to."""
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
            score=r["outcome"],
            score_type=r["outcome_type"] or "",
            sentiment=scores[r["pk"]],
            stems=text.joined(stems[r["pk"]]),
            processed_at=now,
        )
        for r in rows
    ]
    rows_insert(Comment, COLUMNS, [tuple(getattr(c, f) for f in COLUMNS) for c in comments])
    run.comments += len(comments)
    run.links += topics.comments_assign(comments=comments)
    run.alerts += _alerts(first=rows[0]["pk"], last=rows[-1]["pk"], now=now)
    return {c.question_id for c in comments}


def _alerts(*, first: int, last: int, now: dt.datetime) -> list[int]:
    """Topic alert rules on the comments of named surveys this run just filed (one query for
    their topics: the batch's id range, processed now)."""
    pairs = list(
        CommentTopic.objects.filter(
            comment_id__gte=first,
            comment_id__lte=last,
            comment__processed_at=now,
            comment__anonymous=False,
        )
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
                run.links += CommentTopic.objects.filter(topic__question_id=question_id).count()


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
