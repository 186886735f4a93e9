"""What the builder's page needs beside the form: its script's texts, the preview's answers."""

from typing import Any

from csp.constants import NONCE, SELF
from csp.decorators import csp_replace
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.clickjacking import xframe_options_sameorigin

from surveys.admin.builder_languages import editing_languages, language_name
from surveys.admin.builder_preview import (
    brand_from_post,
    completeness,
    completeness_html,
    draft_from_post,
    draft_from_survey,
    preview_html,
)
from surveys.admin.builder_widgets import OPERATOR_LABELS, OPS_BY_TYPE, SCALED_TYPES
from surveys.hosted.branding import survey_brand
from surveys.languages import is_rtl
from surveys.models import Survey, default_languages


def builder_texts() -> dict[str, Any]:
    """The words and rules builder.js needs, in the admin's language."""
    return {
        "page": gettext("Page %(n)s"),
        "newQuestion": gettext("New question"),
        "moved": gettext("“%(question)s” moved to position %(position)s on page %(page)s."),
        "top": gettext("“%(question)s” is already first."),
        "bottom": gettext("“%(question)s” is already last."),
        "added": gettext("Added a question on page %(page)s."),
        "pageAdded": gettext("Added page %(n)s; drag or move questions onto it."),
        "always": gettext("(always shown)"),
        "noFurther": gettext("(no further condition)"),
        "noEarlier": gettext("Only questions on earlier pages can be named; move this one down."),
        "chooseValue": gettext("choose…"),
        "operators": {code: str(label) for code, label in OPERATOR_LABELS.items()},
        "opsByType": {key: list(ops) for key, ops in OPS_BY_TYPE.items()},
        "fieldOps": ["eq", "neq", "answered", "not_answered"],
        "scaled": sorted(SCALED_TYPES),
        "scales": {"nps": [0, 10], "csat": [1, 5], "ces": [1, 7], "rating": [1, 5]},
    }


def builder_context(request: HttpRequest, survey: Survey | None) -> dict[str, Any]:
    """Context for the change and add pages' question cards and preview."""
    codes = editing_languages(survey.languages if survey else default_languages())
    if survey is None:
        url = reverse("admin:surveys_survey_builder_preview_new")
    else:
        url = reverse("admin:surveys_survey_builder_preview", args=[survey.pk])
    return {
        "builder_texts": builder_texts(),
        "builder_preview_url": url if survey is not None else "",
        "builder_post_preview_url": url,
        "builder_languages": [
            {"code": code, "name": language_name(code), "rtl": is_rtl(code)} for code in codes
        ],
        "builder_completeness": completeness(draft_from_survey(survey)) if survey else [],
    }


# The preview page has no inline style attributes, so it keeps the hosted pages' strict
# style-src (its brand's <style> carries the nonce) rather than the admin's relaxed one.
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": [SELF], "style-src": [SELF, NONCE]})
def builder_preview_response(request: HttpRequest, survey: Survey | None) -> HttpResponse:
    """GET: the saved survey's preview page (the iframe without JavaScript). POST: the change
    form as edited, as JSON {"html", "completeness"} for builder.js to show."""
    language = request.GET.get("lang", "")
    # Lazy: read (and so put in the header) only when the survey has a brand to style.
    nonce = request.csp_nonce  # type: ignore[attr-defined]
    if request.method == "POST":
        draft = draft_from_post(request.POST, survey)
        if language not in draft.languages:
            language = draft.languages[0]
        # builder.js shows this as the frame's srcdoc, under the change page's policy (the
        # admin's, which allows inline styles): there the <style> applies whatever its nonce.
        return JsonResponse(
            {
                "html": preview_html(
                    draft, language, brand=brand_from_post(request.POST, survey), nonce=nonce
                ),
                "completeness": completeness_html(draft),
            }
        )
    if survey is None:
        return HttpResponse(status=404)
    draft = draft_from_survey(survey)
    if language not in draft.languages:
        language = survey.default_language
    response = HttpResponse(preview_html(draft, language, brand=survey_brand(survey), nonce=nonce))
    response["Cache-Control"] = "no-store"
    return response
