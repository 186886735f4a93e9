"""The page flow of a hosted survey and the pages it renders.

GET shows the page a respondent is on (a returning one resumes at the first page they have not
finished); POST validates one page, saves it and moves on, or completes the response on the
last page. Every refusal is a polite page with the right status, never a 500.

A survey presented one question at a time is the same machine over screens of one question:
each question is its own page, numbered by its place in the survey, so display logic, resume
and the way back work the same without JavaScript (survey.js only makes the steps smoother).
"""

import copy
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from surveys.hosted.branding import brand_context, brand_cta
from surveys.hosted.fields import field_for
from surveys.hosted.flows import Flow
from surveys.hosted.languages import activate, choose_language_plain, pick_text, survey_languages
from surveys.languages import is_rtl, own_name
from surveys.logic import visible_keys
from surveys.models import Presentation, Question
from surveys.selectors import duration_sentence, estimated_seconds
from surveys.services import AlreadyResponded, SurveyFull, SurveyUnavailable, Unavailable
from surveys.validation import AnswerValue, clean_page

UNAVAILABLE_PAGES = {
    Unavailable.NOT_OPEN: (
        403,
        _("This survey is not open yet"),
        _("Please come back later. Thank you for your interest."),
    ),
    Unavailable.CLOSED: (
        410,
        _("This survey is closed"),
        _("It no longer accepts answers. Thank you for your interest."),
    ),
    Unavailable.FULL: (
        410,
        _("This survey has received all the answers it needs"),
        _("It no longer accepts answers. Thank you for your interest."),
    ),
    Unavailable.EXPIRED: (
        410,
        _("This survey link has expired"),
        _("It can no longer be used to answer. Thank you for your interest."),
    ),
    Unavailable.SUPPRESSED: (
        410,
        _("This survey link is not active"),
        _("It cannot be used to answer. Thank you for your interest."),
    ),
}


# --- Where a respondent is -------------------------------------------------------------------


def screens(flow: Flow) -> list[Question]:
    """`flow`'s questions as the pages respondents step through: as authored, or, one question
    at a time, copies whose page is the question's place in the survey (1, 2, 3 …)."""
    if flow.survey.presentation != Presentation.ONE_QUESTION:
        return flow.questions
    stepped = []
    for position, question in enumerate(flow.questions, start=1):
        step = copy.copy(question)
        step.page = position
        stepped.append(step)
    return stepped


def _empty(value: AnswerValue) -> bool:
    return value in (None, "", [])


def _pages(questions: Sequence[Question], visible: set[str]) -> list[int]:
    return sorted({q.page for q in questions if q.key in visible})


def _missing_required_page(
    questions: Sequence[Question], visible: set[str], answers: Mapping[str, AnswerValue]
) -> int | None:
    for q in questions:
        if q.key in visible and q.required and _empty(answers.get(q.key)):
            return q.page
    return None


def _references(show_if: Any) -> set[str]:
    """The question keys a display condition looks at."""
    if not isinstance(show_if, Mapping):
        return set()
    if "all" in show_if or "any" in show_if:
        inner = show_if.get("all", show_if.get("any"))
        return {k for c in inner for k in _references(c)} if isinstance(inner, list) else set()
    if "field" in show_if:
        return set()  # a hidden field is known from the start
    return {str(show_if.get("question"))}


def _undecided_pages(
    questions: Sequence[Question],
    visible: set[str],
    answers: Mapping[str, AnswerValue],
    page: int,
) -> set[int]:
    """Later pages hidden only because what decides them is not answered yet.

    The progress bar counts them, so it does not grow when an answer reveals them.
    """
    return {
        q.page
        for q in questions
        if q.page > page
        and q.key not in visible
        and q.show_if
        and any(_empty(answers.get(key)) for key in _references(q.show_if))
    }


