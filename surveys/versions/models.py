"""SurveyVersion: one numbered state of a survey's questions. Part of the surveys app (its
table and migrations); `surveys.models` imports it. Survey is named by string."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SurveyVersion(models.Model):
    """The questions of one version of a survey, and what changed from the version before."""

    survey = models.ForeignKey(
        "surveys.Survey",
        on_delete=models.CASCADE,
        related_name="versions",
        verbose_name=_("survey"),
    )
    number = models.PositiveIntegerField(_("number"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.CharField(_("created by"), max_length=150, blank=True)
    questions = models.JSONField(
        _("questions"), default=list, help_text=_("The questions as respondents saw them.")
    )
    changes = models.JSONField(
        _("changes"),
        default=list,
        help_text=_('What changed from the version before: [{"key", "kind", "fields"}].'),
    )

    class Meta:
        verbose_name = _("survey version")
        verbose_name_plural = _("survey versions")
        ordering = ["survey", "number"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "number"], name="survey_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} v{self.number}"
