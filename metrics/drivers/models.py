"""The cache of key-driver analyses: one row per (survey, outcome, filters), written by the task."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from surveys.models import Survey


class DriverAnalysis(models.Model):
    """The last computed key-driver analysis of one outcome question under one set of filters.

    `results` holds the drivers ranked by importance (labels per language); `reason` is a code
    (see metrics.drivers.services.REASONS) when there was too little data, with `results` empty.
    """

    survey = models.ForeignKey(
        Survey,
        on_delete=models.CASCADE,
        related_name="driver_analyses",
        verbose_name=_("survey"),
    )
    outcome = models.CharField(_("outcome question"), max_length=64)
    filters_key = models.CharField(_("filters key"), max_length=64, editable=False)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    n = models.PositiveIntegerField(_("responses"), default=0)
    r2 = models.FloatField(_("R²"), null=True, blank=True)
    results = models.JSONField(_("results"), default=list, blank=True)
    reason = models.CharField(_("reason"), max_length=32, blank=True)
    reason_params = models.JSONField(_("reason parameters"), default=dict, blank=True)
    computed_at = models.DateTimeField(_("computed"))
    # What the computation read: the latest completion (named) or publication (anonymous) and
    # how many responses, so a recompute that finds the same source can be told apart.
    source_watermark = models.JSONField(_("source watermark"), default=dict, blank=True)
    requested_at = models.DateTimeField(_("first requested"))

    class Meta:
        verbose_name = _("key-driver analysis")
        verbose_name_plural = _("key-driver analyses")
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "outcome", "filters_key"], name="driver_analysis_once"
            ),
        ]
        indexes = [models.Index(fields=["survey", "computed_at"], name="driver_analysis_age")]

    def __str__(self) -> str:
        return f"{self.survey} · {self.outcome}"
