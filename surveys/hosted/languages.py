"""Which of a survey's languages a respondent sees, and a text in that language."""

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import trans_real

from surveys.models import Survey

ACCEPT_LANGUAGE_MAX = 500


def pick_text(texts: Any, language: str, default: str) -> str:
    """One language's text from a {"en": …, "tr": …} dict: else the default, else any."""
    if not isinstance(texts, Mapping):
        return str(texts or "")
    for code in (language, default):
        if texts.get(code):
            return str(texts[code])
    return next((str(v) for v in texts.values() if v), "")


def survey_languages(survey: Survey) -> list[str]:
    """The site languages `survey` offers (its default, or English, when it names none)."""
    known = {code for code, _name in settings.LANGUAGES}
    offered = [code for code in (survey.languages or []) if code in known]
    return offered or [survey.default_language if survey.default_language in known else "en"]


def _accepted(request: HttpRequest) -> list[str]:
    """The base codes of the browser's Accept-Language, best first."""
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")[:ACCEPT_LANGUAGE_MAX]
    return [code.split("-")[0].lower() for code, _q in trans_real.parse_accept_lang_header(header)]


def choose_language(request: HttpRequest, survey: Survey, preferred: Sequence[str] = ()) -> str:
    """An explicit choice, else the invitation/person language, else Accept-Language, else
    the survey's default; always one of the languages the survey offers."""
    offered = survey_languages(survey)
    explicit = request.POST.get("lang") or request.GET.get("lang") or ""
    for code in (explicit, *preferred, *_accepted(request)):
        if code in offered:
            return code
    return survey.default_language if survey.default_language in offered else offered[0]


def choose_language_plain(request: HttpRequest) -> str:
    """For pages without a survey: the best of the site languages for this browser."""
    known = [code for code, _name in settings.LANGUAGES]
    explicit = request.GET.get("lang", "")
    if explicit in known:
        return explicit
    return next((code for code in _accepted(request) if code in known), settings.LANGUAGE_CODE)


def activate(request: HttpRequest, language: str) -> None:
    """Show the rest of this request in `language`."""
    translation.activate(language)
    request.LANGUAGE_CODE = language  # type: ignore[attr-defined]


def restores_language(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Put back the language active before the view (the respondent's choice stays local)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        previous = translation.get_language()
        try:
            return view(request, *args, **kwargs)
        finally:
            translation.activate(previous)

    return wrapper
