"""`{% survey_versions original %}`: the builder's panel of a survey's versions."""

from typing import Any

from django.template import Library

from surveys.models import Survey
from surveys.versions.selectors import version_summary

register = Library()


@register.inclusion_tag("admin/surveys/survey/_versions.html")
def survey_versions(survey: Survey | None) -> dict[str, Any]:
    """The live version and what each version changed; nothing on the add page."""
    if survey is None or survey.pk is None:
        return {"versions": None}
    return {"versions": version_summary(survey)}
