"""The two reads every hosted request (and the API's response) starts with: an invitation by
its token, and its survey's questions.

Built and compiled by the ORM, these two small queries took nearly half of a submission's
Python time, so their SQL is written here, made once per connection from the models' fields;
each row becomes model instances through Model.from_db, after the converters the ORM would
apply. A new field needs nothing here.
"""

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from audiences.models import Audience, Person
from surveys import tokens
from surveys.models import Invitation, Question, Response, Survey


class _Columns:
    """One model's concrete fields in a SELECT under `alias`, and their values as an instance."""

    def __init__(self, model: type[Model], alias: str, db: BaseDatabaseWrapper) -> None:
        fields = model._meta.concrete_fields
        self.model, self.db, self.width = model, db, len(fields)
        self.names = [f.attname for f in fields]
        self.sql = ", ".join(f"{alias}.{db.ops.quote_name(f.column)}" for f in fields)
        columns = [f.get_col(alias) for f in fields]
        self.converters = [
            (i, column, converters)
            for i, column in enumerate(columns)
            if (converters := db.ops.get_db_converters(column) + column.get_db_converters(db))
        ]

    def instance(self, row: Sequence[Any], start: int = 0) -> Any:
        values = list(row[start : start + self.width])
        for i, column, converters in self.converters:
            for convert in converters:
                values[i] = convert(values[i], column, self.db)
        return self.model.from_db(self.db.alias, self.names, values)


# The invitation, its survey and the survey's audience (its brand), the person's language and
# the named response's id: all the hosted pages need of them, in one query (token_hash is
# unique). The last two are scalar subqueries on unique keys: a third cheaper for PostgreSQL to
# plan than two more outer joins.
_INVITATION_SQL = """
SELECT {invitation}, {survey}, {audience},
    (SELECT p.language FROM {person_table} p WHERE p.id = i.person_id),
    (SELECT r.id FROM {response_table} r WHERE r.invitation_id = i.id)
FROM {invitation_table} i
JOIN {survey_table} s ON s.id = i.survey_id
JOIN {audience_table} a ON a.id = s.audience_id
WHERE i.token_hash = %s
"""
# Retired questions (surveys.versions) keep their answers but are no longer asked.
_QUESTIONS_SQL = (
    "SELECT {question} FROM {question_table} q WHERE q.survey_id = %s AND q.retired_in IS NULL"
)


@dataclass(frozen=True)
class _HostedReads:
    """The hosted reads' SQL and columns for one connection (connections are per thread)."""

    db: BaseDatabaseWrapper
    invitation: _Columns
    survey: _Columns
    audience: _Columns
    question: _Columns
    invitation_sql: str
    questions_sql: str

    @classmethod
    def of(cls, db: BaseDatabaseWrapper) -> "_HostedReads":
        invitation, survey = _Columns(Invitation, "i", db), _Columns(Survey, "s", db)
        audience = _Columns(Audience, "a", db)
        question = _Columns(Question, "q", db)
        tables = {
            f"{name}_table": db.ops.quote_name(model._meta.db_table)
            for name, model in (
                ("invitation", Invitation),
                ("survey", Survey),
                ("audience", Audience),
                ("person", Person),
                ("response", Response),
                ("question", Question),
            )
        }
        return cls(
            db=db,
            invitation=invitation,
            survey=survey,
            audience=audience,
            question=question,
            invitation_sql=_INVITATION_SQL.format(
                invitation=invitation.sql, survey=survey.sql, audience=audience.sql, **tables
            ),
            questions_sql=_QUESTIONS_SQL.format(question=question.sql, **tables),
        )


_thread = threading.local()


def _hosted_reads() -> _HostedReads:
    """This thread's _HostedReads, made on its first hosted read."""
    db = connections[DEFAULT_DB_ALIAS]
    reads: _HostedReads | None = getattr(_thread, "hosted_reads", None)
    if reads is None or reads.db is not db:
        reads = _thread.hosted_reads = _HostedReads.of(db)
    return reads


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation `token` opens (with its survey and the survey's audience,
    `person_language` and `response_pk`), or None; the final check is constant-time. One
    query."""
    if not token or len(token) != tokens.TOKEN_CHARS:
        return None
    reads = _hosted_reads()
    with reads.db.cursor() as cursor:
        cursor.execute(reads.invitation_sql, [tokens.token_hash(token)])
        row = cursor.fetchone()
    if row is None:
        return None
    invitation: Invitation = reads.invitation.instance(row)
    if not tokens.token_matches(invitation.nonce, token):
        return None
    invitation.survey = reads.survey.instance(row, reads.invitation.width)
    invitation.survey.audience = reads.audience.instance(
        row, reads.invitation.width + reads.survey.width
    )
    invitation.person_language = row[-2]  # type: ignore[attr-defined]
    invitation.response_pk = row[-1]  # type: ignore[attr-defined]
    return invitation


def survey_questions(*, survey: Survey) -> list[Question]:
    """The questions of `survey`'s live version by page and order (one query)."""
    reads = _hosted_reads()
    with reads.db.cursor() as cursor:
        cursor.execute(reads.questions_sql, [survey.pk])
        rows = cursor.fetchall()
    questions = [reads.question.instance(row) for row in rows]
    return sorted(questions, key=lambda q: (q.page, q.order, q.pk))
