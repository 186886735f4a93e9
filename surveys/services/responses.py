"""Responses: started, saved page by page, and answered (completed) exactly once.

`response_answer` is the one way a response completes: the hosted page's last page and
`POST /api/v1/responses/` both call it. Invariants kept by the database, not by checks in
Python:
- one response per invitation: the OneToOne `Response.invitation` for named surveys; for
  anonymous surveys (whose responses carry no invitation) a conditional UPDATE of the
  invitation's `responded_at` inside the completing transaction;
- one completion per response: a conditional UPDATE on `Response.completed_on`;
- one response per browser on a public link: the unique (public_link, browser_key);
- a named completion owes `response.completed` (alerts, webhooks) in its own transaction,
  through the outbox (xmplatform.core.outbox): it is announced exactly when it commits.

Anonymous surveys (see surveys.periods): a response is stored on the first day of its reporting
period (`completed_on`), with no start or completion time, unreleased until a batch of at least
the audience's anonymity threshold is released, under a random id (ids in insertion order would
pair responses with the invitations answered at the same time), and about the survey's
touchpoint, never the triggering event's (an event is one person's). Its invitation records
that it was answered, at midnight UTC of the period's first day, never when. Its completion
emits nothing: a handler called right after the commit would date the response.
"""

import datetime
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from audiences.models import Channel, Membership
from journeys.models import TouchpointEvent
from surveys import tokens
from surveys.models import (
    Answer,
    Invitation,
    InvitationState,
    PublicLink,
    Question,
    Response,
    Survey,
    SurveyStatus,
)
from surveys.periods import period_for, period_start_moment
from surveys.services.answers import answers_load, answers_write, hidden_answered
from surveys.services.named_submit import COMPLETED_EVENT, submit_named
from surveys.validation import AnswerValue
from xmplatform.core.outbox import outbox_emit

USER_AGENT_MAX = Response._meta.get_field("user_agent").max_length or 200
# Anonymous responses take a random id in this range (named ones count up from 1). Below 2**52:
# SQLite's AUTOINCREMENT continues after the largest id, and ids must stay exact in JSON.
ANONYMOUS_IDS = (2**40, 2**52)
ID_ATTEMPTS = 5


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


# --- Respondents -----------------------------------------------------------------------------


class AlreadyResponded(Exception):
    """The invitation or browser already completed this survey."""


class SurveyFull(Exception):
    """The survey reached its response limit before this response was completed."""


class SurveyUnavailable(Exception):
    """The survey cannot be answered now; `reason` is an Unavailable code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Respondent:
    """Who is answering: an invitation (with its token), or a browser on a public link."""

    survey: Survey
    invitation: Invitation | None = None
    token: str = ""
    public_link: PublicLink | None = None
    browser_id: str = ""
    # A public link's hidden field values, checked against the link's signature
    # (surveys.hidden_fields.link_data); an invitation's are its own `data`.
    data: Mapping[str, str] | None = None

    def hidden_data(self) -> dict[str, str]:
        """The hidden field values the response keeps from its first save."""
        if self.invitation is not None:
            return dict(self.invitation.data or {})
        return dict(self.data or {})

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


@dataclass(frozen=True)
class Progress:
    """What a respondent saved before the last page: their unfinished response (None before
    the first save) and its answers by question key."""

    response: Response | None
    answers: Mapping[str, AnswerValue]


def response_progress(*, respondent: Respondent, questions: Sequence[Question]) -> Progress:
    """The respondent's response and its saved answers (up to two queries)."""
    response = response_find(respondent=respondent)
    if response is None:
        return Progress(response=None, answers={})
    return Progress(response=response, answers=answers_load(response=response, questions=questions))


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
        version=survey.version,
        data=respondent.hidden_data(),
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
    answers_write(response, questions, values)


# --- Answering --------------------------------------------------------------------------------


