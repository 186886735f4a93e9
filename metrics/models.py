"""Daily rollups of scored answers, and the last published value of each shown slice."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience
from journeys.models import Touchpoint
from surveys.models import Question, Survey


class DailyRollup(models.Model):
    """One day's scored answers per question × touchpoint × segment × channel × language.

    Additive columns only (n, Σx, Σx², category counts), so any slice over any set of days
    is a plain SUM and matches the raw-answer aggregate exactly.
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


class PublishedScore(models.Model):
    """The value last shown for one slice; it moves only when n changed by the threshold."""

    key = models.CharField(_("slice key"), max_length=64, unique=True)
    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="+", verbose_name=_("audience")
    )
    value = models.FloatField(_("value"))
    margin = models.FloatField(_("margin"), null=True, blank=True)
    n = models.PositiveIntegerField(_("answers"))
    published_at = models.DateTimeField(_("published"), auto_now=True)

    class Meta:
        verbose_name = _("published score")
        verbose_name_plural = _("published scores")

    def __str__(self) -> str:
        return f"{self.key}: {self.value:.1f} (n={self.n})"
