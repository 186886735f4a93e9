"""Demo surveys, invitations and responses, and their distribution, for `seed_demo`.

Live surveys are created from the catalogue for each demo audience present, then a share of
the audience's members gets an invitation and most of those a completed response over the
last 90 days. Scores differ by segment and touchpoint, so the dashboards have something to
show. Every seeded invitation that reached someone has its contact-ledger entry, as the
sending path would have written it, so the fatigue guard and report see the history.
Anonymous surveys' responses are stored as the hosted pages store them (surveys.periods): on
their reporting period's first day, without times, under random ids, and released in batches
of at least the anonymity threshold, the periods already over published.

`seed_distribution` then adds fatigue policies and distribution rules (two touchpoint
triggers, two scheduled waves) and plans the relationship wave once through the real planner:
planned invitations wait for `dispatch_due`, suppressed ones name their rule. Everything is
written with bulk inserts; re-running creates nothing twice.
"""

import datetime
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule

from audiences.models import Audience, Channel, Membership
from journeys.models import Touchpoint, TouchpointRole
from surveys import distribution, fatigue, tokens
from surveys.catalog import survey_create_from_template
from surveys.logic import visible_keys
from surveys.models import (
    Answer,
    ContactKind,
    ContactLedger,
    DistributionRule,
    FatiguePolicy,
    Invitation,
    InvitationState,
    Question,
    QuestionType,
    ReportingPeriod,
    ReportingPeriodKind,
    Response,
    RuleKind,
    Survey,
    SurveyStatus,
)
from surveys.periods import CALENDAR_KINDS, period_bounds, period_start_moment, periods_release
from surveys.services import anonymous_response_id, day_start

BATCH = 1000
WINDOW_DAYS = 90


@dataclass(frozen=True)
class DemoSurvey:
    audience: str
    template: str
    name: str
    share: float  # of the audience's members invited
    touchpoint_role: str | None = None  # the survey is about the first touchpoint in this role
    mood: float = 0.7  # mean sentiment, 0 (awful) … 1 (delighted)
    channels: tuple[str, ...] = (Channel.EMAIL,)


DEMO_SURVEYS = (
    DemoSurvey("customers", "relationship_nps", "Customer relationship NPS", 0.35, mood=0.78),
    DemoSurvey(
        "customers",
        "transactional_csat",
        "Checkout satisfaction (CSAT)",
        0.3,
        touchpoint_role=TouchpointRole.PURCHASE,
        mood=0.8,
        channels=(Channel.EMAIL, Channel.SMS),
    ),
    DemoSurvey(
        "customers",
        "support_ces",
        "Support effort (CES)",
        0.15,
        touchpoint_role=TouchpointRole.SUPPORT_REQUEST,
        mood=0.7,
    ),
    DemoSurvey(
        "employees",
        "employee_pulse",
        "Employee engagement pulse",
        0.6,
        mood=0.72,
        channels=(Channel.EMAIL, Channel.APP),
    ),
    DemoSurvey("fans", "fan_experience", "Match-day experience", 0.3, mood=0.8),
    DemoSurvey("suppliers", "supplier_satisfaction", "Supplier satisfaction", 0.5, mood=0.7),
)