def _resume_page(
    questions: Sequence[Question], visible: set[str], answers: Mapping[str, AnswerValue]
) -> int:
    """Where a returning respondent continues: the first page they have not finished."""
    pages = _pages(questions, visible)
    for page in pages:
        shown = [q for q in questions if q.page == page and q.key in visible]
        if any(q.required and _empty(answers.get(q.key)) for q in shown):
            return page
        if all(_empty(answers.get(q.key)) for q in shown):
            return page
    return pages[-1] if pages else 1


# --- Pages -----------------------------------------------------------------------------------


def url_with(base: str, **params: Any) -> str:
    """`base` with the non-empty `params` added to its query string."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    if not query:
        return base
    return f"{base}{'&' if '?' in base else '?'}{query}"


def message(
    request: HttpRequest,
    *,
    status: int,
    title: Any,
    text: Any = "",
    extra: str = "",
    base: dict[str, Any] | None = None,
) -> HttpResponse:
    """A page that only tells something (thanks, not found, closed), in the active language."""
    context = {"heading": title, "text": text, "extra": extra, "survey_title": "", **(base or {})}
    context.setdefault("page_title", title)
    response = render(request, "surveys/message.html", context, status=status)
    # The survey's language when there is one (its page's own words may be a fallback's).
    response.headers["Content-Language"] = context.get("language") or translation.get_language()
    return response


def not_found(request: HttpRequest) -> HttpResponse:
    activate(request, choose_language_plain(request))
    return message(
        request,
        status=404,
        title=_("Survey not found"),
        text=_("This link is not valid. Please check that you copied the whole link."),
    )


def base_context(flow: Flow, page: int | None = None) -> dict[str, Any]:
    """The frame of every page of `flow`'s survey: title, language switcher, opt-out link,
    brand (surveys.hosted.branding)."""
    default = flow.survey.default_language
    offered = survey_languages(flow.survey)
    return {
        **brand_context(flow.survey),
        "survey_title": pick_text(flow.survey.title, flow.language, default) or flow.survey.name,
        "language": flow.language,
        "direction": "rtl" if is_rtl(flow.language) else "ltr",
        "one_question": flow.survey.presentation == Presentation.ONE_QUESTION,
        "optout_url": flow.optout_url,
        "preview": flow.preview,
        "languages": [
            {
                "code": code,
                "name": own_name(code),
                "url": url_with(flow.action_url, lang=code, page=page),
                "current": code == flow.language,
            }
            for code in offered
        ]
        if len(offered) > 1
        else [],
    }


def thanks(request: HttpRequest, flow: Flow, *, already: bool) -> HttpResponse:
    """The thank-you page (`already`: for a respondent who answered before).

    The survey's own thank-you text is said once: its first line is the heading and the rest
    follows it (a generic “Thank you!” above it would thank twice); a survey without one gets
    “Thank you!” and “Your answers have been recorded.”.
    """
    text = pick_text(flow.survey.thank_you, flow.language, flow.survey.default_language).strip()
    first, _newline, rest = text.partition("\n")
    if already:
        title, body = _("You have already answered this survey"), text
    elif first.strip():
        title, body = first.strip(), rest.strip()
    else:
        title, body = _("Thank you!"), _("Your answers have been recorded.")
    base = base_context(flow)
    cta = brand_cta(base["brand"])
    if cta:
        base["cta"] = cta
    return message(
        request,
        status=200,
        title=title,
        text=body if body or not already else _("Your answers have been recorded."),
        extra=str(_("Preview: nothing was recorded.")) if flow.preview else "",
        base=base,
    )


def unavailable(request: HttpRequest, flow: Flow | None, reason: str) -> HttpResponse:
    """Why the survey cannot be answered (an Unavailable code), with its status."""
    status, title, text = UNAVAILABLE_PAGES[reason]
    base = base_context(flow) if flow is not None else None
    return message(request, status=status, title=title, text=text, base=base)


def _render_page(
    request: HttpRequest,
    flow: Flow,
    questions: Sequence[Question],
    *,
    page: int,
    answers: Mapping[str, AnswerValue],
    errors: Mapping[str, Any] | None = None,
    raws: Mapping[str, list[str]] | None = None,
) -> HttpResponse:
    errors = errors or {}
    visible = visible_keys(questions, answers, flow.data)
    pages = _pages(questions, visible)
    index = pages.index(page) if page in pages else 0
    progress = sorted(set(pages) | _undecided_pages(questions, visible, answers, page))
    default = flow.survey.default_language
    fields = [
        field_for(
            q,
            flow.language,
            default,
            answers.get(q.key),
            errors.get(q.key),
            raws.get(q.key) if raws is not None else None,
            data=flow.data,
            fields=flow.survey.hidden_fields,
        )
        for q in questions
        if q.page == page and q.key in visible
    ]
    context = {
        **base_context(flow, page),
        "intro": pick_text(flow.survey.intro, flow.language, default) if index == 0 else "",
        # What the invitation and the builder say too (surveys.selectors.duration_sentence).
        "duration": duration_sentence(estimated_seconds(flow.questions)) if index == 0 else "",
        "fields": fields,
        "page": page,
        "page_number": progress.index(page) + 1 if page in progress else index + 1,
        "page_count": len(progress),
        "is_last": index == len(pages) - 1,
        "back_url": url_with(flow.action_url, page=pages[index - 1], lang=flow.language)
        if index > 0
        else "",
        "action_url": flow.action_url,
        "errors": errors,
    }
    response = render(request, "surveys/page.html", context, status=200)
    response.headers["Content-Language"] = flow.language
    return response


# --- The machine -----------------------------------------------------------------------------


def run(request: HttpRequest, flow: Flow) -> HttpResponse:
    """GET shows the current page; POST saves it and moves on (or completes)."""
    if flow.completed():
        return thanks(request, flow, already=request.GET.get("done") != "1")
    answers = flow.load()
    questions = screens(flow)
    visible = visible_keys(questions, answers, flow.data)
    pages = _pages(questions, visible)
    if not pages:
        return unavailable(request, flow, Unavailable.NOT_OPEN)
    if request.method != "POST":
        resume = _resume_page(questions, visible, answers)
        try:
            requested = int(request.GET.get("page", ""))
        except ValueError:
            requested = resume
        # A page asked for by number is shown when nothing required before it is missing: a
        # page of optional questions left empty is done with, not where to resume.
        missing = _missing_required_page(questions, visible, answers)
        reachable = requested <= resume or missing is None or requested <= missing
        page = requested if requested in pages and reachable else resume
        return _render_page(request, flow, questions, page=page, answers=answers)

    try:
        page = int(request.POST.get("page", ""))
    except ValueError:
        page = -1
    if page not in pages:
        return HttpResponseRedirect(url_with(flow.action_url, lang=flow.language))
    page_questions = [q for q in questions if q.page == page]
    values, errors, raws = clean_page(page_questions, request.POST, visible=visible)
    if errors:
        return _render_page(
            request, flow, questions, page=page, answers=answers, errors=errors, raws=raws
        )
    merged = {**answers, **values}
    visible = visible_keys(questions, merged, flow.data)
    following = [p for p in _pages(questions, visible) if p > page]
    missing = _missing_required_page(questions, visible, merged)
    if following or (missing is not None and missing != page):
        try:
            flow.save(page_questions, values)
        except AlreadyResponded:
            return thanks(request, flow, already=True)
        target = following[0] if following else missing
        return HttpResponseRedirect(url_with(flow.action_url, page=target, lang=flow.language))
    try:
        flow.submit(page_questions, values)
    except AlreadyResponded:
        return thanks(request, flow, already=True)
    except SurveyFull:
        return unavailable(request, flow, Unavailable.FULL)
    except SurveyUnavailable as refusal:
        return unavailable(request, flow, refusal.reason)
    return HttpResponseRedirect(url_with(flow.action_url, done=1, lang=flow.language))
