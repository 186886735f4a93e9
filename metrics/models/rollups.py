"""Daily rollups and what the rollup task files beside them (verbatims, outcomes, event days,
operations snapshots, the rollups' watermark)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, Person
from journeys.models import Touchpoint
from surveys.models import Answer, Question, Survey


class DailyRollup(models.Model):
    """One day's scored answers per question × touchpoint × segment × channel × language.

    Additive columns only (n, Σx, Σx², category counts), so any slice over any set of days
    is a plain SUM and matches the raw-answer aggregate exactly. Only released responses are
    rolled up. Rows of an anonymous survey (`anonymous`) sit on their reporting period's first
    day with the survey's touchpoint, and are read through `metrics.privacy` only.
    """

    day = models.DateField(_("day"))
    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="+", verbose_name=_("audience")
    )
    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="+", verbose_name=_("survey")
    )
    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="+", verbose_name=_("question")
    )
    question_type = models.CharField(_("question type"), max_length=16)
    scale_max = models.PositiveSmallIntegerField(_("scale maximum"), null=True, blank=True)
    touchpoint = models.ForeignKey(
        Touchpoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("touchpoint"),
    )
    segment = models.CharField(_("segment"), max_length=100, blank=True)
    channel = models.CharField(_("channel"), max_length=16, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    anonymous = models.BooleanField(_("anonymous survey"), default=False)
    n = models.PositiveIntegerField(_("answers"))
    total = models.BigIntegerField(_("sum"))
    sumsq = models.BigIntegerField(_("sum of squares"))
    promoters = models.PositiveIntegerField(_("promoters"), default=0)
    passives = models.PositiveIntegerField(_("passives"), default=0)
    detractors = models.PositiveIntegerField(_("detractors"), default=0)
    top2 = models.PositiveIntegerField(_("top-two box"), default=0)

    class Meta:
        verbose_name = _("daily rollup")
        verbose_name_plural = _("daily rollups")
        indexes = [
            models.Index(fields=["audience", "question_type", "day"], name="rollup_aud_type_day"),
            models.Index(fields=["day"], name="rollup_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} q{self.question_id} n={self.n}"


class Verbatim(models.Model):
    """Where one free-text answer of a completed response is filed: its day and slice.

    Kept by the rollup task beside the daily rollups, so the dashboard's latest verbatims walk
    an index by audience and day and stop after a page, instead of searching every answer for
    text. The text itself is read from the answer; a deleted answer is simply not joined.
    """

    day = models.DateField(_("day"))
    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="+", verbose_name=_("audience")
    )
    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="+", verbose_name=_("survey")
    )
    touchpoint = models.ForeignKey(
        Touchpoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("touchpoint"),
    )
    segment = models.CharField(_("segment"), max_length=100, blank=True)
    # Comments of anonymous surveys are shown per period group only (metrics.privacy).
    anonymous = models.BooleanField(_("anonymous survey"), default=False)
    # No constraint: erasing free text deletes answers in bulk, and the next rebuild of the
    # day drops their rows (until then they join nothing).
    answer = models.ForeignKey(
        Answer,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("answer"),
    )

    class Meta:
        verbose_name = _("verbatim")
        verbose_name_plural = _("verbatims")
        indexes = [
            models.Index(fields=["audience", "day", "answer"], name="verbatim_aud_day"),
            models.Index(fields=["day"], name="verbatim_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} a{self.answer_id}"


class AnswerOutcome(models.Model):
    """What followed one NPS answer of a known person: churn and spend after it (for RoX).

    One row per answer, kept by the rollup task: rebuilt with its day, and refreshed for the
    people whose touchpoint events were recorded lately, so Return on Experience sums a
    window's rows instead of following every answer's events. Erasing the person deletes the
    rows; responses unlinked from people leave them until their days are rebuilt.
    """

    day = models.DateField(_("day"))
    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="+", verbose_name=_("audience")
    )
    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="+", verbose_name=_("survey")
    )
    touchpoint = models.ForeignKey(
        Touchpoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("touchpoint"),
    )
    segment = models.CharField(_("segment"), max_length=100, blank=True)
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="+", verbose_name=_("person")
    )
    # Rows go with their day's rebuild, not with bulk deletes of answers.
    answer = models.ForeignKey(
        Answer,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("answer"),
    )
    completed_at = models.DateTimeField(_("completed"))
    number = models.SmallIntegerField(_("score"))
    churned = models.BooleanField(_("churned after"))
    spend = models.FloatField(_("spend after"))
    # A referred purchase (an event at a REFERRAL-role touchpoint) after the answer.
    referred = models.BooleanField(_("referred after"), default=False)

    class Meta:
        verbose_name = _("answer outcome")
        verbose_name_plural = _("answer outcomes")
        indexes = [
            models.Index(fields=["audience", "day"], name="outcome_aud_day"),
            models.Index(fields=["day"], name="outcome_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} a{self.answer_id}"


class DailyOutcome(models.Model):
    """One day's answer outcomes per audience × survey × segment × NPS category (for RoX).

    Sums of `AnswerOutcome` (answers, churned after, spend after and its squares, referred
    after), kept with them by the rollup task, so Return on Experience over any days is a
    plain SUM with its margins. Like the rollups it reflects erasures and retention when their
    days are rebuilt.
    """

    day = models.DateField(_("day"))
    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="+", verbose_name=_("audience")
    )
    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="+", verbose_name=_("survey")
    )
    segment = models.CharField(_("segment"), max_length=100, blank=True)
    category = models.CharField(_("NPS category"), max_length=9)
    n = models.PositiveIntegerField(_("answers"))
    lost = models.PositiveIntegerField(_("churned after"))
    spend = models.FloatField(_("spend after"))
    # Σ spend² (the mean spend's margin) and the answers followed by a referred purchase.
    spend_sumsq = models.FloatField(_("spend after, sum of squares"), default=0.0)
    referred = models.PositiveIntegerField(_("referred after"), default=0)

    class Meta:
        verbose_name = _("daily outcome")
        verbose_name_plural = _("daily outcomes")
        indexes = [
            models.Index(fields=["audience", "day"], name="dailyoutcome_aud_day"),
            models.Index(fields=["day"], name="dailyoutcome_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.category} n={self.n}"


class EventDay(models.Model):
    """One person's touchpoint events of one role on one day (for the operational metrics).

    Kept by the rollup task from the events at the audience's role-tagged touchpoints, so a
    period's counts, sums and distinct buyers come from narrow rows instead of every event's
    attributes. The day is the event's date in the current time zone, as `__date` counts it.
    """

    day = models.DateField(_("day"))
    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="+", verbose_name=_("audience")
    )
    role = models.CharField(_("role"), max_length=16)
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="+", verbose_name=_("person")
    )
    events = models.PositiveIntegerField(_("events"))
    value = models.FloatField(_("value"), null=True, blank=True)
    handling = models.FloatField(_("handling seconds"), null=True, blank=True)
    resolved = models.PositiveIntegerField(_("resolved at first contact"))

    class Meta:
        verbose_name = _("event day")
        verbose_name_plural = _("event days")
        indexes = [
            models.Index(fields=["audience", "day"], name="eventday_aud_day"),
            models.Index(fields=["day"], name="eventday_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.role} p{self.person_id}"


class OperationsSnapshot(models.Model):
    """One audience's operational metrics over one of the dashboard's periods ending a day.

    Distinct buyers and the members at a period's start take every person of the period, so
    the rollup task computes the audience page's own periods (the last 30, 90 and 365 days)
    after each run and the page reads them; any other period is computed when asked.
    """

    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="+", verbose_name=_("audience")
    )
    date_from = models.DateField(_("from"))
    date_to = models.DateField(_("to"))
    values = models.JSONField(_("values"))
    computed_at = models.DateTimeField(_("computed"), auto_now=True)

    class Meta:
        verbose_name = _("operations snapshot")
        verbose_name_plural = _("operations snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["audience", "date_from", "date_to"], name="operations_one_per_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.audience_id} {self.date_from}…{self.date_to}"


class RollupState(models.Model):
    """How far the daily rollups are complete (one row, pk 1, created by the migration).

    `complete_through` is the last day up to which every day was rolled up after it ended (no
    named response can still be completed on it): reads take those days from the rollups and
    later days from the answers themselves, so scores are exact and fresh. Every rebuild locks
    this row first, so two rebuilds of the same day never interleave.
    """

    complete_through = models.DateField(_("complete through"), null=True, blank=True)
    rolled_at = models.DateTimeField(_("last rolled up"), null=True, blank=True)

    class Meta:
        verbose_name = _("rollup state")
        verbose_name_plural = _("rollup state")

    def __str__(self) -> str:
        return f"{self.complete_through}"
