"""Invitations, responses and answers: the writes behind the hosted survey pages.

Invariants kept by the database, not by checks in Python:
- one response per invitation: the OneToOne `Response.invitation` for named surveys; for
  anonymous surveys (whose responses carry no invitation) a conditional UPDATE of the
  invitation's `responded_at` inside the completing transaction;
- one completion per response: a conditional UPDATE on `Response.completed_on`;
- one response per browser on a public link: the unique (public_link, browser_key).

Anonymous surveys (see surveys.periods): a response is stored on the first day of its reporting
period (`completed_on`), with no start or completion time, unreleased until a batch of at least
the audience's anonymity threshold is released, under a random id (ids in insertion order would
pair responses with the invitations answered at the same time), and about the survey's
touchpoint, never the triggering event's (an event is one person's). Its invitation records
that it was answered, at midnight UTC of the period's first day, never when. The completion is
announced to no listener (no webhook, no alert can see it arrive) and is marked announced and
checked on the period's first day.
"""

import datetime
import json
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Case, F, Model, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from audiences.models import Channel, Membership, Person
from journeys.models import TouchpointEvent
from surveys import hooks, tokens
from surveys.logic import visible_keys
from surveys.models import (
    SCORED_TYPES,
    Answer,
    Invitation,
    InvitationState,
    PublicLink,
    Question,
    QuestionType,
    Response,
    Survey,
    SurveyStatus,
)
from surveys.periods import period_for, period_start_moment
from surveys.validation import AnswerValue

USER_AGENT_MAX = 200
# Anonymous responses take a random id in this range (named ones count up from 1). Below 2**52:
# SQLite's AUTOINCREMENT continues after the largest id, and ids must stay exact in JSON.
ANONYMOUS_IDS = (2**40, 2**52)
ID_ATTEMPTS = 5


# --- Invitations ---------------------------------------------------------------------------


@transaction.atomic
def invitation_create(
    *,
    survey: Survey,
    person: Person | None,
    channel: str,
    event: TouchpointEvent | None = None,
    due_at: datetime.datetime | None = None,
    expires_at: datetime.datetime | None = None,
    state: str = InvitationState.PLANNED,
    language: str = "",
) -> tuple[Invitation, str]:
    """Create an invitation and return it with its token (the only time the token is returned).

    The token is never stored: only the nonce it is derived from and its SHA-256.
    """
    nonce = tokens.new_nonce()
    token = tokens.token_for(nonce)
    invitation = Invitation.objects.create(
        survey=survey,
        person=person,
        channel=channel,
        event=event,
        due_at=due_at,
        expires_at=expires_at,
        state=state,
        language=language,
        nonce=nonce,
        token_hash=tokens.token_hash(token),
    )
    return invitation, token


def invitation_url(invitation: Invitation) -> str:
    """The absolute hosted-page URL of `invitation` (the token is re-derived from the nonce)."""
    token = tokens.token_for(invitation.nonce)
    return str(settings.SITE_URL) + reverse("surveys:respond", kwargs={"token": token})


# --- The hosted pages' reads -----------------------------------------------------------------
#
# Every hosted request reads its invitation and its survey's questions. Built and compiled by
# the ORM, these two small queries took nearly half of a submission's Python time, so their SQL
# is written here, made once per connection from the models' fields; each row becomes model
# instances through Model.from_db, after the converters the ORM would apply. A new field needs
# nothing here.


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


# The invitation, its survey, the person's language and the named response's id: all the hosted
# pages need of them, in one query (token_hash is unique). The last two are scalar subqueries on
# unique keys: a third cheaper for PostgreSQL to plan than two more outer joins.
_INVITATION_SQL = """
SELECT {invitation}, {survey},
    (SELECT p.language FROM {person_table} p WHERE p.id = i.person_id),
    (SELECT r.id FROM {response_table} r WHERE r.invitation_id = i.id)
FROM {invitation_table} i
JOIN {survey_table} s ON s.id = i.survey_id
WHERE i.token_hash = %s
"""
_QUESTIONS_SQL = "SELECT {question} FROM {question_table} q WHERE q.survey_id = %s"