# Free-text follow-ups by question key and language.
TEXTS: dict[str, dict[str, tuple[str, ...]]] = {
    "improve": {
        "tr": (
            "Teslimat çok gecikti, kargo takibi de güncellenmedi.",
            "Müşteri hizmetlerine ulaşmak çok zor, hep bekletiliyorum.",
            "Fiyatlar son aylarda fazla arttı.",
            "Uygulama sık sık donuyor, ödeme adımında hata aldım.",
            "Çalışanlar ilgisizdi, sorularıma net yanıt alamadım.",
        ),
        "en": (
            "Delivery was very late and the tracking never updated.",
            "It is hard to reach customer service; I am always kept waiting.",
            "Prices have gone up too much lately.",
            "The app keeps freezing; I got an error at checkout.",
            "Staff seemed uninterested and could not answer my questions.",
        ),
    },
    "liked": {
        "tr": (
            "Çalışanlar çok ilgili ve güler yüzlüydü.",
            "Sipariş ertesi gün elimdeydi, harika!",
            "Ürün kalitesi beklediğimden iyi.",
            "Her şey hızlı ve sorunsuzdu.",
        ),
        "en": (
            "The staff were attentive and friendly.",
            "My order arrived the next day, brilliant!",
            "The quality is better than I expected.",
            "Everything was quick and smooth.",
        ),
    },
    "higher": {
        "tr": ("Biraz daha hızlı teslimat yeterli olur.", "Daha fazla ödeme seçeneği olmalı."),
        "en": ("Slightly faster delivery would do it.", "More payment options, please."),
    },
    "comment": {
        "tr": ("Paketleme özenliydi.", "İade süreci daha kolay olmalı."),
        "en": ("The packaging was careful.", "Returns should be easier."),
    },
    "difficult": {
        "tr": ("Aynı şeyi üç farklı kişiye anlatmak zorunda kaldım.", "Bekleme süresi çok uzundu."),
        "en": ("I had to explain the same thing to three people.", "The wait was far too long."),
    },
}
# Share of respondents who type something into an optional free-text question.
TEXT_SHARE = 0.6


def _biases(values: Sequence[Any], spread: float) -> dict[Any, float]:
    """A fixed, visible offset per value: the first ones better, the last ones worse."""
    if len(values) < 2:
        return {v: 0.0 for v in values}
    step = 2 * spread / (len(values) - 1)
    return {v: spread - i * step for i, v in enumerate(values)}


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def _answers(
    questions: Sequence[Question], mood: float, language: str, rng: random.Random
) -> dict[str, Any]:
    """Typed answers of one respondent whose sentiment is about `mood`, honouring the logic."""
    values: dict[str, Any] = {}
    for q in questions:
        # Each scored answer moves a little around the respondent's mood.
        feel = _clamp(mood + rng.gauss(0, 0.08))
        if q.type == QuestionType.NPS:
            values[q.key] = round(feel * 10)
        elif q.type == QuestionType.CSAT:
            values[q.key] = 1 + round(feel * 4)
        elif q.type in (QuestionType.CES, QuestionType.RATING):
            top = q.scale_max or (7 if q.type == QuestionType.CES else 5)
            values[q.key] = 1 + round(feel * (top - 1))
        elif q.type == QuestionType.SINGLE_CHOICE:
            options = [str(c["value"]) for c in q.choices]
            if q.key == "may_contact":
                values[q.key] = "yes" if rng.random() < 0.6 else "no"
            elif q.required or rng.random() < 0.8:
                values[q.key] = rng.choice(options)
        elif q.type == QuestionType.MULTIPLE_CHOICE:
            if q.required or rng.random() < 0.8:
                options = [str(c["value"]) for c in q.choices]
                values[q.key] = rng.sample(options, k=rng.randint(1, min(2, len(options))))
        elif q.type == QuestionType.TEXT and q.key in TEXTS:
            if q.required or rng.random() < TEXT_SHARE:
                values[q.key] = rng.choice(TEXTS[q.key].get(language) or TEXTS[q.key]["en"])
    shown = visible_keys(questions, values)
    return {key: value for key, value in values.items() if key in shown}


def _answer_row(response: Response, question: Question, value: Any) -> Answer:
    row = Answer(response=response, question=question, text="")
    if question.type == QuestionType.MULTIPLE_CHOICE:
        row.choices = list(value)
    elif question.type == QuestionType.SINGLE_CHOICE:
        row.choices, row.text = [value], value
    elif question.type == QuestionType.TEXT:
        row.text = value
    else:
        row.number = value
    return row


