"""Demo distribution: fatigue policies, distribution rules and one planned wave."""

import datetime
from collections import Counter
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule

from audiences.models import Audience, Channel
from surveys.demo.specs import (
    DEMO_SURVEYS,
    PULSE_EXPIRY_DAYS,
    PULSE_HOUR,
    PULSE_HOURLY_CAP,
    PULSE_MONTHS,
)
from surveys.distribution import fatigue
from surveys.distribution import planning as distribution
from surveys.models import DistributionRule, FatiguePolicy, Invitation, RuleKind, Survey

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
            "expiry_days": PULSE_EXPIRY_DAYS,
            "hourly_cap": PULSE_HOURLY_CAP,  # the pulse arrives over the morning, not in one burst
            "crontab": {
                "minute": "0",
                "hour": str(PULSE_HOUR),
                "day_of_month": "1",
                "month_of_year": ",".join(str(m) for m in PULSE_MONTHS),
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


# The demo surveys seeded as their wave's runs (DemoSurvey.waves).
WAVE_SURVEYS = frozenset((spec.audience, spec.name) for spec in DEMO_SURVEYS if spec.waves)


def _wave_history_record(rule: DistributionRule) -> int:
    """Give a new wave rule the runs `seed_surveys` seeded for its survey: their invitations
    (planned at the run, no rule yet) name it, and it counts them as its runs, the latest as its
    last run, as `wave_run` would have left it; returns how many runs (three statements)."""
    seeded = Invitation.objects.filter(survey_id=rule.survey_id, rule__isnull=True)
    runs = sorted(seeded.order_by().values_list("planned_at", flat=True).distinct())
    if not runs:
        return 0
    seeded.update(rule=rule)
    DistributionRule.objects.filter(pk=rule.pk).update(runs=len(runs), last_run_at=runs[-1])
    rule.runs, rule.last_run_at = len(runs), runs[-1]
    return len(runs)


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
        if new and (slug, survey_name) in WAVE_SURVEYS:
            _wave_history_record(rule)
        created += new
        if rule.name == RELATIONSHIP_WAVE:
            relationship = rule
    return created, relationship


@transaction.atomic
def seed_distribution(
    *, now: datetime.datetime | None = None, stdout: Any = None, **_options: Any
) -> dict[str, Any]:
    """Fatigue policies, the demo distribution rules, and one run of the relationship wave.

    Run after `seed_surveys`, whose ledger entries the guard reads. The pulse's wave takes the
    runs seeded for it (their invitations, its run count and last run), so its survey's
    automatic reporting period is the wave's. The relationship wave is planned through
    `distribution.planning.wave_run`, as the admin's "Plan the wave now" does, only if it never
    ran; nothing is sent. Running it again creates nothing.
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
