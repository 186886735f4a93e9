"""Distribution's models: rules (triggers, waves), wave runs, fatigue policies, the contact ledger.

Part of the surveys app (its tables and migrations); `surveys.models` imports them, so both
module paths name the same classes. Survey and Invitation are named by string, so this module
imports nothing of `surveys.models`.
"""

import datetime

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, Channel, Person
from journeys.models import Touchpoint
from xmplatform.core.words import short_moment


class RuleKind(models.TextChoices):
    TRIGGER = "trigger", _("Touchpoint trigger")
    WAVE = "wave", _("Scheduled wave")


def default_channel_order() -> list[str]:
    return [Channel.EMAIL, Channel.SMS]


class DistributionRule(models.Model):
    """How a survey reaches people: after a touchpoint event (trigger) or on a schedule (wave)."""

    survey = models.ForeignKey(
        "surveys.Survey",
        on_delete=models.CASCADE,
        related_name="distribution_rules",
        verbose_name=_("survey"),
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=8, choices=RuleKind.choices)
    active = models.BooleanField(_("active"), default=True)
    touchpoint = models.ForeignKey(
        Touchpoint,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="distribution_rules",
        verbose_name=_("touchpoint"),
        help_text=_("Trigger: the touchpoint whose events plan invitations (default: survey's)."),
    )
    delay = models.DurationField(
        _("delay"),
        default=datetime.timedelta(0),
        help_text=_("Trigger: how long after the event the invitation is due."),
    )
    sampling_rate = models.FloatField(
        _("sampling rate"),
        default=1.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("Trigger: share of events that get an invitation (0–1)."),
    )
    condition = models.JSONField(
        _("event condition"),
        default=dict,
        blank=True,
        help_text=_('Trigger: event attributes that must match, e.g. {"outcome": "resolved"}.'),
    )
    channels = models.JSONField(
        _("channel order"),
        default=default_channel_order,
        help_text=_("Channels to try in order, falling back when there is no address or consent."),
    )
    segment = models.CharField(
        _("segment"), max_length=100, blank=True, help_text=_("Wave: only this segment.")
    )
    attribute_filter = models.JSONField(
        _("attribute filter"),
        default=dict,
        blank=True,
        help_text=_('Wave: membership attributes that must match, e.g. {"plan": "gold"}.'),
    )
    sample_share = models.FloatField(
        _("sample share"),
        default=1.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("Wave: share of the audience to invite (0–1)."),
    )
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="distribution_rule",
        verbose_name=_("schedule"),
        help_text=_("Wave: when it runs (one-off or recurring), kept in the beat schedule."),
    )
    hourly_cap = models.PositiveIntegerField(
        _("hourly cap"),
        null=True,
        blank=True,
        help_text=_("Wave: never send more than this many invitations per hour."),
    )
    reminder_count = models.PositiveSmallIntegerField(_("reminders"), default=0)
    reminder_after_days = models.PositiveSmallIntegerField(_("remind after days"), default=3)
    expiry_days = models.PositiveSmallIntegerField(_("expires after days"), default=14)
    runs = models.PositiveIntegerField(_("runs"), default=0, editable=False)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("distribution rule")
        verbose_name_plural = _("distribution rules")

    def __str__(self) -> str:
        return self.name


class WaveRun(models.Model):
    """One run of a wave for one scheduled time; the row is the run's claim.

    Unique per rule and scheduled time, so however many beat processes fire the schedule, a
    time is planned once (the others find the row and plan nothing). A beat's run draws its
    sample from (rule, scheduled time, person), so any run for that time draws the same people.
    A run by hand is claimed for the moment it ran.
    """

    rule = models.ForeignKey(
        DistributionRule,
        on_delete=models.CASCADE,
        related_name="wave_runs",
        verbose_name=_("distribution rule"),
    )
    scheduled_for = models.DateTimeField(_("scheduled for"))
    started_at = models.DateTimeField(_("started"))
    candidates = models.PositiveIntegerField(_("sampled"), default=0)
    planned = models.PositiveIntegerField(_("planned"), default=0)
    suppressed = models.PositiveIntegerField(_("suppressed"), default=0)

    class Meta:
        verbose_name = _("wave run")
        verbose_name_plural = _("wave runs")
        constraints = [
            models.UniqueConstraint(fields=["rule", "scheduled_for"], name="wave_run_once")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} @ {short_moment(self.scheduled_for)}"


class FatiguePolicy(models.Model):
    """Limits on how often one person is surveyed; global when audience is empty."""

    audience = models.OneToOneField(
        Audience,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="fatigue_policy",
        verbose_name=_("audience"),
    )
    max_invitations = models.PositiveSmallIntegerField(_("max invitations"), default=2)
    window_days = models.PositiveSmallIntegerField(_("in rolling days"), default=30)
    min_gap_days = models.PositiveSmallIntegerField(_("minimum gap (days)"), default=7)
    recontact_days = models.PositiveSmallIntegerField(_("same survey again after days"), default=90)
    rest_after_response_days = models.PositiveSmallIntegerField(
        _("rest after a response (days)"), default=14
    )
    quiet_start = models.TimeField(_("quiet hours start"), default=datetime.time(21, 0))
    quiet_end = models.TimeField(_("quiet hours end"), default=datetime.time(9, 0))
    wave_hourly_cap = models.PositiveIntegerField(_("wave hourly cap"), null=True, blank=True)

    class Meta:
        verbose_name = _("fatigue policy")
        verbose_name_plural = _("fatigue policies")
        constraints = [
            # One global policy: its audience counts as 0 (an index both databases enforce;
            # SQLite has no NULLS NOT DISTINCT).
            models.UniqueConstraint(
                Coalesce("audience", Value(0)),
                name="fatigue_one_global",
                violation_error_message=_("There is already a global fatigue policy."),
            )
        ]

    def __str__(self) -> str:
        return str(self.audience) if self.audience_id else str(_("Global policy"))


class ContactKind(models.TextChoices):
    INVITATION = "invitation", _("Invitation")
    REMINDER = "reminder", _("Reminder")


class ContactLedger(models.Model):
    """One message that reached (or may have reached) a person, on any channel."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("person")
    )
    invitation = models.ForeignKey(
        "surveys.Invitation",
        on_delete=models.CASCADE,
        related_name="contacts",
        verbose_name=_("invitation"),
    )
    survey = models.ForeignKey(
        "surveys.Survey",
        on_delete=models.CASCADE,
        related_name="contacts",
        verbose_name=_("survey"),
    )
    kind = models.CharField(_("kind"), max_length=12, choices=ContactKind.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contact ledger")
        indexes = [models.Index(fields=["person", "at"], name="ledger_person_at")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.get_kind_display()} {short_moment(self.at)}"
