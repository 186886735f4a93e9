"""Surveys, their questions, invitations, public links, responses and typed answers."""

import datetime

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, Channel, Person
from journeys.models import Touchpoint, TouchpointEvent


def default_languages() -> list[str]:
    return ["tr", "en"]


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    LIVE = "live", _("Live")
    CLOSED = "closed", _("Closed")


class PriorityClass(models.IntegerChoices):
    """Which survey wins when several compete for one person's fatigue budget (higher wins)."""

    TRANSACTIONAL = 30, _("Transactional")
    RELATIONSHIP = 20, _("Relationship")
    RESEARCH = 10, _("Research")


class ReportingPeriodKind(models.TextChoices):
    """How an anonymous survey's results are grouped in time (see surveys.periods)."""

    AUTO = "auto", _("Automatic (the wave, else the calendar month)")
    WAVE = "wave", _("Wave")
    WEEK = "week", _("Week")
    MONTH = "month", _("Calendar month")
    QUARTER = "quarter", _("Quarter")


class Survey(models.Model):
    """An ordered questionnaire sent to one audience, optionally about one touchpoint."""

    audience = models.ForeignKey(
        Audience, on_delete=models.PROTECT, related_name="surveys", verbose_name=_("audience")
    )
    touchpoint = models.ForeignKey(
        Touchpoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="surveys",
        verbose_name=_("touchpoint"),
    )
    name = models.CharField(_("name"), max_length=200)
    title = models.JSONField(
        _("title"), default=dict, blank=True, help_text=_("Shown to respondents, per language.")
    )
    status = models.CharField(
        _("status"), max_length=8, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT
    )
    opens_at = models.DateTimeField(_("opens at"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closes at"), null=True, blank=True)
    response_limit = models.PositiveIntegerField(_("response limit"), null=True, blank=True)
    anonymous = models.BooleanField(
        _("anonymous"),
        default=False,
        help_text=_("Responses keep no link to the person, invitation or precise time."),
    )
    reporting_period = models.CharField(
        _("reporting period"),
        max_length=8,
        choices=ReportingPeriodKind.choices,
        default=ReportingPeriodKind.AUTO,
        help_text=_(
            "Anonymous surveys: results are reported per whole period, never per day or answer."
        ),
    )
    languages = models.JSONField(_("languages"), default=default_languages)
    default_language = models.CharField(_("default language"), max_length=8, default="tr")
    intro = models.JSONField(_("intro"), default=dict, blank=True)
    thank_you = models.JSONField(_("thank-you text"), default=dict, blank=True)
    priority_class = models.PositiveSmallIntegerField(
        _("priority class"), choices=PriorityClass.choices, default=PriorityClass.RELATIONSHIP
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")

    def __str__(self) -> str:
        return self.name


class QuestionType(models.TextChoices):
    NPS = "nps", _("NPS (0–10)")
    CSAT = "csat", _("CSAT (1–5)")
    CES = "ces", _("CES (1–5 or 1–7 agreement)")
    RATING = "rating", _("Rating (1–N stars)")
    SINGLE_CHOICE = "single_choice", _("Single choice")
    MULTIPLE_CHOICE = "multiple_choice", _("Multiple choice")
    TEXT = "text", _("Free text")


SCORED_TYPES = frozenset(
    {QuestionType.NPS, QuestionType.CSAT, QuestionType.CES, QuestionType.RATING}
)


class Question(models.Model):
    """One question of a survey; `show_if` makes it depend on an earlier answer."""

    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="questions", verbose_name=_("survey")
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    page = models.PositiveSmallIntegerField(
        _("page"), default=1, help_text=_("Questions with the same page number share a screen.")
    )
    key = models.SlugField(
        _("key"), max_length=64, help_text=_("Stable name used in exports and the API.")
    )
    type = models.CharField(_("type"), max_length=16, choices=QuestionType.choices)
    required = models.BooleanField(_("required"), default=True)
    label = models.JSONField(_("label"), default=dict, help_text=_("Question text per language."))
    help = models.JSONField(_("help text"), default=dict, blank=True)
    choices = models.JSONField(
        _("choices"),
        default=list,
        blank=True,
        help_text=_('For choice questions: [{"value": "price", "label": {"en": "…", "tr": "…"}}]'),
    )
    scale_max = models.PositiveSmallIntegerField(
        _("scale maximum"),
        null=True,
        blank=True,
        validators=[MinValueValidator(2), MaxValueValidator(10)],
        help_text=_("CES: 5 or 7. Rating: number of stars (default 5)."),
    )
    multiline = models.BooleanField(_("long text"), default=False)
    show_if = models.JSONField(
        _("display logic"),
        null=True,
        blank=True,
        help_text=_(
            "Show only when an earlier answer matches, e.g. "
            '{"question": "nps", "op": "lte", "value": 6}.'
        ),
    )

    class Meta:
        ordering = ["survey", "order", "id"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [
            models.UniqueConstraint(fields=["survey", "key"], name="question_unique_key"),
        ]

    def __str__(self) -> str:
        return self.key


class InvitationState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    SUPPRESSED = "suppressed", _("Suppressed")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERY_UNKNOWN = "delivery_unknown", _("Delivery unknown")
    OPENED = "opened", _("Opened")
    RESPONDED = "responded", _("Responded")
    BOUNCED = "bounced", _("Bounced")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class Invitation(models.Model):
    """One survey for one person on one channel, reached through an unguessable token.

    The token is never stored: it is an HMAC of `nonce` under SECRET_KEY, and only its SHA-256
    (`token_hash`) is kept for lookup, so a database dump alone opens no survey.
    """

    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("survey")
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations",
        verbose_name=_("person"),
    )
    event = models.ForeignKey(
        TouchpointEvent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations",
        verbose_name=_("triggering event"),
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    nonce = models.CharField(max_length=32, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    state = models.CharField(
        _("state"), max_length=20, choices=InvitationState.choices, default=InvitationState.PLANNED
    )
    suppression_reason = models.CharField(_("suppression reason"), max_length=32, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    planned_at = models.DateTimeField(_("planned"), auto_now_add=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    # Distribution (surveys.distribution / surveys.distribution.sending).
    rule = models.ForeignKey(
        "DistributionRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations",
        verbose_name=_("distribution rule"),
    )
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("send attempts"), default=0)
    message_id = models.CharField(_("message id"), max_length=200, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(_("reminders sent"), default=0)
    last_reminder_at = models.DateTimeField(_("last reminder"), null=True, blank=True)
    defer_count = models.PositiveSmallIntegerField(_("deferrals"), default=0)
    last_defer_reason = models.CharField(_("last deferral reason"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        indexes = [
            models.Index(fields=["state", "due_at"], name="invitation_state_due"),
            models.Index(fields=["person", "sent_at"], name="invitation_person_sent"),
            # Per survey and state, in due order: the funnel counts, and the claim walks one
            # survey's due invitations in order however large another survey's backlog is.
            models.Index(fields=["survey", "state", "due_at", "id"], name="invitation_survey_due"),
        ]
        constraints = [
            # A trigger rule invites once per event, however often its planning runs (a relayed
            # outbox row may run again after a crash): partial, so waves' rows cost nothing.
            models.UniqueConstraint(
                fields=["rule", "event"],
                condition=Q(event__isnull=False),
                name="invitation_once_per_rule_event",
            )
        ]

    def __str__(self) -> str:
        return f"{self.survey} → {self.person or '—'} ({self.state})"


class PublicLink(models.Model):
    """An anonymous, shareable link to a survey (QR codes, web intercepts)."""

    survey = models.OneToOneField(
        Survey, on_delete=models.CASCADE, related_name="public_link", verbose_name=_("survey")
    )
    slug = models.CharField(_("link code"), max_length=32, unique=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("public link")
        verbose_name_plural = _("public links")

    def __str__(self) -> str:
        return self.slug


class ReportingPeriod(models.Model):
    """One reporting period of an anonymous survey: its responses are counted in released
    batches of at least the audience's anonymity threshold, and frozen once it is published."""

    survey = models.ForeignKey(
        Survey,
        on_delete=models.CASCADE,
        related_name="reporting_periods",
        verbose_name=_("survey"),
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), help_text=_("The period's last day."))
    released = models.PositiveIntegerField(_("responses released"), default=0)
    published_at = models.DateTimeField(
        _("published"),
        null=True,
        blank=True,
        help_text=_("Set once the period has ended and its last batch was released."),
    )

    class Meta:
        verbose_name = _("reporting period")
        verbose_name_plural = _("reporting periods")
        constraints = [
            models.UniqueConstraint(fields=["survey", "starts_on"], name="period_unique_start"),
        ]

    def __str__(self) -> str:
        return f"{self.survey} {self.starts_on}–{self.ends_on}"


class Response(models.Model):
    """What came back for one invitation or one browser on a public link.

    Anonymous surveys keep no person, invitation or precise time: `resume_key` (a one-way
    HMAC) lets an unfinished response be resumed and is cleared on completion.
    """

    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="responses", verbose_name=_("survey")
    )
    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="responses", verbose_name=_("audience")
    )
    touchpoint = models.ForeignKey(
        Touchpoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="responses",
        verbose_name=_("touchpoint"),
    )
    invitation = models.OneToOneField(
        Invitation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="response",
        verbose_name=_("invitation"),
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="responses",
        verbose_name=_("person"),
    )
    public_link = models.ForeignKey(
        PublicLink,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="responses",
        verbose_name=_("public link"),
    )
    resume_key = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    browser_key = models.CharField(max_length=64, null=True, blank=True, editable=False)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=8)
    segment = models.CharField(_("segment"), max_length=100, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=200, blank=True)
    # False while an anonymous response waits for its batch (surveys.periods): nothing counts
    # or shows it until at least the anonymity threshold of responses are released together.
    # Named responses are released when they complete.
    released = models.BooleanField(_("released"), default=True, db_default=True, editable=False)

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        constraints = [
            models.UniqueConstraint(
                fields=["public_link", "browser_key"],
                condition=Q(browser_key__isnull=False),
                name="response_one_per_browser",
            ),
        ]
        indexes = [
            models.Index(fields=["survey", "completed_on"], name="response_survey_day"),
            models.Index(fields=["audience", "completed_on"], name="response_audience_day"),
            # Only the anonymous responses waiting for their batch: at most k-1 per period.
            models.Index(
                fields=["survey", "completed_on"],
                condition=Q(released=False),
                name="response_unreleased",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey} #{self.pk}"


class Answer(models.Model):
    """One answer to one question; scored types keep their value in `number` for SQL."""

    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="answers", verbose_name=_("response")
    )
    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="answers", verbose_name=_("question")
    )
    number = models.SmallIntegerField(_("number"), null=True, blank=True)
    text = models.TextField(_("text"), blank=True)
    choices = models.JSONField(_("choices"), null=True, blank=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="answer_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.question}: {self.number if self.number is not None else self.text}"


# --- Distribution: rules, fatigue policies, the contact ledger ------------------------------


class RuleKind(models.TextChoices):
    TRIGGER = "trigger", _("Touchpoint trigger")
    WAVE = "wave", _("Scheduled wave")


def default_channel_order() -> list[str]:
    return [Channel.EMAIL, Channel.SMS]


class DistributionRule(models.Model):
    """How a survey reaches people: after a touchpoint event (trigger) or on a schedule (wave)."""

    survey = models.ForeignKey(
        Survey,
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
        return f"{self.rule_id} @ {self.scheduled_for:%Y-%m-%d %H:%M}"


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
        Invitation, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("invitation")
    )
    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("survey")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=ContactKind.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contact ledger")
        indexes = [models.Index(fields=["person", "at"], name="ledger_person_at")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"
