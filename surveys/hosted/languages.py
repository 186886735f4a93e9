"""Which of a survey's languages a respondent sees, and a text in that language.

A survey may be in any language; the survey's own texts come in it. The page's own words
(buttons, progress, errors, the thank-you frame) come from the project's catalogue for that
language when there is one (locale/<code>/LC_MESSAGES/django.mo: tr and en today), else from
the fallback catalogue, English. settings.LANGUAGES governs the admin only.
"""

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import trans_real

from surveys.languages import normalize
from surveys.models import Survey

# The language of the page's own words when the survey's language has no catalogue.
FALLBACK_LANGUAGE = "en"

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
    """The languages `survey` offers (its default, or English, when it names none valid)."""
    offered = [code for code in (survey.languages or []) if normalize(code) == code]
    if offered:
        return offered
    return [survey.default_language if normalize(survey.default_language) else "en"]


@functools.lru_cache(maxsize=128)
def has_catalogue(code: str) -> bool:
    """Whether the project translates the page's own words into `code` (or its base)."""
    candidates = {translation.to_locale(code), translation.to_locale(code.split("-")[0])}
    return any(
        (Path(folder) / locale / "LC_MESSAGES" / "django.mo").is_file()
        for folder in settings.LOCALE_PATHS
        for locale in candidates
    )


def words_language(code: str) -> str:
    """The catalogue the page's own words come from for a survey page in `code`."""
    return code if has_catalogue(code) else FALLBACK_LANGUAGE


def _match(code: str, offered: Sequence[str]) -> str | None:
    """The offered language `code` asks for: the same tag, else one of the same base."""
    wanted = code.lower()
    for candidate in offered:
        if candidate.lower() == wanted:
            return candidate
    base = wanted.split("-")[0]
    for candidate in offered:
        if candidate.lower().split("-")[0] == base:
            return candidate
    return None


def _accepted(request: HttpRequest) -> list[str]:
    """The codes of the browser's Accept-Language, best first."""
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")[:ACCEPT_LANGUAGE_MAX]
    return [code for code, _q in trans_real.parse_accept_lang_header(header) if code != "*"]


def choose_language(request: HttpRequest, survey: Survey, preferred: Sequence[str] = ()) -> str:
    """An explicit choice, else the invitation/person language, else Accept-Language, else
    the survey's default; always one of the languages the survey offers."""
    offered = survey_languages(survey)
    explicit = request.POST.get("lang") or request.GET.get("lang") or ""
    for code in (explicit, *preferred, *_accepted(request)):
        found = _match(str(code), offered) if code else None
        if found is not None:
            return found
    return survey.default_language if survey.default_language in offered else offered[0]


def choose_language_plain(request: HttpRequest) -> str:
    """For pages without a survey: the best of the site languages for this browser."""
    known = [code for code, _name in settings.LANGUAGES]
    explicit = request.GET.get("lang", "")
    if explicit in known:
        return explicit
    found = (_match(code, known) for code in _accepted(request))
    return next((code for code in found if code is not None), settings.LANGUAGE_CODE)


def activate(request: HttpRequest, language: str) -> None:
    """Show the rest of this request in `language`: its catalogue, else the fallback's."""
    translation.activate(words_language(language))
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