@dataclass(frozen=True)
class _HostedReads:
    """The hosted reads' SQL and columns for one connection (connections are per thread)."""

    db: BaseDatabaseWrapper
    invitation: _Columns
    survey: _Columns
    question: _Columns
    invitation_sql: str
    questions_sql: str

    @classmethod
    def of(cls, db: BaseDatabaseWrapper) -> "_HostedReads":
        invitation, survey = _Columns(Invitation, "i", db), _Columns(Survey, "s", db)
        question = _Columns(Question, "q", db)
        tables = {
            f"{name}_table": db.ops.quote_name(model._meta.db_table)
            for name, model in (
                ("invitation", Invitation),
                ("survey", Survey),
                ("person", Person),
                ("response", Response),
                ("question", Question),
            )
        }
        return cls(
            db=db,
            invitation=invitation,
            survey=survey,
            question=question,
            invitation_sql=_INVITATION_SQL.format(
                invitation=invitation.sql, survey=survey.sql, **tables
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
    """The invitation `token` opens (with its survey, `person_language` and `response_pk`), or
    None; the final check is constant-time. One query."""
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
    invitation.person_language = row[-2]  # type: ignore[attr-defined]
    invitation.response_pk = row[-1]  # type: ignore[attr-defined]
    return invitation


def survey_questions(*, survey: Survey) -> list[Question]:
    """The questions of `survey` by page and order (one query)."""
    reads = _hosted_reads()
    with reads.db.cursor() as cursor:
        cursor.execute(reads.questions_sql, [survey.pk])
        rows = cursor.fetchall()
    questions = [reads.question.instance(row) for row in rows]
    return sorted(questions, key=lambda q: (q.page, q.order, q.pk))


def day_start(moment: datetime.datetime) -> datetime.datetime:
    """Midnight (UTC) of `moment`'s day: the only time kept about anonymous respondents."""
    return moment.astimezone(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def invitation_mark_opened(*, invitation: Invitation) -> None:
    """Record the first opening; a sent (or possibly sent) invitation becomes opened.

    For anonymous surveys only the day is kept: an exact time, set beside the order in which
    responses were stored, could point to which response is whose.
    """
    now = timezone.now()
    if invitation.survey.anonymous:
        now = day_start(now)
    Invitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(
        opened_at=now,
        state=Case(
            When(
                state__in=[InvitationState.SENT, InvitationState.DELIVERY_UNKNOWN],
                then=Value(InvitationState.OPENED),
            ),
            default=F("state"),
        ),
    )


# --- Availability --------------------------------------------------------------------------


class Unavailable:
    """Why a survey page cannot be answered; each reason maps to a polite page."""

    NOT_OPEN = "not_open"
    CLOSED = "closed"
    FULL = "full"
    EXPIRED = "expired"
    SUPPRESSED = "suppressed"


def completed_count(survey: Survey) -> int:
    return Response.objects.filter(survey=survey, completed_on__isnull=False).count()


def survey_unavailable_reason(
    *, survey: Survey, invitation: Invitation | None = None, now: datetime.datetime | None = None
) -> str | None:
    """None when `survey` (through `invitation`) can be answered now, else an Unavailable code."""
    now = now or timezone.now()
    if invitation is not None:
        if invitation.state == InvitationState.SUPPRESSED:
            return Unavailable.SUPPRESSED
        if invitation.state == InvitationState.EXPIRED or (
            invitation.expires_at is not None and invitation.expires_at <= now
        ):
            return Unavailable.EXPIRED
    if survey.status == SurveyStatus.CLOSED:
        return Unavailable.CLOSED
    if survey.status != SurveyStatus.LIVE:
        return Unavailable.NOT_OPEN
    if survey.opens_at is not None and now < survey.opens_at:
        return Unavailable.NOT_OPEN
    if survey.closes_at is not None and now >= survey.closes_at:
        return Unavailable.CLOSED
    if survey.response_limit is not None and completed_count(survey) >= survey.response_limit:
        return Unavailable.FULL
    return None


# --- Answers -------------------------------------------------------------------------------


def answer_value(question: Question, answer: Answer) -> AnswerValue:
    """The typed value an Answer row holds for `question`."""
    if question.type in SCORED_TYPES:
        return answer.number
    if question.type == QuestionType.MULTIPLE_CHOICE:
        return list(answer.choices or [])
    return answer.text or None


def answers_load(*, response: Response, questions: Sequence[Question]) -> dict[str, AnswerValue]:
    """The saved answers of `response` by question key (one query)."""
    by_id = {q.pk: q for q in questions}
    values: dict[str, AnswerValue] = {}
    for answer in Answer.objects.filter(response=response):
        question = by_id.get(answer.question_id)
        if question is not None:
            values[question.key] = answer_value(question, answer)
    return values


def _answer_columns(question: Question, value: AnswerValue) -> dict[str, Any]:
    """The typed columns (number, text, choices) of an Answer row holding `value`."""
    if question.type in SCORED_TYPES:
        return {"number": int(value), "text": "", "choices": None}  # type: ignore[arg-type]
    if question.type == QuestionType.MULTIPLE_CHOICE:
        return {"number": None, "text": "", "choices": list(value)}  # type: ignore[arg-type]
    if question.type == QuestionType.SINGLE_CHOICE:
        return {"number": None, "text": str(value), "choices": [str(value)]}
    return {"number": None, "text": str(value), "choices": None}


def _answer_changes(
    questions: Iterable[Question], values: Mapping[str, AnswerValue]
) -> tuple[list[tuple[Question, dict[str, Any]]], list[int]]:
    """The answers to upsert (question, columns) and the ids of the questions emptied."""
    rows, emptied = [], []
    for question in questions:
        if question.key not in values:
            continue
        value = values[question.key]
        if value is None or value == []:
            emptied.append(question.pk)
        else:
            rows.append((question, _answer_columns(question, value)))
    return rows, emptied


def _answers_write(
    response: Response, questions: Iterable[Question], values: Mapping[str, AnswerValue]
) -> None:
    """Upsert the given answers and drop the ones emptied (two statements at most)."""
    rows, emptied = _answer_changes(questions, values)
    if rows:
        Answer.objects.bulk_create(
            [Answer(response=response, question=q, **columns) for q, columns in rows],
            update_conflicts=True,
            unique_fields=["response", "question"],
            update_fields=["number", "text", "choices"],
        )
    if emptied:
        Answer.objects.filter(response=response, question_id__in=emptied).delete()


def _hidden_answered(
    questions: Sequence[Question],
    values: Mapping[str, AnswerValue],
    earlier: Mapping[str, AnswerValue] | None,
) -> list[int]:
    """Ids of the questions answered earlier that display logic now hides."""
    if not earlier or not any(q.show_if for q in questions):
        return []
    shown = visible_keys(questions, {**earlier, **values})
    return [q.pk for q in questions if q.key not in shown and q.key in earlier]


# --- Responses -----------------------------------------------------------------------------


class AlreadyResponded(Exception):
    """The invitation or browser already completed this survey."""


class SurveyFull(Exception):
    """The survey reached its response limit before this response was completed."""


@dataclass(frozen=True)
class Respondent:
    """Who is answering: an invitation (with its token), or a browser on a public link."""

    survey: Survey
    invitation: Invitation | None = None
    token: str = ""
    public_link: PublicLink | None = None
    browser_id: str = ""

    @property
    def anonymous(self) -> bool:
        return self.survey.anonymous

    def resume_key(self) -> str | None:
        # Anonymous invitation responses carry no invitation; a keyed hash of the token lets the
        # unfinished response be found again and is cleared on completion.
        if self.invitation is not None and self.anonymous:
            return tokens.keyed_hash("resume", self.token)
        return None

    def browser_key(self) -> str | None:
        if self.public_link is not None and self.browser_id:
            return tokens.keyed_hash("browser", self.browser_id)
        return None


def response_find(*, respondent: Respondent) -> Response | None:
    """The response this respondent already has (finished or not), or None."""
    invitation = respondent.invitation
    if invitation is not None:
        if respondent.anonymous:
            return Response.objects.filter(resume_key=respondent.resume_key()).first()
        if not hasattr(invitation, "response_pk"):  # not from invitation_for_token
            return Response.objects.filter(invitation=invitation).first()
        pk: int | None = invitation.response_pk  # type: ignore[attr-defined]
        # Only its id is known (and needed): the other fields are deferred, loaded if read.
        return Response.from_db(invitation._state.db, ["id"], [pk]) if pk is not None else None
    key = respondent.browser_key()
    if key is None:
        return None
    return Response.objects.filter(public_link=respondent.public_link, browser_key=key).first()


def _segment(survey: Survey, invitation: Invitation | None) -> str | Coalesce:
    """The person's segment in the survey's audience, read by the response's INSERT itself."""
    if invitation is None or invitation.person_id is None:
        return ""
    segment = Membership.objects.filter(
        person_id=invitation.person_id, audience_id=survey.audience_id
    ).values("segment")[:1]  # at most one row: memberships are unique per person and audience
    return Coalesce(Subquery(segment), Value(""))


def _touchpoint_id(
    survey: Survey, invitation: Invitation | None
) -> int | None | Subquery | Coalesce:
    """The triggering event's touchpoint, else the survey's; read by the response's INSERT.

    Anonymous responses carry the survey's: the event is one person's, so its touchpoint could
    single the respondent out.
    """
    if survey.anonymous or invitation is None or invitation.event_id is None:
        return survey.touchpoint_id
    event = TouchpointEvent.objects.filter(pk=invitation.event_id).values("touchpoint_id")[:1]
    if survey.touchpoint_id is None:
        return Subquery(event)
    return Coalesce(Subquery(event), Value(survey.touchpoint_id))


def _new_response(respondent: Respondent, language: str, user_agent: str) -> Response:
    """An unsaved response with what it carries from the survey, invitation and person.

    Its segment and touchpoint are expressions until saved: the INSERT reads them itself.
    """
    survey = respondent.survey
    invitation = respondent.invitation
    response = Response(
        survey=survey,
        audience_id=survey.audience_id,
        touchpoint_id=_touchpoint_id(survey, invitation),
        segment=_segment(survey, invitation),
        channel=invitation.channel if invitation is not None else Channel.WEB,
        language=language,
    )
    if respondent.anonymous:
        response.pk = anonymous_response_id()
        response.released = False
    else:
        response.started_at = timezone.now()
        response.user_agent = user_agent[:USER_AGENT_MAX]
        response.person_id = invitation.person_id if invitation is not None else None
    if invitation is not None and not respondent.anonymous:
        response.invitation = invitation
    elif invitation is not None:
        response.resume_key = respondent.resume_key()
    else:
        if respondent.browser_key() is None:
            raise ValueError("a public-link respondent needs a browser id")
        response.public_link = respondent.public_link
        response.browser_key = respondent.browser_key()
    return response


def anonymous_response_id() -> int:
    """A random id for an anonymous response: its id says nothing of when it was stored."""
    low, high = ANONYMOUS_IDS
    return low + secrets.randbelow(high - low)


def _insert(response: Response) -> None:
    """INSERT `response` in a savepoint; an anonymous one whose random id is taken is retried
    under a fresh one. Any other IntegrityError (a concurrent start) is the caller's."""
    for attempt in range(ID_ATTEMPTS):
        try:
            with transaction.atomic():
                response.save(force_insert=True)
            return
        except IntegrityError:
            retry = attempt + 1 < ID_ATTEMPTS and response.released is False
            if not (retry and Response.objects.filter(pk=response.pk).exists()):
                raise
            response.pk = anonymous_response_id()


def _existing(respondent: Respondent) -> Response:
    invitation = respondent.invitation
    if invitation is not None and not respondent.anonymous:
        return Response.objects.get(invitation=invitation)
    if invitation is not None:
        return Response.objects.get(resume_key=respondent.resume_key())
    return Response.objects.get(
        public_link=respondent.public_link, browser_key=respondent.browser_key()
    )


@transaction.atomic(savepoint=False)
def response_start(*, respondent: Respondent, language: str, user_agent: str = "") -> Response:
    """The respondent's response, created on first save; concurrent starts share one row.

    Anonymous responses get no person, invitation, start time or user agent. Raises
    AlreadyResponded when the invitation has been answered (checked under its row lock).
    Within a caller's transaction it takes no savepoint: after an error, that transaction is
    to be rolled back (the hosted page's save does, by letting the error out of it).
    """
    invitation = respondent.invitation
    if invitation is not None:
        # Waits for a concurrent submit of the same invitation, then refuses to start anew.
        if not (
            Invitation.objects.select_for_update()
            .filter(pk=invitation.pk, responded_at__isnull=True)
            .exists()
        ):
            raise AlreadyResponded
    response = _new_response(respondent, language, user_agent)
    try:
        _insert(response)
    except IntegrityError:
        # Another request (second tab, double click) created it first: use that one.
        return _existing(respondent)
    return response


@transaction.atomic(savepoint=False)
def response_save_page(
    *,
    response: Response,
    questions: Sequence[Question],
    values: Mapping[str, AnswerValue],
) -> None:
    """Save (upsert) the answers of one page of an unfinished response.

    Raises AlreadyResponded when the response was completed meanwhile (its row is locked, so a
    stale tab cannot change a completed response). Like response_start, no savepoint.
    """
    if not (
        Response.objects.select_for_update()
        .filter(pk=response.pk, completed_on__isnull=True)
        .exists()
    ):
        raise AlreadyResponded
    _answers_write(response, questions, values)


def response_submit(
    *,
    respondent: Respondent,
    response: Response | None,
    questions: Sequence[Question],
    values: Mapping[str, AnswerValue],
    earlier: Mapping[str, AnswerValue] | None = None,
    language: str,
    user_agent: str = "",
) -> Response:
    """Complete the respondent's response with the last page's `values`, exactly once.

    `response` is the unfinished response found before (None when this is the first page to
    be saved; it is then created here, completed). `earlier` are the answers saved before;
    answers to questions that display logic now hides are dropped. Raises AlreadyResponded
    (and writes nothing) when another request completed first, and SurveyFull when the
    response limit is reached (the survey row is locked to count exactly). The listeners of
    surveys.hooks hear of the completion after commit.

    On PostgreSQL a named invitation's submit without a response limit (the common case) is
    one statement, atomic by itself; the other cases take a transaction of a few statements.
    An anonymous completion is stored as the module docstring says, and announced to nobody.
    """
    invitation = respondent.invitation
    if (
        invitation is not None
        and not respondent.anonymous
        and respondent.survey.response_limit is None
        and connection.vendor == "postgresql"
    ):
        completed = _submit_named(
            invitation=invitation,
            survey=respondent.survey,
            questions=questions,
            values=values,
            earlier=earlier,
            language=language,
            user_agent=user_agent,
        )
    else:
        completed = _submit(
            respondent=respondent,
            response=response,
            questions=questions,
            values=values,
            earlier=earlier,
            language=language,
            user_agent=user_agent,
        )
    if not respondent.anonymous:
        completed_id = completed.pk
        transaction.on_commit(lambda: hooks.response_completed(completed_id))
    return completed


@transaction.atomic
def _submit(
    *,
    respondent: Respondent,
    response: Response | None,
    questions: Sequence[Question],
    values: Mapping[str, AnswerValue],
    earlier: Mapping[str, AnswerValue] | None,
    language: str,
    user_agent: str,
) -> Response:
    """response_submit with the ORM: claim, lock and count, complete, write the answers."""
    now = timezone.now()
    survey = respondent.survey
    invitation = respondent.invitation
    completion: dict[str, Any] = {"resume_key": None}
    if respondent.anonymous:
        period = period_for(survey=survey, today=timezone.localdate(now))
        at = period_start_moment(period.starts_on)
        # Marked announced and checked on the period's first day: no listener hears of it, no
        # reconciler dates it by the day it runs.
        completion |= {
            "completed_on": period.starts_on,
            "released": False,
            "announced_on": period.starts_on,
            "alerts_checked_at": at,
        }
    else:
        at = now
        completion |= {"completed_on": timezone.localdate(now), "completed_at": now}
    if invitation is not None:
        # Anonymous: the invitation says "responded" (in which period), never which response
        # or when.
        # Takes the invitation's row lock: a concurrent submit waits here, then sees 0 rows.
        claimed = Invitation.objects.filter(pk=invitation.pk, responded_at__isnull=True).update(
            state=InvitationState.RESPONDED,
            responded_at=at,
            opened_at=Coalesce(F("opened_at"), Value(at)),
        )
        if not claimed:
            raise AlreadyResponded
    if survey.response_limit is not None:
        Survey.objects.select_for_update().filter(pk=survey.pk).values_list("pk").first()
        if completed_count(survey) >= survey.response_limit:
            raise SurveyFull
    if response is None:
        response = _new_response(respondent, language, user_agent)
        for field, value in completion.items():
            setattr(response, field, value)
        if invitation is not None and not respondent.anonymous:
            # The claim above makes this the only completion; a row a page save created
            # meanwhile is completed in the same statement (INSERT … ON CONFLICT DO UPDATE).
            Response.objects.bulk_create(
                [response],
                update_conflicts=True,
                unique_fields=["invitation"],
                update_fields=list(completion),
            )
        elif invitation is not None:
            _insert(response)  # completed anonymous rows carry no unique key but their id
        else:
            try:
                _insert(response)
            except IntegrityError:
                # The same browser started in another tab meanwhile: complete that one.
                response = _complete(_existing(respondent), completion)
    else:
        response = _complete(response, completion)
    _answers_write(response, questions, values)
    hidden = _hidden_answered(questions, values, earlier)
    if hidden:
        Answer.objects.filter(response=response, question_id__in=hidden).delete()
    return response


# The claim, the response (created, or completed if a page save created it), its answers upserted
# and the emptied or hidden ones deleted: what _submit does for a named invitation, in one
# statement. The claim's conditional UPDATE takes the invitation's row lock, so a concurrent
# submit waits and then claims nothing: no row comes back and nothing is written. The claim
# makes this the only completion, so a conflicting (unfinished) response is completed as is.
# Data-modifying CTEs all run, referenced or not; the answers reach the database as one JSON
# document (question_id, number, text, choices per row). `released` is written although a named
# response is always released: Django keeps field defaults out of the table, so the column has
# no default of its own.
_SUBMIT_NAMED_SQL = """
WITH claim AS (
    UPDATE {invitation} SET state = %(state)s, responded_at = %(now)s,
        opened_at = COALESCE(opened_at, %(now)s)
    WHERE id = %(invitation_id)s AND responded_at IS NULL
    RETURNING id
), response AS (
    INSERT INTO {response} (survey_id, audience_id, touchpoint_id, invitation_id, person_id,
        channel, language, segment, started_at, completed_at, completed_on, user_agent, released)
    SELECT %(survey_id)s, %(audience_id)s,
        COALESCE(
            (SELECT touchpoint_id FROM {event} WHERE id = %(event_id)s), %(touchpoint_id)s
        ),
        claim.id, %(person_id)s, %(channel)s, %(language)s,
        COALESCE(
            (SELECT segment FROM {membership}
             WHERE person_id = %(person_id)s AND audience_id = %(audience_id)s),
            ''
        ),
        %(now)s, %(now)s, %(day)s, %(user_agent)s, TRUE
    FROM claim
    ON CONFLICT (invitation_id) DO UPDATE SET completed_at = EXCLUDED.completed_at,
        completed_on = EXCLUDED.completed_on, resume_key = NULL
    RETURNING id
), upserted AS (
    INSERT INTO {answer} (response_id, question_id, number, text, choices)
    SELECT response.id, a.question_id, a.number, a.text, a.choices
    FROM response, jsonb_to_recordset(%(answers)s::jsonb)
        AS a(question_id bigint, number smallint, text text, choices jsonb)
    ON CONFLICT (response_id, question_id) DO UPDATE SET number = EXCLUDED.number,
        text = EXCLUDED.text, choices = EXCLUDED.choices
){dropped}
SELECT id FROM response
"""
# Only when there are answers to drop: an empty DELETE still costs about a fifth of the
# statement's database time.
_SUBMIT_NAMED_DROPPED_SQL = """, dropped AS (
    DELETE FROM {answer}
    WHERE response_id IN (SELECT id FROM response) AND question_id = ANY(%(dropped)s::bigint[])
)"""


def _submit_named(
    *,
    invitation: Invitation,
    survey: Survey,
    questions: Sequence[Question],
    values: Mapping[str, AnswerValue],
    earlier: Mapping[str, AnswerValue] | None,
    language: str,
    user_agent: str,
) -> Response:
    """response_submit for a named invitation on PostgreSQL: one statement (_SUBMIT_NAMED_SQL).

    Saves the round trips and the ORM's work of five statements in a transaction, most of a
    hosted submit's cost. Returns the response with only its id loaded.
    """
    now = timezone.now()
    rows, emptied = _answer_changes(questions, values)
    dropped = emptied + _hidden_answered(questions, values, earlier)
    tables = {
        name: connection.ops.quote_name(model._meta.db_table)
        for name, model in (
            ("invitation", Invitation),
            ("response", Response),
            ("answer", Answer),
            ("event", TouchpointEvent),
            ("membership", Membership),
        )
    }
    sql = _SUBMIT_NAMED_SQL.format(
        dropped=_SUBMIT_NAMED_DROPPED_SQL.format(**tables) if dropped else "", **tables
    )
    params = {
        "state": InvitationState.RESPONDED.value,
        "now": now,
        "day": timezone.localdate(now),
        "invitation_id": invitation.pk,
        "survey_id": survey.pk,
        "audience_id": survey.audience_id,
        "event_id": invitation.event_id,
        "touchpoint_id": survey.touchpoint_id,
        "person_id": invitation.person_id,
        "channel": invitation.channel,
        "language": language,
        "user_agent": user_agent[:USER_AGENT_MAX],
        "answers": json.dumps([{"question_id": q.pk, **columns} for q, columns in rows]),
        "dropped": dropped,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    if found is None:
        raise AlreadyResponded
    return Response.from_db(connection.alias, ["id"], [found[0]])


def _complete(response: Response, completion: Mapping[str, Any]) -> Response:
    finished = Response.objects.filter(pk=response.pk, completed_on__isnull=True).update(
        **completion
    )
    if not finished:
        raise AlreadyResponded
    for field, value in completion.items():
        setattr(response, field, value)
    return response


# --- Public links --------------------------------------------------------------------------


def new_browser_id() -> str:
    """A random 128-bit browser id for the public-link cookie."""
    return secrets.token_urlsafe(16)