def _pick_state(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.55:
        return InvitationState.RESPONDED
    if roll < 0.75:
        return InvitationState.OPENED
    return InvitationState.SENT


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
    questions = list(Question.objects.filter(survey=survey).order_by("page", "order"))

    members = list(
        Membership.objects.filter(audience=audience, left_on__isnull=True)
        .order_by("person_id")
        .values_list("person_id", "segment", "person__language")
    )
    if not members:
        return {"surveys": 1}
    invited = rng.sample(members, k=max(1, round(len(members) * spec.share)))
    segment_bias = _biases(sorted({m[1] for m in members}), 0.1)
    tp_ids = [t["id"] for t in touchpoints]
    tp_bias = _biases(tp_ids, 0.12)
    window = datetime.timedelta(days=WINDOW_DAYS).total_seconds()

    # Anonymous: the calendar period (no wave ran yet) whose first day stands for each answer.
    kind = survey.reporting_period
    kind = kind if kind in CALENDAR_KINDS else ReportingPeriodKind.MONTH
    periods: dict[datetime.date, datetime.date] = {}
    invitations: list[Invitation] = []
    answered: list[tuple[Invitation, datetime.date, str, str]] = []
    for person_id, segment, person_language in invited:
        language = person_language if person_language in survey.languages else "tr"
        nonce = tokens.new_nonce()
        state = _pick_state(rng)
        sent_at = now - datetime.timedelta(seconds=rng.uniform(3600, window))
        invitation = Invitation(
            survey=survey,
            person_id=person_id,
            channel=rng.choice(spec.channels),
            nonce=nonce,
            token_hash=tokens.token_hash(tokens.token_for(nonce)),
            state=state,
            language=language,
            due_at=sent_at,
            sent_at=sent_at,
            expires_at=sent_at + datetime.timedelta(days=14),
        )
        opened_at = min(now, sent_at + datetime.timedelta(minutes=rng.randint(2, 600)))
        responded_at = min(now, opened_at + datetime.timedelta(minutes=3))
        if state in (InvitationState.OPENED, InvitationState.RESPONDED):
            # Anonymous surveys keep the day only, as the hosted pages do (response_submit).
            invitation.opened_at = day_start(opened_at) if survey.anonymous else opened_at
        if state == InvitationState.RESPONDED:
            day = timezone.localdate(responded_at)
            if survey.anonymous:
                # Answered in which period, never when (as response_submit records it).
                day, end = period_bounds(kind=kind, day=day)
                periods[day] = end
                invitation.responded_at = period_start_moment(day)
            else:
                invitation.responded_at = responded_at
            answered.append((invitation, day, segment, language))
        invitations.append(invitation)
    Invitation.objects.bulk_create(invitations, batch_size=BATCH)
    ReportingPeriod.objects.bulk_create(
        [
            ReportingPeriod(survey=survey, starts_on=start, ends_on=end)
            for start, end in periods.items()
        ]
    )

    responses: list[Response] = []
    planned: list[dict[str, Any]] = []
    for invitation, day, segment, language in answered:
        # A transactional survey is about its touchpoint; others are attributed to a journey
        # moment so the heatmap has cells (the dashboard hides the small ones). An anonymous
        # response is about the survey's touchpoint only, as the hosted pages store it.
        tp_id = about["id"] if about else (rng.choice(tp_ids) if tp_ids else None)
        if survey.anonymous:
            tp_id = about["id"] if about else None
        mood = spec.mood + segment_bias.get(segment, 0.0) + tp_bias.get(tp_id, 0.0)
        mood += rng.gauss(0, 0.18)
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
            # periods_release; announced and checked on the period's first day.
            response.pk = anonymous_response_id()
            response.released = False
            response.announced_on = day
            response.alerts_checked_at = period_start_moment(day)
        else:
            response.invitation = invitation
            response.person_id = invitation.person_id
            response.started_at = invitation.responded_at - datetime.timedelta(minutes=2)
            response.completed_at = invitation.responded_at
        responses.append(response)
        planned.append(_answers(questions, _clamp(mood), language, rng))
    Response.objects.bulk_create(responses, batch_size=BATCH)

    by_key = {q.key: q for q in questions}
    answers = [
        _answer_row(response, by_key[key], value)
        for response, values in zip(responses, planned, strict=True)
        for key, value in values.items()
    ]
    Answer.objects.bulk_create(answers, batch_size=BATCH)
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
        audience = audiences.get(spec.audience)
        if audience is None or (spec.audience, spec.name) in existing:
            continue
        counts = _seed_one(spec, audience, touchpoints[audience.pk], now, rng)
        for key, value in counts.items():
            totals[key] += value
    # What the beat would have done meanwhile: batches of at least k released, the periods
    # already over published.
    periods_release(now=now)
    # Over every demo survey, not only the new ones: a demo seeded before the ledger was
    # filled here gets its history too.
    totals["contacts"] = _ledger_seed(
        survey_ids=list(
            Survey.objects.filter(
                audience__in=audiences.values(), name__in=[spec.name for spec in DEMO_SURVEYS]
            ).values_list("id", flat=True)
        )
    )
    if stdout is not None:
        stdout.write(
            "Surveys: {surveys} created, {invitations} invitations, {responses} responses, "
            "{answers} answers, {contacts} contact-ledger entries.".format(**totals)
        )
    return totals


# The states the sending path leaves an invitation's ledger entry on (surveys.sending).
REACHED = (
    InvitationState.SENT,
    InvitationState.DELIVERY_UNKNOWN,
    InvitationState.OPENED,
    InvitationState.RESPONDED,
)


def _ledger_seed(*, survey_ids: Sequence[int]) -> int:
    """One `invitation` ledger entry, at its sent time, per invitation of `survey_ids` that
    reached its person and has none yet; returns how many (one INSERT … SELECT).

    The row is the one surveys.sending writes when it admits an invitation: the person, the
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


# --- Distribution: fatigue policies, rules, one planned wave ------------------------------

# The policies keep the defaults but for the recontact window: 80 days, not 90, since quarter
# starts can be 89–92 days apart and a 90-day window would suppress most of the quarterly
# pulse's second run (every applicable policy is checked, so both must allow it).
GLOBAL_POLICY: dict[str, Any] = {"recontact_days": 80}

# Employees get the quarterly pulse and one in ten is also a customer: at most one survey a
# month, and none outside working hours (18:00–09:00 in their zone).
EMPLOYEE_POLICY: dict[str, Any] = {
    "max_invitations": 1,
    "window_days": 30,
    "recontact_days": 80,
    "quiet_start": datetime.time(18, 0),
    "quiet_end": datetime.time(9, 0),
}

RELATIONSHIP_WAVE = "Monthly relationship NPS (10 % of customers)"

# (audience slug, survey name, rule fields); a wave's "crontab" goes to its beat entry.
DEMO_RULES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "customers",
        "Support effort (CES)",
        {
            "name": "Support effort after a request resolved at first contact",
            "kind": RuleKind.TRIGGER,
            "delay": datetime.timedelta(hours=2),
            "sampling_rate": 0.25,
            "condition": {"first_contact_resolved": True},
            "channels": [Channel.EMAIL, Channel.SMS],
            "reminder_count": 1,
            "reminder_after_days": 3,
        },
    ),
    (
        "customers",
        "Checkout satisfaction (CSAT)",
        {
            "name": "Checkout satisfaction after each purchase",
            "kind": RuleKind.TRIGGER,
            "delay": datetime.timedelta(hours=1),
            "sampling_rate": 1.0,
            "channels": [Channel.EMAIL, Channel.SMS],
        },
    ),
    (
        "employees",
        "Employee engagement pulse",
        {
            "name": "Quarterly employee pulse",
            "kind": RuleKind.WAVE,
            "channels": [Channel.EMAIL],  # work e-mail only, never a private phone
            "reminder_count": 2,
            "reminder_after_days": 3,
            "hourly_cap": 200,  # the pulse arrives over the morning, not in one burst
            "crontab": {
                "minute": "0",
                "hour": "9",
                "day_of_month": "1",
                "month_of_year": "1,4,7,10",
            },
        },
    ),
    (
        "customers",
        "Customer relationship NPS",
        {
            "name": RELATIONSHIP_WAVE,
            "kind": RuleKind.WAVE,
            "sample_share": 0.1,
            "channels": [Channel.EMAIL, Channel.SMS],
            "reminder_count": 1,
            "reminder_after_days": 3,
            "crontab": {"minute": "0", "hour": "10", "day_of_month": "1", "month_of_year": "*"},
        },
    ),
)


def _policies_seed() -> int:
    """The global policy (the defaults, recontact aside) and the employees' one, only when there
    is no policy at all (someone's own settings are left alone); returns how many were created."""
    if FatiguePolicy.objects.exists():
        return 0
    policies = [FatiguePolicy(audience=None, **GLOBAL_POLICY)]
    employees = Audience.objects.filter(slug="employees").first()
    if employees is not None:
        policies.append(FatiguePolicy(audience=employees, **EMPLOYEE_POLICY))
    FatiguePolicy.objects.bulk_create(policies)
    return len(policies)


def _rules_seed() -> tuple[int, DistributionRule | None]:
    """The demo rules for the demo surveys present, waves in the beat schedule; returns how
    many were created and the relationship wave (None without its survey)."""
    demo = Survey.objects.select_related("audience").filter(
        audience__slug__in={slug for slug, _, _ in DEMO_RULES},
        name__in={name for _, name, _ in DEMO_RULES},
    )
    # Newest first, so the oldest survey of a name wins.
    surveys = {(s.audience.slug, s.name): s for s in demo.order_by("-pk")}
    created = 0
    relationship = None
    for slug, survey_name, spec in DEMO_RULES:
        survey = surveys.get((slug, survey_name))
        if survey is None:
            continue
        fields = dict(spec)
        crontab = fields.pop("crontab", None)
        if fields["kind"] == RuleKind.TRIGGER:
            if survey.touchpoint_id is None:
                continue  # a trigger on no touchpoint would never fire
            fields["touchpoint_id"] = survey.touchpoint_id
        rule, new = DistributionRule.objects.get_or_create(
            survey=survey, name=fields.pop("name"), defaults=fields
        )
        if new and crontab is not None:
            schedule, _ = CrontabSchedule.objects.get_or_create(
                **crontab, day_of_week="*", timezone=settings.TIME_ZONE
            )
            distribution.wave_schedule(rule=rule, crontab=schedule)
        created += new
        if rule.name == RELATIONSHIP_WAVE:
            relationship = rule
    return created, relationship


@transaction.atomic
def seed_distribution(
    *, now: datetime.datetime | None = None, stdout: Any = None, **_options: Any
) -> dict[str, Any]:
    """Fatigue policies, the demo distribution rules, and one run of the relationship wave.

    Run after `seed_surveys`, whose ledger entries the guard reads. The wave is planned
    through `surveys.distribution.wave_run`, as the admin's "Plan the wave now" does, only if
    it never ran; nothing is sent. Running it again creates nothing.
    """
    now = now or timezone.now()
    policies = _policies_seed()
    rules, relationship = _rules_seed()
    plan = distribution.WavePlan()
    if relationship is not None and relationship.runs == 0:
        plan = distribution.wave_run(rule=relationship, now=now)
    totals = {
        "rules": rules,
        "policies": policies,
        "planned": plan.planned,
        "suppressed": Counter(plan.suppressed),
    }
    if stdout is not None:
        stdout.write(_distribution_line(totals))
    return totals


def _distribution_line(totals: dict[str, Any]) -> str:
    suppressed: Counter = totals["suppressed"]
    reasons = ", ".join(
        f"{n} {fatigue.reason_label(reason)}"
        for reason, n in sorted(suppressed.items(), key=lambda item: (-item[1], item[0]))
    )
    return (
        f"Distribution: {totals['rules']} rules, {totals['policies']} fatigue policies, "
        f"relationship wave planned {totals['planned']}, "
        f"suppressed {suppressed.total()}" + (f" ({reasons})." if reasons else ".")
    )
