"""The closed loop's models: alert rules, alerts, follow-up cases, their notes and digests.

Tables of the metrics app (app label `metrics`), imported by `metrics.models`.
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, Person
from journeys.models import Touchpoint
from metrics.closedloop.titles import message_text
from surveys.models import Question, Response, Survey


class RuleKind(models.TextChoices):
    RESPONSE = "response", _("On a single response")
    SCORE = "score", _("On a score")


class RuleCondition(models.TextChoices):
    ANSWER_AT_MOST = "answer_lte", _("Response: a scored answer is at most the threshold")
    ANSWER_AT_LEAST = "answer_gte", _("Response: a scored answer is at least the threshold")
    KEYWORD = "keyword", _("Response: a free-text answer contains a keyword")
    ANY_ANSWER = "any_answer", _("Response: the chosen question was answered")
    TOPIC = "topic", _("Response: a comment mentions the chosen topic")
    SCORE_BELOW = "score_below", _("Score: below the threshold over the window")
    SCORE_DROP = "score_drop", _("Score: dropped by more than its margin of error")
    RESPONSE_RATE_BELOW = "rate_below", _("Score: response rate below the threshold (%)")


RESPONSE_CONDITIONS = frozenset(
    {
        RuleCondition.ANSWER_AT_MOST,
        RuleCondition.ANSWER_AT_LEAST,
        RuleCondition.KEYWORD,
        RuleCondition.ANY_ANSWER,
        RuleCondition.TOPIC,
    }
)


class ScoreMetric(models.TextChoices):
    NPS = "nps", _("NPS")
    CSAT = "csat", _("CSAT (% 4–5)")
    CSAT_MEAN = "csat_mean", _("CSAT (mean)")
    CES = "ces", _("CES")
    RATING = "rating", _("Rating")


class NotifyMode(models.TextChoices):
    IMMEDIATE = "immediate", _("E-mail at once")
    DIGEST = "digest", _("In the daily digest")
    NONE = "none", _("No e-mail")


class AlertRule(models.Model):
    """When to raise an alert for one audience (optionally one survey or touchpoint).

    Response rules are evaluated as each response is completed; score rules by a periodic
    task, at most once per cooldown window.
    """

    name = models.CharField(_("name"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="alert_rules", verbose_name=_("audience")
    )
    survey = models.ForeignKey(
        Survey,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_rules",
        verbose_name=_("survey"),
        help_text=_("Only this survey's responses (default: every survey of the audience)."),
    )
    touchpoint = models.ForeignKey(
        Touchpoint,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_rules",
        verbose_name=_("touchpoint"),
        help_text=_("Only responses about this touchpoint (default: any)."),
    )
    kind = models.CharField(_("kind"), max_length=8, choices=RuleKind.choices, editable=False)
    condition = models.CharField(_("condition"), max_length=16, choices=RuleCondition.choices)
    question_type = models.CharField(
        _("question type"),
        max_length=16,
        choices=ScoreMetric.choices,
        blank=True,
        help_text=_(
            "Response rules on a scored answer: which kind of question (NPS ≤ 6, CSAT ≤ 2, "
            "CES ≥ 5 on a 1–7 effort scale). Score rules: the metric."
        ),
    )
    scale_max = models.PositiveSmallIntegerField(
        _("scale maximum"),
        null=True,
        blank=True,
        help_text=_("Only questions on this scale (e.g. 7 for a 1–7 CES)."),
    )
    question = models.ForeignKey(
        Question,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_rules",
        verbose_name=_("question"),
        help_text=_("The question to watch (required for “the chosen question was answered”)."),
    )
    # Topic rules are evaluated when the text pipeline files the comment under the topic
    # (metrics.comments.processing), not when the response completes: topics come later.
    topic = models.ForeignKey(
        "comments.Topic",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="alert_rules",
        verbose_name=_("topic"),
        help_text=_("“A comment mentions the chosen topic”: the topic (Comments → Topics)."),
    )
    threshold = models.FloatField(
        _("threshold"),
        null=True,
        blank=True,
        help_text=_("The answer value, the score X or the response rate Y %."),
    )
    keywords = models.CharField(
        _("keywords"),
        max_length=500,
        blank=True,
        help_text=_("Comma-separated; matched case-insensitively in free-text answers."),
    )
    window_days = models.PositiveSmallIntegerField(
        _("window (days)"), default=7, help_text=_("Score rules: the period the score covers.")
    )
    cooldown = models.DurationField(
        _("cooldown"),
        default=dt.timedelta(days=1),
        help_text=_(
            "Score rules raise at most one alert per cooldown window; response rules send at "
            "most one immediate e-mail per window (the others go to the digest; 0 = no limit)."
        ),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assign to"),
        help_text=_("Default: the audience owner."),
    )
    sla = models.DurationField(
        _("SLA"), default=dt.timedelta(days=1), help_text=_("Time to close a case.")
    )
    notify = models.CharField(
        _("notification"), max_length=10, choices=NotifyMode.choices, default=NotifyMode.IMMEDIATE
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")
        indexes = [models.Index(fields=["audience", "kind", "active"], name="alertrule_aud_kind")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.kind = RuleKind.RESPONSE if self.condition in RESPONSE_CONDITIONS else RuleKind.SCORE
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        response_rule = self.condition in RESPONSE_CONDITIONS
        survey, question = self.survey, self.question
        if survey is not None and self.audience_id and survey.audience_id != self.audience_id:
            errors["survey"] = _("Choose a survey of the rule's audience.")
        if question is not None and survey is not None and question.survey_id != survey.pk:
            errors["question"] = _("Choose a question of the rule's survey.")
        elif question is not None and question.survey.audience_id != self.audience_id:
            errors["question"] = _("Choose a question of a survey of the rule's audience.")
        if self.condition in (RuleCondition.ANSWER_AT_MOST, RuleCondition.ANSWER_AT_LEAST):
            if self.threshold is None:
                errors["threshold"] = _("Give the answer value, e.g. 6 for NPS detractors.")
            if not self.question_type and not self.question_id:
                errors["question_type"] = _("Choose the kind of question, or one question.")
        if self.condition == RuleCondition.KEYWORD and not self.keyword_list():
            errors["keywords"] = _("Give at least one keyword, e.g. “refund, rude”.")
        if self.condition == RuleCondition.TOPIC:
            if self.topic_id is None:
                errors["topic"] = _("Choose the topic whose comments raise an alert.")
            elif self.audience_id and self.topic.survey.audience_id != self.audience_id:
                errors["topic"] = _("Choose a topic of a survey of the rule's audience.")
        if self.condition == RuleCondition.ANY_ANSWER and not self.question_id:
            errors["question"] = _("Choose the question whose answers raise an alert.")
        if response_rule and self.question_type == ScoreMetric.CSAT_MEAN:
            errors["question_type"] = _("A single answer has no mean: choose CSAT.")
        if (
            not response_rule
            and self.question_type in (ScoreMetric.CES, ScoreMetric.RATING)
            and self.scale_max is None
        ):
            errors["scale_max"] = _("Give the scale (e.g. 5 or 7): means of two scales never mix.")
        if not response_rule:
            if self.threshold is None and self.condition != RuleCondition.SCORE_DROP:
                errors["threshold"] = _("Give the score X (or the response rate Y %).")
            if self.condition != RuleCondition.RESPONSE_RATE_BELOW and not self.question_type:
                errors["question_type"] = _("Choose the metric the rule watches.")
            if self.notify == NotifyMode.IMMEDIATE:
                errors["notify"] = _("Score alerts go out in the daily digest (or not at all).")
            if self.window_days < 1:
                errors["window_days"] = _("The window must be at least one day.")
            if self.cooldown is not None and self.cooldown < dt.timedelta(minutes=5):
                errors["cooldown"] = _("A cooldown shorter than 5 minutes is a notification storm.")
        if errors:
            raise ValidationError(errors)

    def keyword_list(self) -> list[str]:
        return [k.strip().casefold() for k in self.keywords.split(",") if k.strip()]


class Alert(models.Model):
    """One firing of a rule: per response (response rules) or per cooldown window (score rules).

    The unique constraints make opening an alert idempotent under retries and races.
    """

    # A rule with alerts is deactivated, not deleted: its cases are the loop's history.
    rule = models.ForeignKey(
        AlertRule, on_delete=models.PROTECT, related_name="alerts", verbose_name=_("rule")
    )
    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="+", verbose_name=_("audience")
    )
    response = models.ForeignKey(
        Response,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="alerts",
        verbose_name=_("response"),
    )
    window_start = models.DateTimeField(_("cooldown window"), null=True, blank=True)
    value = models.FloatField(_("value"), null=True, blank=True)
    previous = models.FloatField(_("previous value"), null=True, blank=True)
    n = models.PositiveIntegerField(_("answers"), null=True, blank=True)
    summary = models.CharField(_("summary"), max_length=300)
    # What the summary is worded from, in each reader's language (metrics.closedloop.titles).
    message = models.JSONField(_("message"), default=dict, blank=True, editable=False)
    opened_at = models.DateTimeField(_("opened"))
    notify = models.CharField(_("notification"), max_length=10, choices=NotifyMode.choices)
    notify_claimed_at = models.DateTimeField(_("notification claimed"), null=True, blank=True)
    notified_at = models.DateTimeField(_("notified"), null=True, blank=True)
    notify_attempts = models.PositiveSmallIntegerField(_("notification attempts"), default=0)
    # The rule's cooldown window this alert was e-mailed in: one immediate e-mail per rule and
    # window (unique), later alerts of the window wait for the digest.
    mail_window = models.DateTimeField(_("e-mailed in window"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "response"],
                condition=Q(response__isnull=False),
                name="alert_one_per_rule_response",
            ),
            models.UniqueConstraint(
                fields=["rule", "window_start"],
                condition=Q(window_start__isnull=False),
                name="alert_one_per_rule_window",
            ),
            models.UniqueConstraint(
                fields=["rule", "mail_window"],
                condition=Q(mail_window__isnull=False),
                name="alert_one_mail_per_rule_window",
            ),
        ]
        indexes = [
            models.Index(fields=["notify", "notified_at"], name="alert_notify_pending"),
        ]

    def __str__(self) -> str:
        return self.summary_shown

    @property
    def summary_shown(self) -> str:
        """The summary in the reader's language (the stored text for older alerts)."""
        return message_text(self.message, fallback=self.summary)