def response_check(*, respondent: Respondent) -> None:
    """Refuse a respondent who cannot answer now: AlreadyResponded when their invitation was
    answered, SurveyUnavailable (with its reason) when the survey or the invitation takes no
    answers (not open, closed, expired, suppressed, full).

    No query, but a COUNT for a survey with a response limit. Entry points call it before they
    read the answers, so a refusal comes before any validation error; response_answer calls it
    again.
    """
    invitation = respondent.invitation
    if invitation is not None and invitation.responded_at is not None:
        raise AlreadyResponded
    reason = survey_unavailable_reason(survey=respondent.survey, invitation=invitation)
    if reason is not None:
        raise SurveyUnavailable(reason)


def response_answer(
    *,
    respondent: Respondent,
    questions: Sequence[Question],
    values: Mapping[str, AnswerValue],
    language: str,
    user_agent: str = "",
    progress: Progress | None = None,
) -> Response:
    """Answer the survey: complete the respondent's response with `values`, exactly once.

    The one completion of a response, for the hosted page's last page and the API. `values`
    are clean answers (surveys.validation) added to those saved before; answers saved before to
    questions that display logic now hides are dropped. `progress` is what the caller already
    read of the respondent's response (read here when None).

    Raises, writing nothing: what response_check raises; AlreadyResponded also when the browser
    completed before or another request completes first (the invitation's row lock makes it
    wait, then see it); SurveyFull when the response limit is reached (counted under the
    survey's row lock).

    A named completion owes `response.completed` to the outbox in the same transaction; an
    anonymous one is stored as the module docstring says and owes nothing. On PostgreSQL a
    named invitation's answer without a response limit (the common case) is one statement,
    atomic by itself; the other cases take a transaction of a few statements.
    """
    survey, invitation = respondent.survey, respondent.invitation
    response_check(respondent=respondent)
    if progress is None:
        progress = response_progress(respondent=respondent, questions=questions)
    user_agent = user_agent[:USER_AGENT_MAX]
    if (
        invitation is not None
        and not respondent.anonymous
        and survey.response_limit is None
        and connection.vendor == "postgresql"
    ):
        completed = submit_named(
            invitation=invitation,
            survey=survey,
            questions=questions,
            values=values,
            earlier=progress.answers,
            language=language,
            user_agent=user_agent,
        )
        if completed is None:
            raise AlreadyResponded
        return completed
    return _submit(
        respondent=respondent,
        response=progress.response,
        questions=questions,
        values=values,
        earlier=progress.answers,
        language=language,
        user_agent=user_agent,
    )


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
    """response_answer with the ORM: claim, lock and count, complete, write the answers, and
    (named) owe the completion's announcement."""
    now = timezone.now()
    survey = respondent.survey
    invitation = respondent.invitation
    # The version answered is the one live at completion (a response started before an edit
    # is completed on the questions shown now).
    completion: dict[str, Any] = {"resume_key": None, "version": survey.version}
    if respondent.anonymous:
        period = period_for(survey=survey, today=timezone.localdate(now))
        at = period_start_moment(period.starts_on)
        completion |= {"completed_on": period.starts_on, "released": False}
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
        for name, value in completion.items():
            setattr(response, name, value)
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
    answers_write(response, questions, values)
    hidden = hidden_answered(questions, values, earlier, respondent.hidden_data())
    if hidden:
        Answer.objects.filter(response=response, question_id__in=hidden).delete()
    if not respondent.anonymous:
        outbox_emit(COMPLETED_EVENT, response_id=response.pk)
    return response


def _complete(response: Response, completion: Mapping[str, Any]) -> Response:
    finished = Response.objects.filter(pk=response.pk, completed_on__isnull=True).update(
        **completion
    )
    if not finished:
        raise AlreadyResponded
    for name, value in completion.items():
        setattr(response, name, value)
    return response


# --- Public links --------------------------------------------------------------------------


def new_browser_id() -> str:
    """A random 128-bit browser id for the public-link cookie."""
    return secrets.token_urlsafe(16)
