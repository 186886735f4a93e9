"""Demo surveys with their invitations, responses and answers, and the contact ledger they leave."""

import datetime
import random
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from audiences.demo import STORE_CLIMATE
from audiences.models import Audience, Membership
from journeys.models import Touchpoint
from surveys import tokens
from surveys.catalog import survey_create_from_template
from surveys.demo.answers import answer_row, biases, clamp, respondent_answers
from surveys.demo.specs import (
    BATCH,
    DAY,
    DEMO_SURVEYS,
    HOUR,
    PULSE_EXPIRY_DAYS,
    PULSE_HOURLY_CAP,
    WINDOW_DAYS,
    DemoSurvey,
    wave_runs,
)
from surveys.demo.story import CustomerStory, driver_questions_add
from surveys.models import (
    Answer,
    ContactKind,
    ContactLedger,
    Invitation,
    InvitationState,
    Question,
    ReportingPeriod,
    ReportingPeriodKind,
    Response,
    Survey,
    SurveyStatus,
)
from surveys.periods import CALENDAR_KINDS, period_bounds, period_start_moment, periods_release
from surveys.services import anonymous_response_id
from xmplatform.core.time import utc_day_start


def _pick_state(rng: random.Random, participation: float = 0.55) -> str:
    roll = rng.random()
    if roll < participation:
        return InvitationState.RESPONDED
    if roll < participation + 0.2:
        return InvitationState.OPENED
    return InvitationState.SENT


def _reply_delay(rng: random.Random) -> datetime.timedelta:
    """How long after its invitation arrived someone answers: half within a day and a half,
    then after each of the two reminders (days 3 and 6), never after expiry (14 days)."""
    roll = rng.random()
    if roll < 0.5:
        days = rng.uniform(0.01, 1.5)
    elif roll < 0.8:
        days = rng.uniform(3, 5.5)
    else:
        days = rng.uniform(6, PULSE_EXPIRY_DAYS - 1)
    return datetime.timedelta(days=days)


# (invitation, period start or completion day, segment, language, mood offset)
Answered = tuple[Invitation, datetime.date, str, str, float]
Member = tuple[int, str, str, datetime.date | None, datetime.date | None]


def _invitations_spread(
    spec: DemoSurvey,
    survey: Survey,
    members: list[Member],
    now: datetime.datetime,
    rng: random.Random,
) -> tuple[list[Invitation], list[Answered], dict[datetime.date, datetime.date]]:
    """A share of the members of the last 90 days invited once, at random moments while they
    were members: those who have left since were invited before they left (and were less
    happy), so what followed an answer includes leaving."""
    start = now - datetime.timedelta(days=WINDOW_DAYS)
    current = [m for m in members if m[4] is None]
    if not current:
        return [], [], {}
    eligible = [m for m in members if m[4] is None or _day_start(m[4]) - start > 4 * DAY]
    invited = rng.sample(eligible, k=max(1, round(len(eligible) * spec.share)))
    # Anonymous: the calendar period (no wave) whose first day stands for each answer.
    kind = survey.reporting_period
    kind = kind if kind in CALENDAR_KINDS else ReportingPeriodKind.MONTH
    periods: dict[datetime.date, datetime.date] = {}
    invitations: list[Invitation] = []
    answered: list[Answered] = []
    for person_id, segment, person_language, _joined, left in invited:
        language = person_language if person_language in survey.languages else "tr"
        state = _pick_state(rng, spec.participation)
        until = now - HOUR if left is None else _day_start(left) - 2 * DAY
        sent_at = start + (until - start) * rng.random()
        invitation = _invitation(survey, person_id, rng.choice(spec.channels), language, state)
        invitation.due_at = invitation.sent_at = sent_at
        invitation.expires_at = sent_at + datetime.timedelta(days=14)
        opened_at = min(now, sent_at + datetime.timedelta(minutes=rng.randint(2, 600)))
        responded_at = min(now, opened_at + datetime.timedelta(minutes=3))
        if state in (InvitationState.OPENED, InvitationState.RESPONDED):
            # Anonymous surveys keep the day only, as the hosted pages do (response_answer).
            invitation.opened_at = utc_day_start(opened_at) if survey.anonymous else opened_at
        if state == InvitationState.RESPONDED:
            day = timezone.localdate(responded_at)
            if survey.anonymous:
                # Answered in which period, never when (as response_answer records it).
                day, end = period_bounds(kind=kind, day=day)
                periods[day] = end
                invitation.responded_at = period_start_moment(day)
            else:
                invitation.responded_at = responded_at
            answered.append((invitation, day, segment, language, 0.0 if left is None else -0.35))
        invitations.append(invitation)
    return invitations, answered, periods


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=datetime.UTC)