class CaseStatus(models.TextChoices):
    NEW = "new", _("New")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")
    WONT_FIX = "wont_fix", _("Won't fix")


CLOSED_STATUSES = (CaseStatus.RESOLVED, CaseStatus.WONT_FIX)
OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.IN_PROGRESS)


class RootCause(models.Model):
    """A tag naming why a case happened, chosen when it is closed."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("root cause")
        verbose_name_plural = _("root causes")

    def __str__(self) -> str:
        return self.name


class Case(models.Model):
    """The follow-up of one alert: who acts, by when, and why it happened.

    `person` is empty when the response was anonymous or unnamed; `may_contact` holds the
    respondent's answer to the survey's `may_contact` question (None when it was not asked).
    """

    alert = models.OneToOneField(
        Alert, on_delete=models.CASCADE, related_name="case", verbose_name=_("alert")
    )
    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="cases", verbose_name=_("audience")
    )
    response = models.ForeignKey(
        Response,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("response"),
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("person"),
    )
    may_contact = models.BooleanField(_("may contact"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=300)
    # What the title is worded from, in each reader's language (metrics.closedloop.titles).
    message = models.JSONField(_("message"), default=dict, blank=True, editable=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("assignee"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=CaseStatus.choices, default=CaseStatus.NEW
    )
    opened_at = models.DateTimeField(_("opened"))
    due_at = models.DateTimeField(_("due"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    root_cause = models.ForeignKey(
        RootCause,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("root cause"),
        help_text=_("Required to close a case; the list is kept under Metrics → Root causes."),
    )

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=OPEN_STATUSES, closed_at__isnull=True)
                | Q(status__in=CLOSED_STATUSES, closed_at__isnull=False, root_cause__isnull=False),
                name="case_closed_has_root_cause",
            ),
        ]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="case_assignee_open"),
            models.Index(fields=["audience", "opened_at"], name="case_audience_opened"),
        ]

    def __str__(self) -> str:
        return self.title_shown

    @property
    def title_shown(self) -> str:
        """The title in the reader's language (the stored text for older cases)."""
        return message_text(self.message, fallback=self.title)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def clean(self) -> None:
        """Closing needs a root cause and stamps closed_at; reopening clears it."""
        if self.status in CLOSED_STATUSES:
            self.closed_at = self.closed_at or timezone.now()
            if self.root_cause_id is None:
                raise ValidationError(
                    {"root_cause": _("Choose the root cause before closing the case.")}
                )
        else:
            self.closed_at = None


class CaseNote(models.Model):
    """A note on a case: what was done, what the respondent said."""

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="notes", verbose_name=_("case")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")

    def __str__(self) -> str:
        return self.text[:60]


class AlertDigest(models.Model):
    """One daily digest e-mail per user and day: the row is the claim, made before sending."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    day = models.DateField(_("day"))
    alerts = models.PositiveIntegerField(_("alerts"), default=0)
    claimed_at = models.DateTimeField(_("claimed"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert digest")
        verbose_name_plural = _("alert digests")
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="digest_one_per_user_day"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}"