def _invitations_waves(
    spec: DemoSurvey,
    survey: Survey,
    members: list[Member],
    runs: Sequence[datetime.datetime],
    now: datetime.datetime,
    rng: random.Random,
) -> tuple[list[Invitation], list[Answered], dict[datetime.date, datetime.date]]:
    """Each run invites everyone who was a member that day, in person order, PULSE_HOURLY_CAP
    an hour; about `participation` of them answer before `now` and before expiry. A wave's
    answers belong to its period (the run day until its invitations expire); later waves are
    a little happier, so the trend moves."""
    expiry = PULSE_EXPIRY_DAYS * DAY
    periods: dict[datetime.date, datetime.date] = {}
    invitations: list[Invitation] = []
    answered: list[Answered] = []
    for w, run in enumerate(runs):
        start = timezone.localdate(run)
        end = start + (PULSE_EXPIRY_DAYS - 1) * DAY
        participation = spec.participation + rng.uniform(-0.05, 0.05)
        trend = -0.03 * (len(runs) - 1 - w)
        invited = [
            m for m in members if (m[3] is None or m[3] <= start) and (m[4] is None or m[4] > start)
        ]
        for index, (person_id, segment, person_language, _joined, _left) in enumerate(invited):
            language = person_language if person_language in survey.languages else "tr"
            invitation = _invitation(
                survey, person_id, spec.channels[0], language, InvitationState.SENT
            )
            invitation.due_at = run + (index // PULSE_HOURLY_CAP) * HOUR
            invitation.expires_at = invitation.due_at + expiry
            sent_at = invitation.due_at + datetime.timedelta(seconds=rng.uniform(5, 900))
            invitations.append(invitation)
            if sent_at > now:
                invitation.state = InvitationState.PLANNED  # this morning's later batches
                continue
            invitation.sent_at = sent_at
            roll = rng.random()
            at = sent_at + _reply_delay(rng)
            if at > now or roll >= participation + 0.12:
                continue  # not opened (yet)
            # Anonymous: the day it was opened, and that it was answered in this period.
            invitation.opened_at = utc_day_start(at) if survey.anonymous else at
            invitation.state = InvitationState.OPENED
            if roll < participation:
                invitation.state = InvitationState.RESPONDED
                invitation.responded_at = period_start_moment(start) if survey.anonymous else at
                answered.append((invitation, start, segment, language, trend))
                periods[start] = end
    return invitations, answered, periods


def _invitation(
    survey: Survey, person_id: int, channel: str, language: str, state: str
) -> Invitation:
    nonce = tokens.new_nonce()
    return Invitation(
        survey=survey,
        person_id=person_id,
        channel=channel,
        nonce=nonce,
        token_hash=tokens.token_hash(tokens.token_for(nonce)),
        state=state,
        language=language,
    )


def _seed_one(
    spec: DemoSurvey,
    audience: Audience,
    touchpoints: list[dict[str, Any]],
    now: datetime.datetime,
    rng: random.Random,
) -> dict[str, int]:
    """One live survey with its invitations, responses and answers (bulk inserts only)."""
    about = next((t for t in touchpoints if t["role"] == spec.touchpoint_role), None)
    if spec.touchpoint_role and about is None:
        if spec.template == "support_ces":
            return {}  # no support touchpoint in this journey: the survey would be about nothing
        about = touchpoints[0] if touchpoints else None  # the journey's first moment instead
    survey = survey_create_from_template(
        template_key=spec.template,
        audience=audience,
        name=spec.name,
        touchpoint=Touchpoint(pk=about["id"]) if about else None,
    )
    survey.status = SurveyStatus.LIVE
    survey.save(update_fields=["status"])
    story = CustomerStory.load(audience, now, rng) if spec.story else None
    if story is not None:
        driver_questions_add(survey)
    questions = list(Question.objects.filter(survey=survey).order_by("page", "order"))

    members: list[Member] = list(
        Membership.objects.filter(audience=audience)
        .order_by("person_id")
        .values_list("person_id", "segment", "person__language", "joined_on", "left_on")
    )
    if not any(m[4] is None for m in members):
        return {"surveys": 1}
    stores: dict[int | None, float] = {
        person_id: STORE_CLIMATE.get(str((attributes or {}).get("store")), 0.0)
        for person_id, attributes in Membership.objects.filter(audience=audience).values_list(
            "person_id", "attributes"
        )
    }
    segment_bias = biases(sorted({m[1] for m in members}), spec.segment_spread)
    tp_ids = [t["id"] for t in touchpoints]
    tp_bias = biases(tp_ids, 0.12)

    runs = wave_runs(now=now, count=spec.waves) if spec.waves else []
    if spec.waves:
        invitations, answered, periods = _invitations_waves(spec, survey, members, runs, now, rng)
    else:
        invitations, answered, periods = _invitations_spread(spec, survey, members, now, rng)
    Invitation.objects.bulk_create(invitations, batch_size=BATCH)
    if story is not None:
        story.events_load(sorted({inv.person_id for inv, *_rest in answered if inv.person_id}))
    # Planned before due (the insert stamps them now): at the wave's run, or `lead` before.
    if spec.waves:
        expiry = PULSE_EXPIRY_DAYS * DAY
        for run in runs:
            Invitation.objects.filter(
                survey=survey, due_at__gte=run, due_at__lt=run + expiry
            ).update(planned_at=run)
    else:
        Invitation.objects.filter(survey=survey).update(planned_at=F("due_at") - spec.lead)
    ReportingPeriod.objects.bulk_create(
        [
            ReportingPeriod(survey=survey, starts_on=start, ends_on=end)
            for start, end in periods.items()
        ]
    )

    responses: list[Response] = []
    planned: list[dict[str, Any]] = []
    for invitation, day, segment, language, offset in answered:
        # A transactional survey is about its touchpoint; others are attributed to a journey
        # moment so the heatmap has cells (the dashboard hides the small ones). An anonymous
        # response is about the survey's touchpoint only, as the hosted pages store it.
        tp_id = about["id"] if about else (rng.choice(tp_ids) if tp_ids else None)
        if survey.anonymous:
            tp_id = about["id"] if about else None
        mood = spec.mood + offset + segment_bias.get(segment, 0.0) + tp_bias.get(tp_id, 0.0)
        mood += spec.store_effect * stores.get(invitation.person_id, 0.0) + rng.gauss(0, 0.18)
        response = Response(
            survey=survey,
            audience=audience,
            touchpoint_id=tp_id,
            channel=invitation.channel,
            language=language,
            segment=segment,
            completed_on=day,
        )
        if survey.anonymous:
            # A random id (ids in invitation order would pair them), unreleased until
            # periods_release.
            response.pk = anonymous_response_id()
            response.released = False
        else:
            response.invitation = invitation
            response.person_id = invitation.person_id
            response.started_at = invitation.responded_at - datetime.timedelta(minutes=2)
            response.completed_at = invitation.responded_at
        responses.append(response)
        if story is not None and invitation.person_id and invitation.responded_at:
            context = story.context(invitation.person_id, invitation.responded_at)
            planned.append(story.answers(questions, clamp(mood), language, context))
        else:
            planned.append(respondent_answers(questions, clamp(mood), language, rng, spec))
    Response.objects.bulk_create(responses, batch_size=BATCH)

    by_key = {q.key: q for q in questions}
    answers = [
        answer_row(response, by_key[key], value)
        for response, values in zip(responses, planned, strict=True)
        for key, value in values.items()
    ]
    Answer.objects.bulk_create(answers, batch_size=BATCH)
    if story is not None:
        story.outcomes(
            [
                (response.person_id, response.completed_at, values["nps"])
                for response, values in zip(responses, planned, strict=True)
                if response.person_id and response.completed_at and "nps" in values
            ]
        )
        story.events_write()
    return {
        "surveys": 1,
        "invitations": len(invitations),
        "responses": len(responses),
        "answers": len(answers),
    }


@transaction.atomic
def seed_surveys(
    *,
    now: datetime.datetime | None = None,
    rng: random.Random | None = None,
    stdout: Any = None,
    **_options: Any,
) -> dict[str, int]:
    """Create the demo surveys for the demo audiences present; existing ones are kept as they are.

    A survey already present (same audience and name) is skipped with its responses, so running
    the seed again adds nothing.
    """
    now = now or timezone.now()
    rng = rng or random.Random(7)  # noqa: S311 - demo data, not security
    slugs = sorted({spec.audience for spec in DEMO_SURVEYS})
    audiences = {a.slug: a for a in Audience.objects.filter(slug__in=slugs)}
    existing = set(
        Survey.objects.filter(
            audience__in=audiences.values(), name__in=[spec.name for spec in DEMO_SURVEYS]
        ).values_list("audience__slug", "name")
    )
    touchpoints: dict[int, list[dict[str, Any]]] = {a.pk: [] for a in audiences.values()}
    for tp in (
        Touchpoint.objects.filter(stage__journey__audience__in=audiences.values())
        .order_by("stage__journey__name", "stage__order", "stage_id", "order", "id")
        .values("id", "role", "stage__journey__audience_id")
    ):
        touchpoints[tp["stage__journey__audience_id"]].append(dict(tp))

    totals = {"surveys": 0, "invitations": 0, "responses": 0, "answers": 0}
    for spec in DEMO_SURVEYS:
        # Each survey draws from a stream of its own, so one survey's story changing (how many
        # numbers it draws) changes no other survey.
        own = random.Random(rng.getrandbits(64))  # noqa: S311 - demo data, not security
        audience = audiences.get(spec.audience)
        if audience is None or (spec.audience, spec.name) in existing:
            continue
        counts = _seed_one(spec, audience, touchpoints[audience.pk], now, own)
        for key, value in counts.items():
            totals[key] += value
    demo_ids = list(
        Survey.objects.filter(
            audience__in=audiences.values(), name__in=[spec.name for spec in DEMO_SURVEYS]
        ).values_list("id", flat=True)
    )
    # What the beat would have done meanwhile: batches of at least k released, the periods
    # already over published (on the night after they ended, as the beat would have).
    periods_release(now=now)
    _published_backdate(survey_ids=demo_ids, now=now)
    # Over every demo survey, not only the new ones: a demo seeded before the ledger was
    # filled here gets its history too.
    totals["contacts"] = _ledger_seed(survey_ids=demo_ids)
    if stdout is not None:
        stdout.write(
            "Surveys: {surveys} created, {invitations} invitations, {responses} responses, "
            "{answers} answers, {contacts} contact-ledger entries.".format(**totals)
        )
    return totals


# How long after midnight the beat's first release run publishes a period that has ended.
PUBLISH_AFTER = datetime.timedelta(minutes=5)


def published_on_time(*, ends_on: datetime.date, now: datetime.datetime) -> datetime.datetime:
    """When the beat would have published a period that ended on `ends_on` (never after now)."""
    return min(now, period_start_moment(ends_on + DAY) + PUBLISH_AFTER)


def _published_backdate(*, survey_ids: Sequence[int], now: datetime.datetime) -> int:
    """The demo periods `periods_release` just published (at `now`) are dated when the beat
    would have published them, the night after they ended; returns how many (one statement
    per period: a demo survey has a handful)."""
    periods = ReportingPeriod.objects.filter(survey_id__in=survey_ids, published_at=now)
    dated = 0
    for pk, ends_on in periods.values_list("pk", "ends_on"):
        at = published_on_time(ends_on=ends_on, now=now)
        dated += ReportingPeriod.objects.filter(pk=pk).update(published_at=at)
    return dated


# The states the sending path leaves an invitation's ledger entry on (surveys.distribution.sending).
REACHED = (
    InvitationState.SENT,
    InvitationState.DELIVERY_UNKNOWN,
    InvitationState.OPENED,
    InvitationState.RESPONDED,
)


def _ledger_seed(*, survey_ids: Sequence[int]) -> int:
    """One `invitation` ledger entry, at its sent time, per invitation of `survey_ids` that
    reached its person and has none yet; returns how many (one INSERT … SELECT).

    The row is the one distribution.sending writes when it admits an invitation: the person, the
    invitation, its survey and channel.
    """
    if not survey_ids:
        return 0
    ledger = connection.ops.quote_name(ContactLedger._meta.db_table)
    table = connection.ops.quote_name(Invitation._meta.db_table)
    surveys = ", ".join(["%s"] * len(survey_ids))
    states = ", ".join(["%s"] * len(REACHED))
    kind = ContactKind.INVITATION.value
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ledger} (person_id, invitation_id, survey_id, kind, channel, at)"  # noqa: S608
            f" SELECT i.person_id, i.id, i.survey_id, %s, i.channel, i.sent_at FROM {table} i"
            f" WHERE i.survey_id IN ({surveys}) AND i.state IN ({states})"
            " AND i.person_id IS NOT NULL AND i.sent_at IS NOT NULL"
            f" AND NOT EXISTS (SELECT 1 FROM {ledger} l WHERE l.invitation_id = i.id"
            " AND l.kind = %s)",
            [kind, *survey_ids, *(state.value for state in REACHED), kind],
        )
        return cursor.rowcount
